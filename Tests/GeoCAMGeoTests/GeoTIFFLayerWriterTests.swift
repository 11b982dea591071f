import CGDAL
import Foundation
import GeoCAMGeo
import Testing

@Suite struct GeoTIFFLayerWriterTests {
  let dir: URL
  let source: GeoRaster

  init() throws {
    dir = try TestRasters.makeTempDir()
    let rgb = dir.appendingPathComponent("rgb.tif").path
    try TestRasters.makeRGB(at: rgb)
    source = try GeoRaster(path: rgb)
  }

  func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

  /// A 1000 × 700 heatmap: value (x + y) / 1700 written in 320-pixel tiles.
  func writeHeatmap(_ path: String, type: GeoTIFFLayerWriter.SampleType = .float32,
                    options: GeoTIFFLayerWriter.Options = .init()) throws -> GeoTIFFLayerWriter {
    let w = try GeoTIFFLayerWriter(
      path: path, width: 1000, height: 700, bandCount: 1, sampleType: type,
      georeferencing: source.georeferencing, options: options)
    try w.setDescription("gradcam:solar_panel", band: 1)
    try w.setNoData(-9999, band: 1)
    try w.setProvenance(["geocam_method": "gradcam", "geocam_target": "solar_panel"])
    for tile in try TileGrid(width: 1000, height: 700).tiles {
      var v = [Float](repeating: 0, count: 320 * 320)
      for y in 0..<320 { for x in 0..<320 { v[y * 320 + x] = Float(tile.x + x + tile.y + y) / 1700 } }
      try w.write(band: 1, x: tile.x, y: tile.y, width: 320, height: 320, values: v)
    }
    return w
  }

  @Test func float32LayerRoundTrip() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("heat.tif").path
    let w = try writeHeatmap(path)
    // Unfinished: only the temporary name exists.
    #expect(!exists(path) && exists(w.temporaryPath))
    #expect(!w.temporaryPath.hasSuffix(".tif"))
    try w.finish(overviews: [2, 4, 8])
    #expect(exists(path) && !exists(w.temporaryPath))
    #expect(throws: GeoError.self) { try w.setNoData(0, band: 1) }

