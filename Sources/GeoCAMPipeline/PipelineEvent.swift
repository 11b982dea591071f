/// What a run reports while it works (see `StderrProgress` for the default presentation).
public enum PipelineEvent: Sendable {
  /// Work is known: `tiles` to compute in this invocation (`reused` more come from an earlier
  /// one), over `blocks` output blocks.
  case started(tiles: Int, reused: Int, blocks: Int)
  /// `done` of `total` tiles computed; rate over this invocation; ETA in seconds when known.
  case tiles(done: Int, total: Int, tilesPerSecond: Double, eta: Double?)
  /// A step such as "writing OUT.tif".
  case phase(String)
  /// Something the user should know (also recorded in the summary's `warnings`).
  case warning(String)
  /// The run ended after `seconds`.
  case finished(seconds: Double)
}
