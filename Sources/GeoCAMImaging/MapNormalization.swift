/// How maps are scaled for pictures and layers: one definition of each formula, used by the
/// per-tile pictures and the city pipeline's layers alike.
public enum MapNormalization: String, Sendable, CaseIterable {
  /// Raw values.
  case none
  /// The seed notebook's per-tile scaling `(x − min(x)) / (max(x) + 1e-8)` (the divisor is the
  /// map's own maximum, not its range).
  case tile
  /// Min-max scaling `(x − min) / (max − min + 1e-7)` (pytorch-grad-cam's `scale_cam_image`).
  case minmax

  /// Applies the scaling to one map.
  public func apply(_ x: [Float]) -> [Float] {
    guard self != .none, let lo = x.min(), let hi = x.max() else { return x }
    switch self {
    case .none: return x
    case .tile: return x.map { ($0 - lo) / (hi + 1e-8) }
    case .minmax: return x.map { ($0 - lo) / (hi - lo + 1e-7) }
    }
  }
}
