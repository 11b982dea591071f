import Foundation
import GeoCAMGeo
import GeoCAMGeoTestSupport
import Testing

@testable import GeoCAMAudit

/// Detections from a class map: 8-connected regions, polygons with holes, areas, and objects
/// across tile borders.
@Suite struct DetectionGeometryTests {
  @Test func diagonalNeighboursJoinAndClassesSeparate() {
    // 1 1 0 2
    // 0 1 0 2
    // 1 0 0 0
    let g: [UInt8] = [1, 1, 0, 2, 0, 1, 0, 2, 1, 0, 0, 0]
    let r = ConnectedRegions(grid: g, width: 4, height: 3)
    #expect(r.regions.count == 2)
    #expect(r.regions[0].value == 1 && r.regions[0].pixels == 4)
    #expect(r.regions[1].value == 2 && r.regions[1].pixels == 2)
    #expect(r.labels == [1, 1, 0, 2, 0, 1, 0, 2, 1, 0, 0, 0])
    // A U shape whose arms meet only at the bottom is one region (union of provisional labels).
    let u: [UInt8] = [1, 0, 1, 1, 0, 1, 1, 1, 1]
    #expect(ConnectedRegions(grid: u, width: 3, height: 3).regions.count == 1)
  }

  @Test func polygonsHaveTheRegionsAreasHolesAndDiagonalJoins() throws {
    GDALRuntime.ensureInitialized()
    let w = 30, h = 20
    var grid = [UInt8](repeating: 0, count: w * h)
    // A 10×10 square with a 2×2 hole, and a diagonal pair of 3×3 squares touching at a corner.
    for y in 2..<12 { for x in 2..<12 where !(6..<8).contains(x) || !(6..<8).contains(y) { grid[y * w + x] = 1 } }
    for y in 2..<5 { for x in 20..<23 { grid[y * w + x] = 2 } }
    for y in 5..<8 { for x in 23..<26 { grid[y * w + x] = 2 } }
    let regions = ConnectedRegions(grid: grid, width: w, height: h)
    #expect(regions.regions.map(\.pixels) == [96, 18])
    let geo = Georeferencing(geoTransform: GeoTransform(TestGeoTIFF.geoTransform), crsWKT: TestGeoTIFF.lo19WKT)
    let polygons = try RegionVectors.polygons(labels: regions.labels, width: w, height: h, georeferencing: geo)
    #expect(polygons.count == 2)
    let square = try #require(polygons[1])
    #expect(abs(square.area - 96 * 0.0064) < 1e-9)
    #expect(square.polygonAndHoleCounts.holes == 1)
    let pair = try #require(polygons[2])
    #expect(abs(pair.area - 18 * 0.0064) < 1e-9)
    // Rasterising the polygons back gives the same pixels.
    let back = try RegionVectors.rasterize([square, pair], width: w, height: h, georeferencing: geo)
    #expect(back == regions.labels)
  }

  /// Writes a class map and probabilities as a finished run would, then reads detections.
  func scene(_ dir: URL, width: Int, height: Int, classAt: @escaping (Int, Int) -> UInt8) throws -> (String, String) {
    let classes = dir.appendingPathComponent("s.classes.tif").path
    let probs = dir.appendingPathComponent("s.probs.tif").path
    try TestGeoTIFF.write(classes, width: width, height: height, bands: 1, of: UInt8.self) { _, x, y in classAt(x, y) }
    try TestGeoTIFF.write(probs, width: width, height: height, bands: 4, of: Float.self) { b, x, y in
      let k = Int(classAt(x, y))
      return b - 1 == k ? 0.7 : 0.1
    }
    return (classes, probs)
  }

  @Test func anObjectAcrossATileBorderIsOneDetectionWithItsAreaAndProbabilities() throws {
    let dir = try TestGeoTIFF.makeTempDir("geocam-audit")
    defer { TestGeoTIFF.removeDir(dir) }
    // 640×400: tiles of 320 with overlap 64 start at 0, 256 and 320; a panel spans x 240…339,
    // across the border at 256 and inside no tile.
    let (classes, probs) = try scene(dir, width: 640, height: 400) { x, y in
      if (240..<340).contains(x) && (100..<120).contains(y) { return 1 }
      if (500..<506).contains(x) && (50..<56).contains(y) { return 2 }  // 36 px = 0.23 m²: dropped
      if (10..<27).contains(x) && (10..<27).contains(y) { return 2 }  // 17×17 water heater: kept
      return 0
    }
    let names = ["background", "solar_panel", "water_heater", "pool_heater"]
    let s = try AuditScene(classesPath: classes, probsPath: probs, classNames: names, minAreaM2: 0.5, gsdMeters: nil)
    #expect(s.detections.count == 2)
    #expect(s.dropped == ["water_heater": 1])
    #expect(s.areaUnit == "m²")
    let wh = try #require(s.detections.first { $0.className == "water_heater" })
    #expect(wh.pixels == 289 && abs(wh.area - 289 * 0.0064) < 1e-9)
    let panel = try #require(s.detections.first { $0.className == "solar_panel" })
    #expect(panel.pixels == 2000)
    #expect(abs(panel.probMean - 0.7) < 1e-6 && abs(panel.probMax - 0.7) < 1e-6 && abs(panel.margin - 0.6) < 1e-6)
    #expect(abs(panel.centroidX - (-52000 + 290 * 0.08)) < 1e-6)
    #expect(abs(panel.centroidY - (-3771000 - 110 * 0.08)) < 1e-6)
    let lon = try #require(panel.lon), lat = try #require(panel.lat)
    #expect(abs(lon - 18.4369) < 1e-3 && abs(lat - (-34.0659)) < 1e-3)
    #expect(s.polygons.count == 2)
    // Its window: no grid window holds x 300…339 whole, so it gets its own, centred.
    let grid = try TileGrid(width: 640, height: 400, tileSize: 320, overlap: 64)
    let (window, partial) = ExplanationWindows.assign(box: panel.bbox, grid: grid, rasterWidth: 640, rasterHeight: 400) { _ in 0 }
    #expect(!partial && window == PixelWindow(x: 130, y: 0, width: 320, height: 320))
    // The water heater sits in the first grid window.
    let (w2, _) = ExplanationWindows.assign(box: wh.bbox, grid: grid, rasterWidth: 640, rasterHeight: 400) { _ in 0 }
    #expect(w2 == PixelWindow(x: 0, y: 0, width: 320, height: 320))
  }

  @Test func geodesicPixelAreaOnTheEllipsoid() {
    // A 1° × 1° cell at the equator on WGS 84: 12,308.8 km² (known value).
    let a = AuditScene.geodesicPixelArea(gt: [0, 1, 0, 1, 0, -1], row: 0, semiMajor: 6378137, inverseFlattening: 298.257223563)
    #expect(abs(a / 1e6 - 12308.8) < 1)
  }
}
