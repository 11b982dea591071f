/// Where a raster lies: its geotransform and its CRS as WKT, exactly as GDAL reported them.
public struct Georeferencing: Sendable, Hashable {
  /// The affine transform, or nil for a raster without one.
  public var geoTransform: GeoTransform?
  /// The CRS as WKT ("" when the raster has none); passed through untouched.
  public var crsWKT: String

  /// Creates georeferencing.
  public init(geoTransform: GeoTransform?, crsWKT: String) {
    self.geoTransform = geoTransform
    self.crsWKT = crsWKT
  }

  /// The georeferencing of the sub-window starting at pixel (x, y): same CRS, shifted origin.
  public func offset(x: Int, y: Int) -> Georeferencing {
    Georeferencing(geoTransform: geoTransform?.offset(x: x, y: y), crsWKT: crsWKT)
  }
}
