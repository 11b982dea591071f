import GeoCAMTensor

/// A torchvision ResNet/ResNeXt image classifier: trunk, global average pool, `fc`.
public struct ResNetClassifier: ExplainableModel {
  let encoder: ResNetEncoder
  let fc: Linear
  public let architecture: ModelArchitecture

  public var task: ModelTask { .classification }
  public var classCount: Int { fc.outFeatures }
  public var foldsBatchNorm: Bool { encoder.foldsBatchNorm }
  public var defaultLayer: String { "layer4" }
  /// The last convolution of the last block (`layer4.2.conv3` for ResNet-50, before its norm):
  /// pytorch-grad-cam's usual `layer4[-1].conv3` target.
  public var lastConvLayer: String { encoder.lastConvPath }

  /// Builds the classifier from torchvision keys (`conv1`, `layer1`…`layer4`, `fc`).
  public init(_ w: WeightSource, foldBatchNorm: Bool = false) throws {
    encoder = try ResNetEncoder(w, prefix: "", foldBatchNorm: foldBatchNorm)
    let fs = try w.requireShape("fc.weight")
    guard fs.count == 2, fs[1] == encoder.outChannels[4] else {
      throw ModelError.shapeMismatch(key: "fc.weight", expected: "[classes, \(encoder.outChannels[4])]", found: fs)
    }
    fc = Linear(
      weight: try w.floats("fc.weight"), bias: w.has("fc.bias") ? try w.tensor("fc.bias", shape: [fs[0]]) : nil,
      outFeatures: fs[0], inFeatures: fs[1])
    architecture = ModelArchitecture(
      name: "classifier", encoder: encoder.name, classes: fs[0], groups: encoder.groups,
      decoderPyramidChannels: nil, decoderSegmentationChannels: nil, mergePolicy: nil)
  }

  public func validate(height: Int, width: Int) throws {
    guard height >= 32, width >= 32 else {
      throw ModelError.badInput("classifier input must be at least 32×32, got \(width)×\(height)")
    }
  }

  public var layerPaths: [String] { ["input"] + encoder.paths + ["avgpool", "fc"] }

  public func forward(
    pixels: Tensor, preprocessing: Preprocessing, tape: Tape, taps: Set<String>, options: ForwardOptions
  ) throws -> ModelOutput {
    let (ctx, raw, x) = try startForward(pixels: pixels, preprocessing: preprocessing, tape: tape, taps: taps, options: options)
    let features = encoder(x, ctx)
    let pooled = ctx.tap("avgpool", tape.globalAveragePool(features[4]))
    let logits = ctx.tap("fc", tape.linear(pooled, fc))
    return ModelOutput(logits: logits, pixels: raw, taps: ctx.taps, timings: ctx.timings)
  }

  public func forwardMACs(height h: Int, width w: Int) -> Int {
    encoder.macs(height: h, width: w) + fc.inFeatures * fc.outFeatures
  }
}
