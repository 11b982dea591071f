import Foundation
import GeoCAMTensor

/// Paths and readers for the committed fixtures (Tests/Fixtures), located from this file.
public enum Fixtures {
  public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
  public static let models = root.appendingPathComponent("models")

  public struct Meta: Decodable {
    public let scales: [String: [Double]]
    public let resnet50_classes: [Int]?
  }

  public static let explain = root.appendingPathComponent("explain")

  public static func meta(in dir: URL = models) throws -> Meta {
    try JSONDecoder().decode(Meta.self, from: Data(contentsOf: dir.appendingPathComponent("meta.json")))
  }

  /// An int16 reference de-quantised with one scale per leading index.
  public static func reference(_ name: String, meta: Meta, in dir: URL = models) throws -> (values: [Float], shape: [Int]) {
    let (q, shape) = try NPYFile.read(dir.appendingPathComponent(name + ".i16.npy"))
    guard let scales = meta.scales[name] else { throw CocoaError(.fileReadCorruptFile) }
    let per = q.count / scales.count
    var out = [Float](repeating: 0, count: q.count)
    for i in 0..<q.count { out[i] = Float(Double(q[i]) * scales[i / per]) }
    return (out, shape)
  }

  /// Fixture weights: `<prefix>_keys.json` key list, `<prefix>_small.safetensors` 1-D tensors,
  /// the formula for the rest.
  public static func weights(_ prefix: String, in dir: URL = models) throws -> FixtureWeights {
    let keysData = try Data(contentsOf: dir.appendingPathComponent("\(prefix)_keys.json"))
    let raw = try JSONSerialization.jsonObject(with: keysData) as? [[Any]] ?? []
    let keyShapes = raw.compactMap { row -> (String, [Int])? in
      guard let k = row.first as? String, let s = row.last as? [Int] else { return nil }
      return (k, s)
    }
    let small = try safetensorsF32(dir.appendingPathComponent("\(prefix)_small.safetensors"))
    return FixtureWeights(keyShapes: keyShapes, small: small)
  }

  /// A `[C][H][W]` uint8 image fixture as a `[C][1][H][W]` tensor.
  public static func image(_ name: String, in dir: URL = models) throws -> Tensor {
    let (v, shape) = try NPYFile.read(dir.appendingPathComponent(name))
    return Tensor(channels: shape[0], batch: 1, height: shape[1], width: shape[2], values: v)
  }

  /// Reads the float32 tensors of a safetensors file (test-side reader for the fixture's small
  /// tensors; the product reader lives in GeoCAMCheckpoint).
  public static func safetensorsF32(_ url: URL) throws -> [String: (shape: [Int], values: [Float])] {
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
  public static func agreement(_ a: [Float], _ b: [Float], tolerance: Float = 1e-3) -> (within: Double, relativeL2: Double) {
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
  public static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var diff: Float = 0, ref: Float = 0
    for i in 0..<a.count {
      diff = max(diff, abs(a[i] - b[i]))
      ref = max(ref, abs(b[i]))
    }
    return ref > 0 ? diff / ref : diff
  }
}
