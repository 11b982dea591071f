import Foundation
import GeoCAMCore
import GeoCAMModels

/// The cascading model-parameter randomisation test (Adebayo et al. 2018): layers are
/// re-initialised from the top down (head, decoder, then the encoder's blocks down to its stem),
/// each map is recomputed after each step and compared with the original by the Spearman rank
/// correlation and the SSIM of the absolute maps. A method fails when its mean Spearman
/// correlation is still ≥ 0.5 once every layer down to the target layer's block is randomised:
/// its map then does not depend on what the model learned there.
public enum SanityCheck {
  /// The threshold on the mean Spearman correlation.
  public static let failThreshold = 0.5

  /// One step of the cascade: the parameter groups randomised so far, the newest last.
  public struct Step: Codable, Sendable, Equatable {
    /// The group this step adds (`segmentation_head`, `decoder`, `encoder.layer4.2`, …).
    public var group: String
    /// Whether the target layer is randomised from this step on.
    public var reachesTarget: Bool
  }

  /// The parameter group of a state-dict key: `…layerN.M` for residual blocks, the first two
  /// components under `encoder.` (the stem: `encoder.conv1`, `encoder.bn1`), else the first
  /// component (`decoder`, `segmentation_head`, `fc`, `conv1`, `bn1`).
  public static func group(of key: String) -> String {
    let parts = key.split(separator: ".").map(String.init)
    if let i = parts.firstIndex(where: { $0.hasPrefix("layer") && Int($0.dropFirst(5)) != nil }), i + 1 < parts.count, Int(parts[i + 1]) != nil {
      return parts[0...(i + 1)].joined(separator: ".")
    }
    if parts.first == "encoder", parts.count > 2 { return parts[0...1].joined(separator: ".") }
    return parts.first ?? key
  }

  /// The cascade for a model's parameters, top down: groups ordered by where their modules run
  /// in the forward pass (`layerPaths`), last first.
  public static func steps(keys: [String], layerPaths: [String], targetLayer: String) -> [Step] {
    var groups: [String] = []
    for k in keys {
      let g = group(of: k)
      if !groups.contains(g) { groups.append(g) }
    }
    func position(_ g: String) -> Int {
      layerPaths.firstIndex { $0 == g || $0.hasPrefix(g + ".") } ?? (groups.firstIndex(of: g) ?? 0)
    }
    let ordered = groups.enumerated().sorted { (position($0.element), $0.offset) > (position($1.element), $1.offset) }.map(\.element)
    let target = ordered.firstIndex { targetLayer == $0 || targetLayer.hasPrefix($0 + ".") }
    return ordered.enumerated().map { i, g in Step(group: g, reachesTarget: target.map { i >= $0 } ?? false) }
  }

  /// A model's weights with some groups re-initialised as PyTorch's defaults do: convolution
  /// and linear weights and their biases uniform in ±1/√fan_in (kaiming_uniform with a = √5),
  /// norm weights 1 and biases 0, running means 0 and variances 1. Each tensor's values come
  /// from `SeededRandom` seeded by the seed and the key, so a step is reproducible on its own.
  public struct RandomizedWeights: WeightSource {
    public let base: WeightSource
    public let groups: Set<String>
    public let seed: UInt64

    public init(base: WeightSource, groups: Set<String>, seed: UInt64) {
      self.base = base
      self.groups = groups
      self.seed = seed
    }

    public var keys: [String] { base.keys }
    public func shape(of key: String) -> [Int]? { base.shape(of: key) }

    public func floats(_ key: String) throws -> [Float] {
      guard groups.contains(SanityCheck.group(of: key)), let shape = base.shape(of: key) else { return try base.floats(key) }
      let count = shape.reduce(1, *)
      let name = key.split(separator: ".").last.map(String.init) ?? key
      func uniform(fanIn: Int) -> [Float] {
        var random = SeededRandom(seed: seed ^ SanityCheck.hash(key))
        let bound = 1 / Double(max(fanIn, 1)).squareRoot()
        return (0..<count).map { _ in Float((2 * random.unit() - 1) * bound) }
      }
      switch name {
      case "running_mean", "num_batches_tracked": return [Float](repeating: 0, count: count)
      case "running_var": return [Float](repeating: 1, count: count)
      case "weight" where shape.count >= 2: return uniform(fanIn: shape.dropFirst().reduce(1, *))
      case "weight": return [Float](repeating: 1, count: count)
      case "bias":
        let weightKey = String(key.dropLast(4)) + "weight"
        if let ws = base.shape(of: weightKey), ws.count >= 2 { return uniform(fanIn: ws.dropFirst().reduce(1, *)) }
        return [Float](repeating: 0, count: count)
      default: return try base.floats(key)
      }
    }
  }

  /// FNV-1a of a key (a stable per-tensor stream).
  static func hash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
  }

  /// Spearman's rank correlation (average ranks for ties, as SciPy's `spearmanr`); nil when a
  /// map is constant.
  public static func spearman(_ a: [Float], _ b: [Float]) -> Double? {
    func ranks(_ v: [Float]) -> [Float] {
      let order = v.indices.sorted { v[$0] < v[$1] }
      var r = [Float](repeating: 0, count: v.count)
      var i = 0
      while i < order.count {
        var j = i
        while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
        let rank = Float(Double(i + j) / 2 + 1)
        for k in i...j { r[order[k]] = rank }
        i = j + 1
      }
      return r
    }
    return SaliencyMetrics.cc(ranks(a), ranks(b))
  }

  /// SSIM as scikit-image's `structural_similarity(a, b, data_range=1)` computes it with its
  /// defaults: 7×7 uniform windows, K1 0.01, K2 0.03, sample covariances, the mean over the
  /// positions whose window lies inside the image. Maps are `height × width`, both ≥ 7.
  public static func ssim(_ a: [Float], _ b: [Float], width: Int, height: Int) -> Double? {
    let win = 7, r = 3
    guard width >= win, height >= win, a.count == width * height, b.count == a.count else { return nil }
    let np = Double(win * win), cov = np / (np - 1)
    let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
    var total = 0.0, n = 0
    for y in r..<(height - r) {
      for x in r..<(width - r) {
        var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        for dy in -r...r {
          for dx in -r...r {
            let i = (y + dy) * width + x + dx
            let va = Double(a[i]), vb = Double(b[i])
            sa += va; sb += vb; saa += va * va; sbb += vb * vb; sab += va * vb
          }
        }
        let ua = sa / np, ub = sb / np
        let va = cov * (saa / np - ua * ua), vb = cov * (sbb / np - ub * ub), vab = cov * (sab / np - ua * ub)
        total += ((2 * ua * ub + c1) * (2 * vab + c2)) / ((ua * ua + ub * ub + c1) * (va + vb + c2))
        n += 1
      }
    }
    return n > 0 ? total / Double(n) : nil
  }

  /// |map| min-max scaled to [0, 1] (a constant map becomes zeros): what SSIM compares.
  public static func scaledMagnitude(_ m: [Float]) -> [Float] {
    let v = m.map { abs($0) }
    let lo = v.min() ?? 0, hi = v.max() ?? 0
    return hi > lo ? v.map { ($0 - lo) / (hi - lo) } : v.map { _ in 0 }
  }
}
