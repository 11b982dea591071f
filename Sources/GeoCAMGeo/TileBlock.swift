/// A rectangular group of neighbouring tiles, so a consumer can read one super-window,
/// process its tiles and write the result before moving on (streaming, bounded memory).
public struct TileBlock: Sendable, Hashable {
  /// Grid rows covered.
  public let rows: Range<Int>
  /// Grid columns covered.
  public let columns: Range<Int>
  /// The tiles, row-major.
  public let tiles: [Tile]

  /// Creates a block; `tiles` must be non-empty (as `TileGrid.blocks(ofTiles:)` guarantees).
  public init(rows: Range<Int>, columns: Range<Int>, tiles: [Tile]) {
    self.rows = rows
    self.columns = columns
    self.tiles = tiles
  }

  /// The union of the tiles' windows: read this once and cut the tiles out of it.
  public var window: PixelWindow {
    guard let first = tiles.first else { return PixelWindow(x: 0, y: 0, width: 0, height: 0) }
    return tiles.dropFirst().reduce(first.window) { $0.union($1.window) }
  }
}
