import CGDAL
import Foundation
import GeoCAMGeo

/// A pixel type the tests can write with GDAL.
public protocol TestPixel: BitwiseCopyable {
  /// The GDAL data type of a band holding this type.
  static var gdalType: GDALDataType { get }
}

extension UInt8: TestPixel { public static var gdalType: GDALDataType { GDT_Byte } }
extension UInt16: TestPixel { public static var gdalType: GDALDataType { GDT_UInt16 } }
extension Float: TestPixel { public static var gdalType: GDALDataType { GDT_Float32 } }

/// GeoTIFFs written with GDAL inside the tests, in Cape Town's own CRS, and temporary folders
/// for them. Shared by the geo, pipeline and end-to-end tests so that they agree on one CRS.
public enum TestGeoTIFF {
  /// Cape Town's own CRS: Transverse Mercator, central meridian 19° E, WGS 84, scale 1, no false
  /// easting/northing and no EPSG code (cape_town_facts.md).
  public static let lo19WKT = """
    PROJCS["Cape Town Lo19 (WGS 84)",GEOGCS["WGS 84",DATUM["WGS_1984",\
    SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],\
    UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],\
    PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",19],\
    PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],\
    UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]
    """

  /// A non-zero origin (x ≈ −52000, y ≈ −3771000, both negative as in Lo19), 8 cm pixels, north-up.
  public static let geoTransform = [-52000.0, 0.08, 0, -3771000.0, 0, -0.08]

  /// A fresh folder under the temporary directory; remove it with `removeDir`.
  public static func makeTempDir(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// Removes a folder made by `makeTempDir`, ignoring errors (test clean-up).
  public static func removeDir(_ dir: URL) { try? FileManager.default.removeItem(at: dir) }

  /// Writes a `width × height` GeoTIFF of `bands` bands of `T` in Lo19 whose band `b` (1-based)
  /// at column `x`, row `y` holds `value(b, x, y)`.
  /// - Parameters:
  ///   - noData: set on every band when given.
  ///   - options: GTiff creation options, such as `TILED=YES` or `ALPHA=YES`.
  ///   - originOffset: pixels by which the origin is moved from `geoTransform` (for crops).
  @discardableResult
  public static func write<T: TestPixel>(
    _ path: String, width: Int, height: Int, bands: Int, of _: T.Type, noData: Double? = nil,
    options: [String: String] = [:], originOffset: (x: Int, y: Int) = (0, 0),
    value: (_ band: Int, _ x: Int, _ y: Int) -> T
  ) throws -> String {
    GDALRuntime.ensureInitialized()
    guard let driver = GDALGetDriverByName("GTiff") else { throw GeoError(path, "no GTiff driver") }
    var opts: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
    for (key, v) in options.sorted(by: { $0.key < $1.key }) { opts = CSLSetNameValue(opts, key, v) }
    defer { CSLDestroy(opts) }
    guard let ds = GDALCreate(driver, path, Int32(width), Int32(height), Int32(bands), T.gdalType, opts)
    else { throw GeoError(path, "create failed") }
    defer { GDALClose(ds) }
    var gt = geoTransform
    gt[0] += Double(originOffset.x) * gt[1]
    gt[3] += Double(originOffset.y) * gt[5]
    GDALSetGeoTransform(ds, &gt)
    GDALSetProjection(ds, lo19WKT)
    for b in 1...bands {
      var buf = [T]()
      buf.reserveCapacity(width * height)
      for y in 0..<height { for x in 0..<width { buf.append(value(b, x, y)) } }
      let band = GDALGetRasterBand(ds, Int32(b))
      if let noData { GDALSetRasterNoDataValue(band, noData) }
      let err = buf.withUnsafeMutableBytes {
        GDALRasterIO(
          band, GF_Write, 0, 0, Int32(width), Int32(height), $0.baseAddress, Int32(width), Int32(height), T.gdalType,
          0, 0)
      }
      guard err == CE_None else { throw GeoError(path, "write failed") }
    }
    return path
  }
}
