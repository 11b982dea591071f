/// How maps are scaled for pictures and layers.
public enum MapNormalization: String, Sendable, CaseIterable {
  /// Raw values.
  case none
  /// The seed's per-tile scaling `(x − min(x)) / (max(x) + 1e-8)`.
  case tile
  /// `(x − min) / (max − min + 1e-7)`.
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
