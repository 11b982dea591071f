import GeoCAMTensor

/// smp's FPN decoder: a top-down pyramid (1×1 lateral convs, nearest ×2 upsampling, adds),
/// segmentation blocks (3×3 conv → GroupNorm(32) → ReLU → bilinear ×2 with
/// `align_corners=True`, repeated to reach stride 4), merged by `add` or `cat`.
/// Dropout is the identity in inference.
public struct FPNDecoder {
  /// How the four segmentation branches are merged.
  public enum Merge: String, Sendable { case add, cat }

  let p5: Conv2d
  /// Lateral (skip) convs of p4, p3, p2.
  let skips: [Conv2d]
  /// `seg_blocks[i]` = list of (conv, norm, upsample?) units.
  let segBlocks: [[(conv: Conv2d, norm: GroupNorm, upsample: Bool)]]
  /// Merge policy, detected from the head's input channels.
  public let merge: Merge
  /// Pyramid channels (256 by default).
  public let pyramidChannels: Int
  /// Segmentation channels (128 by default).
  public let segmentationChannels: Int

  init(_ w: WeightSource, encoderChannels: [Int], headInputChannels: Int) throws {
    let p5Shape = try w.requireShape("decoder.p5.weight")
    guard p5Shape.count == 4, p5Shape[1] == encoderChannels[4] else {
      throw ModelError.shapeMismatch(key: "decoder.p5.weight", expected: "[P, \(encoderChannels[4]), 1, 1]", found: p5Shape)
    }
    let pc = p5Shape[0]
    pyramidChannels = pc
    p5 = Conv2d(
      weight: try w.floats("decoder.p5.weight"), bias: try w.tensor("decoder.p5.bias", shape: [pc]),
      outChannels: pc, inChannels: encoderChannels[4], kernel: (1, 1))
    var skips: [Conv2d] = []
    for (name, cin) in [("p4", encoderChannels[3]), ("p3", encoderChannels[2]), ("p2", encoderChannels[1])] {
      let key = "decoder.\(name).skip_conv"
      skips.append(
        Conv2d(
          weight: try w.tensor(key + ".weight", shape: [pc, cin, 1, 1]), bias: try w.tensor(key + ".bias", shape: [pc]),
          outChannels: pc, inChannels: cin, kernel: (1, 1)))
    }
    self.skips = skips
    let sc = try w.requireShape("decoder.seg_blocks.0.block.0.block.0.weight")
    guard sc.count == 4 else {
      throw ModelError.shapeMismatch(key: "decoder.seg_blocks.0.block.0.block.0.weight", expected: "[S, P, 3, 3]", found: sc)
    }
    segmentationChannels = sc[0]
    var blocks: [[(conv: Conv2d, norm: GroupNorm, upsample: Bool)]] = []
    for i in 0..<4 {
      var units: [(conv: Conv2d, norm: GroupNorm, upsample: Bool)] = []
      var j = 0
      let upsamples = 3 - i
      while w.has("decoder.seg_blocks.\(i).block.\(j).block.0.weight") {
        let base = "decoder.seg_blocks.\(i).block.\(j).block"
        let cin = j == 0 ? pc : sc[0]
        let conv = Conv2d(
          weight: try w.tensor(base + ".0.weight", shape: [sc[0], cin, 3, 3]), outChannels: sc[0], inChannels: cin,
          kernel: (3, 3), padding: (1, 1))
        let norm = GroupNorm(
          groups: 32, gamma: try w.tensor(base + ".1.weight", shape: [sc[0]]),
          beta: try w.tensor(base + ".1.bias", shape: [sc[0]]))
        units.append((conv, norm, upsamples > 0))
        j += 1
      }
      guard units.count == Swift.max(1, upsamples) else {
        throw ModelError.unknownArchitecture(
          "decoder.seg_blocks.\(i) has \(units.count) conv units, smp FPN has \(Swift.max(1, upsamples))")
      }
      blocks.append(units)
    }
    segBlocks = blocks
    if headInputChannels == sc[0] {
      merge = .add
    } else if headInputChannels == 4 * sc[0] {
      merge = .cat
    } else {
      throw ModelError.unknownArchitecture(
        "segmentation head takes \(headInputChannels) channels; FPN merge gives \(sc[0]) (add) or \(4 * sc[0]) (cat)")
    }
  }

  /// Runs the decoder on encoder features c2…c5; returns the merged map at stride 4.
  func callAsFunction(_ features: [Traced], _ ctx: ForwardContext) -> Traced {
    let tape = ctx.tape
    let (c2, c3, c4, c5) = (features[1], features[2], features[3], features[4])
    let p5v = ctx.tap("decoder.p5", tape.conv2d(c5, p5, name: "decoder.p5"))
    var pyramid = [p5v]
    var top = p5v
    for (i, (name, skipInput)) in [("p4", c4), ("p3", c3), ("p2", c2)].enumerated() {
      let up = tape.upsampleNearest(top, factor: 2)
      let skip = ctx.tap("decoder.\(name).skip_conv", tape.conv2d(skipInput, skips[i], name: "decoder.\(name).skip_conv"))
      top = ctx.tap("decoder.\(name)", tape.add(up, skip))
      pyramid.append(top)
    }
    var branches: [Traced] = []
    for (i, (units, p)) in zip(segBlocks, pyramid).enumerated() {
      var h = p
      for (j, unit) in units.enumerated() {
        let base = "decoder.seg_blocks.\(i).block.\(j)"
        h = ctx.tap(base + ".block.0", tape.conv2d(h, unit.conv, name: base + ".block.0"))
        h = ctx.tap(base + ".block.1", tape.groupNorm(h, unit.norm))
        h = ctx.tap(base + ".block.2", tape.relu(h))
        if unit.upsample {
          h = tape.upsampleBilinear(h, height: h.value.height * 2, width: h.value.width * 2, alignCorners: true)
        }
        h = ctx.tap(base, h)
      }
      branches.append(ctx.tap("decoder.seg_blocks.\(i)", h))
    }
    var merged = ctx.tap("decoder.merge", merge == .add ? tape.sum(branches) : tape.concatChannels(branches))
    merged = ctx.tap("decoder.dropout", merged)
    return ctx.tap("decoder", merged)
  }

  /// Every module output path of the decoder.
  var paths: [String] {
    ["decoder.p5", "decoder.p4.skip_conv", "decoder.p4", "decoder.p3.skip_conv", "decoder.p3", "decoder.p2.skip_conv", "decoder.p2"]
      + segBlocks.enumerated().flatMap { i, units in
        units.indices.flatMap { j in
          let b = "decoder.seg_blocks.\(i).block.\(j)"
          return [b + ".block.0", b + ".block.1", b + ".block.2", b]
        } + ["decoder.seg_blocks.\(i)"]
      } + ["decoder.merge", "decoder.dropout", "decoder"]
  }

  /// Multiply-accumulates given the stride-32 feature size.
  func macs(c5Height h: Int, c5Width w: Int) -> Int {
    var total = p5.macsPerOutputPixel * h * w
    for (i, s) in skips.enumerated() { total += s.macsPerOutputPixel * (h << (i + 1)) * (w << (i + 1)) }
    for (i, units) in segBlocks.enumerated() {
      var (ch, cw) = (h << i, w << i)
      for u in units {
        total += u.conv.macsPerOutputPixel * ch * cw
        if u.upsample { ch *= 2; cw *= 2 }
      }
    }
    return total
  }
}
