import CGDAL
import Foundation
import GeoCAMGeo

/// Rasters made with GDAL inside the tests, in a fresh temporary folder per test.
enum TestRasters {
  /// Cape Town's own CRS: Transverse Mercator, central meridian 19° E, WGS 84, scale 1,
  /// no false easting/northing, no EPSG code (cape_town_facts.md).
  static let lo19WKT = """
    PROJCS["Cape Town Lo19 (WGS 84)",GEOGCS["WGS 84",DATUM["WGS_1984",\
    SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],\
    UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],\
    PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",19],\
    PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],\
    UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]
    """

  /// Origin x ≈ −52000, y ≈ −3771000, 8 cm pixels, north-up.
  static let geoTransform = [-52000.0, 0.08, 0, -3771000.0, 0, -0.08]

  /// The nodata hole of `makeRGB`: columns 100..<150, rows 200..<260 (all bands 0 = nodata).
  static let hole = PixelWindow(x: 100, y: 200, width: 50, height: 60)

  /// Sample values of `makeRGB` outside the hole; band 1 is never 0 so those pixels stay valid.
  static func value(band: Int, x: Int, y: Int) -> UInt8 {
    switch band {
    case 1: return UInt8((x + y) % 251 + 1)
    case 2: return UInt8((x * 3) % 256)
    default: return UInt8((y * 7) % 256)
    }
  }

  static func makeTempDir() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("geocam-geo-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  static func removeDir(_ dir: URL) { try? FileManager.default.removeItem(at: dir) }

  /// Ensures GDAL is registered (tests create files before the library opens any).
  static func register() { GDALRuntime.ensureInitialized() }

  /// A width × height RGB Byte GeoTIFF in Lo19 with nodata 0 on every band and the `hole`.
  @discardableResult
  static func makeRGB(at path: String, width: Int = 1000, height: Int = 700, tiled: Bool = false,
                      alpha: Bool = false) throws -> String {
    register()
    guard let driver = GDALGetDriverByName("GTiff") else { throw GeoError(path, "no GTiff") }
    var opts: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
    if tiled { opts = CSLSetNameValue(opts, "TILED", "YES") }
    if alpha { opts = CSLSetNameValue(opts, "ALPHA", "YES") }
    defer { CSLDestroy(opts) }
    let bands = alpha ? 4 : 3
    guard let ds = GDALCreate(driver, path, Int32(width), Int32(height), Int32(bands), GDT_Byte, opts)
    else { throw GeoError(path, "create failed") }
    defer { GDALClose(ds) }
    var gt = geoTransform
    GDALSetGeoTransform(ds, &gt)
    GDALSetProjection(ds, lo19WKT)
    for b in 1...bands {
      var buf = [UInt8](repeating: 0, count: width * height)
      for y in 0..<height {
        for x in 0..<width {
          let inHole = x >= hole.x && x < hole.maxX && y >= hole.y && y < hole.maxY
          if b == 4 {
            buf[y * width + x] = inHole ? 0 : 255
          } else {
            buf[y * width + x] = inHole ? 0 : value(band: b, x: x, y: y)
          }
        }
      }
      let band = GDALGetRasterBand(ds, Int32(b))
      if !alpha { GDALSetRasterNoDataValue(band, 0) }
      let err = GDALRasterIO(band, GF_Write, 0, 0, Int32(width), Int32(height), &buf, Int32(width),
                             Int32(height), GDT_Byte, 0, 0)
      guard err == CE_None else { throw GeoError(path, "write failed") }
    }
    return path
  }

  /// A Float32 single-band GeoTIFF without nodata whose values are x + 1000 y, NaN at `nanAt`.
  static func makeFloat(at path: String, width: Int, height: Int, nanAt: [(Int, Int)]) throws {
    register()
    guard let driver = GDALGetDriverByName("GTiff"),
      let ds = GDALCreate(driver, path, Int32(width), Int32(height), 1, GDT_Float32, nil)
    else { throw GeoError(path, "create failed") }
    defer { GDALClose(ds) }
    var gt = geoTransform
    GDALSetGeoTransform(ds, &gt)
    GDALSetProjection(ds, lo19WKT)
    var buf = [Float](repeating: 0, count: width * height)
    for y in 0..<height { for x in 0..<width { buf[y * width + x] = Float(x + 1000 * y) } }
    for (x, y) in nanAt { buf[y * width + x] = .nan }
    _ = GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, Int32(width), Int32(height), &buf,
                 Int32(width), Int32(height), GDT_Float32, 0, 0)
  }
}
