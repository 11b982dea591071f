import GeoCAMTensor

/// One torchvision residual block: `Bottleneck` (1×1 → grouped 3×3 with the stride → 1×1,
/// "ResNet v1.5") or `BasicBlock` (3×3 with the stride → 3×3); ReLU after the residual add.
struct ResidualBlock {
  /// `encoder.layer4.2`-style path of the block.
  let path: String
  /// conv1/bn1, conv2/bn2 and, for bottlenecks, conv3/bn3.
  let units: [ConvBN]
  /// `downsample.0` / `downsample.1` when the shortcut changes shape.
  let downsample: ConvBN?

  init(_ w: WeightSource, path: String, stride: Int, bottleneck: Bool, fold: Bool) throws {
    self.path = path
    var units: [ConvBN] = []
    if bottleneck {
      let c2 = try w.requireShape(path + ".conv2.weight")
      let c1 = try w.requireShape(path + ".conv1.weight")
      guard c2.count == 4, c1.count == 4, c2[1] > 0, c1[0] % c2[1] == 0 else {
        throw ModelError.shapeMismatch(key: path + ".conv2.weight", expected: "[w, w/groups, 3, 3]", found: c2)
      }
      let groups = c1[0] / c2[1]
      units.append(try ConvBN(w, conv: path + ".conv1", bn: path + ".bn1", fold: fold))
      units.append(try ConvBN(w, conv: path + ".conv2", bn: path + ".bn2", stride: stride, groups: groups, fold: fold))
      units.append(try ConvBN(w, conv: path + ".conv3", bn: path + ".bn3", fold: fold))
    } else {
      units.append(try ConvBN(w, conv: path + ".conv1", bn: path + ".bn1", stride: stride, fold: fold))
      units.append(try ConvBN(w, conv: path + ".conv2", bn: path + ".bn2", fold: fold))
    }
    self.units = units
    if w.has(path + ".downsample.0.weight") {
      downsample = try ConvBN(w, conv: path + ".downsample.0", bn: path + ".downsample.1", stride: stride, fold: fold)
    } else {
      downsample = nil
    }
  }

  var outChannels: Int { units[units.count - 1].outChannels }

  func callAsFunction(_ x: Traced, _ ctx: ForwardContext) -> Traced {
    var out = x
    for (i, unit) in units.enumerated() {
      out = i < units.count - 1 ? unit.rectified(out, ctx) : unit(out, ctx)
    }
    let identity = downsample.map { $0(x, ctx) } ?? x
    return ctx.tap(path, ctx.tape.addReLU(out, identity))
  }

  /// Module paths this block exposes.
  var paths: [String] {
    units.flatMap { [$0.convPath, $0.bnPath] } + (downsample.map { [$0.convPath, $0.bnPath] } ?? []) + [path]
  }

  /// Multiply-accumulates for an `h × w` input, with the output size.
  func macs(height h: Int, width w: Int) -> (macs: Int, height: Int, width: Int) {
    var total = 0
    var (ch, cw) = (h, w)
    for u in units {
      let m = u.macs(height: ch, width: cw)
      total += m.macs
      (ch, cw) = (m.height, m.width)
    }
    if let d = downsample { total += d.macs(height: h, width: w).macs }
    return (total, ch, cw)
  }
}
