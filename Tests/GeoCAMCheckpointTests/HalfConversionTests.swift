import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("float16 weights")
struct HalfConversionTests {
  /// Every float16 bit pattern but the NaNs, in order.
  static let patterns: [UInt16] = (0...UInt16.max).filter { ($0 & 0x7C00) != 0x7C00 || ($0 & 0x3FF) == 0 }

  @Test("the hardware conversion equals the bitwise one on every non-NaN pattern")
  func hardwareEqualsBitwise() {
    #if arch(x86_64) || arch(arm64)
      for h in Self.patterns {
        #expect(Float(Float16(bitPattern: h)).bitPattern == CheckpointTensor.halfToFloat(h).bitPattern, "0x\(String(h, radix: 16))")
      }
    #endif
  }

  @Test("a contiguous F16 safetensors tensor reads as the bitwise conversion of each value, from an odd offset too")
  func contiguousTensorReadsExactly() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-f16-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let n = Self.patterns.count
    // One leading byte-sized tensor puts the F16 data at an odd file offset (unaligned loads).
    let header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"w\":{\"dtype\":\"F16\",\"shape\":[\(n)],\"data_offsets\":[1,\(1 + 2 * n)]}}"
    var file = Data()
    withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: Array(header.utf8))
    file.append(7)
    for h in Self.patterns { withUnsafeBytes(of: h.littleEndian) { file.append(contentsOf: $0) } }
    let path = dir.appendingPathComponent("half.safetensors").path
    try file.write(to: URL(fileURLWithPath: path))
    let loaded = try CheckpointLoader.load(path: path)
    let values = try #require(loaded.stateDict["w"]).floats()
    #expect(values.count == n)
    for (h, v) in zip(Self.patterns, values) {
      #expect(v.bitPattern == CheckpointTensor.halfToFloat(h).bitPattern, "0x\(String(h, radix: 16))")
    }
  }
}
