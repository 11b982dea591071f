import Foundation

/// Paired comparison of two measurements per unit (e.g. the mean CAM inside vs outside an
/// object), as SciPy computes it: `ttest_rel` (t, df, two-sided and one-sided p, the 95 % CI of
/// the mean difference), Cohen's d_z = mean / sd of the differences with its 95 % CI (the
/// noncentral t inverted), and `wilcoxon(d, zero_method='wilcox', correction=False,
/// method='auto')` (W⁺ and p). Values that do not exist (n < 2, zero variance, no non-zero
/// difference) are nil with a warning saying why; nothing is ever inf or NaN.
public struct PairedStatistics: Codable, Sendable, Equatable {
  public var n: Int
  public var t: Double?
  public var df: Double?
  public var pTwoSided: Double?
  /// One-sided p for "first > second" (SciPy's `alternative='greater'`).
  public var pOneSided: Double?
  public var meanDifference: Double?
  public var ci95: [Double]?
  public var cohenDz: Double?
  public var cohenDzCI95: [Double]?
  public var wilcoxonWPlus: Double?
  public var wilcoxonP: Double?
  /// How the Wilcoxon p was computed: exact, permutation (all sign flips) or asymptotic.
  public var wilcoxonMethod: String?
  public var warning: String?

  enum CodingKeys: String, CodingKey {
    case n, t, df, warning
    case pTwoSided = "p_two_sided"
    case pOneSided = "p_one_sided"
    case meanDifference = "mean_difference"
    case ci95
    case cohenDz = "cohen_dz"
    case cohenDzCI95 = "cohen_dz_ci95"
    case wilcoxonWPlus = "wilcoxon_w_plus"
    case wilcoxonP = "wilcoxon_p"
    case wilcoxonMethod = "wilcoxon_method"
  }

  /// Compares `a[i]` with `b[i]` (same length).
  public init(_ a: [Double], _ b: [Double]) {
    precondition(a.count == b.count, "paired samples differ in length")
    let d = zip(a, b).map { $0 - $1 }
    n = d.count
    var warnings: [String] = []
    if n >= 1 { meanDifference = d.reduce(0, +) / Double(n) }
    if n < 2 {
      warnings.append("n = \(n): a paired t-test needs at least 2 pairs")
    } else {
      let mean = d.reduce(0, +) / Double(n)
      let variance = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
      let sd = variance.squareRoot()
      if !(sd > 0) {
        warnings.append("the differences have zero variance: t and d_z are undefined")
      } else {
        let nu = Double(n - 1)
        let se = sd / Double(n).squareRoot()
        let tv = mean / se
        t = tv
        df = nu
        let x = nu / (nu + tv * tv)
        let tail = 0.5 * StatisticsMath.regularizedBeta(x, a: nu / 2, b: 0.5)  // P(T > |t|)
        pTwoSided = min(1, 2 * tail)
        pOneSided = tv > 0 ? tail : 1 - tail
        let q = StatisticsMath.studentQuantile(0.975, df: nu)
        ci95 = [mean - q * se, mean + q * se]
        cohenDz = mean / sd
        if let lo = StatisticsMath.noncentralityFor(cdf: 0.975, t: tv, df: nu),
          let hi = StatisticsMath.noncentralityFor(cdf: 0.025, t: tv, df: nu)
        {
          cohenDzCI95 = [lo / Double(n).squareRoot(), hi / Double(n).squareRoot()]
        }
      }
    }
    if let w = Wilcoxon(d) {
      wilcoxonWPlus = w.wPlus
      wilcoxonP = w.p
      wilcoxonMethod = w.method
    } else if n >= 1 {
      warnings.append("every difference is zero: no Wilcoxon test")
    }
    warning = warnings.isEmpty ? nil : warnings.joined(separator: "; ")
  }

  /// Holm's step-down adjustment of p-values (nil stays nil and does not count).
  public static func holm(_ p: [Double?]) -> [Double?] {
    let indexed = p.enumerated().compactMap { i, v in v.map { (i, $0) } }
    let m = indexed.count
    let order = indexed.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
    var out = [Double?](repeating: nil, count: p.count)
    var running = 0.0
    for (rank, item) in order.enumerated() {
      running = max(running, min(1, Double(m - rank) * item.1))
      out[item.0] = running
    }
    return out
  }
}

