import Foundation

/// Little-endian binary encoding for the resume state's tile files.
struct BinaryWriter {
  private(set) var data = Data()

  mutating func int(_ v: Int) {
    withUnsafeBytes(of: Int64(v).littleEndian) { data.append(contentsOf: $0) }
  }

  mutating func string(_ s: String) {
    let bytes = Array(s.utf8)
    int(bytes.count)
    data.append(contentsOf: bytes)
  }

  mutating func floats(_ v: [Float]) {
    int(v.count)
    // Float bit patterns, little-endian (every supported platform is little-endian).
    v.withUnsafeBytes { data.append(contentsOf: $0) }
  }

  mutating func bytes(_ v: [UInt8]) {
    int(v.count)
    data.append(contentsOf: v)
  }
}
