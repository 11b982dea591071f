import CGDAL
import Foundation
import GeoCAMCore
import GeoCAMGeo
import Testing

/// In-memory overviews written block by block must equal GDAL's own (AVERAGE, NEAREST) bit for
/// bit wherever `OverviewDownsampler.applies`.
@Suite struct OverviewDownsamplerTests {
  let width = 768
  let height = 512
  let block = 256
  let noData: Float = -10000

  /// Random values with about a third nodata, and one cell of the coarsest level all nodata.
  func floats() -> [Float] {
    var rng = SeededRandom(seed: 11)
    var v = (0..<(width * height)).map { _ in Float(rng.unit() * 10 - 3) }
    for i in v.indices where rng.unit() < 0.33 { v[i] = noData }
    for y in 0..<4 { for x in 0..<4 { v[y * width + x] = noData } }
    return v
  }

  func bytes() -> [UInt8] {
    var rng = SeededRandom(seed: 12)
    return (0..<(width * height)).map { _ in UInt8(rng.unit() * 5) }
  }

  /// The overview levels of band 1, read with GDAL.
  func overviews(_ path: String, type: GDALDataType, bytesPerSample: Int) throws -> [[UInt8]] {
    let ds = try #require(GDALOpen(path, GA_ReadOnly))
    defer { GDALClose(ds) }
    let band = try #require(GDALGetRasterBand(ds, 1))
    var out: [[UInt8]] = []
    for i in 0..<GDALGetOverviewCount(band) {
      let o = try #require(GDALGetOverview(band, i))
      let w = GDALGetRasterBandXSize(o)
      let h = GDALGetRasterBandYSize(o)
      var buf = [UInt8](repeating: 0, count: Int(w * h) * bytesPerSample)
      let err = buf.withUnsafeMutableBytes { GDALRasterIO(o, GF_Read, 0, 0, w, h, $0.baseAddress, w, h, type, 0, 0) }
      #expect(err == CE_None)
      out.append(buf)
    }
    return out
  }

  func window(_ v: [Float], x: Int, y: Int, w: Int, h: Int) -> [Float] {
    var out: [Float] = []
    for r in 0..<h {
      let start = (y + r) * width + x
      out += v[start..<(start + w)]
    }
    return out
  }

