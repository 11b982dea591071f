/// Grad-CAM (Selvaraju et al.): `w_k = mean_ij g`.
public struct GradCAM: ChannelWeightedCAM {
  public let id = "gradcam"
  public init() {}
  public func weight(activation: UnsafeBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) -> Float {
    CAMMath.sum(gradient) / Float(gradient.count)
  }
}

/// Grad-CAM++ in pytorch-grad-cam's form of the paper's eq. 19:
/// `α = g² / (2g² + (Σ_ij A)·g³ + 1e-6)`, `α = 0` where `g = 0`, `w_k = Σ_ij α·ReLU(g)`.
/// With class-mean targets `g` is ~1e-5, so the ε dominates the denominator: the arithmetic
/// follows numpy's float32 order exactly.
public struct GradCAMPlusPlus: ChannelWeightedCAM {
  public let id = "gradcam++"
  public init() {}
  public func weight(activation: UnsafeBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) -> Float {
    let sumA = CAMMath.sum(activation)
    var w = 0.0
    for g in gradient where g != 0 {
      let g2 = g * g
      let g3 = g2 * g
      let alpha = g2 / (2 * g2 + sumA * g3 + 1e-6)
      w += Double(Swift.max(g, 0) * alpha)
    }
    return Float(w)
  }
}

/// Grad-CAM++ as the seed notebook computes it: `α = g² / (2g² + Σ_ij(A·g³) + 1e-8)`, no
/// masking, `w_k = Σ_ij α·ReLU(g)`.
public struct GradCAMPlusPlusSeed: ChannelWeightedCAM {
  public let id = "gradcam++-seed"
  public init() {}
  public func weight(activation: UnsafeBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) -> Float {
    var s = 0.0
    for i in 0..<gradient.count {
      let g = gradient[i]
      s += Double(activation[i] * (g * g * g))
    }
    let sumAG3 = Float(s)
    var w = 0.0
    for g in gradient {
      let g2 = g * g
      let alpha = g2 / (2 * g2 + sumAG3 + 1e-8)
      w += Double(Swift.max(g, 0) * alpha)
    }
    return Float(w)
  }
}

/// XGrad-CAM: `w_k = Σ_ij g·A / (Σ_ij A + 1e-7)`.
public struct XGradCAM: ChannelWeightedCAM {
  public let id = "xgradcam"
  public init() {}
  public func weight(activation: UnsafeBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) -> Float {
    let denominator = CAMMath.sum(activation) + 1e-7
    var w = 0.0
    for i in 0..<gradient.count { w += Double(gradient[i] * activation[i] / denominator) }
    return Float(w)
  }
}

/// HiRes-CAM: `ReLU(Σ_k g·A)`, position by position.
public struct HiResCAM: ElementwiseCAM {
  public let id = "hirescam"
  public init() {}
  public func contribution(activation: Float, gradient: Float) -> Float { gradient * activation }
}

/// Layer-CAM: `ReLU(Σ_k ReLU(g)·A)`.
public struct LayerCAM: ElementwiseCAM {
  public let id = "layercam"
  public init() {}
  public func contribution(activation: Float, gradient: Float) -> Float { Swift.max(gradient, 0) * activation }
}
