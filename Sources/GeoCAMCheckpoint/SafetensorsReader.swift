import Foundation

/// Reads a `.safetensors` file: `u64 LE header length`, a JSON header, then the tensor bytes.
///
/// The header is validated the way the reference implementation does it: it must start with `{`,
/// be at most 100 MB, and its tensors' `data_offsets` must tile the byte buffer from 0 to its end
/// without holes or overlaps, each `end - begin` equal to `numel × element size`. Tensors are
/// returned in file order (by offset, which is also the order safetensors writes the header in)
/// and stay lazy views into the map.
public enum SafetensorsReader {
  /// Largest header accepted (`MAX_HEADER_SIZE` of the reference implementation).
  public static let maxHeaderSize = 100_000_000

  /// The tensors (in file order) and the `__metadata__` string map of a safetensors file.
  public struct Contents: Sendable {
    /// Tensors in data order.
    public var tensors: [(name: String, tensor: CheckpointTensor)]
    /// The `__metadata__` map (empty when absent).
    public var metadata: [String: String]
  }

  /// Whether the first bytes look like a safetensors header (length that fits, then `{`).
  static func looksLikeSafetensors(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let n = bytes.u64(0), n >= 2, n <= UInt64(maxHeaderSize), n <= UInt64(bytes.count - 8) else {
      return false
    }
    return bytes[8] == UInt8(ascii: "{")
  }

  /// Parses the header of a mapped safetensors file.
  /// - Throws: ``CheckpointError/badSafetensors(file:reason:)`` or
  ///   ``CheckpointError/unsupportedDType(file:dtype:context:)``.
  public static func read(_ file: MappedFile) throws -> Contents {
    let name = file.name
    func bad(_ reason: String) -> CheckpointError { .badSafetensors(file: name, reason: reason) }
    guard let headerLength64 = file.withBytes({ $0.u64(0) }) else {
      throw bad("the file has \(file.count) bytes, fewer than the 8-byte header length")
    }
    guard headerLength64 <= UInt64(maxHeaderSize) else {
      throw bad("header length \(headerLength64) exceeds the 100 MB limit")
    }
    let headerLength = Int(headerLength64)
    guard headerLength <= file.count - 8 else {
      throw bad("header length \(headerLength) runs past the end of the file (\(file.count) bytes)")
    }
    let header = try file.copyBytes(8..<(8 + headerLength))
    guard header.first == UInt8(ascii: "{") else { throw bad("the header does not start with '{'") }
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: Data(header), options: [])
    } catch {
      throw bad("the header is not valid JSON")
    }
    guard let object = json as? [String: Any] else { throw bad("the header is not a JSON object") }

    var metadata: [String: String] = [:]
    if let raw = object["__metadata__"] {
      guard let map = raw as? [String: Any] else { throw bad("__metadata__ is not an object") }
      for (k, v) in map {
        guard let s = v as? String else { throw bad("__metadata__['\(k)'] is not a string") }
        metadata[k] = s
      }
    }

    struct Entry {
      var name: String
      var dtype: CheckpointDType
      var shape: [Int]
      var begin: Int
      var end: Int
    }
    var entries: [Entry] = []
    for (key, value) in object where key != "__metadata__" {
      guard let info = value as? [String: Any] else { throw bad("entry '\(key)' is not an object") }
      guard let code = info["dtype"] as? String else { throw bad("entry '\(key)' has no dtype") }
      guard let dtype = CheckpointDType(safetensorsCode: code) else {
        throw CheckpointError.unsupportedDType(file: name, dtype: code, context: "safetensors tensor '\(key)'")
      }
      guard let shapeRaw = info["shape"] as? [Any] else { throw bad("entry '\(key)' has no shape list") }
      let shape = try shapeRaw.map { item -> Int in
        guard let n = jsonInt(item), n >= 0 else { throw bad("entry '\(key)' has an invalid shape") }
        return n
      }
      guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2, let begin = jsonInt(offsets[0]),
        let end = jsonInt(offsets[1]), begin >= 0, end >= begin
      else { throw bad("entry '\(key)' has invalid data_offsets") }
      var numel = 1
      for n in shape {
        let (p, o) = numel.multipliedReportingOverflow(by: n)
        guard !o else { throw bad("entry '\(key)' has a shape whose size overflows") }
        numel = p
      }
      let (bytes, o) = numel.multipliedReportingOverflow(by: dtype.elementSize)
      guard !o, bytes == end - begin else {
        throw bad("entry '\(key)' spans \(end - begin) bytes but \(code)\(shape) needs \(o ? Int.max : bytes)")
      }
      entries.append(Entry(name: key, dtype: dtype, shape: shape, begin: begin, end: end))
    }
    entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }

    // Offsets must tile [0, buffer size) exactly: no holes, no overlaps, nothing left over.
    let bufferStart = 8 + headerLength
    let bufferSize = file.count - bufferStart
    var expected = 0
    for e in entries {
      guard e.begin == expected else {
        throw bad(
          e.begin > expected
            ? "tensor '\(e.name)' starts at \(e.begin), leaving a hole after byte \(expected)"
            : "tensor '\(e.name)' starts at \(e.begin), overlapping bytes before \(expected)")
      }
      expected = e.end
    }
    guard expected == bufferSize else {
      throw bad(
        expected > bufferSize
          ? "tensors need \(expected) data bytes but the file holds \(bufferSize)"
          : "\(bufferSize - expected) data bytes after the last tensor are not described by the header")
    }

    var tensors: [(name: String, tensor: CheckpointTensor)] = []
    tensors.reserveCapacity(entries.count)
    for e in entries {
      let storage = CheckpointStorage(
        key: e.name, record: e.name, file: file, byteOffset: bufferStart + e.begin, byteCount: e.end - e.begin,
        dtype: e.dtype)
      let tensor = try CheckpointTensor(
        dtype: e.dtype, shape: e.shape, strides: CheckpointTensor.contiguousStrides(for: e.shape), storageOffset: 0,
        storage: storage)
      tensors.append((e.name, tensor))
    }
    return Contents(tensors: tensors, metadata: metadata)
  }

  /// A JSON integer (JSONSerialization gives NSNumber; fractions are rejected).
  private static func jsonInt(_ value: Any) -> Int? {
    if let i = value as? Int { return i }
    if let d = value as? Double, d == d.rounded(), let i = Int(exactly: d) { return i }
    return nil
  }
}
