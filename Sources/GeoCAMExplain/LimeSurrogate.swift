import Foundation

/// LIME's local surrogate (lime 0.2.0.1, as `lime_image` calls it): given the binary samples
/// (one row per perturbed image, one column per superpixel, row 0 all ones = the image itself)
/// and the model's score for the target class on each, each sample is weighted by
/// `sqrt(exp(−d²/w²))` with d its cosine distance to row 0 and w the kernel width (0.25), and a
/// ridge regression (α = 1, with intercept, sklearn's weighted centring) gives one weight per
/// superpixel. With LIME's default of 100,000 features the 'auto' selection keeps every
/// superpixel, so the weights are the full ridge solution.
public struct LimeSurrogate: Sendable {
  /// Per-superpixel weights (the explanation map's values), the intercept, the weighted R² of
  /// the fit (LIME's `score`) and the surrogate's prediction for the unperturbed image.
  public var weights: [Double]
  public var intercept: Double
  public var score: Double
  public var localPrediction: Double

  /// Fits the surrogate; nil when the samples are degenerate (fewer than 2, ragged, no weight).
  public init?(samples: [[UInt8]], scores: [Double], kernelWidth: Double = 0.25, alpha: Double = 1) {
    guard samples.count >= 2, samples.count == scores.count, let k = samples.first?.count, k > 0,
      samples.allSatisfy({ $0.count == k })
    else { return nil }
    let x = samples.map { $0.map(Double.init) }
    // Cosine distance of each row to row 0, then the kernel.
    let x0 = x[0]
    let n0 = x0.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let w: [Double] = x.map { row in
      let dot = zip(row, x0).reduce(0) { $0 + $1.0 * $1.1 }
      let nr = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
      // scikit-learn's cosine distance of a zero row is 1 (similarity 0).
      let d = nr > 0 && n0 > 0 ? 1 - dot / (nr * n0) : 1
      return (exp(-(d * d) / (kernelWidth * kernelWidth))).squareRoot()
    }
    let sw = w.reduce(0, +)
    guard sw > 0 else { return nil }
    // Weighted centring (sklearn's _preprocess_data with sample weights).
    let xMean = (0..<k).map { j in zip(x, w).reduce(0) { $0 + $1.0[j] * $1.1 } / sw }
    let yMean = zip(scores, w).reduce(0) { $0 + $1.0 * $1.1 } / sw
    // (XcᵀWXc + αI) β = XcᵀW yc, solved by Gaussian elimination with partial pivoting.
    var a = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
    for (i, row) in x.enumerated() {
      let c = row.enumerated().map { $0.element - xMean[$0.offset] }
      let yc = scores[i] - yMean
      for p in 0..<k {
        for q in 0..<k { a[p][q] += w[i] * c[p] * c[q] }
        a[p][k] += w[i] * c[p] * yc
      }
    }
    for p in 0..<k { a[p][p] += alpha }
    for col in 0..<k {
      guard let pivot = (col..<k).max(by: { abs(a[$0][col]) < abs(a[$1][col]) }), abs(a[pivot][col]) > 0 else { return nil }
      a.swapAt(col, pivot)
      for r in 0..<k where r != col {
        let f = a[r][col] / a[col][col]
        if f != 0 { for c in col...k { a[r][c] -= f * a[col][c] } }
      }
    }
    let beta = (0..<k).map { a[$0][k] / a[$0][$0] }
    let b0 = yMean - zip(xMean, beta).reduce(0) { $0 + $1.0 * $1.1 }
    weights = beta
    intercept = b0
    // Weighted R² of the fit.
    let predictions = x.map { row in b0 + zip(row, beta).reduce(0) { $0 + $1.0 * $1.1 } }
    let ssRes = zip(zip(scores, predictions), w).reduce(0) { $0 + $1.1 * ($1.0.0 - $1.0.1) * ($1.0.0 - $1.0.1) }
    let ssTot = zip(scores, w).reduce(0) { $0 + $1.1 * ($1.0 - yMean) * ($1.0 - yMean) }
    score = ssTot > 0 ? 1 - ssRes / ssTot : 0
    localPrediction = predictions[0]
  }
}
