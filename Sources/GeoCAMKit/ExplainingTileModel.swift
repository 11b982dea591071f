import Foundation
import Synchronization
import GeoCAMExplain
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// A checkpoint's model as the city pipeline sees it: one forward per tile, then every
/// requested method for the classes the pipeline asks for, from one batched backward.
public final class ExplainingTileModel: TileModel {
  /// The opened checkpoint.
  public let bundle: ModelBundle
  /// Methods and target.
  public let explainer: Explainer
  /// Target layer path.
  public let layer: String
  /// Tile edge in pixels.
  public let tileSize: Int
  /// Per-tile raw arrays and pictures, when asked for.
  public let artifacts: TileArtifacts?
  /// Provenance facts (checkpoint file, SHA-256, metadata, layer, target, methods).
  public let provenance: [String: String]
  /// Forward options (BN folding).
  public let options: ForwardOptions

  public var classNames: [String] { bundle.classNames }
  public var methods: [String] { explainer.methods.map(\.rawValue) }
  public var gsdMeters: Double? { bundle.metadata.gsdM }
  public var camMapSize: Int? { layerStride.map { tileSize / $0 } }
  public var classAgnosticMethods: Set<String> { Set(explainer.methods.filter(\.isClassAgnostic).map(\.rawValue)) }

  /// Wraps a bundle; `layer` nil = the model's default target layer.
  public init(
    bundle: ModelBundle, explainer: Explainer, layer: String?, tileSize: Int, checkpointSHA256: String,
    artifacts: TileArtifacts? = nil, options: ForwardOptions = ForwardOptions()
  ) throws {
    guard bundle.model.task == .segmentation else {
      throw ExplainError(description: "the city pipeline needs a segmentation model; this checkpoint is a classifier")
    }
    let layer = layer ?? bundle.model.defaultLayer
    try bundle.model.checkLayer(layer)
    try bundle.model.validate(height: tileSize, width: tileSize)
    self.bundle = bundle
    self.explainer = explainer
    self.layer = layer
    self.tileSize = tileSize
    self.artifacts = artifacts
    self.options = options
    layerStride = try bundle.model.outputStride(of: layer)
    var p: [String: String] = [
      "checkpoint": bundle.checkpoint.map { URL(fileURLWithPath: $0.path).lastPathComponent } ?? "(in memory)",
      "checkpoint_sha256": checkpointSHA256,
      "architecture": "\(bundle.model.architecture.name)+\(bundle.model.architecture.encoder)",
      "layer": layer, "target": explainer.target.id, "methods": explainer.methods.map(\.rawValue).joined(separator: ","),
      "class_names": bundle.classNames.joined(separator: ","),
      // Where the names come from: the checkpoint's metadata, --class-names ("override"), or
      // generated (class_0…) when neither names them.
      "class_names_source": bundle.metadata.classNames?.count == bundle.classNames.count
        ? (bundle.metadata.source(of: .classNames)?.rawValue ?? "unknown") : "generated",
      "mean": bundle.preprocessing.mean.map { String($0) }.joined(separator: ","),
      "std": bundle.preprocessing.std.map { String($0) }.joined(separator: ","),
      "pixel_range": String(Int(bundle.preprocessing.pixelRange)),
      "fold_batch_norm": bundle.model.foldsBatchNorm ? "yes" : "no",
    ]
    if let gsd = bundle.metadata.gsdM { p["gsd_m"] = String(gsd) }
    provenance = p
  }

  /// The target layer's stride relative to the input (32 for layer4, 4 for decoder.p2), as the
  /// model measures it; nil when the layer is not a spatial map of the input.
  public let layerStride: Int?

  public func begin(pixels: [Float], valid: [UInt8], size: Int) throws -> any TileSession {
    try start(pixels: pixels, valid: valid, size: size, origin: nil)
  }

  /// Runs one tile; its origin names its per-tile artifacts (`x<X>_y<Y>`).
  public func begin(pixels: [Float], valid: [UInt8], size: Int, origin: TileOrigin) throws -> any TileSession {
    try start(pixels: pixels, valid: valid, size: size, origin: origin)
  }

  /// Two tiles at once, one core each, on a machine with at least two workers: a forward pass
  /// alone scales less than linearly over cores (`geocam bench`: 7.3 tiles/s with two in
  /// flight against 6.3 for one tile on both cores).
  public var predictGroupSize: Int { Parallel.workers >= 2 ? 2 : 1 }

