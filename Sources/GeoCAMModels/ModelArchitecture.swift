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
  public static func load(_ w: WeightSource) throws -> any ExplainableModel {
    if w.has("decoder.p5.weight") && w.has("segmentation_head.0.weight") && w.has("encoder.conv1.weight") {
      return try FPNModel(w)
    }
    if w.has("conv1.weight") && w.has("fc.weight") && w.has("layer1.0.conv1.weight") {
      return try ResNetClassifier(w)
    }
    if w.has("decoder.p5.weight") || w.keys.contains(where: { $0.hasPrefix("decoder.") }) {
      let decoderKeys = Set(w.keys.filter { $0.hasPrefix("decoder.") }.compactMap { $0.split(separator: ".").dropFirst().first })
      throw ModelError.unknownArchitecture(
        "decoder with modules \(decoderKeys.sorted().prefix(6).joined(separator: ", ")) is not an smp FPN (supported: FPN with ResNet/ResNeXt encoders)")
    }
    let sample = w.keys.prefix(3).joined(separator: ", ")
    throw ModelError.unknownArchitecture(
      "no smp FPN (encoder./decoder./segmentation_head.) or torchvision ResNet (conv1, layer1…4, fc) keys; first keys: \(sample)")
  }

  /// Trainable parameter count: every tensor except BatchNorm buffers.
  public static func parameterCount(_ w: WeightSource) -> Int {
    w.keys.filter { !($0.hasSuffix("running_mean") || $0.hasSuffix("running_var") || $0.hasSuffix("num_batches_tracked")) }
      .reduce(0) { $0 + (w.shape(of: $1)?.reduce(1, *) ?? 0) }
  }
}
