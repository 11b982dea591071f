/// A per-channel affine map `y = x·scale[c] + shift[c]`: batch norm in inference mode.
public struct ChannelAffine: Sendable {
  /// Per-channel multiplier.
  public let scale: [Float]
  /// Per-channel offset.
  public let shift: [Float]

  /// Direct construction from scale and shift.
  public init(scale: [Float], shift: [Float]) {
    precondition(scale.count == shift.count, "scale/shift size mismatch")
    self.scale = scale
    self.shift = shift
  }

  /// Batch norm with running statistics, as PyTorch evaluates it in `eval()` mode:
  /// `scale = weight / sqrt(running_var + eps)`, `shift = bias − running_mean·scale`.
  public static func batchNorm(
    weight: [Float], bias: [Float], runningMean: [Float], runningVar: [Float], eps: Float = 1e-5
  ) -> ChannelAffine {
    var scale = [Float](repeating: 0, count: weight.count)
    var shift = scale
    for c in 0..<weight.count {
      let invstd = 1 / (runningVar[c] + eps).squareRoot()
      scale[c] = weight[c] * invstd
      shift[c] = bias[c] - runningMean[c] * scale[c]
    }
    return ChannelAffine(scale: scale, shift: shift)
  }

  /// Applies the map.
  public func forward(_ x: Tensor) -> Tensor {
    apply(x, into: Tensor(uninitializedChannels: x.channels, batch: x.batch, height: x.height, width: x.width))
  }

  /// Applies the map to `x` in place (for a tensor nothing else holds).
  public func applyInPlace(_ x: Tensor) -> Tensor { apply(x, into: x) }

  /// Applies the map and then `max(·, 0)` to `x` in place, in one pass.
  public func applyReLUInPlace(_ x: Tensor) -> Tensor { apply(x, into: x, rectify: true) }

  private func apply(_ x: Tensor, into y: Tensor, rectify: Bool = false) -> Tensor {
    precondition(x.channels == scale.count, "affine expects \(scale.count) channels")
    Parallel.configure()
    let plane = x.batch * x.planeSize
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    scale.withUnsafeBufferPointer { sc in
      shift.withUnsafeBufferPointer { sh in
        let s = UncheckedSendable(sc), b = UncheckedSendable(sh)
        Parallel.forRanges(x.channels, minimumPerChunk: 4) { range in
          for c in range {
            let a = s.value[c], o = b.value[c]
            let xi = src.value + c * plane, yi = dst.value + c * plane
            if rectify {
              for i in 0..<plane { yi[i] = Swift.max(xi[i] * a + o, 0) }
            } else {
              for i in 0..<plane { yi[i] = xi[i] * a + o }
            }
          }
        }
      }
    }
    return y
  }

  /// Gradient with respect to the input: `dx = dy·scale[c]`.
  public func inputGradient(_ dy: Tensor) -> Tensor {
    ChannelAffine(scale: scale, shift: [Float](repeating: 0, count: scale.count)).forward(dy)
  }
}
