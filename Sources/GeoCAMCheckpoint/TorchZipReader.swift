/// Reads the object saved by `torch.save` (zip format, PyTorch ≥ 1.6) without executing it.
///
/// `data.pkl` is run through ``RestrictedUnpickler``; its persistent ids
/// `('storage', <StorageClass>, key, location, numel)` become ``CheckpointStorage`` objects over the
/// `data/<key>` records (every location is treated as CPU). A storage referenced twice is the same
/// object, so views keep sharing it. No tensor byte is read here.
public enum TorchZipReader {
  /// Legacy (non-zip) torch files start with protocol 2 and this LONG1 magic number.
  static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

  /// The unpickled root object of a torch zip archive.
  /// - Throws: ``CheckpointError`` for a missing `data.pkl` or storage, a refused global, a
  ///   malformed pickle, or views that do not fit their storage.
  public static func read(_ archive: ZipArchive) throws -> PickleValue {
    let file = archive.file
    let name = file.name
    // The pickle lives at <prefix>/data.pkl; fall back to any */data.pkl for odd writers.
    var prefix = archive.prefix
    var pickleEntry = archive.entry(named: prefix.isEmpty ? "data.pkl" : "\(prefix)/data.pkl")
    if pickleEntry == nil, let other = archive.entries.first(where: { $0.name.hasSuffix("/data.pkl") }) {
      pickleEntry = other
      prefix = String(other.name.dropLast("/data.pkl".count))
    }
    guard let pickleEntry else {
      throw CheckpointError.missingRecord(file: name, record: prefix.isEmpty ? "data.pkl" : "\(prefix)/data.pkl")
    }
    if let byteorder = archive.entry(named: "\(prefix)/byteorder") {
      let text = String(decoding: try archive.read(byteorder), as: UTF8.self)
      if text.hasPrefix("big") {
        throw CheckpointError.unsupportedDType(
          file: name, dtype: "big-endian", context: "the archive was written on a big-endian machine")
      }
    }
    let pickleRange = try archive.dataRange(of: pickleEntry)
    let recordPrefix = prefix.isEmpty ? "" : "\(prefix)/"
    var storages: [String: CheckpointStorage] = [:]

    func loadStorage(_ pid: PickleValue, _ offset: Int) throws -> PickleValue {
      guard case .tuple(let parts) = pid, parts.count >= 5, parts[0].stringValue == "storage",
        case .global(let module, let className) = parts[1], let key = parts[2].stringValue,
        let numel64 = parts[4].intValue, let numel = Int(exactly: numel64), numel >= 0
      else {
        throw CheckpointError.malformedPickle(
          file: name, offset: offset,
          reason: "persistent id \(pid.rendered(maxLength: 120)) is not ('storage', class, key, location, numel)")
      }
      guard ["torch", "torch.cuda", "torch.storage"].contains(module), let dtype = CheckpointDType(storageClass: className)
      else {
        throw CheckpointError.unsupportedDType(
          file: name, dtype: "\(module).\(className)", context: "storage class of data/\(key)")
      }
      let cacheKey = "\(key)|\(dtype.rawValue)"
      if let known = storages[cacheKey] { return .storage(known) }
      let record = "data/\(key)"
      guard let entry = archive.entry(named: recordPrefix + record) else {
        throw CheckpointError.missingStorage(file: name, record: record)
      }
      let range = try archive.dataRange(of: entry)
      let (declared, overflow) = numel.multipliedReportingOverflow(by: dtype.elementSize)
      guard !overflow, declared <= range.count else {
        throw CheckpointError.storageTooShort(
          file: name, record: record, holds: range.count, needs: overflow ? Int.max : declared,
          what: "its persistent id (\(numel) × \(dtype))")
      }
      let storage = CheckpointStorage(
        key: key, record: record, file: file, byteOffset: range.lowerBound, byteCount: declared, dtype: dtype)
      storages[cacheKey] = storage
      return .storage(storage)
    }

    return try file.withBytes { all in
      let bytes = UnsafeRawBufferPointer(rebasing: all[pickleRange])
      // data.pkl is small; checking its CRC catches corruption before it turns into odd errors.
      if pickleEntry.crc32 != 0, CRC32.checksum(bytes) != pickleEntry.crc32 {
        throw CheckpointError.truncated(file: name, reason: "'\(pickleEntry.name)' fails its CRC-32 check")
      }
      return try RestrictedUnpickler.unpickle(bytes, fileName: name, persistentLoad: loadStorage)
    }
  }
}
