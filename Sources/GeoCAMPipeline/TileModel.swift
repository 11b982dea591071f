/// One tile's model run: a forward pass whose results the pipeline reads, then explanations on demand.
public protocol TileSession {
  /// Softmax probabilities [classes][size][size] (row-major per class) over the whole tile.
  var probabilities: [Float] { get }
  /// Explanation maps for the given classes, one per (method, class). CAM-family maps are raw
  /// (after their ReLU, before any normalisation) at the target layer's resolution (e.g. 10×10);
  /// guided maps are already reduced to the L2 norm of their 3 channels at tile resolution.
  func explain(classes: [Int]) throws -> [TileMap]
}

/// One explanation map of one tile: `height × width` values, row-major, covering the whole tile.
public struct TileMap: Sendable {
  /// Method id, one of `TileModel.methods` (e.g. "gradcam").
  public var method: String
  /// The explained class (index into `TileModel.classNames`).
  public var classIndex: Int
  /// Map width (the target layer's width, or the tile size for guided maps).
  public var width: Int
  /// Map height.
  public var height: Int
  /// `height × width` values, row-major.
  public var values: [Float]

  /// Creates a map.
  public init(method: String, classIndex: Int, width: Int, height: Int, values: [Float]) {
    self.method = method
    self.classIndex = classIndex
    self.width = width
    self.height = height
    self.values = values
  }
}

/// The model as the pipeline sees it: tiles in, probabilities and explanation maps out.
public protocol TileModel {
  /// Class names; index 0 = background.
  var classNames: [String] { get }
  /// Method ids in band order, e.g. ["gradcam", "gradcam++", "guided-gradcam"].
  var methods: [String] { get }
  /// Tile edge in pixels the model runs on (320).
  var tileSize: Int { get }
  /// Runs one tile. `pixels` is band-sequential [3][size][size] as read; `valid` marks real pixels
  /// (the model fills the others with its normalisation mean and excludes them from targets).
  func begin(pixels: [Float], valid: [UInt8], size: Int) throws -> TileSession
  /// Runs one tile whose top-left pixel is at `origin` in the full raster (models that write
  /// per-tile artifacts name them after it). Defaults to `begin(pixels:valid:size:)`.
  func begin(pixels: [Float], valid: [UInt8], size: Int, origin: TileOrigin) throws -> TileSession
  /// Facts recorded in provenance (checkpoint name, SHA-256, metadata, layer, target, …).
  var provenance: [String: String] { get }
  /// Side of the CAM-family maps (e.g. 10 for a 320 tile at the encoder's stride 32), needed
  /// by `--cam-resolution native`; nil when unknown (the default).
  var camMapSize: Int? { get }
  /// Ground sample distance the model was trained at, metres per pixel (checkpoint `gsd_m`);
  /// nil when unknown (the default). Used for the pixel-size warning and `resample`.
  var gsdMeters: Double? { get }
  /// Methods whose map ignores the class (FEM, Eigen-CAM): written once per window as
  /// `method:all`, never per class. Empty by default.
  var classAgnosticMethods: Set<String> { get }
  /// Probabilities only, for tiles that will not be explained (`geocam predict`): one array per
  /// input, in order, each as `TileSession.probabilities`. A model may run the tiles at once and
  /// skip what only explanations need (the recorded forward). Defaults to `begin` per tile.
  func predict(_ tiles: [TilePixels], size: Int) throws -> [[Float]]
  /// How many tiles `predict` runs at once to best use the machine (1 by default); the pipeline
  /// hands it groups of this size.
  var predictGroupSize: Int { get }
  /// How many tiles the pipeline explains side by side through `concurrently` (1 by default).
  /// A model says more than 1 only when each tile's results do not depend on how many run at
  /// once, so a grouped run writes the same files as a tile-at-a-time one.
  var explainGroupSize: Int { get }
  /// Runs `count` jobs side by side, each on its share of the model's compute, and returns
  /// their results in order; an error is rethrown (the lowest-numbered failing job's, once all
  /// have finished). The default runs them one after another on the calling thread and stops
  /// at the first error.
  func concurrently<T>(_ count: Int, _ job: (Int) throws -> T) throws -> [T]
  /// Frees what the model keeps only to run its next tile sooner (recycled buffers, scratch);
  /// the pipeline calls it once no tile is left, before writing its outputs. Does nothing by default.
  func releaseCaches()
}

/// One tile as handed to `TileModel.predict`: pixels, validity and where it lies.
public struct TilePixels: Sendable {
  /// Band-sequential [3][size][size] pixels, as for `TileModel.begin`.
  public var pixels: [Float]
  /// Real pixels (1) and padding (0).
  public var valid: [UInt8]
  /// The tile's top-left pixel in the full raster.
  public var origin: TileOrigin
  /// Creates an input.
  public init(pixels: [Float], valid: [UInt8], origin: TileOrigin) {
    self.pixels = pixels
    self.valid = valid
    self.origin = origin
  }
}

/// A tile's top-left pixel in the full raster.
public struct TileOrigin: Sendable, Hashable {
  /// Column offset.
  public var x: Int
  /// Row offset.
  public var y: Int
  /// Creates an origin.
  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }
}

extension TileModel {
  /// Ignores the origin.
  public func begin(pixels: [Float], valid: [UInt8], size: Int, origin: TileOrigin) throws -> TileSession {
    try begin(pixels: pixels, valid: valid, size: size)
  }

  /// Unknown unless the model says.
  public var camMapSize: Int? { nil }
  /// Unknown unless the model says.
  public var gsdMeters: Double? { nil }
  /// None unless the model says.
  public var classAgnosticMethods: Set<String> { [] }

  /// One tile after another through `begin`.
  public func predict(_ tiles: [TilePixels], size: Int) throws -> [[Float]] {
    try tiles.map { try begin(pixels: $0.pixels, valid: $0.valid, size: size, origin: $0.origin).probabilities }
  }

  /// One tile at a time unless the model says.
  public var predictGroupSize: Int { 1 }

  /// One tile at a time unless the model says.
  public var explainGroupSize: Int { 1 }

  /// Nothing kept.
  public func releaseCaches() {}

  /// One job after another.
  public func concurrently<T>(_ count: Int, _ job: (Int) throws -> T) throws -> [T] {
    try (0..<count).map(job)
  }
}
