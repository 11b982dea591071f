import GeoCAMTensor

/// A bias-free convolution followed by inference-mode batch norm, kept both ways: folded into
/// one convolution (fast path) and separate (when an explanation taps the conv's own output,
/// which exists only before the norm).
struct ConvBN {
  let conv: Conv2d
  let bn: ChannelAffine
  /// The convolution with each output channel's weights scaled by the norm's scale and the
  /// norm's shift as bias: conv + norm in one. Its pullback (bias-free) is conv + norm's.
  let scaled: Conv2d
  /// Whether the forward runs `scaled` (`foldBatchNorm`), or conv then norm (PyTorch's rounding).
  let fold: Bool
  /// PyTorch paths of the conv and of the norm.
  let convPath: String, bnPath: String

  init(
    _ w: WeightSource, conv convPath: String, bn bnPath: String, stride: Int = 1, groups: Int = 1,
    fold: Bool = false
  ) throws {
    let shape = try w.requireShape(convPath + ".weight")
    guard shape.count == 4 else {
      throw ModelError.shapeMismatch(key: convPath + ".weight", expected: "[out, in/groups, kh, kw]", found: shape)
    }
    let (o, i, kh, kw) = (shape[0], shape[1] * groups, shape[2], shape[3])
    let weight = try w.floats(convPath + ".weight")
    let c = Conv2d(
      weight: weight, outChannels: o, inChannels: i, kernel: (kh, kw), stride: (stride, stride),
      padding: (kh / 2, kw / 2), groups: groups)
    let bn = ChannelAffine.batchNorm(
      weight: try w.tensor(bnPath + ".weight", shape: [o]), bias: try w.tensor(bnPath + ".bias", shape: [o]),
      runningMean: try w.tensor(bnPath + ".running_mean", shape: [o]),
      runningVar: try w.tensor(bnPath + ".running_var", shape: [o]))
    self.conv = c
    self.bn = bn
    var scaledWeight = weight
    let perOut = weight.count / o
    for oc in 0..<o { for j in 0..<perOut { scaledWeight[oc * perOut + j] *= bn.scale[oc] } }
    self.scaled = Conv2d(
      weight: scaledWeight, bias: bn.shift, outChannels: o, inChannels: i, kernel: (kh, kw),
      stride: (stride, stride), padding: (kh / 2, kw / 2), groups: groups)
    self.fold = fold
    self.convPath = convPath
    self.bnPath = bnPath
  }

  /// Output channels.
  var outChannels: Int { conv.outChannels }

  func callAsFunction(_ x: Traced, _ ctx: ForwardContext) -> Traced {
    // Unfolded by default: conv then norm rounds exactly as PyTorch's eager modules do, which
    // keeps ReLU decisions near zero on PyTorch's side of the line (see README, Parity).
    if ctx.wants(convPath) {
      // The conv's own output is tapped: it exists only before the norm.
      let y = ctx.tap(convPath, ctx.tape.conv2d(x, conv, name: convPath))
      return ctx.tap(bnPath, ctx.tape.affine(y, bn))
    }
    if fold { return ctx.tap(bnPath, ctx.tape.conv2d(x, scaled, name: convPath)) }
    return ctx.tap(bnPath, ctx.tape.conv2dAffine(x, conv, bn, backward: scaled, name: convPath))
  }

  /// The unit followed by a ReLU. Without a tap or an override at the conv or the norm (whose
  /// outputs would then have to exist), conv, norm and ReLU are one node: the norm and the
  /// ReLU share one pass over the convolution's output.
  func rectified(_ x: Traced, _ ctx: ForwardContext) -> Traced {
    if fold || ctx.options.override != nil || ctx.wants(convPath) || ctx.wants(bnPath) {
      return ctx.tape.relu(self(x, ctx))
    }
    return ctx.tape.conv2dAffineReLU(x, conv, bn, backward: scaled, name: convPath)
  }

  /// Multiply-accumulates for an `h × w` input, with the output size.
  func macs(height h: Int, width w: Int) -> (macs: Int, height: Int, width: Int) {
    let oh = conv.outputHeight(h), ow = conv.outputWidth(w)
    return (conv.macsPerOutputPixel * oh * ow, oh, ow)
  }
}
