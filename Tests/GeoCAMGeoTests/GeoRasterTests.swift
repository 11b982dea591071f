import CGDAL
import Foundation
import GeoCAMGeo
import Testing

@Suite struct GeoRasterTests {
  let dir: URL
  let rgbPath: String

  init() throws {
    dir = try TestRasters.makeTempDir()
    rgbPath = dir.appendingPathComponent("rgb.tif").path
    try TestRasters.makeRGB(at: rgbPath)
  }

  @Test func basicProperties() throws {
    defer { TestRasters.removeDir(dir) }
    let r = try GeoRaster(path: rgbPath)
    #expect(r.width == 1000 && r.height == 700 && r.bandCount == 3)
    #expect(r.dataTypes == [.byte, .byte, .byte])
    #expect(r.noDataValues == [0, 0, 0])
    #expect(r.maskFlags.allSatisfy { $0 == .nodata })
    #expect(r.driverName == "GTiff")
    #expect(r.geoTransform?.coefficients == TestRasters.geoTransform)
    #expect(r.pixelSize?.x == 0.08 && r.pixelSize?.y == 0.08)
    #expect(r.blockSize.width == 1000)  // untiled file: strips span the full width
    // The custom CRS survives with its parameters and without an EPSG code of its own.
    #expect(r.crsWKT.hasPrefix("PROJCS[\"Cape Town Lo19 (WGS 84)\""))
    #expect(r.crsWKT.contains("Transverse_Mercator"))
    #expect(r.crsWKT.contains("\"central_meridian\",19"))
    #expect(!r.crsWKT.hasPrefix("PROJCS[\"WGS 84 / UTM"))
    #expect(!r.crsWKT.contains("AUTHORITY[\"EPSG\",\"32734\"]"))
  }

  @Test func virtualPathsPassThrough() throws {
    defer { TestRasters.removeDir(dir) }
    let path = "/vsimem/geocam-\(UUID().uuidString)/rgb.tif"
    try TestRasters.makeRGB(at: path, width: 64, height: 48)
    defer { VSIUnlink(path) }
    let r = try GeoRaster(path: path)
    #expect(r.path == path && r.width == 64 && r.height == 48)
    #expect(try r.readWindow(x: 1, y: 2, width: 1, height: 1, bands: [1]).data == [Float(TestRasters.value(band: 1, x: 1, y: 2))])
  }

  @Test func missingFileNamesThePath() throws {
    defer { TestRasters.removeDir(dir) }
    let missing = dir.appendingPathComponent("nope.tif").path
    let error = #expect(throws: GeoError.self) { try GeoRaster(path: missing) }
    #expect(error?.subject == missing)
    #expect(error?.description.contains("No such file") == true)
    #expect(error?.description.contains("\n") == false)
  }

  @Test func interiorWindowValuesAndBandOrder() throws {
    defer { TestRasters.removeDir(dir) }
    let r = try GeoRaster(path: rgbPath)
    let w = try r.readWindow(x: 10, y: 20, width: 5, height: 4, bands: [3, 1])
    #expect(w.data.count == 2 * 20 && w.mask.count == 20)
    #expect(w.validCount == 20)
    for y in 0..<4 {
      for x in 0..<5 {
        #expect(w.value(band: 0, x: x, y: y) == Float(TestRasters.value(band: 3, x: 10 + x, y: 20 + y)))
        #expect(w.value(band: 1, x: x, y: y) == Float(TestRasters.value(band: 1, x: 10 + x, y: 20 + y)))
      }
    }
  }

  @Test func windowPastTheEdgeIsPaddedAndInvalid() throws {
    defer { TestRasters.removeDir(dir) }
    let r = try GeoRaster(path: rgbPath)
    // Bottom-right corner: only 100 × 100 of the 320 × 320 tile is inside.
    let w = try r.readWindow(x: 900, y: 600, width: 320, height: 320)
    #expect(w.validCount == 100 * 100)
    #expect(w.isValid(x: 99, y: 99) && !w.isValid(x: 100, y: 99) && !w.isValid(x: 99, y: 100))
    #expect(w.value(band: 0, x: 99, y: 99) == Float(TestRasters.value(band: 1, x: 999, y: 699)))
    #expect(w.value(band: 2, x: 50, y: 10) == Float(TestRasters.value(band: 3, x: 950, y: 610)))
    #expect(w.value(band: 0, x: 100, y: 0) == 0 && w.value(band: 2, x: 319, y: 319) == 0)
    // Top-left, starting before the raster.
    let n = try r.readWindow(x: -10, y: -5, width: 20, height: 20)
    #expect(n.validCount == 10 * 15)
    #expect(!n.isValid(x: 9, y: 5) && n.isValid(x: 10, y: 5) && !n.isValid(x: 10, y: 4))
    #expect(n.value(band: 1, x: 12, y: 7) == Float(TestRasters.value(band: 2, x: 2, y: 2)))
    // Entirely outside: all zero, all invalid.
    let o = try r.readWindow(x: 2000, y: 0, width: 8, height: 8)
    #expect(o.validCount == 0 && o.data.allSatisfy { $0 == 0 })
  }

  @Test func nodataHoleIsInvalid() throws {
    defer { TestRasters.removeDir(dir) }
    let r = try GeoRaster(path: rgbPath)
    let h = TestRasters.hole
    let w = try r.readWindow(x: h.x - 2, y: h.y - 3, width: h.width + 4, height: h.height + 6)
    #expect(w.validCount == w.window.pixelCount - h.pixelCount)
    #expect(!w.isValid(x: 2, y: 3) && !w.isValid(x: h.width + 1, y: h.height + 2))
    #expect(w.isValid(x: 1, y: 3) && w.isValid(x: 2, y: 2) && w.isValid(x: h.width + 2, y: 3))
    // Nodata samples keep their stored value; `filled` sets a chosen one.
    #expect(w.value(band: 0, x: 5, y: 5) == 0)
    let f = w.filled(with: -1)
    #expect(f.value(band: 2, x: 5, y: 5) == -1 && f.value(band: 2, x: 1, y: 3) == w.value(band: 2, x: 1, y: 3))
  }

