import Foundation
import Synchronization
import GeoCAMCheckpoint
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMModels
import GeoCAMPipeline

/// GeoCAM's version, recorded in every output's provenance.
public enum GeoCAMVersion {
  public static let string = "0.1.0"
}

/// A checkpoint opened for a run: its model, its SHA-256 and the provenance every output
/// records. Library callers and the CLI open checkpoints the same way.
public struct OpenedCheckpoint {
  /// The model with its metadata.
  public let bundle: ModelBundle
  /// SHA-256 of the file, hex.
  public let sha256: String

  /// Opens `path` (metadata `overrides` win over the file, e.g. `--class-names`).
  public init(path: String, overrides: ModelMetadata? = nil, foldBatchNorm: Bool = false) throws {
    // The hash reads the file on a second core while this one builds the model.
    let hash = Mutex<Result<String, any Error>?>(nil)
    let hashed = DispatchGroup()
    DispatchQueue.global().async(group: hashed) {
      let r = Result { try SHA256.hex(ofFile: path) }
      hash.withLock { $0 = r }
    }
    let loaded = Result { try ModelBundle.load(path: path, overrides: overrides, foldBatchNorm: foldBatchNorm) }
    hashed.wait()
    bundle = try loaded.get()
    // The group's wait orders the hash's write before this read.
    sha256 = try hash.withLock { $0 }?.get() ?? SHA256.hex(ofFile: path)
  }

  /// Wraps a model built in memory (tests, benchmarks).
  public init(bundle: ModelBundle, sha256: String) {
    self.bundle = bundle
    self.sha256 = sha256
  }

  /// Class arguments by index or name; all but class 0 when nil.
  public func classIndices(_ specs: [String]?) throws -> [Int] {
    try specs.map { try bundle.classIndices($0) } ?? Array(1..<bundle.model.classCount)
  }
}

/// `geocam explain` as a library call: a checkpoint's explanations over a raster, written as
/// the city pipeline's layers (with the same provenance as the CLI's).
public struct ExplainJob {
  public var checkpoint: OpenedCheckpoint
  public var methods: [ExplanationMethod] = ExplanationMethod.defaults
  /// Classes to explain (nil: all but class 0).
  public var classes: [Int]?
  public var target: ExplanationTarget = .classMean
  /// Target layer (nil: the model's default).
  public var layer: String?
  /// Pipeline options (tiling, normalisation of layers, resume, shards…).
  public var pipeline = PipelineOptions()
  /// Per-tile raw arrays and pictures, and the pictures' normalisation.
  public var rawDirectory: URL?
  public var pngDirectory: URL?
  public var pictureNormalization: MapNormalization = .tile
  /// Masked forwards per batch of perturbation methods.
  public var perturbationBatchSize: Int?
  /// Seed and sample counts of RISE and LIME.
  public var blackBox = BlackBoxSettings()

  public init(checkpoint: OpenedCheckpoint) { self.checkpoint = checkpoint }

  /// Runs the pipeline over `input` into `output` (`OUT.tif` and companions).
  public func run(input: String, output: String, progress: ((PipelineEvent) -> Void)? = nil) throws -> RunSummary {
    let bundle = checkpoint.bundle
    let explainer = Explainer(methods: methods, target: target, perturbationBatchSize: perturbationBatchSize, blackBox: blackBox)
    var options = pipeline
    options.classes = classes ?? Array(1..<bundle.model.classCount)
    options.provenance["geocam_version"] = GeoCAMVersion.string
    let artifacts =
      (rawDirectory != nil || pngDirectory != nil)
      ? TileArtifacts(rawDirectory: rawDirectory, pngDirectory: pngDirectory, normalization: pictureNormalization) : nil
    let tileModel = try ExplainingTileModel(
      bundle: bundle, explainer: explainer, layer: layer, tileSize: options.tileSize ?? 320,
      checkpointSHA256: checkpoint.sha256, artifacts: artifacts)
    return try CityPipeline.run(input: input, output: output, model: tileModel, options: options, progress: progress)
  }
}
