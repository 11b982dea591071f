import Foundation
import GeoCAMGeo
import GeoCAMGeoTestSupport

/// The geo tests' rasters, written with `TestGeoTIFF` in a fresh temporary folder per test.
enum TestRasters {
  /// Origin x ≈ −52000, y ≈ −3771000, 8 cm pixels, north-up.
  static let geoTransform = TestGeoTIFF.geoTransform

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

  static func makeTempDir() throws -> URL { try TestGeoTIFF.makeTempDir("geocam-geo-tests") }

  static func removeDir(_ dir: URL) { TestGeoTIFF.removeDir(dir) }

  /// A width × height RGB Byte GeoTIFF in Lo19 with nodata 0 on every band and the `hole`
  /// (with `alpha`, a fourth band that is 0 in the hole and no nodata value).
  @discardableResult
  static func makeRGB(at path: String, width: Int = 1000, height: Int = 700, tiled: Bool = false,
                      alpha: Bool = false) throws -> String {
    var options: [String: String] = [:]
    if tiled { options["TILED"] = "YES" }
    if alpha { options["ALPHA"] = "YES" }
    return try TestGeoTIFF.write(
      path, width: width, height: height, bands: alpha ? 4 : 3, of: UInt8.self, noData: alpha ? nil : 0,
      options: options
    ) { b, x, y in
      let inHole = x >= hole.x && x < hole.maxX && y >= hole.y && y < hole.maxY
      if b == 4 { return inHole ? 0 : 255 }
      return inHole ? 0 : value(band: b, x: x, y: y)
    }
  }

  /// A Float32 single-band GeoTIFF without nodata whose values are x + 1000 y, NaN at `nanAt`.
  static func makeFloat(at path: String, width: Int, height: Int, nanAt: [(Int, Int)]) throws {
    try TestGeoTIFF.write(path, width: width, height: height, bands: 1, of: Float.self) { _, x, y in
      nanAt.contains { $0.0 == x && $0.1 == y } ? .nan : Float(x + 1000 * y)
    }
  }
}
