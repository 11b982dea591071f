import Foundation
import GeoCAMCheckpoint
import GeoCAMModels
import Testing

/// NaN / Inf weights are refused when a model reads them, naming the tensor: never explained.
@Suite struct NonFiniteWeightTests {
  static func safetensors(_ values: [Float], at path: String) throws {
    let header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[\(values.count)],\"data_offsets\":[0,\(values.count * 4)]}}"
    var h = Array(header.utf8)
    while h.count % 8 != 0 { h.append(0x20) }
    var data = Data()
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: h)
    values.withUnsafeBytes { data.append(contentsOf: $0) }
    try data.write(to: URL(fileURLWithPath: path))
  }

  @Test func nanAndInfinityAreRefusedNamingTheTensor() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nan-\(getpid()).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    for bad in [Float.nan, .infinity, -.infinity] {
      try Self.safetensors([1, bad, 2, bad], at: path)
      let sd = try CheckpointLoader.load(path: path).stateDict
      #expect(throws: ModelError.nonFiniteWeights(key: "w", count: 2, of: 4)) { _ = try sd.floats("w") }
      #expect(ModelError.nonFiniteWeights(key: "w", count: 2, of: 4).description.contains("'w' holds 2 NaN or infinite values"))
    }
    try Self.safetensors([1, 2], at: path)
    #expect(try CheckpointLoader.load(path: path).stateDict.floats("w") == [1, 2])
  }
}
