import GeoCAMImaging
import GeoCAMTensor

/// Computes every requested method for every requested class from one tile's session: one
/// forward (the session), at most one batched backward to the layer and one guided backward to
/// the pixels, shared by all methods and classes.
public struct Explainer {
  /// Methods, in output order.
  public var methods: [ExplanationMethod]
  /// What each class's scalar is.
  public var target: ExplanationTarget
  /// Batch size of perturbation methods (nil = each method's default).
  public var perturbationBatchSize: Int?
  /// Seed and sample counts of RISE and LIME.
  public var blackBox = BlackBoxSettings()

  /// Creates an explainer.
  public init(
    methods: [ExplanationMethod] = ExplanationMethod.defaults, target: ExplanationTarget = .classMean, perturbationBatchSize: Int? = nil,
    blackBox: BlackBoxSettings = BlackBoxSettings()
  ) {
    self.methods = methods
    self.target = target
    self.perturbationBatchSize = perturbationBatchSize
    self.blackBox = blackBox
  }

  /// The result for one tile: maps per (method, class) and the classes without a target.
  public struct Result: Sendable {
    /// Maps, method-major in `methods` order, then class order.
    public var explanations: [Explanation]
    /// Classes skipped for lack of target pixels.
    public var skipped: [Int]
  }

  /// Explains `classes` on a session, each with the explainer's target.
  public func explain(_ session: ExplanationSession, classes: [Int]) throws -> Result {
    try explain(session, seeds: classes.map { ExplanationSeed(classIndex: $0, target: target) })
  }

  /// Explains any seeds on a session (e.g. one region target per detection of an audit
  /// window), all from the same forward and batched backwards. `Explanation.seedIndex` says
  /// which seed a map is for; `Result.skipped` lists the classes of seeds without a target.
  public func explain(_ session: ExplanationSession, seeds: [ExplanationSeed]) throws -> Result {
    let context = CAMContext(session: session, seeds: seeds)
    var out: [Explanation] = []
    let a = context.activations
    var gradcamMaps: [[Float]]? = nil
    var guided: Tensor? = nil
    for method in methods {
      if let cam = method.cam(batchSize: perturbationBatchSize, settings: blackBox) {
        let maps = try cam.maps(context)
        if method == .gradcam { gradcamMaps = maps }
        let size = cam.mapSize(context)
        for (j, m) in maps.enumerated() {
          out.append(
            Explanation(
              method: method, classIndex: context.seeds[j].classIndex, shape: [1, size.height, size.width], values: m,
              seedIndex: context.explainedIndices[j]))
        }
        continue
      }
      if guided == nil { guided = session.guidedInputGradients(context.seeds).gradients }
      guard let g = guided else { continue }
      if method == .guidedGradcam && gradcamMaps == nil { gradcamMaps = try GradCAM().maps(context) }
      let h = g.height, w = g.width
      for (j, k) in context.classes.enumerated() {
        var values = [Float](repeating: 0, count: 3 * h * w)
        let up: [Float]? =
          method == .guidedGradcam
          ? try Resize.bilinear(gradcamMaps?[j] ?? [], height: a.height, width: a.width, toHeight: h, toWidth: w) : nil
        for c in 0..<g.channels {
          let p = g.plane(c, j)
          for i in 0..<(h * w) { values[c * h * w + i] = up.map { p[i] * $0[i] } ?? p[i] }
        }
        out.append(
          Explanation(
            method: method, classIndex: k, shape: [g.channels, h, w], values: values,
            seedIndex: context.explainedIndices[j]))
      }
    }
    return Result(explanations: out, skipped: context.skipped)
  }
}
