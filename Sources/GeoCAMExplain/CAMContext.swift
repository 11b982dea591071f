import GeoCAMTensor

/// What CAM methods read for one tile: the target layer's activations, and the gradients of
/// the explained classes' targets, computed once and shared by every gradient method.
public final class CAMContext {
  /// The tile's forward pass.
  public let session: ExplanationSession
  /// Seeds asked for.
  public let requested: [ExplanationSeed]
  /// Seeds that have a target on this tile, in request order (map j is for `seeds[j]`).
  public let seeds: [ExplanationSeed]
  /// Indices into `requested` of `seeds`.
  public let explainedIndices: [Int]
  /// Indices into `requested` of the seeds without a target (e.g. `class-mask` with no pixel
  /// of the class).
  public let skippedIndices: [Int]

  /// The classes of `seeds` (a class appears once per seed).
  public var classes: [Int] { seeds.map(\.classIndex) }
  /// The classes of the skipped seeds.
  public var skipped: [Int] { skippedIndices.map { requested[$0].classIndex } }

  private var cachedGradients: Tensor?

  /// Prepares the context for one seed per class with a shared target; gradients are computed
  /// on first use.
  public convenience init(session: ExplanationSession, classes: [Int], target: ExplanationTarget) {
    self.init(session: session, seeds: classes.map { ExplanationSeed(classIndex: $0, target: target) })
  }

  /// Prepares the context for any seeds (e.g. one region target per detection).
  public init(session: ExplanationSession, seeds: [ExplanationSeed]) {
    self.session = session
    requested = seeds
    let probe = session.seeds(seeds)
    explainedIndices = probe.explained
    skippedIndices = probe.skipped
    self.seeds = probe.explained.map { seeds[$0] }
  }

  /// Activations `[C][1][h][w]` of the target layer.
  public var activations: Tensor { session.activations }

  /// Gradients `[C][K][h][w]`, sample j for `classes[j]` (one batched backward).
  public var gradients: Tensor {
    if let cachedGradients { return cachedGradients }
    let g = session.layerGradients(seeds).gradients
    cachedGradients = g
    return g
  }
}

/// An explanation method producing, per class, a raw map at the target layer's resolution:
/// `h·w` values after the method's final ReLU, before any normalisation or upsampling.
public protocol CAMMethod: Sendable {
  /// Fixed method id (`gradcam`, `gradcam++`, …).
  var id: String { get }
  /// Maps for `context.classes`, in that order.
  func maps(_ context: CAMContext) throws -> [[Float]]
  /// Whether the map ignores the class (FEM, Eigen-CAM): every class gets the same map, and
  /// the layers hold it once (`fem:all`).
  var isClassAgnostic: Bool { get }
  /// The size of the maps: the target layer's (default) or the input's (RISE, LIME).
  func mapSize(_ context: CAMContext) -> (height: Int, width: Int)
}

extension CAMMethod {
  public var isClassAgnostic: Bool { false }
  public func mapSize(_ context: CAMContext) -> (height: Int, width: Int) {
    (context.activations.height, context.activations.width)
  }
}

/// The shared base of channel-weighting methods (Grad-CAM, Grad-CAM++, XGrad-CAM, …): a method
/// only says how a channel's activation and gradient planes give its weight; the map is
/// `ReLU(Σ_k w_k·A_k)`.
public protocol ChannelWeightedCAM: CAMMethod {
  /// Weight of one channel for one class, from its `h·w` activation and gradient planes.
  func weight(activation: UnsafeBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) -> Float
}

extension ChannelWeightedCAM {
  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let a = context.activations
    let g = context.gradients
    return context.classes.indices.map { j in
      let weights = (0..<a.channels).map { c in
        weight(
          activation: UnsafeBufferPointer(start: a.plane(c, 0), count: a.planeSize),
          gradient: UnsafeBufferPointer(start: g.plane(c, j), count: g.planeSize))
      }
      return CAMMath.weightedSum(a, weights: weights)
    }
  }
}

/// The shared base of per-position methods (HiRes-CAM, Layer-CAM): the map is
/// `ReLU(Σ_k f(A_k, g_k))` with `f` applied element-wise.
public protocol ElementwiseCAM: CAMMethod {
  /// One channel's contribution at one position.
  func contribution(activation: Float, gradient: Float) -> Float
}

extension ElementwiseCAM {
  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let a = context.activations
    let g = context.gradients
    let plane = a.planeSize
    return context.classes.indices.map { j in
      var acc = [Double](repeating: 0, count: plane)
      for c in 0..<a.channels {
        let ap = a.plane(c, 0), gp = g.plane(c, j)
        for i in 0..<plane { acc[i] += Double(contribution(activation: ap[i], gradient: gp[i])) }
      }
      return acc.map { Swift.max(Float($0), 0) }
    }
  }
}

/// Small numeric helpers shared by the methods.
enum CAMMath {
  /// `ReLU(Σ_k w_k·A_k)` over the channels of a batch-1 tensor, accumulated in Double.
  static func weightedSum(_ a: Tensor, weights: [Float]) -> [Float] {
    let plane = a.planeSize
    var acc = [Double](repeating: 0, count: plane)
    for c in 0..<a.channels where weights[c] != 0 {
      let w = weights[c]
      let p = a.plane(c, 0)
      // The product rounds in Float32 as numpy's `weights[:, :, None, None] * activations` does.
      for i in 0..<plane { acc[i] += Double(w * p[i]) }
    }
    return acc.map { Swift.max(Float($0), 0) }
  }

  /// Sum of a plane in Double (numpy's float32 pairwise sum is within an ulp of it).
  static func sum(_ p: UnsafeBufferPointer<Float>) -> Float {
    var s = 0.0
    for v in p { s += Double(v) }
    return Float(s)
  }
}
