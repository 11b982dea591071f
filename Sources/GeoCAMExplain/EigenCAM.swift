import GeoCAMTensor

/// Eigen-CAM: the projection of the centred activations (positions × channels) on their first
/// right singular vector, then ReLU. Gradient-free, so the same map serves every class.
/// pytorch-grad-cam leaves the sign to the SVD; here it is chosen so that |max| ≥ |min|.
public struct EigenCAM: CAMMethod {
  public let id = "eigencam"
  public init() {}

  public var isClassAgnostic: Bool { true }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let map = EigenCAM.projection(context.activations)
    return context.classes.map { _ in map }
  }

  /// First principal projection of the `[C][1][h][w]` activations, sign fixed, ReLU applied.
  static func projection(_ a: Tensor) -> [Float] {
    let p = a.planeSize, c = a.channels
    // X[p][c], centred per channel (column), in Double.
    var x = [Double](repeating: 0, count: p * c)
    for ch in 0..<c {
      let plane = a.plane(ch, 0)
      var mean = 0.0
      for i in 0..<p { mean += Double(plane[i]) }
      mean /= Double(p)
      for i in 0..<p { x[i * c + ch] = Double(plane[i]) - mean }
    }
    // X·v1 = σ1·u1: take the top eigenvector of the smaller Gram matrix.
    var projection = [Double](repeating: 0, count: p)
    if p <= c {
      var g = [Double](repeating: 0, count: p * p)
      for i in 0..<p { for j in i..<p {
        var s = 0.0
        for k in 0..<c { s += x[i * c + k] * x[j * c + k] }
        g[i * p + j] = s; g[j * p + i] = s
      } }
      let (u, lambda) = topEigenvector(g, n: p)
      let sigma = lambda > 0 ? lambda.squareRoot() : 0
      for i in 0..<p { projection[i] = sigma * u[i] }
    } else {
      var g = [Double](repeating: 0, count: c * c)
      for i in 0..<c { for j in i..<c {
        var s = 0.0
        for k in 0..<p { s += x[k * c + i] * x[k * c + j] }
        g[i * c + j] = s; g[j * c + i] = s
      } }
      let (v, _) = topEigenvector(g, n: c)
      for i in 0..<p {
        var s = 0.0
        for k in 0..<c { s += x[i * c + k] * v[k] }
        projection[i] = s
      }
    }
    let maxV = projection.max() ?? 0, minV = projection.min() ?? 0
    let sign: Double = abs(maxV) >= abs(minV) ? 1 : -1
    return projection.map { Swift.max(Float(sign * $0), 0) }
  }

  /// Power iteration on a symmetric positive semi-definite matrix (deterministic start).
  static func topEigenvector(_ m: [Double], n: Int) -> (vector: [Double], value: Double) {
    var v = (0..<n).map { 1 + Double($0 % 7) * 1e-3 }
    var lambda = 0.0
    for _ in 0..<5000 {
      var w = [Double](repeating: 0, count: n)
      for i in 0..<n {
        var s = 0.0
        for j in 0..<n { s += m[i * n + j] * v[j] }
        w[i] = s
      }
      let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
      guard norm > 0 else { return (v, 0) }
      for i in 0..<n { w[i] /= norm }
      let delta = zip(w, v).reduce(0) { $0 + abs($1.0 - $1.1) }
      v = w
      lambda = norm
      if delta < 1e-13 * Double(n) { break }
    }
    return (v, lambda)
  }
}
