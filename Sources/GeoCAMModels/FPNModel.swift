import GeoCAMTensor

/// segmentation_models_pytorch's `FPN`: ResNet/ResNeXt encoder, FPN decoder, 1×1 head with
/// bilinear ×4 (`align_corners=True`) upsampling to the input size.
public struct FPNModel: ExplainableModel {
  let encoder: ResNetEncoder
  let decoder: FPNDecoder
  let head: Conv2d
  public let architecture: ModelArchitecture

  public var task: ModelTask { .segmentation }
  public var classCount: Int { head.outChannels }
  public var foldsBatchNorm: Bool { encoder.foldsBatchNorm }
  /// The last convolution of the encoder's last block (`encoder.layer4.2.conv3` for
  /// ResNeXt-50, `encoder.layer4.1.conv2` for ResNet-18), before its norm: the seed's target.
  public var defaultLayer: String { encoder.lastConvPath }

  /// Builds the model from smp state-dict keys (`encoder.*`, `decoder.*`, `segmentation_head.0.*`).
  public init(_ w: WeightSource, foldBatchNorm: Bool = false) throws {
    encoder = try ResNetEncoder(w, prefix: "encoder.", foldBatchNorm: foldBatchNorm)
    let hs = try w.requireShape("segmentation_head.0.weight")
    guard hs.count == 4, hs[2] == 1, hs[3] == 1 else {
      throw ModelError.shapeMismatch(key: "segmentation_head.0.weight", expected: "[classes, C, 1, 1]", found: hs)
    }
    decoder = try FPNDecoder(w, encoderChannels: encoder.outChannels, headInputChannels: hs[1])
    head = Conv2d(
      weight: try w.floats("segmentation_head.0.weight"),
      bias: try w.tensor("segmentation_head.0.bias", shape: [hs[0]]), outChannels: hs[0], inChannels: hs[1],
      kernel: (1, 1))
    architecture = ModelArchitecture(
      name: "FPN", encoder: encoder.name, classes: hs[0], groups: encoder.groups,
      decoderPyramidChannels: decoder.pyramidChannels, decoderSegmentationChannels: decoder.segmentationChannels,
      mergePolicy: decoder.merge.rawValue)
  }

  public func validate(height: Int, width: Int) throws {
    guard height > 0, width > 0, height % 32 == 0, width % 32 == 0 else {
      throw ModelError.badInput("FPN input must be a positive multiple of 32 on both sides, got \(width)×\(height)")
    }
  }

  public var layerPaths: [String] {
    ["input"] + encoder.paths + decoder.paths + ["segmentation_head.0", "segmentation_head"]
  }

  public func forward(
    pixels: Tensor, preprocessing: Preprocessing, tape: Tape, taps: Set<String>, options: ForwardOptions
  ) throws -> ModelOutput {
    let (ctx, raw, x) = try startForward(pixels: pixels, preprocessing: preprocessing, tape: tape, taps: taps, options: options)
    let features = encoder(x, ctx)
    let merged = decoder(features, ctx)
    let small = ctx.tap("segmentation_head.0", tape.conv2d(merged, head, name: "segmentation_head.0"))
    let logits = tape.upsampleBilinear(small, height: pixels.height, width: pixels.width, alignCorners: true)
    return ModelOutput(logits: ctx.tap("segmentation_head", logits), pixels: raw, taps: ctx.taps, timings: ctx.timings)
  }

  public func forwardMACs(height h: Int, width w: Int) -> Int {
    encoder.macs(height: h, width: w) + decoder.macs(c5Height: h / 32, c5Width: w / 32)
      + head.macsPerOutputPixel * (h / 4) * (w / 4)
  }
}
