/// Square tiles covering a raster (or a window of it) at a fixed stride.
///
/// Along each axis tile origins are 0, s, 2s, … (s = tileSize − overlap) while a tile still ends
/// inside the area; the last tile is shifted inward to end exactly at the edge, so every pixel is
/// covered and no tile reaches past the area. An axis shorter than a tile gets one tile at 0,
/// which reads padded (see `GeoRaster.readWindow`). Pure value logic, no GDAL.
public struct TileGrid: Sendable, Hashable {
  /// The covered area in raster pixels.
  public let area: PixelWindow
  /// Tile edge length in pixels.
  public let tileSize: Int
  /// Pixels shared by neighbouring tiles (before the last, edge-aligned tile).
  public let overlap: Int
  /// Tile x origins (raster coordinates), one per column.
  public let xOrigins: [Int]
  /// Tile y origins (raster coordinates), one per row.
  public let yOrigins: [Int]

  /// The default tile size, the model's 320 × 320 input.
  public static let defaultTileSize = 320

  /// A grid over a whole `width × height` raster.
  public init(width: Int, height: Int, tileSize: Int = TileGrid.defaultTileSize, overlap: Int = 0)
    throws
  {
    try self.init(
      window: PixelWindow(x: 0, y: 0, width: width, height: height), tileSize: tileSize,
      overlap: overlap)
  }

  /// A grid over `window` (e.g. from `GeoRaster.pixelWindow(forBBox:)`); tile origins are in raster
  /// coordinates.
  public init(window: PixelWindow, tileSize: Int = TileGrid.defaultTileSize, overlap: Int = 0) throws {
    guard window.width > 0, window.height > 0 else {
      throw GeoError("tile grid", "area \(window) has no pixels")
    }
    guard tileSize > 0 else { throw GeoError("tile grid", "tile size must be positive, got \(tileSize)") }
    guard overlap >= 0, overlap < tileSize else {
      throw GeoError("tile grid", "overlap must be in 0..<\(tileSize) (the tile size), got \(overlap)")
    }
    area = window
    self.tileSize = tileSize
    self.overlap = overlap
    let stride = tileSize - overlap
    xOrigins = TileGrid.origins(length: window.width, tile: tileSize, stride: stride).map { $0 + window.x }
    yOrigins = TileGrid.origins(length: window.height, tile: tileSize, stride: stride).map { $0 + window.y }
  }

  /// 0, s, 2s, … while the tile ends before `length`, then `length − tile` (or just 0 when short).
  static func origins(length: Int, tile: Int, stride: Int) -> [Int] {
    var out: [Int] = []
    var p = 0
    while p + tile < length {
      out.append(p)
      p += stride
    }
    out.append(max(0, length - tile))
    return out
  }

  /// Distance between regular tile origins: tileSize − overlap.
  public var stride: Int { tileSize - overlap }
  /// Number of tile rows.
  public var rows: Int { yOrigins.count }
  /// Number of tile columns.
  public var columns: Int { xOrigins.count }
  /// Number of tiles.
  public var count: Int { rows * columns }

  /// The tile at grid (row, column), nil outside the grid.
  public func tile(row: Int, column: Int) -> Tile? {
    guard (0..<rows).contains(row), (0..<columns).contains(column) else { return nil }
    return Tile(row: row, column: column, x: xOrigins[column], y: yOrigins[row], size: tileSize)
  }

  /// All tiles, row-major.
  public var tiles: [Tile] {
    var out: [Tile] = []
    out.reserveCapacity(count)
    for r in 0..<rows {
      for c in 0..<columns {
        out.append(Tile(row: r, column: c, x: xOrigins[c], y: yOrigins[r], size: tileSize))
      }
    }
    return out
  }

  /// The tiles grouped in blocks of up to `n × n` tiles, blocks row-major (left to right, then down),
  /// tiles within a block row-major. Every tile is in exactly one block.
  public func blocks(ofTiles n: Int) throws -> [TileBlock] {
    guard n > 0 else { throw GeoError("tile grid", "block size must be at least 1 tile, got \(n)") }
    var out: [TileBlock] = []
    for r0 in Swift.stride(from: 0, to: rows, by: n) {
      for c0 in Swift.stride(from: 0, to: columns, by: n) {
        let rs = r0..<min(r0 + n, rows)
        let cs = c0..<min(c0 + n, columns)
        var tiles: [Tile] = []
        tiles.reserveCapacity(rs.count * cs.count)
        for r in rs {
          for c in cs {
            tiles.append(Tile(row: r, column: c, x: xOrigins[c], y: yOrigins[r], size: tileSize))
          }
        }
        out.append(TileBlock(rows: rs, columns: cs, tiles: tiles))
      }
    }
    return out
  }
}
