import Foundation

/// The blending weight of each tile along one axis of a tile grid.
///
/// With overlap > 0, a tile's weight ramps up over the pixels it shares with the previous tile
/// and down over those it shares with the next (raised cosine, `sin²(π/2 · t)`, evaluated at
/// pixel centres so it never reaches 0 inside the tile), and is 1 elsewhere, including at the
/// raster edge. Ramps span the whole actual overlap, which for the last, edge-aligned tile is
/// wider than the configured one. Two tiles' ramps over a shared run of pixels sum to 1
/// (`sin² + cos²`), and the pipeline divides by the summed weights anyway, so the blend is a
/// smooth convex combination: no seams. Weights of a 2-D tile are the product of its row and
/// column weights.
///
/// With overlap 0 neighbouring tiles only meet where the last tile is shifted inward; there the
/// shared pixels are split at their middle (hard ownership, weights 1 or 0), so every pixel is
/// exactly its owning tile's map.
public struct BlendWindow: Sendable, Hashable {
  /// Tile origins along the axis (increasing).
  public let origins: [Int]
  /// Tile edge in pixels.
  public let tileSize: Int
  /// True for overlap 0: hard ownership instead of ramps.
  public let hard: Bool

  /// Weights for tiles at `origins` with edge `tileSize`; `hard` for overlap 0.
  public init(origins: [Int], tileSize: Int, hard: Bool) {
    self.origins = origins
    self.tileSize = tileSize
    self.hard = hard
  }

  /// Pixels tile `j` shares with its previous and next neighbour (0 without one).
  public func overlaps(_ j: Int) -> (previous: Int, next: Int) {
    let previous = j > 0 ? max(0, origins[j - 1] + tileSize - origins[j]) : 0
    let next = j + 1 < origins.count ? max(0, origins[j] + tileSize - origins[j + 1]) : 0
    return (previous, next)
  }

  /// The weight of tile `j` at position `u` (continuous, relative to the tile origin; the centre
  /// of tile pixel i is i + 0.5).
  public func weight(_ j: Int, at u: Double) -> Float {
    let (dL, dR) = overlaps(j)
    let t = Double(tileSize)
    if hard {
      // Shared pixels [0, d) are split at floor(d/2): the earlier tile keeps the first half.
      if dL > 0, u < Double(dL / 2) { return 0 }
      if dR > 0, u >= t - Double(dR - dR / 2) { return 0 }
      return 1
    }
    var w = 1.0
    if dL > 0, u < Double(dL) { w *= BlendWindow.ramp(u / Double(dL)) }
    if dR > 0, u > t - Double(dR) { w *= BlendWindow.ramp((t - u) / Double(dR)) }
    return Float(w)
  }

  /// The weights of tile `j` at its pixel centres 0.5, 1.5, …, tileSize − 0.5.
  public func pixelWeights(_ j: Int) -> [Float] {
    (0..<tileSize).map { weight(j, at: Double($0) + 0.5) }
  }

  /// Raised cosine rising from 0 at t = 0 to 1 at t = 1.
  static func ramp(_ t: Double) -> Double {
    let s = sin(Double.pi / 2 * min(max(t, 0), 1))
    return s * s
  }
}
