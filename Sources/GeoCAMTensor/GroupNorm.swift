/// Group normalisation with affine parameters (`nn.GroupNorm`), statistics per sample and group.
public struct GroupNorm: Sendable {
  /// Number of channel groups.
  public let groups: Int
  /// Per-channel scale γ.
  public let gamma: [Float]
  /// Per-channel offset β.
  public let beta: [Float]
  /// Variance epsilon.
  public let eps: Float

  /// Per-(sample, group) statistics kept from the forward pass for the pullback.
  public struct Statistics: Sendable {
    /// Means, indexed `n·groups + g`.
    public let mean: [Float]
    /// Inverse standard deviations `1/sqrt(var + eps)`, same indexing.
    public let invstd: [Float]
  }

  /// Creates a group norm over `gamma.count` channels.
  public init(groups: Int, gamma: [Float], beta: [Float], eps: Float = 1e-5) {
    precondition(gamma.count % groups == 0 && gamma.count == beta.count, "bad GroupNorm shapes")
    self.groups = groups
    self.gamma = gamma
    self.beta = beta
    self.eps = eps
  }

  /// Normalises `x` and returns the output with the statistics the pullback needs.
  public func forward(_ x: Tensor) -> (output: Tensor, statistics: Statistics) {
    precondition(x.channels == gamma.count, "GroupNorm expects \(gamma.count) channels")
    Parallel.configure()
    let y = Tensor(channels: x.channels, batch: x.batch, height: x.height, width: x.width)
    let n = x.batch, cg = x.channels / groups, plane = x.planeSize
    var mean = [Float](repeating: 0, count: n * groups)
    var invstd = mean
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    mean.withUnsafeMutableBufferPointer { mb in
      invstd.withUnsafeMutableBufferPointer { ib in
        let m = UncheckedSendable(mb), iv = UncheckedSendable(ib)
        let gm = UncheckedSendable(gamma), bt = UncheckedSendable(beta)
        Parallel.forRanges(n * groups) { r in
          for ng in r {
            let s = ng / groups, g = ng % groups
            // Two passes in Double: the statistics are what the rest of the map hangs on.
            var sum = 0.0
            for c in g * cg..<(g + 1) * cg {
              let p = src.value + (c * n + s) * plane
              for i in 0..<plane { sum += Double(p[i]) }
            }
            let mu = sum / Double(cg * plane)
            var sq = 0.0
            for c in g * cg..<(g + 1) * cg {
              let p = src.value + (c * n + s) * plane
              for i in 0..<plane { let d = Double(p[i]) - mu; sq += d * d }
            }
            let variance = sq / Double(cg * plane)
            let inv = Float(1 / (variance + Double(eps)).squareRoot())
            let muF = Float(mu)
            m.value[ng] = muF
            iv.value[ng] = inv
            for c in g * cg..<(g + 1) * cg {
              let p = src.value + (c * n + s) * plane, q = dst.value + (c * n + s) * plane
              let a = inv * gm.value[c], b = bt.value[c] - muF * inv * gm.value[c]
              for i in 0..<plane { q[i] = p[i] * a + b }
            }
          }
        }
      }
    }
    return (y, Statistics(mean: mean, invstd: invstd))
  }

  /// Gradient with respect to the input. `x` and `statistics` come from the forward pass (batch
  /// 1 is broadcast over `dy`'s seeds): `dx = invstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` per group,
  /// with `ĝ = dy·γ` and `x̂` the normalised input.
  public func inputGradient(_ dy: Tensor, input x: Tensor, statistics: Statistics) -> Tensor {
    precondition(x.batch == dy.batch || x.batch == 1, "GroupNorm pullback batch mismatch")
    Parallel.configure()
    let dx = Tensor(channels: dy.channels, batch: dy.batch, height: dy.height, width: dy.width)
    let seeds = dy.batch, xn = x.batch, cg = dy.channels / groups, plane = dy.planeSize
    let g = UncheckedSendable(dy.pointer), xs = UncheckedSendable(x.pointer), d = UncheckedSendable(dx.pointer)
    let gm = UncheckedSendable(gamma), st = UncheckedSendable(statistics)
    Parallel.forRanges(seeds * groups) { r in
      for kg in r {
        let k = kg / groups, grp = kg % groups
        let s = xn == 1 ? 0 : k
        let mu = st.value.mean[s * groups + grp], inv = st.value.invstd[s * groups + grp]
        var sumG = 0.0, sumGX = 0.0
        for c in grp * cg..<(grp + 1) * cg {
          let gp = g.value + (c * seeds + k) * plane, xp = xs.value + (c * xn + s) * plane
          let gamma = gm.value[c]
          for i in 0..<plane {
            let gh = Double(gp[i] * gamma)
            sumG += gh
            sumGX += gh * Double((xp[i] - mu) * inv)
          }
        }
        let count = Double(cg * plane)
        let m1 = Float(sumG / count), m2 = Float(sumGX / count)
        for c in grp * cg..<(grp + 1) * cg {
          let gp = g.value + (c * seeds + k) * plane, xp = xs.value + (c * xn + s) * plane
          let dp = d.value + (c * seeds + k) * plane
          let gamma = gm.value[c]
          for i in 0..<plane {
            let xhat = (xp[i] - mu) * inv
            dp[i] = inv * (gp[i] * gamma - m1 - xhat * m2)
          }
        }
      }
    }
    return dx
  }
}
