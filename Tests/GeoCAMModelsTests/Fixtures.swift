import Foundation
import GeoCAMTensor

/// Paths and readers for the committed fixtures (Tests/Fixtures), located from this file.
enum Fixtures {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
  static let models = root.appendingPathComponent("models")

  struct Meta: Decodable {
    let scales: [String: [Double]]
    let resnet50_classes: [Int]
  }

  static func meta() throws -> Meta {
    try JSONDecoder().decode(Meta.self, from: Data(contentsOf: models.appendingPathComponent("meta.json")))
  }

  /// An int16 reference de-quantised with one scale per leading index.
  static func reference(_ name: String, meta: Meta) throws -> (values: [Float], shape: [Int]) {
    let (q, shape) = try NPYFile.read(models.appendingPathComponent(name + ".i16.npy"))
    guard let scales = meta.scales[name] else { throw CocoaError(.fileReadCorruptFile) }
    let per = q.count / scales.count
    var out = [Float](repeating: 0, count: q.count)
    for i in 0..<q.count { out[i] = Float(Double(q[i]) * scales[i / per]) }
    return (out, shape)
  }

  /// Reads the float32 tensors of a safetensors file (test-side reader for the fixture's small
  /// tensors; the product reader lives in GeoCAMCheckpoint).
  static func safetensorsF32(_ url: URL) throws -> [String: (shape: [Int], values: [Float])] {
    let data = try Data(contentsOf: url)
    let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] ?? [:]
    var out: [String: (shape: [Int], values: [Float])] = [:]
    for (key, value) in header where key != "__metadata__" {
      guard let info = value as? [String: Any], info["dtype"] as? String == "F32",
        let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int]
      else { continue }
      let bytes = data.subdata(in: (8 + n + offsets[0])..<(8 + n + offsets[1]))
      let values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      out[key] = (shape, values)
    }
    return out
  }

  /// Share of elements with |a − b| ≤ tol·max|b|, and the relative L2 error ‖a − b‖/‖b‖.
  static func agreement(_ a: [Float], _ b: [Float], tolerance: Float = 1e-3) -> (within: Double, relativeL2: Double) {
    precondition(a.count == b.count)
    let m = b.reduce(0) { max($0, abs($1)) }
    var inside = 0
    var d2 = 0.0, r2 = 0.0
    for i in 0..<a.count {
      let d = abs(a[i] - b[i])
      if d <= tolerance * m { inside += 1 }
      d2 += Double(d) * Double(d)
      r2 += Double(b[i]) * Double(b[i])
    }
    return (Double(inside) / Double(a.count), r2 > 0 ? (d2 / r2).squareRoot() : d2.squareRoot())
  }

  /// Largest |a − b| relative to max |b|.
  static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var diff: Float = 0, ref: Float = 0
    for i in 0..<a.count {
      diff = max(diff, abs(a[i] - b[i]))
      ref = max(ref, abs(b[i]))
    }
    return ref > 0 ? diff / ref : diff
  }
}