/// SciPy's Wilcoxon signed-rank test on differences, `zero_method='wilcox'`, no continuity
/// correction, `method='auto'`: n > 50 → asymptotic (tie-corrected normal); otherwise exact
/// null distribution when there are no ties and no zeros, all 2ⁿ sign flips (a permutation test)
/// when n ≤ 13, asymptotic beyond.
struct Wilcoxon {
  let wPlus: Double
  let p: Double
  let method: String

  init?(_ d: [Double]) {
    let n = d.count
    let nonzero = d.filter { $0 != 0 }
    guard !nonzero.isEmpty else { return nil }
    let zeros = n - nonzero.count
    let (ranks, tieGroups) = Wilcoxon.averageRanks(nonzero.map(abs))
    func statistic(_ values: [Double]) -> Double {
      zip(values, ranks).reduce(0) { $0 + ($1.0 > 0 ? $1.1 : 0) }
    }
    let observed = statistic(nonzero)
    wPlus = observed
    let hasTies = tieGroups.contains { $0 > 1 }
    let count = Double(nonzero.count)
    if n <= 50 && !hasTies && zeros == 0 {
      method = "exact"
      let pmf = Wilcoxon.nullDistribution(nonzero.count)
      let mean = count * (count + 1) / 4
      // SciPy's WilcoxonDistribution: sums from the nearer tail, P(T ≤ k) and P(T ≥ k).
      func lower(_ k: Int) -> Double { k < 0 ? 0 : pmf[0...min(k, pmf.count - 1)].reduce(0, +) }
      func upper(_ k: Int) -> Double { k <= 0 ? 1 : (k >= pmf.count ? 0 : pmf[k...].reduce(0, +)) }
      func cdf(_ k: Int) -> Double { Double(k) <= mean ? lower(k) : 1 - upper(k + 1) }
      func sf(_ k: Int) -> Double { Double(k) <= mean ? upper(k) : 1 - lower(k - 1) }
      let two = 2 * min(sf(Int(observed.rounded(.down))), cdf(Int(observed.rounded(.up))))
      p = min(max(two, 0), 1)
    } else if n <= 13 {
      // Every sign assignment of the n differences (zeros stay zero), as scipy's exact
      // permutation_test does; comparisons tolerate 100 ulp as SciPy's do.
      method = "permutation"
      let gamma = abs(observed) * Double.ulpOfOne * 100
      var less = 0, greater = 0
      let total = 1 << n
      for mask in 0..<total {
        var s = 0.0
        var j = 0
        for (i, v) in d.enumerated() where v != 0 {
          let positive = ((mask >> i) & 1 == 0) ? v > 0 : v < 0
          if positive { s += ranks[j] }
          j += 1
        }
        if s <= observed + gamma { less += 1 }
        if s >= observed - gamma { greater += 1 }
      }
      p = min(1, 2 * Double(min(less, greater)) / Double(total))
    } else {
      method = "asymptotic"
      let mn = count * (count + 1) * 0.25
      let tieCorrection = tieGroups.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
      let se = ((count * (count + 1) * (2 * count + 1) - tieCorrection / 2) / 24).squareRoot()
      let z = se > 0 ? (observed - mn) / se : 0
      p = min(1, 2 * StatisticsMath.normalSurvival(abs(z)))
    }
  }

  /// Average ranks (1-based) of `values` and the sizes of the tie groups.
  static func averageRanks(_ values: [Double]) -> ([Double], [Int]) {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var groups: [Int] = []
    var i = 0
    while i < order.count {
      var j = i
      while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
      let r = Double(i + j + 2) / 2
      for k in i...j { ranks[order[k]] = r }
      groups.append(j - i + 1)
      i = j + 1
    }
    return (ranks, groups)
  }

  /// The exact null distribution of W⁺ for n untied, non-zero differences: P(W⁺ = k).
  static func nullDistribution(_ n: Int) -> [Double] {
    let maxSum = n * (n + 1) / 2
    var counts = [Double](repeating: 0, count: maxSum + 1)
    counts[0] = 1
    for r in 1...max(n, 1) where n > 0 {
      for s in stride(from: maxSum, through: r, by: -1) { counts[s] += counts[s - r] }
    }
    let total = pow(2, Double(n))
    return counts.map { $0 / total }
  }
}
