import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes a file so that it either exists complete or not at all: the bytes go to a temporary
/// name in the same folder, which is then renamed (atomic on POSIX file systems). No fsync: the
/// point is surviving a killed process, and a per-tile fsync costs more than the tile.
/// Every output GeoCAM writes whole (state, summaries, CSV, reports) goes through it.
public enum AtomicFile {
  /// Writes `data` to `url` under a temporary name, then renames it into place.
  public static func write(_ data: Data, to url: URL) throws {
    let temporary = url.path + ".tmp-\(getpid())"
    // Plain POSIX I/O: Foundation's Data.write fsyncs every file.
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
      throw PipelineError(url.path, "cannot write \(temporary): \(String(cString: strerror(errno)))")
    }
    let written = data.withUnsafeBytes { buf -> Bool in
      guard let base = buf.baseAddress else { return true }
      var offset = 0
      while offset < buf.count {
        let n = systemWrite(fd, base + offset, buf.count - offset)
        if n <= 0 { return false }
        offset += n
      }
      return true
    }
    let reason = String(cString: strerror(errno))
    guard close(fd) == 0, written else {
      unlink(temporary)
      throw PipelineError(url.path, "cannot write \(temporary): \(reason)")
    }
    guard rename(temporary, url.path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw PipelineError(url.path, "cannot rename \(temporary) into place: \(reason)")
    }
  }
}

private func systemWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
    return Glibc.write(fd, buf, count)
  #else
    return Darwin.write(fd, buf, count)
  #endif
}
