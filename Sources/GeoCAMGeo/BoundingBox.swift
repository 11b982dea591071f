/// An axis-aligned box in CRS units (e.g. metres of the raster's own CRS).
public struct BoundingBox: Sendable, Hashable, CustomStringConvertible {
  /// Smallest X.
  public var minX: Double
  /// Smallest Y.
  public var minY: Double
  /// Largest X.
  public var maxX: Double
  /// Largest Y.
  public var maxY: Double

  /// Creates a box; the corners may be given in any order.
  public init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
    self.minX = Swift.min(minX, maxX)
    self.minY = Swift.min(minY, maxY)
    self.maxX = Swift.max(minX, maxX)
    self.maxY = Swift.max(minY, maxY)
  }

  /// `minx,miny,maxx,maxy`, the order `--bbox` takes.
  public var description: String { "\(minX),\(minY),\(maxX),\(maxY)" }
}