  /// Two tiles explained at once, each on half the workers (one core each on two), on a
  /// machine with at least two workers and with gradient methods only: fewer workers per tile
  /// spend less time joining parallel regions, and a core taken by the pipeline's writer slows
  /// one tile instead of stalling half of every kernel. The maps came out the same bit for bit
  /// with 1, 2 and 4 workers per tile (`DemoCheckpointTests`): GeoCAM's kernels split work,
  /// never a sum, and so did oneDNN's for this model's shapes. Perturbation methods run large
  /// batches per tile and stay one at a time.
  public var explainGroupSize: Int {
    Parallel.workers >= 2 && !explainer.methods.contains(where: \.isPerturbation) ? 2 : 1
  }

  /// Unmaps the recycled tensor storage and the scratch pool (both refill on the next tile).
  public func releaseCaches() {
    BufferRecycler.shared.trim()
    ScratchPool.shared.trim()
  }

  /// The jobs on threads of their own, each with an equal share of the workers (the first
  /// ones take what does not divide evenly).
  public func concurrently<T>(_ count: Int, _ job: (Int) throws -> T) throws -> [T] {
    let workers = Parallel.workers
    if count < 2 || workers < 2 { return try (0..<count).map(job) }
    let shares = (0..<count).map { i in max(1, workers / count + (i < workers % count ? 1 : 0)) }
    let results = Mutex<[Int: Result<T, any Error>]>([:])
    try withoutActuallyEscaping(job) { job in
      let shared = UncheckedSendable(job)
      DispatchQueue.concurrentPerform(iterations: count) { i in
        let r = Result { try Parallel.withWorkers(shares[i]) { try shared.value(i) } }
        let boxed = UncheckedSendable(r)
        results.withLock { $0[i] = boxed.value }
      }
    }
    let all = results.withLock { $0 }
    return try (0..<count).map { i in
      guard let r = all[i] else { throw ExplainError(description: "job \(i) of a group was not run") }
      return try r.get()
    }
  }

  /// Probabilities from an unrecorded forward pass (no tape: nothing is kept for a backward),
  /// the tiles of a group run concurrently on their share of the workers.
  public func predict(_ tiles: [TilePixels], size: Int) throws -> [[Float]] {
    let logits = try concurrently(tiles.count) { i in try forwardOnly(tiles[i], size: size) }
    if let artifacts {
      for (tile, l) in zip(tiles, logits) { try artifacts.writeLogits(l, x: tile.origin.x, y: tile.origin.y) }
    }
    return logits.map { Softmax.forward($0).values }
  }

  /// The logits of one tile, without a tape.
  private func forwardOnly(_ tile: TilePixels, size: Int) throws -> Tensor {
    let (t, _) = TileInput.tensor(
      pixels: tile.pixels, valid: tile.valid, height: size, width: size, fill: bundle.preprocessing.neutralPixel)
    return try bundle.model.forward(
      pixels: t, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: [], options: options
    ).logits.value
  }

  private func start(pixels: [Float], valid: [UInt8], size: Int, origin: TileOrigin?) throws -> any TileSession {
    let (t, allValid) = TileInput.tensor(
      pixels: pixels, valid: valid, height: size, width: size, fill: bundle.preprocessing.neutralPixel)
    let session = try ExplanationSession(
      model: bundle.model, preprocessing: bundle.preprocessing, pixels: t, valid: allValid ? nil : valid, layer: layer,
      options: options)
    if let artifacts, let origin { try artifacts.writeLogits(session.logits, x: origin.x, y: origin.y) }
    return ExplainingTileSession(owner: self, session: session, origin: origin)
  }
}

/// One tile of `ExplainingTileModel`.
final class ExplainingTileSession: TileSession {
  let owner: ExplainingTileModel
  let session: ExplanationSession
  let origin: TileOrigin?

  init(owner: ExplainingTileModel, session: ExplanationSession, origin: TileOrigin?) {
    self.owner = owner
    self.session = session
    self.origin = origin
  }

  var probabilities: [Float] { session.probabilities().values }

  func explain(classes: [Int]) throws -> [TileMap] {
    let result = try owner.explainer.explain(session, classes: classes)
    if let artifacts = owner.artifacts, let origin {
      try artifacts.write(session: session, result: result, classNames: owner.classNames, x: origin.x, y: origin.y)
    }
    return result.explanations.map { e in
      // Layers hold guided maps as the L2 norm of their three channels.
      TileMap(method: e.method.rawValue, classIndex: e.classIndex, width: e.width, height: e.height, values: e.channelNorm)
    }
  }
}
