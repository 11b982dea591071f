import GeoCAMTensor

/// A torchvision ResNet/ResNeXt trunk (stem + layer1…layer4), as smp's encoders use it.
///
/// Built from keys and shapes: block type from the presence of `conv3`, group count from the
/// conv2 weight shape, blocks per layer from the keys.
public struct ResNetEncoder {
  /// Key prefix: `encoder.` inside smp models, empty for torchvision classifiers.
  public let prefix: String
  /// Detected variant (e.g. `resnext50_32x4d`).
  public let name: String
  /// Channel counts of the features f1…f5 (stem, layer1…layer4).
  public let outChannels: [Int]
  let stem: ConvBN
  let pool = MaxPool2d(kernel: 3, stride: 2, padding: 1)
  let layers: [[ResidualBlock]]
  /// Whether conv + batch-norm pairs run folded (decided when the weights are read).
  public var foldsBatchNorm: Bool { stem.fold }

  /// Reads the trunk under `prefix`; `foldBatchNorm` also builds folded conv+norm pairs.
  public init(_ w: WeightSource, prefix: String, foldBatchNorm: Bool = false) throws {
    self.prefix = prefix
    guard w.has(prefix + "conv1.weight") else { throw ModelError.missingKey(prefix + "conv1.weight") }
    stem = try ConvBN(w, conv: prefix + "conv1", bn: prefix + "bn1", stride: 2, fold: foldBatchNorm)
    let bottleneck = w.has(prefix + "layer1.0.conv3.weight")
    var layers: [[ResidualBlock]] = []
    for l in 1...4 {
      var blocks: [ResidualBlock] = []
      var b = 0
      while w.has("\(prefix)layer\(l).\(b).conv1.weight") {
        blocks.append(
          try ResidualBlock(w, path: "\(prefix)layer\(l).\(b)", stride: (l > 1 && b == 0) ? 2 : 1, bottleneck: bottleneck,
            fold: foldBatchNorm))
        b += 1
      }
      guard !blocks.isEmpty else { throw ModelError.missingKey("\(prefix)layer\(l).0.conv1.weight") }
      layers.append(blocks)
    }
    self.layers = layers
    outChannels = [stem.outChannels] + layers.map { $0[$0.count - 1].outChannels }
    let counts = layers.map(\.count)
    let c2 = try w.requireShape(prefix + "layer1.0.conv2.weight")
    let c1 = try w.requireShape(prefix + "layer1.0.conv1.weight")
    let groups = bottleneck && c2.count == 4 && c2[1] > 0 ? c1[0] / c2[1] : 1
    let widthPerGroup = bottleneck ? c1[0] / groups : 64
    name = ResNetEncoder.variantName(counts: counts, bottleneck: bottleneck, groups: groups, width: widthPerGroup)
  }

  /// torchvision/timm name of a trunk, or a descriptive name for custom ones.
  static func variantName(counts: [Int], bottleneck: Bool, groups: Int, width: Int) -> String {
    switch (counts, bottleneck, groups, width) {
    case ([2, 2, 2, 2], false, _, _): return "resnet18"
    case ([3, 4, 6, 3], false, _, _): return "resnet34"
    case ([3, 4, 6, 3], true, 1, 64): return "resnet50"
    case ([3, 4, 23, 3], true, 1, 64): return "resnet101"
    case ([3, 8, 36, 3], true, 1, 64): return "resnet152"
    case ([3, 4, 6, 3], true, 32, 4): return "resnext50_32x4d"
    case ([3, 4, 23, 3], true, 32, 8): return "resnext101_32x8d"
    case ([3, 4, 23, 3], true, 32, 16): return "resnext101_32x16d"
    default:
      return "resnet(\(counts.map(String.init).joined(separator: ",")), \(bottleneck ? "bottleneck" : "basic"), groups \(groups)x\(width)d)"
    }
  }

  /// Path of the last convolution of the last block (before its batch norm).
  var lastConvPath: String {
    let block = layers[layers.count - 1][layers[layers.count - 1].count - 1]
    return block.units[block.units.count - 1].convPath
  }

  /// Groups of the 3×3 convolutions (32 for ResNeXt).
  public var groups: Int { layers[0][0].units.count == 3 ? layers[0][0].units[1].conv.groups : 1 }

  /// Runs the trunk; returns f1…f5 (stem after ReLU, layer1…layer4).
  func callAsFunction(_ x: Traced, _ ctx: ForwardContext) -> [Traced] {
    var features: [Traced] = []
    var h = ctx.tap(prefix + "relu", stem.rectified(x, ctx))
    features.append(h)
    h = ctx.tap(prefix + "maxpool", ctx.tape.maxPool(h, pool))
    for (l, blocks) in layers.enumerated() {
      for block in blocks { h = block(h, ctx) }
      features.append(ctx.tap("\(prefix)layer\(l + 1)", h))
    }
    return features
  }

  /// Every module output path of the trunk.
  var paths: [String] {
    [stem.convPath, stem.bnPath, prefix + "relu", prefix + "maxpool"]
      + layers.enumerated().flatMap { l, blocks in blocks.flatMap(\.paths) + ["\(prefix)layer\(l + 1)"] }
  }

  /// Multiply-accumulates for an `h × w` input.
  func macs(height h: Int, width w: Int) -> Int {
    let s = stem.macs(height: h, width: w)
    var total = s.macs
    var (ch, cw) = (pool.outputSize(s.height), pool.outputSize(s.width))
    for block in layers.joined() {
      let m = block.macs(height: ch, width: cw)
      total += m.macs
      (ch, cw) = (m.height, m.width)
    }
    return total
  }
}
