import GeoCAMCore
/// A frozen fully connected layer `y = W·x + b` (`nn.Linear`), inputs `[in][N][1][1]`.
public struct Linear: Sendable {
  /// Output features.
  public let outFeatures: Int
  /// Input features.
  public let inFeatures: Int
  /// `[out][in]` weights.
  public let weight: [Float]
  /// `[out]` bias, if any.
  public let bias: [Float]?

  /// Creates the layer from PyTorch-layout weights.
  public init(weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int) {
    precondition(weight.count == outFeatures * inFeatures, "bad linear weight size")
    self.weight = weight
    self.bias = bias
    self.outFeatures = outFeatures
    self.inFeatures = inFeatures
  }

  /// Applies the layer to `[in][N][1][1]` features.
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.channels * x.planeSize == inFeatures, "linear expects \(inFeatures) features")
    Parallel.configure()
    let y = Tensor(channels: outFeatures, batch: x.batch)
    weight.withUnsafeBufferPointer { w in
      guard let wp = w.baseAddress else { return }
      Gemm.sgemm(m: outFeatures, n: x.batch, k: inFeatures, a: wp, lda: inFeatures, b: x.pointer, ldb: x.batch, c: y.pointer, ldc: x.batch)
    }
    if let bias {
      for o in 0..<outFeatures { for n in 0..<x.batch { y.pointer[o * x.batch + n] += bias[o] } }
    }
    return y
  }

  /// Gradient with respect to the input: `dx = Wᵀ·dy`.
  public func inputGradient(_ dy: Tensor) -> Tensor {
    Parallel.configure()
    let dx = Tensor(channels: inFeatures, batch: dy.batch)
    weight.withUnsafeBufferPointer { w in
      guard let wp = w.baseAddress else { return }
      Gemm.sgemm(transA: true, m: inFeatures, n: dy.batch, k: outFeatures, a: wp, lda: inFeatures, b: dy.pointer, ldb: dy.batch, c: dx.pointer, ldc: dy.batch)
    }
    return dx
  }
}

/// Global average pooling `[C][N][H][W] → [C][N][1][1]` (`AdaptiveAvgPool2d(1)`).
public enum GlobalAveragePool {
  /// Means over each plane.
  public static func forward(_ x: Tensor) -> Tensor {
    let y = Tensor(channels: x.channels, batch: x.batch)
    let plane = x.planeSize
    for cn in 0..<(x.channels * x.batch) {
      let p = x.pointer + cn * plane
      var s: Float = 0
      for i in 0..<plane { s += p[i] }
      y.pointer[cn] = s / Float(plane)
    }
    return y
  }

  /// Spreads each gradient evenly over its plane.
  public static func inputGradient(_ dy: Tensor, height: Int, width: Int) -> Tensor {
    let dx = Tensor(channels: dy.channels, batch: dy.batch, height: height, width: width)
    let plane = height * width
    for cn in 0..<(dy.channels * dy.batch) {
      let v = dy.pointer[cn] / Float(plane)
      (dx.pointer + cn * plane).update(repeating: v, count: plane)
    }
    return dx
  }
}

/// Softmax over channels, per sample and pixel.
public enum Softmax {
  /// `exp(x_c − max) / Σ exp(x_c' − max)` along the channel axis.
  public static func forward(_ x: Tensor) -> Tensor {
    let y = Tensor(channels: x.channels, batch: x.batch, height: x.height, width: x.width)
    let stride = x.batch * x.planeSize
    for i in 0..<stride {
      var m = -Float.infinity
      for c in 0..<x.channels { m = Swift.max(m, x.pointer[c * stride + i]) }
      var s: Float = 0
      for c in 0..<x.channels {
        let e = (x.pointer[c * stride + i] - m).exponential
        y.pointer[c * stride + i] = e
        s += e
      }
      for c in 0..<x.channels { y.pointer[c * stride + i] /= s }
    }
    return y
  }

  /// Gradient with respect to the input given the forward output `y`:
  /// `dx_c = y_c·(dy_c − Σ_c' dy_c'·y_c')`.
  public static func inputGradient(_ dy: Tensor, output y: Tensor) -> Tensor {
    precondition(dy.shape == y.shape, "softmax pullback shape mismatch")
    let dx = Tensor(channels: dy.channels, batch: dy.batch, height: dy.height, width: dy.width)
    let stride = dy.batch * dy.planeSize
    for i in 0..<stride {
      var dot: Float = 0
      for c in 0..<dy.channels { dot += dy.pointer[c * stride + i] * y.pointer[c * stride + i] }
      for c in 0..<dy.channels {
        dx.pointer[c * stride + i] = y.pointer[c * stride + i] * (dy.pointer[c * stride + i] - dot)
      }
    }
    return dx
  }
}

extension Float {
  /// `e^self` via Foundation-free libm.
  @usableFromInline var exponential: Float { Float(libmExp(Double(self))) }
}
