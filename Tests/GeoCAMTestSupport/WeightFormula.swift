import Foundation
import GeoCAMModels

/// Swift twin of Scripts/fixtures/weight_formula.py: deterministic weights for every tensor of
/// rank ≥ 2, bit-identical to the Python reference (integer hashing, exact float steps).
public enum WeightFormula {
  public static func fnv1a32(_ text: String) -> UInt32 {
    var h: UInt32 = 0x811C_9DC5
    for b in text.utf8 {
      h ^= UInt32(b)
      h = h &* 0x0100_0193
    }
    return h
  }

  public static func values(key: String, shape: [Int]) -> [Float] {
    let n = shape.reduce(1, *)
    let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
    let seed = fnv1a32(key)
    let scale = Float((6.0 / Double(fanIn)).squareRoot())
    var out = [Float](repeating: 0, count: n)
    for i in 0..<n {
      var x = UInt32(truncatingIfNeeded: i) &* 0x9E37_79B1
      x ^= seed
      x ^= x >> 16
      x = x &* 0x85EB_CA6B
      x ^= x >> 13
      x = x &* 0xC2B2_AE35
      x ^= x >> 16
      let u = Float(x >> 8) * Float(sign: .plus, exponent: -24, significand: 1)
      let v = u * 2 - 1
      out[i] = v * scale
    }
    return out
  }
}

/// Fixture weights: small tensors from a safetensors file, the rest from the formula, with
/// the state-dict key list and shapes of the real architecture.
public struct FixtureWeights: WeightSource {
  let shapes: [String: [Int]]
  public let keys: [String]
  let small: [String: [Float]]

  public init(keyShapes: [(String, [Int])], small: [String: (shape: [Int], values: [Float])]) {
    self.keys = keyShapes.map(\.0)
    self.shapes = Dictionary(uniqueKeysWithValues: keyShapes)
    self.small = small.mapValues(\.values)
  }

  public func shape(of key: String) -> [Int]? { shapes[key] }

  public func floats(_ key: String) throws -> [Float] {
    if let v = small[key] { return v }
    guard let s = shapes[key] else { throw ModelError.missingKey(key) }
    return WeightFormula.values(key: key, shape: s)
  }
}
