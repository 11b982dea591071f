import GeoCAMTensor

/// What a model is asked to do: segment a tile into per-pixel class logits, or classify an image.
public enum ModelTask: String, Sendable {
  /// Per-pixel logits `[classes][N][H][W]`.
  case segmentation
  /// Per-image logits `[classes][N][1][1]`.
  case classification
}

/// The result of one forward pass.
public struct ModelOutput {
  /// The logits (see `ModelTask`).
  public let logits: Traced
  /// The (traced) normalised input, whose gradient is the input gradient in pixel units
  /// because normalisation is on the tape.
  public let pixels: Traced
  /// Module outputs requested by path.
  public let taps: [String: Traced]
  /// Per-module wall times, when the pass was profiled.
  public var timings: [(path: String, seconds: Double)] = []
}

/// A network GeoCAM can run and explain: every module output is addressable by its PyTorch path.
public protocol ExplainableModel {
  /// Segmentation or classification.
  var task: ModelTask { get }
  /// Number of output classes.
  var classCount: Int { get }
  /// Whether conv + batch-norm pairs run as one folded convolution. Fixed when the model is
  /// built (`foldBatchNorm:`), so what runs and what provenance records cannot disagree.
  var foldsBatchNorm: Bool { get }
  /// Default explanation target (`encoder.layer4.2.conv3` for FPN).
  var defaultLayer: String { get }
  /// Every module output path, in forward order.
  var layerPaths: [String] { get }
  /// Architecture summary (detected from keys and shapes).
  var architecture: ModelArchitecture { get }
  /// Checks an input size; segmentation inputs must be multiples of 32.
  func validate(height: Int, width: Int) throws
  /// Runs the network on pixels `[3][N][H][W]` (already in the model's channel order, on the
  /// scale `preprocessing` expects), recording on `tape` and keeping `taps`.
  func forward(
    pixels: Tensor, preprocessing: Preprocessing, tape: Tape, taps: Set<String>, options: ForwardOptions
  ) throws -> ModelOutput
  /// Multiply-accumulates of one forward pass on an `h × w` input.
  func forwardMACs(height: Int, width: Int) -> Int
}

extension ExplainableModel {
  /// Runs the network with default options (no profiling).
  public func forward(pixels: Tensor, preprocessing: Preprocessing, tape: Tape, taps: Set<String>) throws
    -> ModelOutput
  {
    try forward(pixels: pixels, preprocessing: preprocessing, tape: tape, taps: taps, options: ForwardOptions())
  }

  /// Checks the input, then records it and its normalisation (the `input` tap) on a new context.
  func startForward(
    pixels: Tensor, preprocessing: Preprocessing, tape: Tape, taps: Set<String>, options: ForwardOptions
  ) throws -> (context: ForwardContext, raw: Traced, normalized: Traced) {
    try validate(height: pixels.height, width: pixels.width)
    guard pixels.channels == 3 else { throw ModelError.badInput("expected 3 input channels, got \(pixels.channels)") }
    let ctx = ForwardContext(tape: tape, requested: options.profile ? nil : taps, options: options)
    let raw = tape.input(pixels)
    return (ctx, raw, ctx.tap("input", tape.affine(raw, preprocessing.affine)))
  }

  /// How many input pixels one cell of `path`'s output spans (4 for `decoder.p2`, 16 for
  /// `encoder.layer3…`, 32 for `encoder.layer4…`), measured by the model itself: one forward
  /// pass on a 64 × 64 input, reading the tap's size. Nil when the output is not a spatial map
  /// of the input (a classifier's pooled features).
  public func outputStride(of path: String) throws -> Int? {
    try checkLayer(path)
    let size = 64
    let probe = Tensor(channels: 3, batch: 1, height: size, width: size)
    let out = try forward(pixels: probe, preprocessing: Preprocessing(mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 1), tape: Tape(recording: false), taps: [path])
    guard let tap = out.taps[path]?.value, tap.height > 1, tap.width > 1, size % tap.height == 0 else { return nil }
    return size / tap.height
  }

  /// Throws `unknownLayer` unless `path` is one of `layerPaths`.
  public func checkLayer(_ path: String) throws {
    guard layerPaths.contains(path) else { throw ModelError.unknownLayer(path, available: layerPaths) }
  }
}