  @Test func averageMatchesGDAL() throws {
    let dir = try TestRasters.makeTempDir()
    defer { TestRasters.removeDir(dir) }
    let values = floats()
    let factors = GeoTIFFLayerWriter.overviewFactors(width: width, height: height)
    #expect(factors == [2, 4])
    #expect(OverviewDownsampler.applies(width: width, height: height, factors: factors, blockSize: block))
    let georef = Georeferencing(geoTransform: nil, crsWKT: "")

    let gdalPath = dir.appendingPathComponent("gdal.tif").path
    let a = try GeoTIFFLayerWriter(path: gdalPath, width: width, height: height, bandCount: 1, sampleType: .float32, georeferencing: georef)
    try a.setNoData(Double(noData), band: 1)
    try a.write(band: 1, x: 0, y: 0, width: width, height: height, values: values)
    try a.finish(overviews: nil, resampling: .average)

    let ourPath = dir.appendingPathComponent("ours.tif").path
    let b = try GeoTIFFLayerWriter(path: ourPath, width: width, height: height, bandCount: 1, sampleType: .float32, georeferencing: georef)
    try b.setNoData(Double(noData), band: 1)
    try b.createOverviews(factors)
    // Blocks in a scrambled order, each flushed once written.
    for (bx, by) in [(2, 1), (0, 0), (1, 1), (2, 0), (0, 1), (1, 0)] {
      var v = window(values, x: bx * block, y: by * block, w: block, h: block)
      try b.write(band: 1, x: bx * block, y: by * block, width: block, height: block, values: v)
      var size = block
      for (level, f) in factors.enumerated() {
        v = OverviewDownsampler.average(v, width: size, height: size, noData: noData)
        size /= 2
        try b.writeOverview(level: level, band: 1, x: bx * block / f, y: by * block / f, width: size, height: size, values: v)
      }
      try b.flush(overviewLevels: [0])
    }
    try b.finish()

    let expected = try overviews(gdalPath, type: GDT_Float32, bytesPerSample: 4)
    let got = try overviews(ourPath, type: GDT_Float32, bytesPerSample: 4)
    #expect(expected.count == 2 && got.count == 2)
    for (e, g) in zip(expected, got) { #expect(e == g) }
    // The all-nodata corner stays nodata at the coarsest level.
    let corner = got[1].withUnsafeBytes { $0.load(as: Float.self) }
    #expect(corner == noData)
  }

  @Test func nearestMatchesGDAL() throws {
    let dir = try TestRasters.makeTempDir()
    defer { TestRasters.removeDir(dir) }
    let values = bytes()
    let factors = GeoTIFFLayerWriter.overviewFactors(width: width, height: height)
    let georef = Georeferencing(geoTransform: nil, crsWKT: "")

    let gdalPath = dir.appendingPathComponent("gdal.tif").path
    let a = try GeoTIFFLayerWriter(path: gdalPath, width: width, height: height, bandCount: 1, sampleType: .byte, georeferencing: georef)
    try a.setNoData(0, band: 1)
    try a.write(band: 1, x: 0, y: 0, width: width, height: height, values: values)
    try a.finish(overviews: nil, resampling: .nearest)

    let ourPath = dir.appendingPathComponent("ours.tif").path
    let b = try GeoTIFFLayerWriter(path: ourPath, width: width, height: height, bandCount: 1, sampleType: .byte, georeferencing: georef)
    try b.setNoData(0, band: 1)
    try b.createOverviews(factors)
    var level = values
    var (w, h) = (width, height)
    try b.write(band: 1, x: 0, y: 0, width: w, height: h, values: level)
    for (i, _) in factors.enumerated() {
      level = OverviewDownsampler.nearest(level, width: w, height: h)
      w /= 2
      h /= 2
      try b.writeOverview(level: i, band: 1, x: 0, y: 0, width: w, height: h, values: level)
    }
    try b.finish()
    #expect(try overviews(gdalPath, type: GDT_Byte, bytesPerSample: 1) == overviews(ourPath, type: GDT_Byte, bytesPerSample: 1))
  }

  @Test func appliesOnlyToExactHalvings() {
    // 1000 × 702: level 2 has 351 rows, which GDAL halves into 176 with fractional windows.
    #expect(!OverviewDownsampler.applies(width: 1000, height: 702, factors: [2, 4], blockSize: 1024))
    #expect(OverviewDownsampler.applies(width: 1000, height: 700, factors: [2, 4], blockSize: 1000))
    #expect(OverviewDownsampler.applies(width: 1600, height: 1600, factors: [2, 4, 8], blockSize: 1024))
    // Block edges must fall on coarsest cells.
    #expect(!OverviewDownsampler.applies(width: 2048, height: 2048, factors: [2, 4, 8, 16, 32], blockSize: 1000))
    // Factors must be the doubling chain.
    #expect(!OverviewDownsampler.applies(width: 1600, height: 1600, factors: [2, 8], blockSize: 1024))
    #expect(!OverviewDownsampler.applies(width: 1600, height: 1600, factors: [], blockSize: 1024))
  }

  @Test func writeOverviewChecksItsWindow() throws {
    let dir = try TestRasters.makeTempDir()
    defer { TestRasters.removeDir(dir) }
    let w = try GeoTIFFLayerWriter(
      path: dir.appendingPathComponent("x.tif").path, width: 512, height: 512, bandCount: 1, sampleType: .float32,
      georeferencing: Georeferencing(geoTransform: nil, crsWKT: ""))
    let one: [Float] = [0]
    #expect(throws: GeoError.self) { try w.writeOverview(level: 0, band: 1, x: 0, y: 0, width: 1, height: 1, values: one) }
    try w.createOverviews([2])
    #expect(throws: GeoError.self) { try w.writeOverview(level: 0, band: 1, x: 200, y: 0, width: 100, height: 1, values: [Float](repeating: 0, count: 100)) }
    #expect(throws: GeoError.self) { try w.createOverviews([2]) }
    w.abandon()
  }
}
