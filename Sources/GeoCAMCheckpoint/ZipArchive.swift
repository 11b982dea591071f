/// One entry of a ``ZipArchive``'s central directory.
public struct ZipEntry: Sendable, Hashable {
  /// The full name, including the archive prefix (e.g. `archive/data/0`).
  public let name: String
  /// Compression method (0 = stored; only stored entries can be read in place).
  public let method: Int
  /// General-purpose flags from the central directory (bit 0 = encrypted).
  public let flags: Int
  /// Size of the stored bytes.
  public let compressedSize: Int
  /// Size once decompressed (equal to `compressedSize` for stored entries).
  public let uncompressedSize: Int
  /// CRC-32 from the central directory.
  public let crc32: UInt32
  /// Offset of the entry's local header, in file coordinates (any bytes before the archive included).
  public let localHeaderOffset: Int
}

/// A read-only view of a zip archive held in a ``MappedFile``; the container of `torch.save`.
///
/// Only what `torch.save` needs is supported, but that part is supported fully: the end-of-central-
/// directory record is found by scanning back from the end (so a comment of up to 64 KiB is fine),
/// zip64 records and zip64 extra fields are honoured, and bytes before the archive (a self-extracting
/// stub, a shell header) are tolerated by re-basing offsets. Sizes come from the central directory,
/// because torch writes zeros in local headers. Entries are never copied: ``dataRange(of:)`` gives
/// the byte range of a stored entry inside the file.
public struct ZipArchive: Sendable {
  /// The mapped file.
  public let file: MappedFile
  /// Entries in central-directory order.
  public let entries: [ZipEntry]
  /// The archive prefix: the first entry's name up to its first `/` (`archive`, `sd`, …), or "".
  public let prefix: String
  private let index: [String: Int]
  /// Bytes found before the archive proper (offsets in the archive are shifted by this).
  public let leadingBytes: Int

  private static let eocdSignature = 0x0605_4b50
  private static let zip64LocatorSignature = 0x0706_4b50
  private static let zip64RecordSignature = 0x0606_4b50
  private static let centralSignature = 0x0201_4b50
  private static let localSignature = 0x0403_4b50

  /// Opens and maps the archive at `path`.
  public init(path: String) throws {
    try self.init(file: MappedFile(path: path))
  }

  /// Parses the central directory of an already mapped file.
  /// - Throws: ``CheckpointError/notAZip(file:reason:)`` when there is no end-of-central-directory
  ///   record, ``CheckpointError/truncated(file:reason:)`` when a structure points outside the file.
  public init(file: MappedFile) throws {
    self.file = file
    let name = file.name
    let parsed = try file.withBytes { bytes -> (entries: [ZipEntry], shift: Int) in
      try Self.parse(bytes, fileName: name)
    }
    entries = parsed.entries
    leadingBytes = parsed.shift
    var index: [String: Int] = [:]
    for (i, entry) in parsed.entries.enumerated() where index[entry.name] == nil {
      index[entry.name] = i
    }
    self.index = index
    if let first = parsed.entries.first, let slash = first.name.firstIndex(of: "/") {
      prefix = String(first.name[..<slash])
    } else {
      prefix = ""
    }
  }

  /// The entry called exactly `name` (prefix included), if any.
  public func entry(named name: String) -> ZipEntry? {
    index[name].map { entries[$0] }
  }

  /// Finds the end-of-central-directory record by scanning back from the end of the file.
  static func findEOCD(_ bytes: UnsafeRawBufferPointer) -> Int? {
    guard bytes.count >= 22 else { return nil }
    let lowest = max(0, bytes.count - 22 - 0xFFFF)
    var pos = bytes.count - 22
    while pos >= lowest {
      if bytes.u32(pos) == eocdSignature, let commentLength = bytes.u16(pos + 20),
        pos + 22 + commentLength <= bytes.count
      {
        return pos
      }
      pos -= 1
    }
    return nil
  }

