import CGDAL
import Foundation
import GeoCAMGeo

/// Rasters made with GDAL inside the tests.
enum PipelineTestRasters {
  /// Cape Town's own CRS without an EPSG code: TM, central meridian 19° E, WGS 84, scale 1, no
  /// false easting/northing (cape_town_facts.md).
  static let lo19WKT = """
    PROJCS["Cape Town Lo19 (WGS 84)",GEOGCS["WGS 84",DATUM["WGS_1984",\
    SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],\
    UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],\
    PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",19],\
    PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],\
    UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]
    """

  /// Non-zero origin (x ≈ −52000, y ≈ −3771000), 8 cm pixels, north-up.
  static let geoTransform = [-52000.0, 0.08, 0, -3771000.0, 0, -0.08]

  /// The nodata hole: every band −1.
  static let hole = PixelWindow(x: 100, y: 200, width: 50, height: 60)

  /// Objects (band-1 level per class): solar panels 20×20, water heaters 12×12, one pool heater.
  static let objects: [(PixelWindow, Float)] = {
    var out: [(PixelWindow, Float)] = []
    for i in 0..<3 {
      for j in 0..<2 { out.append((PixelWindow(x: 180 + 300 * i, y: 90 + 300 * j, width: 20, height: 20), 100)) }
    }
    for i in 0..<2 { out.append((PixelWindow(x: 330 + 300 * i, y: 420, width: 12, height: 12), 160)) }
    out.append((PixelWindow(x: 700, y: 560, width: 30, height: 30), 220))
    return out
  }()

  /// Band 1 at (x, y) of the whole test scene.
  static func level(x: Int, y: Int) -> Float {
    for (w, v) in objects where x >= w.x && x < w.maxX && y >= w.y && y < w.maxY { return v }
    return 40
  }

  static func makeTempDir() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-pipeline-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// A Float32 3-band GeoTIFF: band 1 the class levels, bands 2 and 3 each pixel's x and y in
  /// the scene (shifted by `offset` for crops), nodata −1 with the hole when it falls inside.
  @discardableResult
  static func makeScene(
    at path: String, width: Int = 1000, height: Int = 700, offset: (x: Int, y: Int) = (0, 0),
    withHole: Bool = true
  ) throws -> String {
    GDALRuntime.ensureInitialized()
    guard let driver = GDALGetDriverByName("GTiff"),
      let ds = GDALCreate(driver, path, Int32(width), Int32(height), 3, GDT_Float32, nil)
    else { throw GeoError(path, "create failed") }
    defer { GDALClose(ds) }
    var gt = geoTransform
    gt[0] += Double(offset.x) * gt[1]
    gt[3] += Double(offset.y) * gt[5]
    GDALSetGeoTransform(ds, &gt)
    GDALSetProjection(ds, lo19WKT)
    for b in 1...3 {
      var buf = [Float](repeating: 0, count: width * height)
      for y in 0..<height {
        for x in 0..<width {
          let sx = x + offset.x
          let sy = y + offset.y
          if withHole && sx >= hole.x && sx < hole.maxX && sy >= hole.y && sy < hole.maxY {
            buf[y * width + x] = -1
            continue
          }
          buf[y * width + x] = b == 1 ? level(x: sx, y: sy) : Float(b == 2 ? sx : sy)
        }
      }
      let band = GDALGetRasterBand(ds, Int32(b))
      GDALSetRasterNoDataValue(band, -1)
      let err = GDALRasterIO(
        band, GF_Write, 0, 0, Int32(width), Int32(height), &buf, Int32(width), Int32(height), GDT_Float32, 0, 0)
      guard err == CE_None else { throw GeoError(path, "write failed") }
    }
    return path
  }

  /// A UInt16 3-band raster (values ×16 of the scene's), for the scaling checks.
  static func makeUInt16(at path: String, width: Int = 200, height: Int = 150) throws -> String {
    GDALRuntime.ensureInitialized()
    guard let driver = GDALGetDriverByName("GTiff"),
      let ds = GDALCreate(driver, path, Int32(width), Int32(height), 3, GDT_UInt16, nil)
    else { throw GeoError(path, "create failed") }
    defer { GDALClose(ds) }
    var gt = geoTransform
    GDALSetGeoTransform(ds, &gt)
    GDALSetProjection(ds, lo19WKT)
    for b in 1...3 {
      var buf = [UInt16](repeating: 0, count: width * height)
      for y in 0..<height {
        for x in 0..<width { buf[y * width + x] = UInt16(b == 1 ? level(x: x, y: y) * 16 : Float(b == 2 ? x : y)) }
      }
      _ = GDALRasterIO(
        GDALGetRasterBand(ds, Int32(b)), GF_Write, 0, 0, Int32(width), Int32(height), &buf, Int32(width),
        Int32(height), GDT_UInt16, 0, 0)
    }
    return path
  }

  /// Every band of a raster, band-sequential, plus its size.
  static func read(_ path: String) throws -> (raster: GeoRaster, data: [Float]) {
    let r = try GeoRaster(path: path)
    return (r, try r.readWindow(x: 0, y: 0, width: r.width, height: r.height).data)
  }
}
