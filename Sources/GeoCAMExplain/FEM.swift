import GeoCAMTensor

/// The published Feature Explanation Method (Fuad et al., IPTA 2020), as the NumPy port of the
/// original notebook computes it: per channel k, μ_k and σ_k (population) over the positions,
/// B_k = 1[A_k > μ_k + 2σ_k], FEM = Σ_k μ_k·B_k divided by its maximum (left as is when the
/// maximum is 0). Gradient-free and class-agnostic: every class gets the same map.
public struct FEM: CAMMethod {
  public let id = "fem"
  /// The k of the k-sigma threshold.
  public var k: Float
  public init(k: Float = 2) { self.k = k }

  public var isClassAgnostic: Bool { true }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let map = FEM.published(context.activations, k: k)
    return context.classes.map { _ in map }
  }

  /// The published FEM of `[C][1][h][w]` activations.
  public static func published(_ a: Tensor, k: Float = 2) -> [Float] {
    let plane = a.planeSize
    var acc = [Double](repeating: 0, count: plane)
    for c in 0..<a.channels {
      let p = UnsafeBufferPointer(start: a.plane(c, 0), count: plane)
      let (mean, sd) = FEM.moments(p)
      // The port compares float32 activations with a float64 threshold built from float32 moments.
      let threshold = Double(mean) + Double(k) * Double(sd)
      for i in 0..<plane where Double(p[i]) > threshold { acc[i] += Double(mean) }
    }
    let top = acc.max() ?? 0
    return acc.map { Float(top == 0 ? $0 : $0 / top) }
  }

  /// Mean and population standard deviation of a plane, accumulated in Double and rounded to
  /// Float as NumPy's float32 `mean`/`std` return them.
  static func moments(_ p: UnsafeBufferPointer<Float>) -> (mean: Float, sd: Float) {
    guard !p.isEmpty else { return (0, 0) }
    var s = 0.0
    for v in p { s += Double(v) }
    let mean = s / Double(p.count)
    var ss = 0.0
    for v in p { ss += (Double(v) - mean) * (Double(v) - mean) }
    return (Float(mean), Float((ss / Double(p.count)).squareRoot()))
  }
}

/// pytorch-grad-cam's `FEM` (fem.py), which is not the published method: the same k-sigma
/// masks B_k, but weights w_k = mean(B_k) (the share of positions above the threshold) applied
/// to the activations, `ReLU(Σ_k w_k·A_k)` (pytorch-grad-cam's ReLU before scaling).
public struct FEMPytorchGradCAM: CAMMethod {
  public let id = "fem-pgc"
  /// The k of the k-sigma threshold.
  public var k: Float
  public init(k: Float = 2) { self.k = k }

  public var isClassAgnostic: Bool { true }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let map = FEMPytorchGradCAM.map(context.activations, k: k)
    return context.classes.map { _ in map }
  }

  /// pytorch-grad-cam's FEM map of `[C][1][h][w]` activations.
  public static func map(_ a: Tensor, k: Float = 2) -> [Float] {
    let plane = a.planeSize
    let weights: [Float] = (0..<a.channels).map { c in
      let p = UnsafeBufferPointer(start: a.plane(c, 0), count: plane)
      let (mean, sd) = FEM.moments(p)
      // numpy: th = means + k·stds in float32, then `activations > th`.
      let threshold = mean + k * sd
      var above = 0
      for v in p where v > threshold { above += 1 }
      return Float(Double(above) / Double(max(plane, 1)))
    }
    return CAMMath.weightedSum(a, weights: weights)
  }
}
