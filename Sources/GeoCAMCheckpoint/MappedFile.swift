import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A whole file mapped read-only into memory (`mmap`, `PROT_READ`, `MAP_PRIVATE`).
///
/// Mapping instead of reading means that inspecting a 300 MB checkpoint touches only the pages that
/// are actually looked at (the zip directory, `data.pkl`, and the tensors that get materialised);
/// tensors stay lazy views into the map. The mapping lives until the last reference to this object
/// (held by every ``CheckpointStorage``) goes away.
///
/// The map is never written to, so sharing it across threads is safe; hence `@unchecked Sendable`.
/// If another process truncates the file while it is mapped, touching the lost pages raises SIGBUS;
/// that is the usual contract of memory-mapped readers.
public final class MappedFile: @unchecked Sendable {
  /// The path the file was opened with.
  public let path: String
  /// The file's last path component, used in error messages.
  public let name: String
  /// The file's size in bytes.
  public let count: Int
  private let base: UnsafeRawPointer?
  /// Kept open for small `pread`s (see ``readSmall(at:count:)``).
  private let fd: Int32

  /// Maps the file at `path`.
  /// - Throws: ``CheckpointError/fileNotFound(file:)`` or ``CheckpointError/unreadable(file:reason:)``.
  public init(path: String) throws {
    self.path = path
    let name = URL(fileURLWithPath: path).lastPathComponent
    self.name = name
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 {
      let code = errno
      if code == ENOENT { throw CheckpointError.fileNotFound(file: name) }
      throw CheckpointError.unreadable(file: name, reason: String(cString: strerror(code)))
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let reason = String(cString: strerror(errno))
      close(fd)
      throw CheckpointError.unreadable(file: name, reason: reason)
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      close(fd)
      throw CheckpointError.unreadable(file: name, reason: "not a regular file")
    }
    let size = Int(info.st_size)
    count = size
    self.fd = fd
    if size == 0 {
      base = nil  // mmap of length 0 fails; an empty file is simply an empty buffer
      return
    }
    let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let mapped, mapped != MAP_FAILED else {
      let reason = String(cString: strerror(errno))
      close(fd)
      throw CheckpointError.unreadable(file: name, reason: "mmap failed: \(reason)")
    }
    base = UnsafeRawPointer(mapped)
  }

  deinit {
    if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
    close(fd)
  }

  /// Up to `count` bytes at `offset`, read with `pread` instead of through the map.
  ///
  /// Used for the ~1000 scattered zip local headers of a large checkpoint: touching them through
  /// the map would make the kernel map whole neighbourhoods of tensor data into this process
  /// (fault-around, large folios), ~180 MB of resident memory for a 300 MB Lightning file.
  /// Returns fewer bytes near the end of the file.
  func readSmall(at offset: Int, count wanted: Int) -> [UInt8] {
    guard offset >= 0, offset < count, wanted > 0 else { return [] }
    let n = min(wanted, count - offset)
    var buffer = [UInt8](repeating: 0, count: n)
    var done = 0
    while done < n {
      let got = buffer.withUnsafeMutableBytes { raw -> Int in
        guard let base = raw.baseAddress else { return -1 }
        return pread(fd, base + done, n - done, off_t(offset + done))
      }
      if got > 0 {
        done += got
      } else if got < 0 && errno == EINTR {
        continue
      } else {
        break
      }
    }
    return Array(buffer.prefix(done))
  }

  /// The whole file as a read-only buffer. Valid only while `self` is alive.
  var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

  /// Calls `body` with the whole file's bytes, keeping the mapping alive for the call.
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withExtendedLifetime(self) { try body(bytes) }
  }

  /// A copy of `range` (clamped to nothing beyond the file: throws if it does not fit).
  public func copyBytes(_ range: Range<Int>) throws -> [UInt8] {
    guard range.lowerBound >= 0, range.upperBound <= count else {
      throw CheckpointError.truncated(
        file: name, reason: "bytes \(range.lowerBound)..<\(range.upperBound) lie beyond the end (\(count) bytes)")
    }
    return withBytes { Array($0[range]) }
  }
}

/// Bounds-checked little-endian reads from a byte buffer; callers turn `nil` into a precise error.
extension UnsafeRawBufferPointer {
  @inline(__always)
  func readLE<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T? {
    guard offset >= 0, offset <= count - MemoryLayout<T>.size, let base = baseAddress else { return nil }
    return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
  }

  @inline(__always)
  func u16(_ offset: Int) -> Int? { readLE(offset, as: UInt16.self).map { Int($0) } }

  @inline(__always)
  func u32(_ offset: Int) -> Int? { readLE(offset, as: UInt32.self).map { Int($0) } }

  @inline(__always)
  func u64(_ offset: Int) -> UInt64? { readLE(offset, as: UInt64.self) }
}
