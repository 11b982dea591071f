/// One tile of a `TileGrid`: its grid index and its pixel origin in raster coordinates.
/// Ordered row-major (row, then column).
public struct Tile: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Grid row (0-based, top to bottom).
  public let row: Int
  /// Grid column (0-based, left to right).
  public let column: Int
  /// Column of the tile's top-left pixel in the raster.
  public let x: Int
  /// Row of the tile's top-left pixel in the raster.
  public let y: Int
  /// Tile edge length in pixels (tiles are square).
  public let size: Int

  /// Creates a tile.
  public init(row: Int, column: Int, x: Int, y: Int, size: Int) {
    self.row = row
    self.column = column
    self.x = x
    self.y = y
    self.size = size
  }

  /// The tile's pixels as a window (may extend past a raster smaller than a tile).
  public var window: PixelWindow { PixelWindow(x: x, y: y, width: size, height: size) }

  /// Row-major order.
  public static func < (a: Tile, b: Tile) -> Bool {
    (a.row, a.column) < (b.row, b.column)
  }

  /// `r<row>c<col>@<x>,<y>`.
  public var description: String { "r\(row)c\(column)@\(x),\(y)" }
}
