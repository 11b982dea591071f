/// What a checkpoint holds, detected from its keys and shapes (never from hyper-parameters).
public struct ModelArchitecture: Sendable, Equatable, Codable {
  /// `FPN` or `classifier`.
  public let name: String
  /// Encoder variant, e.g. `resnext50_32x4d`.
  public let encoder: String
  /// Output classes (from the head's shape).
  public let classes: Int
  /// Groups of the encoder's 3×3 convs (from conv2's shape).
  public let groups: Int
  /// FPN pyramid channels (nil for classifiers).
  public let decoderPyramidChannels: Int?
  /// FPN segmentation-block channels.
  public let decoderSegmentationChannels: Int?
  /// FPN merge policy (`add` or `cat`).
  public let mergePolicy: String?
}

/// Builds the right network for a state dict.
public enum ModelLoader {
  /// Detects the architecture from keys and builds it.
  ///
  /// smp FPN: `encoder.conv1.weight`, `decoder.p5.weight`, `segmentation_head.0.weight`;
  /// torchvision classifier: `conv1.weight`, `layer1.0.conv1.weight`, `fc.weight`.
  /// `foldBatchNorm` also builds folded conv+norm pairs (used when a forward asks for them).
  public static func load(_ w: WeightSource, foldBatchNorm: Bool = false) throws -> any ExplainableModel {
    if isFPN(w) { return try FPNModel(w, foldBatchNorm: foldBatchNorm) }
    if isClassifier(w) { return try ResNetClassifier(w, foldBatchNorm: foldBatchNorm) }
    throw unrecognized(w)
  }

  static func isFPN(_ w: WeightSource) -> Bool {
    w.has("decoder.p5.weight") && w.has("segmentation_head.0.weight") && w.has("encoder.conv1.weight")
  }

  static func isClassifier(_ w: WeightSource) -> Bool {
    w.has("conv1.weight") && w.has("fc.weight") && w.has("layer1.0.conv1.weight")
  }

  /// Why keys match no supported architecture.
  static func unrecognized(_ w: WeightSource) -> ModelError {
    if w.has("decoder.p5.weight") || w.keys.contains(where: { $0.hasPrefix("decoder.") }) {
      let decoderKeys = Set(w.keys.filter { $0.hasPrefix("decoder.") }.compactMap { $0.split(separator: ".").dropFirst().first })
      return ModelError.unknownArchitecture(
        "decoder with modules \(decoderKeys.sorted().prefix(6).joined(separator: ", ")) is not an smp FPN (supported: FPN with ResNet/ResNeXt encoders)")
    }
    let sample = w.keys.prefix(3).joined(separator: ", ")
    return ModelError.unknownArchitecture(
      "no smp FPN (encoder./decoder./segmentation_head.) or torchvision ResNet (conv1, layer1…4, fc) keys; first keys: \(sample)")
  }

  /// Trainable parameter count: every tensor except BatchNorm buffers.
  public static func parameterCount(_ w: WeightSource) -> Int {
    w.keys.filter { !($0.hasSuffix("running_mean") || $0.hasSuffix("running_var") || $0.hasSuffix("num_batches_tracked")) }
      .reduce(0) { $0 + (w.shape(of: $1)?.reduce(1, *) ?? 0) }
  }
}

extension ModelLoader {
  /// The architecture from keys and shapes alone, without reading any tensor data (what
  /// `geocam inspect` reports; it checks the same keys and shapes building the model would).
  public static func architecture(of w: WeightSource) throws -> ModelArchitecture {
    let isFPN = isFPN(w)
    let isClassifier = !isFPN && isClassifier(w)
    guard isFPN || isClassifier else { throw unrecognized(w) }
    let prefix = isFPN ? "encoder." : ""
    let bottleneck = w.has(prefix + "layer1.0.conv3.weight")
    var counts: [Int] = []
    for l in 1...4 {
      var b = 0
      while w.has("\(prefix)layer\(l).\(b).conv1.weight") { b += 1 }
      guard b > 0 else { throw ModelError.missingKey("\(prefix)layer\(l).0.conv1.weight") }
      counts.append(b)
    }
    let c1 = try w.requireShape(prefix + "layer1.0.conv1.weight")
    let c2 = try w.requireShape(prefix + "layer1.0.conv2.weight")
    guard c1.count == 4, c2.count == 4, c2[1] > 0 else {
      throw ModelError.shapeMismatch(key: prefix + "layer1.0.conv2.weight", expected: "[w, w/groups, 3, 3]", found: c2)
    }
    let groups = bottleneck ? Swift.max(1, c1[0] / c2[1]) : 1
    let encoder = ResNetEncoder.variantName(
      counts: counts, bottleneck: bottleneck, groups: groups, width: bottleneck ? c1[0] / groups : 64)
    if isClassifier {
      let fc = try w.requireShape("fc.weight")
      return ModelArchitecture(
        name: "classifier", encoder: encoder, classes: fc[0], groups: groups, decoderPyramidChannels: nil,
        decoderSegmentationChannels: nil, mergePolicy: nil)
    }
    let head = try w.requireShape("segmentation_head.0.weight")
    let p5 = try w.requireShape("decoder.p5.weight")
    let seg = try w.requireShape("decoder.seg_blocks.0.block.0.block.0.weight")
    guard head.count == 4, p5.count == 4, seg.count == 4 else {
      throw ModelError.unknownArchitecture("decoder or head weights are not 4-D conv kernels")
    }
    let merge: String
    if head[1] == seg[0] {
      merge = "add"
    } else if head[1] == 4 * seg[0] {
      merge = "cat"
    } else {
      throw ModelError.unknownArchitecture(
        "segmentation head takes \(head[1]) channels; FPN merge gives \(seg[0]) (add) or \(4 * seg[0]) (cat)")
    }
    return ModelArchitecture(
      name: "FPN", encoder: encoder, classes: head[0], groups: groups, decoderPyramidChannels: p5[0],
      decoderSegmentationChannels: seg[0], mergePolicy: merge)
  }
}
