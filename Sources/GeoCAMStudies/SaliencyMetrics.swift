import Foundation

/// Saliency metrics as their reference code defines them (written out so a reviewer can check
/// each against its source); maps are row-major `[Float]` of equal size, computed in Double.
///
/// - `cc`: the MIT benchmark's CC.m: both maps z-scored, Pearson correlation (nil for a constant map).
/// - `sim`: similarity.m: each map min-max scaled to [0, 1], then divided by its sum; Σ min(p, q).
/// - `kl`: KLdiv.m on maps clipped at 0 (LIME weights can be negative), each divided by its sum:
///   Σ g·log(ε + g/(s + ε)), ε = 2.22e-16, the divergence of the reference g from the map s.
/// - `nss`: NSS.m: the map z-scored (sample sd), its mean at the fixations.
/// - `aucJudd`: AUC_Judd.m without the benchmark's random jitter: thresholds are the map's
///   values at the fixations, highest first; point i has tp = i/F and fp = (#pixels ≥ threshold
///   − i)/(N − F); the curve runs from (0, 0) to (1, 1); trapezoid area.
/// - `pointingGame`: Quantus' PointingGame: a hit when any pixel holding the map's maximum
///   lies in the mask.
/// - `energyPointingGame`: Score-CAM's: Σ of the map (clipped at 0) inside the mask / Σ over all.
/// - `causalAUC`: RISE's insertion/deletion area, (Σ s − s₀/2 − s_last/2)/(n − 1).
public enum SaliencyMetrics {
  public static func cc(_ s: [Float], _ g: [Float]) -> Double? {
    let a = s.map(Double.init), b = g.map(Double.init)
    let n = Double(a.count)
    let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var sab = 0.0, saa = 0.0, sbb = 0.0
    for i in a.indices {
      sab += (a[i] - ma) * (b[i] - mb)
      saa += (a[i] - ma) * (a[i] - ma)
      sbb += (b[i] - mb) * (b[i] - mb)
    }
    return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : nil
  }

  public static func sim(_ s: [Float], _ g: [Float]) -> Double {
    func normalise(_ m: [Float]) -> [Double] {
      let lo = Double(m.min() ?? 0), hi = Double(m.max() ?? 0)
      let scaled = m.map { hi > lo ? (Double($0) - lo) / (hi - lo) : 0 }
      let total = scaled.reduce(0, +)
      return total > 0 ? scaled.map { $0 / total } : scaled
    }
    return zip(normalise(s), normalise(g)).reduce(0) { $0 + min($1.0, $1.1) }
  }

  public static func kl(_ s: [Float], reference g: [Float]) -> Double {
    let eps = Double.ulpOfOne
    let p = s.map { max(Double($0), 0) }, q = g.map { max(Double($0), 0) }
    let sp = p.reduce(0, +), sq = q.reduce(0, +)
    var total = 0.0
    for i in p.indices {
      let si = sp > 0 ? p[i] / sp : 0, gi = sq > 0 ? q[i] / sq : 0
      total += gi * log(eps + gi / (si + eps))
    }
    return total
  }

  public static func nss(_ s: [Float], fixations: [Int]) -> Double? {
    let a = s.map(Double.init)
    let n = Double(a.count)
    let mean = a.reduce(0, +) / n
    let sd = (a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot()
    guard sd > 0, !fixations.isEmpty else { return nil }
    return fixations.reduce(0) { $0 + (a[$1] - mean) / sd } / Double(fixations.count)
  }

  public static func aucJudd(_ s: [Float], fixations: [Int]) -> Double? {
    let f = fixations.count, n = s.count
    guard f > 0, n > f else { return nil }
    let thresholds = fixations.map { s[$0] }.sorted(by: >)
    var tp = [0.0], fp = [0.0]
    let sorted = s.sorted(by: >)
    for (i, t) in thresholds.enumerated() {
      // Pixels at or above the threshold: a binary search on the descending values.
      var lo = 0, hi = sorted.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if sorted[mid] >= t { lo = mid + 1 } else { hi = mid }
      }
      tp.append(Double(i + 1) / Double(f))
      fp.append(Double(lo - (i + 1)) / Double(n - f))
    }
    tp.append(1)
    fp.append(1)
    var area = 0.0
    for i in 1..<tp.count { area += (fp[i] - fp[i - 1]) * (tp[i] + tp[i - 1]) / 2 }
    return area
  }

  public static func pointingGame(_ s: [Float], mask: [Bool]) -> Bool {
    guard let top = s.max() else { return false }
    return s.indices.contains { s[$0] == top && mask[$0] }
  }

  public static func energyPointingGame(_ s: [Float], mask: [Bool]) -> Double? {
    var inside = 0.0, total = 0.0
    for i in s.indices {
      let v = max(Double(s[i]), 0)
      total += v
      if mask[i] { inside += v }
    }
    return total > 0 ? inside / total : nil
  }

  public static func causalAUC(_ scores: [Double]) -> Double? {
    guard scores.count >= 2, let first = scores.first, let last = scores.last else { return nil }
    return (scores.reduce(0, +) - first / 2 - last / 2) / Double(scores.count - 1)
  }
}