  @Test func rasterSmallerThanATileIsPadded() throws {
    defer { TestRasters.removeDir(dir) }
    let small = dir.appendingPathComponent("small.tif").path
    try TestRasters.makeRGB(at: small, width: 200, height: 150)
    let r = try GeoRaster(path: small)
    let grid = try TileGrid(width: r.width, height: r.height)
    #expect(grid.tiles == [Tile(row: 0, column: 0, x: 0, y: 0, size: 320)])
    let w = try r.readWindow(grid.tiles[0].window)
    #expect(w.width == 320 && w.height == 320)
    #expect(w.validCount == 200 * 150)  // the hole (rows 200…) lies outside this small raster
    #expect(!w.isValid(x: 200, y: 0) && w.isValid(x: 199, y: 0) && !w.isValid(x: 0, y: 150))
  }

  @Test func alphaBandMask() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("rgba.tif").path
    try TestRasters.makeRGB(at: path, width: 300, height: 300, alpha: true)
    let r = try GeoRaster(path: path)
    #expect(r.maskFlags[0] == [.perDataset, .alpha])
    let w = try r.readWindow(x: 90, y: 190, width: 80, height: 80, bands: [1, 2, 3])
    #expect(w.validCount == 80 * 80 - TestRasters.hole.pixelCount)
    #expect(!w.isValid(x: 10, y: 10) && w.isValid(x: 9, y: 10))
  }

  @Test func nonFiniteSamplesAreInvalid() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("float.tif").path
    try TestRasters.makeFloat(at: path, width: 40, height: 30, nanAt: [(3, 4), (39, 29)])
    let r = try GeoRaster(path: path)
    #expect(r.maskFlags == [.allValid] && r.dataTypes == [.float32])
    let w = try r.readWindow(x: 0, y: 0, width: 40, height: 30)
    #expect(w.validCount == 40 * 30 - 2)
    #expect(!w.isValid(x: 3, y: 4) && w.value(band: 0, x: 3, y: 4) == 0)
    #expect(w.value(band: 0, x: 5, y: 6) == 6005)
  }

  @Test func bboxToPixelWindow() throws {
    defer { TestRasters.removeDir(dir) }
    let r = try GeoRaster(path: rgbPath)
    let x0 = -52000.0
    let y0 = -3771000.0
    // Exactly on pixel edges: columns 10..<30, rows 5..<45.
    let exact = BoundingBox(minX: x0 + 10 * 0.08, minY: y0 - 45 * 0.08, maxX: x0 + 30 * 0.08, maxY: y0 - 5 * 0.08)
    #expect(try r.pixelWindow(forBBox: exact) == PixelWindow(x: 10, y: 5, width: 20, height: 40))
    // Inside pixels: every touched pixel is included.
    let loose = BoundingBox(minX: x0 + 10.5 * 0.08, minY: y0 - 44.2 * 0.08, maxX: x0 + 29.1 * 0.08, maxY: y0 - 5.9 * 0.08)
    #expect(try r.pixelWindow(forBBox: loose) == PixelWindow(x: 10, y: 5, width: 20, height: 40))
    // Reaching past the raster: clamped.
    let past = BoundingBox(minX: x0 - 100, minY: y0 - 1000, maxX: x0 + 5 * 0.08, maxY: y0 + 100)
    #expect(try r.pixelWindow(forBBox: past) == PixelWindow(x: 0, y: 0, width: 5, height: 700))
    // Missing the raster: an error naming the file.
    let away = BoundingBox(minX: 0, minY: 0, maxX: 10, maxY: 10)
    let error = #expect(throws: GeoError.self) { try r.pixelWindow(forBBox: away) }
    #expect(error?.subject == rgbPath)
  }

  @Test func resampledWarpedVRT() throws {
    defer { TestRasters.removeDir(dir) }
    let r = try GeoRaster(path: rgbPath)
    let half = try r.resampled(toPixelSize: 0.16)
    #expect(half.width == 500 && half.height == 350 && half.bandCount == 3)
    #expect(half.geoTransform?.coefficients == [-52000.0, 0.16, 0, -3771000.0, 0, -0.16])
    #expect(half.crsWKT == r.crsWKT)
    #expect(half.noDataValues == [0, 0, 0])
    // The hole (50 × 60 source pixels at 100,200) is 25 × 30 pixels at 50,100 here.
    let w = try half.readWindow(x: 40, y: 90, width: 45, height: 50)
    #expect(!w.isValid(x: 15, y: 15) && w.isValid(x: 5, y: 5))
    // Away from the hole the bilinear sample at a pixel centre averages the 2 × 2 source pixels.
    let s = try r.readWindow(x: 600, y: 400, width: 2, height: 2, bands: [2])
    let v = try half.readWindow(x: 300, y: 200, width: 1, height: 1, bands: [2])
    let mean = s.data.reduce(0, +) / 4
    #expect(abs(v.data[0] - mean) <= 1)
    // Another handle on the same view, for another thread.
    let again = try half.reopen()
    let v2 = try again.readWindow(x: 300, y: 200, width: 1, height: 1, bands: [2])
    #expect(again.width == 500 && v2.data == v.data)
  }
}
