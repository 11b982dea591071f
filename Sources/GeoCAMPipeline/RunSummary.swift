/// What a run did, as written to `OUT.json` (and a part's `OUT.part-I-of-N.json`).
public struct RunSummary: Codable, Sendable {
  /// How the run ended.
  public enum Status: String, Codable, Sendable {
    /// All outputs written by this invocation (or merge).
    case finished
    /// The outputs were already finished by the same command; nothing was done.
    case alreadyFinished = "already-finished"
    /// This share's parts written; run `geocam merge` once every share has finished.
    case partFinished = "part-finished"
  }

  /// Tile counts of this invocation (for a merge: summed over the parts).
  public struct TileCounts: Codable, Sendable, Hashable {
    /// Tiles in the grid over the whole area.
    public var total: Int
    /// Tiles this run (or share) needed, halo included.
    public var needed: Int
    /// Tiles read from the raster and run through the model.
    public var read: Int
    /// Of those, tiles without a valid pixel (not run).
    public var skipped: Int
    /// Of those, tiles where at least one class was explained.
    public var explained: Int
    /// Needed tiles not recomputed because an earlier, interrupted run had done them.
    public var reused: Int
    /// Per class name, computed tiles where the class was asked for but had no target (a
    /// `class-mask` target without a pixel of the class): left "not computed" there. Absent
    /// when every asked class was explained.
    public var notComputed: [String: Int]?
  }

  /// One explanation band.
  public struct Layer: Codable, Sendable, Hashable {
    /// 1-based band in `OUT.tif`.
    public var band: Int
    /// `method:class`.
    public var description: String
    /// Scene normalisation divisor (the band's percentile), when `normalize` is `scene`.
    public var sceneDivisor: Float?
  }

  /// How the run ended.
  public var status: Status
  /// The output files (role → path): explanations, probabilities, classes, quicklook, summary.
  public var outputs: [String: String]
  /// Tile counts.
  public var tiles: TileCounts
  /// Output blocks: total in the scene, this run's (share's), and those reused from an earlier run.
  public var blocks: [String: Int]
  /// Wall-clock seconds of this invocation.
  public var seconds: Double
  /// The share, for a part.
  public var shard: Shard?
  /// Number of parts merged, for a merge.
  public var mergedParts: Int?
  /// Input raster, its size, and the window the outputs cover (x, y, width, height).
  public var input: String
  public var inputSize: [Int]
  public var window: [Int]
  /// Explanation bands.
  public var layers: [Layer]
  /// `raw`, `scene` or `tile`.
  public var normalization: String
  /// Provenance, as written in every output's metadata.
  public var provenance: [String: String]
  /// Warnings raised during the run.
  public var warnings: [String]
  /// The full plan (the fingerprint resume and merge compare).
  var plan: ScenePlan
}