  private static func parse(_ bytes: UnsafeRawBufferPointer, fileName: String) throws -> (
    entries: [ZipEntry], shift: Int
  ) {
    func truncated(_ reason: String) -> CheckpointError { .truncated(file: fileName, reason: reason) }
    guard let eocd = findEOCD(bytes) else {
      let hint = bytes.u32(0) == localSignature ? "; the file starts like a zip, so it was probably cut short" : ""
      throw CheckpointError.notAZip(file: fileName, reason: "no end-of-central-directory record\(hint)")
    }
    guard let eocdDisk = bytes.u16(eocd + 4), let cdDisk = bytes.u16(eocd + 6),
      var entryCount = bytes.u16(eocd + 10), let cdSize32 = bytes.u32(eocd + 12),
      let cdOffset32 = bytes.u32(eocd + 16)
    else { throw truncated("end-of-central-directory record cut short") }
    var cdSize = cdSize32
    var cdOffset = cdOffset32
    // Where the central directory should end, in file coordinates: right before the zip64 record,
    // or right before the EOCD. Comparing this with the stated offsets reveals leading bytes.
    var cdEnd = eocd
    var multiDisk = eocdDisk != 0 || cdDisk != 0

    // zip64: a locator sits right before the EOCD and points at the zip64 EOCD record.
    if eocd >= 20, bytes.u32(eocd - 20) == zip64LocatorSignature {
      guard let stated = bytes.u64(eocd - 20 + 8), stated < UInt64(Int.max) else {
        throw truncated("zip64 locator cut short")
      }
      var recordPos = Int(stated)
      if bytes.u32(recordPos) != zip64RecordSignature {
        // With leading bytes the stated offset is off by their length; the record normally sits
        // immediately before the locator (56 bytes without extensible data).
        let guess = eocd - 20 - 56
        guard guess >= 0, bytes.u32(guess) == zip64RecordSignature else {
          throw truncated("zip64 end-of-central-directory record not found at offset \(stated)")
        }
        recordPos = guess
      }
      guard let count64 = bytes.u64(recordPos + 32), let size64 = bytes.u64(recordPos + 40),
        let offset64 = bytes.u64(recordPos + 48), let disk64 = bytes.u32(recordPos + 16),
        let cdDisk64 = bytes.u32(recordPos + 20)
      else { throw truncated("zip64 end-of-central-directory record cut short") }
      guard count64 <= UInt64(bytes.count), size64 <= UInt64(bytes.count), offset64 <= UInt64(bytes.count)
      else {
        throw truncated(
          "zip64 record says the central directory has \(count64) entries, \(size64) bytes at offset \(offset64), beyond the file's \(bytes.count) bytes"
        )
      }
      entryCount = Int(count64)
      cdSize = Int(size64)
      cdOffset = Int(offset64)
      cdEnd = recordPos
      multiDisk = multiDisk || disk64 != 0 || cdDisk64 != 0
    }
    if multiDisk { throw CheckpointError.notAZip(file: fileName, reason: "split over several disks") }

    var shift = 0
    if bytes.u32(cdOffset) != centralSignature || cdOffset + cdSize > cdEnd {
      let candidate = cdEnd - cdSize - cdOffset
      if candidate > 0, bytes.u32(cdOffset + candidate) == centralSignature {
        shift = candidate
      } else if entryCount > 0 {
        throw truncated(
          "the central directory (\(cdSize) bytes at offset \(cdOffset)) lies outside the file or does not start with a directory entry"
        )
      }
    }
    let start = cdOffset + shift
    guard start >= 0, start + cdSize <= bytes.count else {
      throw truncated("the central directory (\(cdSize) bytes at offset \(start)) runs past the end of the file")
    }

    var entries: [ZipEntry] = []
    entries.reserveCapacity(min(entryCount, cdSize / 46 + 1))
    var pos = start
    for i in 0..<entryCount {
      guard pos + 46 <= start + cdSize, bytes.u32(pos) == centralSignature,
        let flags = bytes.u16(pos + 8), let method = bytes.u16(pos + 10),
        let crc = bytes.readLE(pos + 16, as: UInt32.self),
        let compressed32 = bytes.u32(pos + 20), let uncompressed32 = bytes.u32(pos + 24),
        let nameLength = bytes.u16(pos + 28), let extraLength = bytes.u16(pos + 30),
        let commentLength = bytes.u16(pos + 32), let diskStart = bytes.u16(pos + 34),
        let local32 = bytes.u32(pos + 42)
      else { throw truncated("central directory entry \(i) of \(entryCount) is cut short or corrupt") }
      let nameStart = pos + 46
      let extraStart = nameStart + nameLength
      let next = extraStart + extraLength + commentLength
      guard next <= start + cdSize else {
        throw truncated("central directory entry \(i) runs past the directory's end")
      }
      let name = String(decoding: bytes[nameStart..<extraStart], as: UTF8.self)
      var compressed = compressed32
      var uncompressed = uncompressed32
      var local = local32
      // zip64 extra field (id 1): only the fields whose 32-bit value is saturated are present,
      // in the order uncompressed, compressed, local header offset, disk.
      var e = extraStart
      while e + 4 <= extraStart + extraLength {
        guard let id = bytes.u16(e), let size = bytes.u16(e + 2), e + 4 + size <= extraStart + extraLength else {
          break
        }
        if id == 1 {
          var f = e + 4
          func next64() throws -> Int {
            guard f + 8 <= e + 4 + size, let v = bytes.u64(f), v <= UInt64(Int.max) else {
              throw truncated("zip64 extra field of '\(name)' is cut short")
            }
            f += 8
            return Int(v)
          }
          if uncompressed32 == 0xFFFF_FFFF { uncompressed = try next64() }
          if compressed32 == 0xFFFF_FFFF { compressed = try next64() }
          if local32 == 0xFFFF_FFFF { local = try next64() }
        }
        e += 4 + size
      }
      if diskStart != 0 && diskStart != 0xFFFF {
        throw CheckpointError.notAZip(file: fileName, reason: "entry '\(name)' lives on another disk")
      }
      entries.append(
        ZipEntry(
          name: name, method: method, flags: flags, compressedSize: compressed,
          uncompressedSize: uncompressed, crc32: crc, localHeaderOffset: local + shift))
      pos = next
    }
    return (entries, shift)
  }

