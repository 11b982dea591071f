import Foundation

/// Everything that can go wrong while reading a checkpoint.
///
/// Every case carries the file's name (its last path component), and `description` is one line that
/// starts with that name, says what is wrong and, where useful, what to do about it. Malformed input
/// always ends up here: the readers never trap on anything a file controls.
public enum CheckpointError: Error, CustomStringConvertible, Sendable, Equatable {
  /// No file at the path.
  case fileNotFound(file: String)
  /// The file exists but could not be opened, sized or mapped.
  case unreadable(file: String, reason: String)
  /// Not a zip archive (no end-of-central-directory record), and not any other known format.
  case notAZip(file: String, reason: String)
  /// A zip structure points outside the file, or a record is cut short.
  case truncated(file: String, reason: String)
  /// A zip entry that cannot be read in place (compressed, encrypted, split over disks).
  case unsupportedZipEntry(file: String, entry: String, reason: String)
  /// A pre-1.6 (non-zip) `torch.save` file, or the pre-1.0 tar format.
  case legacyFormat(file: String, reason: String)
  /// A record the format requires (such as `data.pkl`) is absent.
  case missingRecord(file: String, record: String)
  /// A persistent id names a storage whose `data/<key>` record is absent.
  case missingStorage(file: String, record: String)
  /// A storage holds fewer bytes than a tensor view (or its own persistent id) needs.
  case storageTooShort(file: String, record: String, holds: Int, needs: Int, what: String)
  /// A tensor's shape, strides or offset are impossible (negative, overflowing, rank mismatch).
  case invalidTensor(file: String, reason: String)
  /// A dtype this reader cannot convert (uint16, float8, complex, …).
  case unsupportedDType(file: String, dtype: String, context: String)
  /// A pickle opcode this reader does not implement (EXT1/2/4, out-of-band buffers, unknown bytes).
  case unsupportedOpcode(file: String, opcode: UInt8, offset: Int)
  /// The pickle calls or instantiates a global that is not on the allow-list; `name` is `module.name`.
  case refusedGlobal(file: String, name: String, opcode: String)
  /// The pickle stream is inconsistent: stack underflow, missing MARK, memo miss, cut short, ….
  case malformedPickle(file: String, offset: Int, reason: String)
  /// The safetensors header is invalid.
  case badSafetensors(file: String, reason: String)
  /// The file was read but holds nothing that looks like a model's state dict.
  case noStateDict(file: String, reason: String)

  /// The file name the error is about.
  public var file: String {
    switch self {
    case .fileNotFound(let f), .unreadable(let f, _), .notAZip(let f, _), .truncated(let f, _),
      .unsupportedZipEntry(let f, _, _), .legacyFormat(let f, _), .missingRecord(let f, _),
      .missingStorage(let f, _), .storageTooShort(let f, _, _, _, _), .invalidTensor(let f, _), .unsupportedDType(let f, _, _),
      .unsupportedOpcode(let f, _, _), .refusedGlobal(let f, _, _), .malformedPickle(let f, _, _),
      .badSafetensors(let f, _), .noStateDict(let f, _):
      return f
    }
  }

  /// One line: the file name, then what is wrong.
  public var description: String {
    let text: String
    switch self {
    case .fileNotFound(let f):
      text = "\(f): no such file"
    case .unreadable(let f, let reason):
      text = "\(f): cannot read the file (\(reason))"
    case .notAZip(let f, let reason):
      text = "\(f): not a zip archive (\(reason))"
    case .truncated(let f, let reason):
      text = "\(f): truncated or corrupt archive: \(reason)"
    case .unsupportedZipEntry(let f, let entry, let reason):
      text = "\(f): zip entry '\(entry)' cannot be read: \(reason)"
    case .legacyFormat(let f, let reason):
      text = "\(f): \(reason); legacy format not supported, re-save with torch.save (PyTorch ≥ 1.6)"
    case .missingRecord(let f, let record):
      text = "\(f): the archive has no '\(record)' record"
    case .missingStorage(let f, let record):
      text = "\(f): the pickle refers to storage '\(record)', which is not in the archive"
    case .storageTooShort(let f, let record, let holds, let needs, let what):
      text = "\(f): storage '\(record)' holds \(holds) bytes but \(what) needs \(needs)"
    case .invalidTensor(let f, let reason):
      text = "\(f): invalid tensor: \(reason)"
    case .unsupportedDType(let f, let dtype, let context):
      text = "\(f): unsupported dtype \(dtype) (\(context))"
    case .unsupportedOpcode(let f, let opcode, let offset):
      let name = PickleOpcodeNames.name(of: opcode).map { " \($0)" } ?? ""
      text = "\(f): unsupported pickle opcode 0x\(String(opcode, radix: 16))\(name) at byte \(offset)"
    case .refusedGlobal(let f, let name, let opcode):
      text = "\(f): refused: the pickle calls \(name) (via \(opcode)), which is not on the allow-list"
    case .malformedPickle(let f, let offset, let reason):
      text = "\(f): malformed pickle at byte \(offset): \(reason)"
    case .badSafetensors(let f, let reason):
      text = "\(f): bad safetensors header: \(reason)"
    case .noStateDict(let f, let reason):
      text = "\(f): no state dict found: \(reason)"
    }
    // Keep the promise of one line even if a reason quotes text from the file.
    return text.replacingOccurrences(of: "\n", with: "\\n")
      .replacingOccurrences(of: "\r", with: "\\r")
  }
}
