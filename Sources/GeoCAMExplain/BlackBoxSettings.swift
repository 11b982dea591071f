/// Settings of the black-box methods (RISE, LIME): sample counts and the seed that makes their
/// random masks and samples reproducible.
public struct BlackBoxSettings: Sendable, Equatable {
  /// Seeds RISE's grids and shifts and LIME's samples (`--seed`).
  public var seed: UInt64 = 0
  /// RISE masks (`--rise-masks`); nil = 4,000 for classifiers (xplique's default) and 500 for
  /// segmentation models, where each mask costs a full forward of the tile.
  public var riseMasks: Int?
  /// RISE grid cells per side (s).
  public var riseCells = 7
  /// RISE keep probability (p).
  public var riseKeep = 0.5
  /// LIME samples (`--lime-samples`), row 0 the unperturbed image.
  public var limeSamples = 1000
  /// LIME superpixels asked of SLIC (skimage's `n_segments`).
  public var limeSegments = 100
  /// LIME's kernel width on cosine distances.
  public var limeKernelWidth = 0.25

  public init() {}

  /// RISE masks for a model of `task`.
  public func riseMaskCount(segmentation: Bool) -> Int { riseMasks ?? (segmentation ? 500 : 4000) }
}