  /// The byte range of a stored entry's data inside the file.
  ///
  /// Reads the local header only for its name and extra lengths (torch pads the data to 64 bytes
  /// with an extra field); sizes come from the central directory.
  /// - Throws: ``CheckpointError/unsupportedZipEntry(file:entry:reason:)`` for compressed or encrypted
  ///   entries, ``CheckpointError/truncated(file:reason:)`` when the header or data lie past the end.
  public func dataRange(of entry: ZipEntry) throws -> Range<Int> {
    let name = file.name
    if entry.flags & 1 != 0 {
      throw CheckpointError.unsupportedZipEntry(file: name, entry: entry.name, reason: "it is encrypted")
    }
    guard entry.method == 0 else {
      let method = entry.method == 8 ? "deflate" : "method \(entry.method)"
      throw CheckpointError.unsupportedZipEntry(
        file: name, entry: entry.name,
        reason: "it is compressed (\(method)); torch.save writes stored entries, re-save with torch.save")
    }
    let lh = entry.localHeaderOffset
    // pread, not the map: see MappedFile.readSmall for why.
    let header = file.readSmall(at: lh, count: 30)
    let bytes = header.withUnsafeBytes { raw in
      (sig: raw.u32(0), n: raw.u16(26), x: raw.u16(28))
    }
    guard bytes.sig == Self.localSignature, let n = bytes.n, let x = bytes.x else {
      throw CheckpointError.truncated(
        file: name, reason: "local header of '\(entry.name)' at offset \(lh) is missing or corrupt")
    }
    let start = lh + 30 + n + x
    guard entry.compressedSize >= 0, start <= file.count, entry.compressedSize <= file.count - start else {
      throw CheckpointError.truncated(
        file: name,
        reason: "entry '\(entry.name)' claims \(entry.compressedSize) bytes at offset \(start), past the end of the file (\(file.count) bytes)"
      )
    }
    return start..<(start + entry.compressedSize)
  }

  /// A copy of a stored entry's bytes (for small records such as `data.pkl`).
  public func read(_ entry: ZipEntry) throws -> [UInt8] {
    try file.copyBytes(dataRange(of: entry))
  }
}

/// CRC-32 (IEEE 802.3, the zip checksum); used to verify small records like `data.pkl`.
enum CRC32 {
  private static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    table.withUnsafeBufferPointer { t in
      for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    }
    return c ^ 0xFFFF_FFFF
  }
}