    let r = try GeoRaster(path: path)
    // Georeferencing is carried exactly: same WKT string, same six coefficients.
    #expect(r.crsWKT == source.crsWKT)
    #expect(r.geoTransform == source.geoTransform)
    #expect(r.dataTypes == [.float32] && r.noDataValues == [-9999])
    #expect(r.bandDescription(1) == "gradcam:solar_panel")
    #expect(r.metadataItem("geocam_method") == "gradcam")
    #expect(r.metadata(domain: "GEOCAM") == ["geocam_method": "gradcam", "geocam_target": "solar_panel"])
    #expect(r.overviewCount(band: 1) == 3)
    #expect(r.blockSize == GeoRaster.BlockSize(width: 256, height: 256))
    #expect(r.metadataItem("COMPRESSION", domain: "IMAGE_STRUCTURE") == "DEFLATE")
    #expect(r.metadataItem("PREDICTOR", domain: "IMAGE_STRUCTURE") == "3")
    let win = try r.readWindow(x: 990, y: 690, width: 10, height: 10)
    #expect(win.value(band: 0, x: 9, y: 9) == Float(999 + 699) / 1700)
    #expect(win.validCount == 100)
  }

  @Test func unwrittenBlocksReadAsNodata() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("sparse.tif").path
    let w = try GeoTIFFLayerWriter(
      path: path, width: 1000, height: 700, bandCount: 1, sampleType: .float32,
      georeferencing: source.georeferencing)
    try w.setNoData(-9999, band: 1)
    try w.write(band: 1, x: 0, y: 0, width: 256, height: 256, values: [Float](repeating: 0.25, count: 256 * 256))
    try w.finish(overviews: [])
    let r = try GeoRaster(path: path)
    let win = try r.readWindow(x: 240, y: 0, width: 32, height: 1)
    #expect(win.data.prefix(16).allSatisfy { $0 == 0.25 } && win.data.suffix(16).allSatisfy { $0 == -9999 })
    #expect(win.validCount == 16)
  }

  @Test func float16AndZstd() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("heat16.tif").path
    let w = try writeHeatmap(path, type: .float16, options: .init(blockSize: 512, compression: .zstd))
    try w.finish(overviews: [])
    let r = try GeoRaster(path: path)
    #expect(r.dataTypes == [.float32])
    #expect(r.bandMetadataItem("NBITS", band: 1, domain: "IMAGE_STRUCTURE") == "16")
    #expect(r.overviewCount(band: 1) == 0)
    #expect(r.blockSize == GeoRaster.BlockSize(width: 512, height: 512))
    #expect(r.metadataItem("COMPRESSION", domain: "IMAGE_STRUCTURE") == w.compression.rawValue)
    let win = try r.readWindow(x: 500, y: 300, width: 50, height: 50)
    for y in 0..<50 {
      for x in 0..<50 {
        #expect(abs(win.value(band: 0, x: x, y: y) - Float(500 + x + 300 + y) / 1700) <= 4.9e-4)
      }
    }
  }

  @Test func byteClassLayerWithPalette() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("classes.tif").path
    let w = try GeoTIFFLayerWriter(
      path: path, width: 1000, height: 700, bandCount: 1, sampleType: .byte,
      georeferencing: source.georeferencing)
    let palette = ClassPalette(
      names: ["background", "solar_panel", "water_heater"],
      colors: [ColorEntry(red: 0, green: 0, blue: 0, alpha: 0), ColorEntry(red: 255, green: 200, blue: 0),
               ColorEntry(red: 0, green: 120, blue: 255)])
    try w.setClasses(palette, band: 1)
    try w.setDescription("classes", band: 1)
    try w.setNoData(255, band: 1)
    let v: [UInt8] = (0..<(1000 * 700)).map { (i: Int) -> UInt8 in
      let sum: Int = i / 1000 + i % 1000
      return UInt8(sum / 300 % 3)
    }
    try w.write(band: 1, x: 0, y: 0, width: 1000, height: 700, values: v)
    #expect(throws: GeoError.self) { try w.write(band: 1, x: 900, y: 0, width: 200, height: 1, values: [UInt8](repeating: 0, count: 200)) }
    #expect(throws: GeoError.self) { try w.write(band: 2, x: 0, y: 0, width: 1, height: 1, values: [UInt8(0)]) }
    try w.finish(overviews: [2, 4], resampling: .nearest)

    let r = try GeoRaster(path: path)
    #expect(r.dataTypes == [.byte] && r.noDataValues == [255])
    // TIFF colour maps hold RGB only: alpha reads back as 255 (GDAL gives the nodata entry 0).
    let table = r.colorTable(band: 1)
    #expect(table.count >= 3 && table.prefix(3).allSatisfy { $0.alpha == 255 })
    #expect(table.prefix(3).map { [$0.red, $0.green, $0.blue] } == palette.colors.map { [$0.red, $0.green, $0.blue] })
    #expect(r.categoryNames(band: 1) == palette.names)
    #expect(r.overviewCount(band: 1) == 2)
    #expect(r.metadataItem("PREDICTOR", domain: "IMAGE_STRUCTURE") == "2")
    #expect(r.crsWKT == source.crsWKT && r.geoTransform == source.geoTransform)
    // The category names live in the renamed sidecar, not under the temporary name.
    #expect(exists(path + ".aux.xml") && !exists(w.temporaryPath + ".aux.xml"))
    let win = try r.readWindow(x: 0, y: 0, width: 1000, height: 700)
    #expect(win.data == v.map(Float.init))
  }

  @Test func colourTableNeedsByte() throws {
    defer { TestRasters.removeDir(dir) }
    let w = try GeoTIFFLayerWriter(
      path: dir.appendingPathComponent("f.tif").path, width: 10, height: 10, bandCount: 1,
      sampleType: .float32, georeferencing: source.georeferencing)
    let palette = ClassPalette(names: ["a"], colors: [ColorEntry(red: 1, green: 2, blue: 3)])
    #expect(throws: GeoError.self) { try w.setClasses(palette, band: 1) }
  }

  @Test func abandonedWriterLeavesNothing() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("gone.tif").path
    var temp = ""
    do {
      let w = try writeHeatmap(path)
      temp = w.temporaryPath
      #expect(exists(temp))
    }
    #expect(!exists(temp) && !exists(path))
    let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path)
    #expect(contents == ["rgb.tif"])
  }

  @Test func finishReplacesAnExistingFile() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("again.tif").path
    try writeHeatmap(path).finish(overviews: [2])
    let w = try GeoTIFFLayerWriter(
      path: path, width: 20, height: 10, bandCount: 2, sampleType: .float32,
      georeferencing: source.georeferencing.offset(x: 320, y: 640))
    try w.write(band: 2, x: 0, y: 0, width: 20, height: 10, values: [Float](repeating: 0.5, count: 200))
    try w.finish()
    let r = try GeoRaster(path: path)
    #expect(r.width == 20 && r.bandCount == 2 && r.overviewCount() == 0)
    #expect(r.geoTransform?.originX == -52000 + 320 * 0.08)
    #expect(r.geoTransform?.originY == -3771000 - 640 * 0.08)
  }

  @Test func cloudOptimizedCopy() throws {
    defer { TestRasters.removeDir(dir) }
    let path = dir.appendingPathComponent("heat.tif").path
    try writeHeatmap(path).finish(overviews: [2, 4])
    let cog = dir.appendingPathComponent("heat.cog.tif").path
    try GeoTIFFLayerWriter.writeCOG(from: path, to: cog)
    let r = try GeoRaster(path: cog)
    #expect(r.metadataItem("LAYOUT", domain: "IMAGE_STRUCTURE") == "COG")
    #expect(r.metadataItem("COMPRESSION", domain: "IMAGE_STRUCTURE") == "DEFLATE")
    #expect(r.blockSize == GeoRaster.BlockSize(width: 512, height: 512))
    #expect(r.overviewCount(band: 1) >= 1)
    #expect(r.crsWKT == source.crsWKT && r.geoTransform == source.geoTransform)
    #expect(r.bandDescription(1) == "gradcam:solar_panel" && r.noDataValues == [-9999])
    // GDAL 3.6's COG driver keeps the default metadata domain only.
    #expect(r.metadataItem("geocam_method") == "gradcam")
    let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path)
    #expect(!contents.contains { $0.contains(".partial-") })
    #expect(throws: GeoError.self) {
      try GeoTIFFLayerWriter.writeCOG(from: dir.appendingPathComponent("missing.tif").path, to: cog)
    }
  }

  @Test func overviewFactors() {
    defer { TestRasters.removeDir(dir) }
    #expect(GeoTIFFLayerWriter.overviewFactors(width: 12500, height: 12500) == [2, 4, 8, 16, 32, 64])
    #expect(GeoTIFFLayerWriter.overviewFactors(width: 1000, height: 700) == [2, 4])
    #expect(GeoTIFFLayerWriter.overviewFactors(width: 256, height: 100) == [])
  }
}
