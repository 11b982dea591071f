import GeoCAMModels
import GeoCAMTensor

/// One tile's forward pass, kept on a tape, from which every explanation of every class is
/// derived: gradient methods share one batched backward (one seed per class), guided methods
/// one guided backward, perturbation methods re-run the network from the same pixels.
public final class ExplanationSession {
  /// The network.
  public let model: any ExplainableModel
  /// Its preprocessing.
  public let preprocessing: Preprocessing
  /// The pixels as fed (`[3][1][H][W]`, invalid pixels already filled).
  public let pixels: Tensor
  /// Per-pixel validity (`H·W`, nil = all valid).
  public let valid: [UInt8]?
  /// The target layer's PyTorch path.
  public let layer: String
  /// The recorded forward pass.
  public let tape: Tape
  /// Forward outputs (logits, the traced pixels, the target layer's output).
  public let output: ModelOutput
  /// How the forward ran.
  public let options: ForwardOptions

  /// Runs the forward pass once.
  public init(
    model: any ExplainableModel, preprocessing: Preprocessing, pixels: Tensor, valid: [UInt8]? = nil,
    layer: String? = nil, options: ForwardOptions = ForwardOptions()
  ) throws {
    let layer = layer ?? model.defaultLayer
    try model.checkLayer(layer)
    if let valid, valid.count != pixels.planeSize {
      throw ModelError.badInput("validity mask has \(valid.count) entries for \(pixels.planeSize) pixels")
    }
    self.model = model
    self.preprocessing = preprocessing
    self.pixels = pixels
    self.valid = valid
    self.layer = layer
    self.options = options
    tape = Tape()
    output = try model.forward(pixels: pixels, preprocessing: preprocessing, tape: tape, taps: [layer], options: options)
  }

  /// The logits (`[classes][1][H][W]`).
  public var logits: Tensor { output.logits.value }

  /// The target layer's activations (`[C][1][h][w]`).
  public var activations: Tensor {
    // checkLayer guarantees the tap exists.
    output.taps[layer]?.value ?? Tensor(channels: 0)
  }

  /// Softmax over classes per pixel.
  public func probabilities() -> Tensor { Softmax.forward(logits) }

  /// Seeds for the classes that have a target (skipped ones reported).
  public func seeds(classes: [Int], target: ExplanationTarget) -> (seeds: Tensor, explained: [Int], skipped: [Int]) {
    let r = seeds(classes.map { ExplanationSeed(classIndex: $0, target: target) })
    return (r.seeds, r.explained.map { classes[$0] }, r.skipped.map { classes[$0] })
  }

  /// The backward's seed tensor `[classes][K][H][W]` for the seeds that have a target pixel;
  /// `explained` and `skipped` are indices into `requested`.
  public func seeds(_ requested: [ExplanationSeed]) -> (seeds: Tensor, explained: [Int], skipped: [Int]) {
    let l = logits
    var explained: [Int] = []
    var skipped: [Int] = []
    var weights: [[Float]] = []
    for (i, s) in requested.enumerated() {
      if let w = s.target.weights(forClass: s.classIndex, logits: l, valid: valid) {
        explained.append(i)
        weights.append(w)
      } else {
        skipped.append(i)
      }
    }
    let seeds = Tensor(channels: l.channels, batch: explained.count, height: l.height, width: l.width)
    for (j, (i, w)) in zip(explained, weights).enumerated() {
      w.withUnsafeBufferPointer { src in
        if let base = src.baseAddress { seeds.plane(requested[i].classIndex, j).update(from: base, count: w.count) }
      }
    }
    return (seeds, explained, skipped)
  }

  /// Gradients of each class's target with respect to the target layer (`[C][K][h][w]`, one
  /// sample per explained class), from one batched backward.
  public func layerGradients(classes: [Int], target: ExplanationTarget) -> (gradients: Tensor, explained: [Int], skipped: [Int]) {
    let r = layerGradients(classes.map { ExplanationSeed(classIndex: $0, target: target) })
    return (r.gradients, r.explained.map { classes[$0] }, r.skipped.map { classes[$0] })
  }

  /// Guided-backprop gradients with respect to the pixels (`[3][K][H][W]`).
  public func guidedInputGradients(classes: [Int], target: ExplanationTarget) -> (gradients: Tensor, explained: [Int], skipped: [Int]) {
    let r = guidedInputGradients(classes.map { ExplanationSeed(classIndex: $0, target: target) })
    return (r.gradients, r.explained.map { classes[$0] }, r.skipped.map { classes[$0] })
  }

  /// Gradients of each seed's scalar with respect to the target layer (`[C][K][h][w]`, one
  /// sample per explained seed; indices into `seeds`), from one batched backward.
  public func layerGradients(_ seeds: [ExplanationSeed]) -> (gradients: Tensor, explained: [Int], skipped: [Int]) {
    gradients(seeds, rule: .standard)
  }

  /// Guided-backprop gradients of each seed with respect to the pixels (`[3][K][H][W]`).
  public func guidedInputGradients(_ seeds: [ExplanationSeed]) -> (gradients: Tensor, explained: [Int], skipped: [Int]) {
    gradients(seeds, rule: .guided)
  }

  private func gradients(_ requested: [ExplanationSeed], rule: ReLURule) -> (gradients: Tensor, explained: [Int], skipped: [Int]) {
    let (seeds, explained, skipped) = self.seeds(requested)
    let wrt = rule == .guided ? output.pixels : (output.taps[layer] ?? output.pixels)
    let shapeSource = wrt.value
    guard !explained.isEmpty else {
      return (Tensor(channels: shapeSource.channels, batch: 0, height: shapeSource.height, width: shapeSource.width), [], skipped)
    }
    let g = tape.gradients(seeds: [(output.logits, seeds)], wrt: [wrt], rule: rule)[0]
      ?? Tensor(channels: shapeSource.channels, batch: explained.count, height: shapeSource.height, width: shapeSource.width)
    return (g, explained, skipped)
  }
}
