/// How a ReLU passes gradients backwards.
public enum ReLURule: Sendable {
  /// `dx = dy · [x > 0]`: the true derivative.
  case standard
  /// Guided backpropagation (Springenberg et al.): `dx = dy · [x > 0] · [dy > 0]`.
  case guided
}

/// The rectifier `max(x, 0)` and its two pullbacks.
public enum ReLU {
  /// `max(x, 0)` element-wise.
  public static func forward(_ x: Tensor) -> Tensor {
    Parallel.configure()
    let y = Tensor(uninitializedChannels: x.channels, batch: x.batch, height: x.height, width: x.width)
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    Parallel.forRanges(x.count, minimumPerChunk: 1 << 14) { r in
      for i in r { dst.value[i] = Swift.max(src.value[i], 0) }
    }
    return y
  }

  /// Gradient with respect to the input given the forward *output* (`> 0` exactly where the
  /// input was). `output` may have batch 1 while `dy` has one sample per seed (broadcast).
  public static func inputGradient(_ dy: Tensor, output: Tensor, rule: ReLURule) -> Tensor {
    Parallel.configure()
    precondition(output.channels == dy.channels && output.planeSize == dy.planeSize, "relu shape mismatch")
    precondition(output.batch == dy.batch || output.batch == 1, "relu batch mismatch")
    let dx = Tensor(uninitializedChannels: dy.channels, batch: dy.batch, height: dy.height, width: dy.width)
    let plane = dy.planeSize, seeds = dy.batch, broadcast = output.batch == 1
    let g = UncheckedSendable(dy.pointer), o = UncheckedSendable(output.pointer), d = UncheckedSendable(dx.pointer)
    let guided = rule == .guided
    Parallel.forRanges(dy.channels * seeds, minimumPerChunk: 2) { r in
      for cn in r {
        let c = cn / seeds, n = cn % seeds
        let out = o.value + (broadcast ? c : cn) * plane
        let gi = g.value + cn * plane, di = d.value + cn * plane
        if guided {
          for i in 0..<plane { di[i] = (out[i] > 0 && gi[i] > 0) ? gi[i] : 0 }
        } else {
          for i in 0..<plane { di[i] = out[i] > 0 ? gi[i] : 0 }
        }
        _ = n
      }
    }
    return dx
  }
}
