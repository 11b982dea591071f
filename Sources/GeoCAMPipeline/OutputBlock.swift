import GeoCAMGeo

/// One output block: a rectangle of the output aligned to the GeoTIFF tiling, the unit that is
/// blended in memory, written once, resumed and assigned to a shard.
struct OutputBlock: Sendable, Hashable {
  /// Row-major index among all blocks.
  let index: Int
  /// Block column and row.
  let column: Int
  let row: Int
  /// The block's pixels in raster coordinates.
  let rect: PixelWindow
  /// The block's pixels in output coordinates (relative to the run's area).
  let output: PixelWindow
  /// The block's pixels in the explanation layer (equal to `output` at full resolution, the
  /// coarse cells whose centres fall in the block at native resolution).
  let layer: PixelWindow

  /// File-name stem, e.g. `b3_12` (row 3, column 12).
  var name: String { "b\(row)_\(column)" }
}
