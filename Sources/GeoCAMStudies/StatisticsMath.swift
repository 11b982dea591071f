import Foundation

/// The special functions the paired statistics need, in Double.
enum StatisticsMath {
  /// The regularised incomplete beta function I_x(a, b) (continued fraction, modified Lentz,
  /// with the symmetry swap where it converges faster), to ~1e-15.
  static func regularizedBeta(_ x: Double, a: Double, b: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let lbeta = lgamma(a + b) - lgamma(a) - lgamma(b)
    let front = exp(lbeta + a * log(x) + b * log1p(-x))
    if x < (a + 1) / (a + b + 2) {
      return front * continuedFraction(x, a: a, b: b) / a
    }
    return 1 - front * continuedFraction(1 - x, a: b, b: a) / b
  }

  private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
    let tiny = 1e-300
    var c = 1.0
    var d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    for m in 1...10_000 {
      let m = Double(m), m2 = 2 * m
      var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      h *= d * c
      aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) < 1e-16 { break }
    }
    return h
  }

  /// P(Z > z) for a standard normal Z.
  static func normalSurvival(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

  /// P(T ≤ t) for Student's t with `df` degrees of freedom.
  static func studentCDF(_ t: Double, df: Double) -> Double {
    let tail = 0.5 * regularizedBeta(df / (df + t * t), a: df / 2, b: 0.5)
    return t >= 0 ? 1 - tail : tail
  }

  /// The `p`-quantile of Student's t (bisection on the CDF to machine precision).
  static func studentQuantile(_ p: Double, df: Double) -> Double {
    var lo = -1e3, hi = 1e3
    for _ in 0..<200 {
      let mid = (lo + hi) / 2
      if studentCDF(mid, df: df) < p { lo = mid } else { hi = mid }
      if hi - lo <= 1e-15 * max(1, abs(mid)) { break }
    }
    return (lo + hi) / 2
  }

  /// P(T ≤ t) for the noncentral t with `df` degrees of freedom and noncentrality `delta`
  /// (Lenth's AS 243 series, summed until its error bound is below 1e-15).
  static func noncentralTCDF(_ t: Double, df: Double, delta: Double) -> Double {
    var tt = t, del = delta
    let negative = t < 0
    if negative {
      tt = -tt
      del = -del
    }
    var result = 0.0
    let x = tt * tt / (tt * tt + df)
    if x > 0 {
      let lambda = del * del
      var p = 0.5 * exp(-0.5 * lambda)
      var q = (2 / Double.pi).squareRoot() * p * del
      var s = 0.5 - p
      // Guard against underflow of the Poisson start for large noncentrality.
      if p < 1e-300 { return negative ? 1 - normalCDFUpper(del) : normalCDFLower(del) }
      var a = 0.5
      let b = 0.5 * df
      let rxb = pow(1 - x, b)
      let albeta = log(Double.pi.squareRoot()) + lgamma(b) - lgamma(0.5 + b)
      var xodd = regularizedBeta(x, a: a, b: b)
      var godd = 2 * rxb * exp(a * log(x) - albeta)
      var xeven = 1 - rxb
      var geven = b * x * rxb
      result = p * xodd + q * xeven
      var en = 1.0
      while en < 5000 {
        a += 1
        xodd -= godd
        xeven -= geven
        godd *= x * (a + b - 1) / a
        geven *= x * (a + b - 0.5) / (a + 0.5)
        p *= lambda / (2 * en)
        q *= lambda / (2 * en + 1)
        s -= p
        en += 1
        result += p * xodd + q * xeven
        let bound = 2 * s * (xodd - godd)
        if abs(bound) < 1e-15 && en > lambda / 2 { break }
      }
    }
    result += normalCDFLower(-del)
    return negative ? 1 - result : result
  }

  private static func normalCDFLower(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
  private static func normalCDFUpper(_ z: Double) -> Double { 0.5 * erfc(z / 2.0.squareRoot()) }

  /// The noncentrality δ at which P(T ≤ t) = `cdf` (the CDF falls as δ grows): bracketed, then
  /// bisected to ~1e-14. Nil if no bracket is found.
  static func noncentralityFor(cdf target: Double, t: Double, df: Double) -> Double? {
    var lo = t - 10, hi = t + 10
    var tries = 0
    while noncentralTCDF(t, df: df, delta: lo) < target && tries < 20 {
      lo -= 10
      tries += 1
    }
    while noncentralTCDF(t, df: df, delta: hi) > target && tries < 40 {
      hi += 10
      tries += 1
    }
    guard tries < 40 else { return nil }
    for _ in 0..<200 {
      let mid = (lo + hi) / 2
      if noncentralTCDF(t, df: df, delta: mid) > target { lo = mid } else { hi = mid }
      if hi - lo <= 1e-14 * max(1, abs(mid)) { break }
    }
    return (lo + hi) / 2
  }
}
