/// GDAL's affine geotransform: `X = originX + col·pixelWidth + row·rowRotation`,
/// `Y = originY + col·columnRotation + row·pixelHeight` (pixelHeight is negative for north-up rasters).
public struct GeoTransform: Sendable, Hashable {
  /// X of the top-left corner of the top-left pixel (gt[0]).
  public var originX: Double
  /// Pixel width in CRS units (gt[1]).
  public var pixelWidth: Double
  /// Rotation term: X change per row (gt[2]); 0 for north-up.
  public var rowRotation: Double
  /// Y of the top-left corner of the top-left pixel (gt[3]).
  public var originY: Double
  /// Rotation term: Y change per column (gt[4]); 0 for north-up.
  public var columnRotation: Double
  /// Pixel height in CRS units (gt[5]); negative for north-up.
  public var pixelHeight: Double

  /// Creates a geotransform from its six coefficients in GDAL order.
  public init(
    originX: Double, pixelWidth: Double, rowRotation: Double = 0,
    originY: Double, columnRotation: Double = 0, pixelHeight: Double
  ) {
    self.originX = originX
    self.pixelWidth = pixelWidth
    self.rowRotation = rowRotation
    self.originY = originY
    self.columnRotation = columnRotation
    self.pixelHeight = pixelHeight
  }

  /// Creates a geotransform from GDAL's 6-double array; nil unless there are exactly 6 values.
  public init?(_ coefficients: [Double]) {
    guard coefficients.count == 6 else { return nil }
    self.init(
      originX: coefficients[0], pixelWidth: coefficients[1], rowRotation: coefficients[2],
      originY: coefficients[3], columnRotation: coefficients[4], pixelHeight: coefficients[5])
  }

  /// The six coefficients in GDAL order.
  public var coefficients: [Double] {
    [originX, pixelWidth, rowRotation, originY, columnRotation, pixelHeight]
  }

  /// True when there is no rotation term (rows run along X, columns along Y).
  public var isAxisAligned: Bool { rowRotation == 0 && columnRotation == 0 }

  /// Pixel size as (|width|, |height|) in CRS units, for axis-aligned transforms.
  public var pixelSize: (x: Double, y: Double) { (abs(pixelWidth), abs(pixelHeight)) }

  /// CRS coordinates of the pixel corner (col, row) (use +0.5 for a pixel centre).
  public func coordinate(column: Double, row: Double) -> (x: Double, y: Double) {
    (
      originX + column * pixelWidth + row * rowRotation,
      originY + column * columnRotation + row * pixelHeight
    )
  }

  /// The geotransform of a sub-window whose top-left pixel is (x, y) in this raster
  /// (the same formula samgeo's split_raster uses), exact for integer offsets.
  public func offset(x: Int, y: Int) -> GeoTransform {
    let origin = coordinate(column: Double(x), row: Double(y))
    var gt = self
    gt.originX = origin.x
    gt.originY = origin.y
    return gt
  }
}
