import Foundation
import GeoCAMGeo
import GeoCAMGeoTestSupport

/// The pipeline tests' scene: class-coded objects on a plain background, written with
/// `TestGeoTIFF`, in a fresh temporary folder per test.
enum PipelineTestRasters {
  /// Non-zero origin (x ≈ −52000, y ≈ −3771000), 8 cm pixels, north-up.
  static let geoTransform = TestGeoTIFF.geoTransform

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

  static func makeTempDir() throws -> URL { try TestGeoTIFF.makeTempDir("geocam-pipeline") }

  /// A Float32 3-band GeoTIFF: band 1 the class levels, bands 2 and 3 each pixel's x and y in
  /// the scene (shifted by `offset` for crops), nodata −1 with the hole when it falls inside.
  @discardableResult
  static func makeScene(
    at path: String, width: Int = 1000, height: Int = 700, offset: (x: Int, y: Int) = (0, 0),
    withHole: Bool = true
  ) throws -> String {
    try TestGeoTIFF.write(
      path, width: width, height: height, bands: 3, of: Float.self, noData: -1, originOffset: offset
    ) { b, x, y in
      let sx = x + offset.x
      let sy = y + offset.y
      if withHole && sx >= hole.x && sx < hole.maxX && sy >= hole.y && sy < hole.maxY { return -1 }
      return b == 1 ? level(x: sx, y: sy) : Float(b == 2 ? sx : sy)
    }
  }

  /// A UInt16 3-band raster (values ×16 of the scene's), for the scaling checks.
  static func makeUInt16(at path: String, width: Int = 200, height: Int = 150) throws -> String {
    try TestGeoTIFF.write(path, width: width, height: height, bands: 3, of: UInt16.self) { b, x, y in
      UInt16(b == 1 ? level(x: x, y: y) * 16 : Float(b == 2 ? x : y))
    }
  }

  /// Every band of a raster, band-sequential, plus its size.
  static func read(_ path: String) throws -> (raster: GeoRaster, data: [Float]) {
    let r = try GeoRaster(path: path)
    return (r, try r.readWindow(x: 0, y: 0, width: r.width, height: r.height).data)
  }
}
