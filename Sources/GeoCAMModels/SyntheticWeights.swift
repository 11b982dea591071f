/// Deterministic weights with the exact key layout of an smp FPN, for benchmarks and smoke runs
/// without a checkpoint. Values are well scaled (He-uniform convs, identity batch norms) but
/// meaningless: they explain nothing.
public struct SyntheticWeights: WeightSource {
  public let keys: [String]
  private let shapes: [String: [Int]]

  /// An smp `FPN(encoder_name:, classes:)` layout for `resnet50`, `resnext50_32x4d`,
  /// `resnet18` or `resnet34`.
  public static func fpn(encoder: String = "resnext50_32x4d", classes: Int = 4) throws -> SyntheticWeights {
    var list: [(String, [Int])] = []
    func bn(_ p: String, _ c: Int) {
      for s in ["weight", "bias", "running_mean", "running_var"] { list.append(("\(p).\(s)", [c])) }
    }
    let (blocks, bottleneck, groups, widthFactor): ([Int], Bool, Int, Int)
    switch encoder {
    case "resnet18": (blocks, bottleneck, groups, widthFactor) = ([2, 2, 2, 2], false, 1, 1)
    case "resnet34": (blocks, bottleneck, groups, widthFactor) = ([3, 4, 6, 3], false, 1, 1)
    case "resnet50": (blocks, bottleneck, groups, widthFactor) = ([3, 4, 6, 3], true, 1, 1)
    case "resnext50_32x4d": (blocks, bottleneck, groups, widthFactor) = ([3, 4, 6, 3], true, 32, 2)
    default: throw ModelError.unknownArchitecture("no synthetic layout for encoder '\(encoder)'")
    }
    list.append(("encoder.conv1.weight", [64, 3, 7, 7]))
    bn("encoder.bn1", 64)
    var inC = 64
    var outs: [Int] = []
    for (l, n) in blocks.enumerated() {
      let planes = 64 << l
      let out = bottleneck ? planes * 4 : planes
      let width = planes * widthFactor
      for b in 0..<n {
        let p = "encoder.layer\(l + 1).\(b)"
        if bottleneck {
          list.append(("\(p).conv1.weight", [width, inC, 1, 1])); bn("\(p).bn1", width)
          list.append(("\(p).conv2.weight", [width, width / groups, 3, 3])); bn("\(p).bn2", width)
          list.append(("\(p).conv3.weight", [out, width, 1, 1])); bn("\(p).bn3", out)
        } else {
          list.append(("\(p).conv1.weight", [out, inC, 3, 3])); bn("\(p).bn1", out)
          list.append(("\(p).conv2.weight", [out, out, 3, 3])); bn("\(p).bn2", out)
        }
        if b == 0 && (l > 0 || inC != out) {
          list.append(("\(p).downsample.0.weight", [out, inC, 1, 1])); bn("\(p).downsample.1", out)
        }
        inC = out
      }
      outs.append(out)
    }
    list.append(("decoder.p5.weight", [256, outs[3], 1, 1])); list.append(("decoder.p5.bias", [256]))
    for (name, c) in [("p4", outs[2]), ("p3", outs[1]), ("p2", outs[0])] {
      list.append(("decoder.\(name).skip_conv.weight", [256, c, 1, 1])); list.append(("decoder.\(name).skip_conv.bias", [256]))
    }
    for i in 0..<4 {
      for j in 0..<max(1, 3 - i) {
        let p = "decoder.seg_blocks.\(i).block.\(j).block"
        list.append(("\(p).0.weight", [128, j == 0 ? 256 : 128, 3, 3]))
        list.append(("\(p).1.weight", [128])); list.append(("\(p).1.bias", [128]))
      }
    }
    list.append(("segmentation_head.0.weight", [classes, 128, 1, 1])); list.append(("segmentation_head.0.bias", [classes]))
    return SyntheticWeights(keys: list.map(\.0), shapes: Dictionary(uniqueKeysWithValues: list))
  }

  public func shape(of key: String) -> [Int]? { shapes[key] }

  public func floats(_ key: String) throws -> [Float] {
    guard let s = shapes[key] else { throw ModelError.missingKey(key) }
    let n = s.reduce(1, *)
    if s.count == 1 {
      let one = key.hasSuffix("weight") || key.hasSuffix("running_var")
      return [Float](repeating: one ? 1 : 0, count: n)
    }
    // He-uniform from a 32-bit LCG seeded by the key: cheap, deterministic, no global state.
    var state = key.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
    let bound = Float((6.0 / Double(n / s[0])).squareRoot())
    return (0..<n).map { _ in
      state = state &* 1_664_525 &+ 1_013_904_223
      return (Float(state >> 8) / 16_777_216 * 2 - 1) * bound
    }
  }
}
