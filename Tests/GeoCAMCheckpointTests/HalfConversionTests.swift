import Foundation
import Testing

@testable import GeoCAMCheckpoint
import CFloatEnv

@Suite("float16 weights")
struct HalfConversionTests {
  /// Every float16 bit pattern, NaNs and subnormals included, in order.
  static let patterns: [UInt16] = Array(0...UInt16.max)

  @Test("the hardware conversion equals the bitwise one on every normal value")
  func hardwareEqualsBitwise() {
    #if arch(x86_64) || arch(arm64)
      // Subnormals and NaNs are redone bit by bit by the loader (denormals-are-zero, quieting).
      for h in Self.patterns where (1...30).contains((h >> 10) & 0x1F) {
        #expect(Float(Float16(bitPattern: h)).bitPattern == CheckpointTensor.halfToFloat(h).bitPattern, "0x\(String(h, radix: 16))")
      }
    #endif
  }

  @Test("a contiguous F16 safetensors tensor reads as the bitwise conversion of every pattern, from an odd offset, with denormals-are-zero on")
  func contiguousTensorReadsExactly() throws {
    // As on GeoCAM's workers: the hardware conversion would read subnormal halves as 0.
    geocam_enable_flush_denormals()
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
