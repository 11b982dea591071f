import Foundation
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMPipeline
import Testing

@Suite struct CityPipelineTests {
  let dir: URL
  let scene: String

  init() throws {
    dir = try PipelineTestRasters.makeTempDir()
    scene = try PipelineTestRasters.makeScene(at: dir.appendingPathComponent("scene.tif").path)
  }

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
  func cleanup() { try? FileManager.default.removeItem(at: dir) }

  /// Tile 64, overlap 16, 256-pixel blocks: 315 tiles, 12 blocks on the 1000 × 700 scene.
  func options(_ change: (inout PipelineOptions) -> Void = { _ in }) -> PipelineOptions {
    var o = PipelineOptions()
    o.tileSize = 64
    o.overlap = 16
    o.blockSize = 256
    o.quiet = true
    o.explainWhere = .all
    o.quicklookSize = 256
    change(&o)
    return o
  }

  func run(
    _ out: String, model: FakeTileModel = FakeTileModel(), input: String? = nil,
    _ change: (inout PipelineOptions) -> Void = { _ in }
  ) throws -> RunSummary {
    try CityPipeline.run(input: input ?? scene, output: out, model: model, options: options(change), progress: { _ in })
  }

  func band(_ path: String, _ b: Int) throws -> [Float] {
    let r = try GeoRaster(path: path)
    return try r.readWindow(x: 0, y: 0, width: r.width, height: r.height, bands: [b]).data
  }

  func inHole(_ x: Int, _ y: Int) -> Bool {
    let h = PipelineTestRasters.hole
    return x >= h.x && x < h.maxX && y >= h.y && y < h.maxY
  }

  // MARK: - Outputs

  @Test func outputsAreGeoreferencedDescribedAndConsistent() throws {
    defer { cleanup() }
    let out = path("city.tif")
    let summary = try run(out) { $0.quicklookSize = 1024 }
    let input = try GeoRaster(path: scene)

    let cam = try GeoRaster(path: out)
    #expect(cam.width == 1000 && cam.height == 700)
    #expect(cam.geoTransform == input.geoTransform)
    #expect(cam.crsWKT == input.crsWKT)
    #expect(cam.bandCount == 6 && cam.dataTypes.allSatisfy { $0 == .float32 })
    #expect((1...6).map { cam.bandDescription($0) } == [
      "gradcam:solar_panel", "gradcam:water_heater", "gradcam:pool_heater",
      "guided-gradcam:solar_panel", "guided-gradcam:water_heater", "guided-gradcam:pool_heater",
    ])
    #expect(cam.noDataValues.allSatisfy { $0 == -10000 })
    #expect(cam.metadataItem("geocam_tile") == "64" && cam.metadataItem("geocam_overlap") == "16")
    #expect(cam.metadataItem("geocam_checkpoint_sha256") == "0123abcd")
    #expect(cam.metadata(domain: "GEOCAM")["geocam_methods"] == "gradcam,guided-gradcam")
    #expect(cam.bandMetadataItem("class", band: 4) == "solar_panel")
    #expect(cam.overviewCount() >= 1)
    #expect(cam.blockSize == GeoRaster.BlockSize(width: 256, height: 256))

    let probs = try GeoRaster(path: path("city.probs.tif"))
    #expect(probs.geoTransform == input.geoTransform && probs.crsWKT == input.crsWKT)
    #expect((1...4).map { probs.bandDescription($0) } == ["background", "solar_panel", "water_heater", "pool_heater"])
    let p = try probs.readWindow(x: 0, y: 0, width: 1000, height: 700).data
    let classes = try GeoRaster(path: path("city.classes.tif"))
    #expect(classes.dataTypes == [.byte] && classes.noDataValues == [0])
    #expect(classes.categoryNames(band: 1) == ["background", "solar_panel", "water_heater", "pool_heater"])
    let colors = classes.colorTable(band: 1).prefix(4).map { [$0.red, $0.green, $0.blue] }
    #expect(colors == [[0, 0, 0], [0, 255, 0], [255, 0, 0], [0, 0, 255]])
    let c = try band(path("city.classes.tif"), 1)
    let g = try band(out, 1)
    let n = 1000 * 700
    var worst: Float = 0
    var argmaxMismatches = 0
    var holeMismatches = 0
    var missing = 0
    for y in 0..<700 {
      for x in 0..<1000 {
        let i = y * 1000 + x
        if inHole(x, y) {
          if p[i] != -10000 || c[i] != 0 || g[i] != -10000 { holeMismatches += 1 }
          continue
        }
        let v = (0..<4).map { p[$0 * n + i] }
        worst = max(worst, abs(v.reduce(0, +) - 1))
        let best = v.indices.max { v[$0] < v[$1] || (v[$0] == v[$1] && $0 > $1) } ?? 0
        if Int(c[i]) != best { argmaxMismatches += 1 }
        if g[i] == -10000 { missing += 1 }
      }
    }
    #expect(worst < 1e-5)
    #expect(argmaxMismatches == 0 && holeMismatches == 0 && missing == 0)
    // The solar panels are classified as such.
    #expect(c[100 * 1000 + 190] == 1 && c[426 * 1000 + 336] == 2 && c[575 * 1000 + 715] == 3)

    #expect(summary.status == .finished)
    #expect(summary.tiles.total == 315 && summary.tiles.read == 315 && summary.tiles.reused == 0)
    #expect(summary.tiles.explained == 315 && summary.tiles.skipped == 0)
    #expect(summary.outputs["explanations"] == out && summary.outputs["quicklook"] == path("city.quicklook.png"))
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("city.json")))) as? [String: Any]
    #expect((json?["tiles"] as? [String: Any])?["read"] as? Int == 315)
    let ql = try PNGImage(contentsOf: path("city.quicklook.png"))
    #expect(ql.width == 1000 && ql.height == 700)
    #expect(!FileManager.default.fileExists(atPath: path("city.geocam")))
  }

  // MARK: - Stitching

  /// Owner of each pixel along an axis at overlap 0: the tile that starts at or before it, the
  /// shifted last tile taking the second half of what it shares with its neighbour.
  func owners(_ origins: [Int], tile: Int, length: Int) -> [Int] {
    var starts = [Int]()
    for (j, o) in origins.enumerated() {
      let shared = j > 0 ? max(0, origins[j - 1] + tile - o) : 0
      starts.append(o + shared / 2)
    }
    return (0..<length).map { x in starts.lastIndex { $0 <= x } ?? 0 }
  }

  @Test func overlapZeroGivesEachPixelItsTilesUpsampledMap() throws {
    defer { cleanup() }
    let out = path("o0.tif")
    _ = try run(out) { $0.overlap = 0 }
    let raster = try GeoRaster(path: scene)
    let grid = try TileGrid(width: 1000, height: 700, tileSize: 64, overlap: 0)
    #expect(grid.xOrigins.last == 936)  // shifted: shares 24 pixels with the tile at 896
    let ox = owners(grid.xOrigins, tile: 64, length: 1000)
    let oy = owners(grid.yOrigins, tile: 64, length: 700)
    let gradcam = try band(out, 1)  // gradcam:solar_panel
    let guided = try band(out, 4)
    let model = FakeTileModel()
    var mismatches = 0
    for tile in grid.tiles {
      let w = try raster.readWindow(x: tile.x, y: tile.y, width: 64, height: 64, bands: [1, 2, 3])
      let session = try model.begin(pixels: w.filled(with: 0).data, valid: w.mask, size: 64)
      let maps = try session.explain(classes: [1])
      let up = try Resize.bilinear(maps[0].values, height: 8, width: 8, toHeight: 64, toWidth: 64)
      for i in 0..<64 {
        for j in 0..<64 where oy[tile.y + i] == tile.row && ox[tile.x + j] == tile.column && w.mask[i * 64 + j] != 0 {
          let o = (tile.y + i) * 1000 + tile.x + j
          if gradcam[o] != up[i * 64 + j] || guided[o] != maps[1].values[i * 64 + j] { mismatches += 1 }
        }
      }
    }
    #expect(mismatches == 0)
  }

  /// Largest difference between horizontally or vertically adjacent valid pixels.
  func largestStep(_ v: [Float], width: Int, height: Int) -> Float {
    var worst: Float = 0
    for y in 0..<height {
      for x in 0..<width where v[y * width + x] != -10000 {
        if x + 1 < width, v[y * width + x + 1] != -10000 { worst = max(worst, abs(v[y * width + x + 1] - v[y * width + x])) }
        if y + 1 < height, v[(y + 1) * width + x] != -10000 { worst = max(worst, abs(v[(y + 1) * width + x] - v[y * width + x])) }
      }
    }
    return worst
  }

  @Test func blendingLeavesNoSeams() throws {
    defer { cleanup() }
    // Tiles alternate between maps of 0 and 1: a hard seam everywhere without blending.
    let checker = FakeTileModel(kind: .tileConstant)
    let area = PixelWindow(x: 400, y: 200, width: 600, height: 500)
    _ = try run(path("hard.tif"), model: checker) {
      $0.overlap = 0
      $0.window = area
    }
    _ = try run(path("soft.tif"), model: checker) { $0.window = area }
    #expect(largestStep(try band(path("hard.tif"), 1), width: 600, height: 500) == 1)
    // Raised cosine over 16 pixels: steps of at most π/32 ≈ 0.098.
    #expect(largestStep(try band(path("soft.tif"), 1), width: 600, height: 500) < 0.1)

    // A smooth map stays exactly that map across tile borders.
    _ = try run(path("smooth.tif"), model: FakeTileModel(kind: .smooth)) {
      $0.window = PixelWindow(x: 0, y: 150, width: 400, height: 300)
    }
    let guided = try band(path("smooth.tif"), 4)
    var worst: Float = 0
    for y in 0..<300 {
      for x in 0..<400 where !inHole(x, y + 150) {
        worst = max(worst, abs(guided[y * 400 + x] - FakeTileModel.smooth(x: Float(x), y: Float(y + 150))))
      }
    }
    #expect(worst < 1e-5)
  }

  // MARK: - Explain where

  @Test func explainWhereDetectedLeavesNodataElsewhere() throws {
    defer { cleanup() }
    let out = path("det.tif")
    let summary = try run(out) { $0.explainWhere = .detected }
    let solar = try band(out, 1)
    let water = try band(out, 2)
    // On a solar panel: computed. Far from every object: nodata, not 0.
    #expect(solar[100 * 1000 + 190] > 0)
    #expect(solar[650 * 1000 + 50] == -10000)
    #expect(water[100 * 1000 + 190] == -10000)
    #expect(water[426 * 1000 + 336] > 0)
    let computed = solar.filter { $0 != -10000 }.count
    #expect(computed > 0 && computed < 1000 * 700 / 4)
    #expect(summary.tiles.explained > 0 && summary.tiles.explained < summary.tiles.read)
    // Probabilities and classes are everywhere regardless.
    #expect(try band(path("det.probs.tif"), 1)[650 * 1000 + 50] != -10000)
  }

  /// The quicklook's heat fades with its value: where an explained tile is cold the imagery
  /// shows as in a run without explanations (no tile rectangles), where it is hot it does not.
  @Test func quicklookHeatFadesWithItsValue() throws {
    defer { cleanup() }
    var model = FakeTileModel()
    model.kind = .tileConstant
    let window = PixelWindow(x: 400, y: 100, width: 300, height: 200)
    _ = try run(path("hot.tif"), model: model) {
      $0.window = window
      $0.quicklookSize = 300
    }
    _ = try run(path("plain.tif"), model: model) {
      $0.window = window
      $0.quicklookSize = 300
      $0.predictOnly = true
    }
    let hot = try PNGImage(contentsOf: path("hot.quicklook.png"), as: .rgb).pixels
    let plain = try PNGImage(contentsOf: path("plain.quicklook.png"), as: .rgb).pixels
    let heat = try band(path("hot.tif"), 1)
    var cold = 0, warm = 0, warmUntouched = 0
    for p in 0..<(300 * 200) {
      let same = hot[3 * p] == plain[3 * p] && hot[3 * p + 1] == plain[3 * p + 1] && hot[3 * p + 2] == plain[3 * p + 2]
      if heat[p] == 0 {
        cold += 1
        #expect(same, "cold pixel \(p) tinted")
      } else if heat[p] == 1 {
        warm += 1
        // Class outlines are drawn over the heat in both pictures.
        if same { warmUntouched += 1 }
      }
    }
    #expect(cold > 1000 && warm > 1000)
    #expect(warmUntouched * 100 < warm)
  }

  /// A class without a target on a tile (class-mask with no pixel of it) is skipped there,
  /// counted in the summary, and the run goes on (it used to abort the whole run).
  @Test func classWithoutTargetIsNotComputedAndCounted() throws {
    defer { cleanup() }
    let out = path("mask.tif")
    var model = FakeTileModel()
    model.maskTargets = true
    let summary = try run(out, model: model) { $0.explainWhere = .all }
    #expect(summary.status == .finished)
    let solar = try band(out, 1)
    let water = try band(out, 2)
    #expect(solar[100 * 1000 + 190] > 0)
    #expect(water[426 * 1000 + 336] > 0)
    // Far from every object no class has a pixel: nodata, as on an unexplained tile.
    #expect(solar[650 * 1000 + 50] == -10000)
    #expect(water[100 * 1000 + 190] == -10000)
    let counts = try #require(summary.tiles.notComputed)
    #expect((counts["solar_panel"] ?? 0) > 0 && (counts["solar_panel"] ?? 0) < summary.tiles.read)
    #expect((counts["pool_heater"] ?? 0) > (counts["solar_panel"] ?? 0))
    // Written to OUT.json under its own key.
    let json = try String(contentsOfFile: path("mask.json"), encoding: .utf8)
    #expect(json.contains("\"notComputed\""))
  }

  // MARK: - Sizes and windows

  @Test func singleTileAndSmallerThanATile() throws {
    defer { cleanup() }
    for (w, h) in [(64, 64), (50, 40)] {
      let input = try PipelineTestRasters.makeScene(at: path("small\(w).tif"), width: w, height: h, withHole: false)
      let out = path("small\(w)-out.tif")
      let s = try run(out, input: input)
      #expect(s.tiles.total == 1 && s.tiles.read == 1)
      for file in [out, path("small\(w)-out.probs.tif"), path("small\(w)-out.classes.tif")] {
        let r = try GeoRaster(path: file)
        let source = try GeoRaster(path: input)
        #expect(r.width == w && r.height == h)
        #expect(r.geoTransform == source.geoTransform)
      }
      #expect(try band(out, 1).allSatisfy { $0 != -10000 })
      #expect(try band(path("small\(w)-out.probs.tif"), 1).allSatisfy { $0 > 0 && $0 < 1 })
    }
  }

  @Test func windowAndBBoxEqualARunOnTheCroppedRaster() throws {
    defer { cleanup() }
    let window = PixelWindow(x: 123, y: 77, width: 300, height: 200)
    _ = try run(path("win.tif")) { $0.window = window }
    let r = try GeoRaster(path: path("win.tif"))
    let input = try GeoRaster(path: scene)
    #expect(r.width == 300 && r.height == 200)
    #expect(r.geoTransform == input.geoTransform?.offset(x: 123, y: 77))
    #expect(r.crsWKT == input.crsWKT)

    let cropped = try PipelineTestRasters.makeScene(
      at: path("crop.tif"), width: 300, height: 200, offset: (123, 77))
    _ = try run(path("crop-out.tif"), input: cropped)
    for b in 1...6 { #expect(try band(path("win.tif"), b) == band(path("crop-out.tif"), b)) }
    #expect(try band(path("win.probs.tif"), 2) == band(path("crop-out.probs.tif"), 2))

    // The same pixels by bbox (CRS units): the box of the window's pixel edges.
    let gt = PipelineTestRasters.geoTransform
    let box = BoundingBox(
      minX: gt[0] + 123 * gt[1], minY: gt[3] + 277 * gt[5], maxX: gt[0] + 423 * gt[1], maxY: gt[3] + 77 * gt[5])
    _ = try run(path("box.tif")) { $0.bbox = box }
    #expect(try band(path("box.tif"), 4) == band(path("win.tif"), 4))
  }

  // MARK: - Normalisation, resolution, storage

  @Test func sceneNormalizationDividesByTheRecordedPercentile() throws {
    defer { cleanup() }
    let area = PixelWindow(x: 0, y: 0, width: 600, height: 500)
    _ = try run(path("raw.tif")) { $0.window = area }
    let s = try run(path("scaled.tif")) {
      $0.normalization = .scene
      $0.window = area
    }
    let raw = try band(path("raw.tif"), 1).filter { $0 != -10000 }.sorted()
    let p99 = raw[Int((0.99 * Double(raw.count)).rounded(.up)) - 1]
    #expect(s.layers[0].sceneDivisor == p99)
    let scaled = try GeoRaster(path: path("scaled.tif"))
    #expect(scaled.bandMetadataItem("scene_divisor", band: 1) == String(p99))
    #expect(scaled.metadataItem("geocam_normalization") == "scene")
    let a = try band(path("raw.tif"), 1)
    let b = try band(path("scaled.tif"), 1)
    #expect(zip(a, b).allSatisfy { $0 == -10000 ? $1 == -10000 : $1 == $0 / p99 })

    let t = try run(path("tile.tif")) {
      $0.normalization = .tile
      $0.window = PixelWindow(x: 0, y: 0, width: 300, height: 300)
    }
    #expect(t.provenance["geocam_normalization_note"]?.contains("not comparable") == true)
    #expect(try band(path("tile.tif"), 1).allSatisfy { $0 == -10000 || ($0 >= 0 && $0 <= 1) })
  }

  /// `tile` is the seed's `(x − min)/(max + 1e-8)` in layers as in pictures; `minmax` is
  /// `(x − min)/(max − min + 1e-7)` (layers used to apply the minmax formula for `tile`).
  @Test func tileAndMinmaxNormalizationUseTheirOwnFormulas() throws {
    defer { cleanup() }
    // A tile holding a solar panel, so its map has a positive minimum below its maximum.
    let window = PixelWindow(x: 448, y: 64, width: 64, height: 64)
    let raster = try GeoRaster(path: scene)
    let w = try raster.readWindow(x: 448, y: 64, width: 64, height: 64, bands: [1, 2, 3])
    let map = try FakeTileModel().begin(pixels: w.filled(with: 0).data, valid: w.mask, size: 64).explain(classes: [1])[0]
    #expect((map.values.min() ?? 0) > 0.01 && (map.values.max() ?? 0) > 2 * (map.values.min() ?? 0))
    for (name, normalization, formula) in [
      ("t.tif", PipelineOptions.Normalization.tile, MapNormalization.tile),
      ("m.tif", PipelineOptions.Normalization.minmax, MapNormalization.minmax),
    ] {
      _ = try run(path(name)) {
        $0.normalization = normalization
        $0.camResolution = .native
        $0.overlap = 0
        $0.window = window
      }
      let expected = formula.apply(map.values)
      #expect(try band(path(name), 1) == expected)
    }
    #expect(try band(path("t.tif"), 1) != band(path("m.tif"), 1))
  }

  @Test func nativeResolutionWritesOneCellPerTargetLayerPixel() throws {
    defer { cleanup() }
    let out = path("native.tif")
    _ = try run(out) {
      $0.camResolution = .native
      $0.overlap = 0
    }
    let r = try GeoRaster(path: out)
    #expect(r.width == 125 && r.height == 88)
    let gt = try #require(r.geoTransform)
    #expect(gt.originX == PipelineTestRasters.geoTransform[0] && gt.originY == PipelineTestRasters.geoTransform[3])
    #expect(abs(gt.pixelWidth - 0.64) < 1e-12 && abs(gt.pixelHeight + 0.64) < 1e-12)
    // Probabilities stay at full resolution.
    #expect(try GeoRaster(path: path("native.probs.tif")).width == 1000)
    // Tile-aligned cells are the model's cells exactly.
    let v = try band(out, 1)
    let raster = try GeoRaster(path: scene)
    let w = try raster.readWindow(x: 320, y: 448, width: 64, height: 64, bands: [1, 2, 3])
    let map = try FakeTileModel().begin(pixels: w.filled(with: 0).data, valid: w.mask, size: 64).explain(classes: [1])[0]
    for cy in 0..<8 { for cx in 0..<8 { #expect(v[(56 + cy) * 125 + 40 + cx] == map.values[cy * 8 + cx]) } }
  }

  @Test func halfPrecisionAndCOG() throws {
    defer { cleanup() }
    let window = PixelWindow(x: 500, y: 300, width: 400, height: 300)
    _ = try run(path("f32.tif")) { $0.window = window }
    _ = try run(path("f16.tif")) {
      $0.half = true
      $0.cog = true
      $0.window = window
    }
    let r = try GeoRaster(path: path("f16.tif"))
    #expect(r.metadataItem("LAYOUT", domain: "IMAGE_STRUCTURE") == "COG")
    #expect(r.noDataValues.allSatisfy { $0 == -10000 })
    #expect(r.bandDescription(1) == "gradcam:solar_panel")
    #expect(r.metadataItem("geocam_tile") == "64")
    let a = try band(path("f32.tif"), 1)
    let b = try band(path("f16.tif"), 1)
    #expect(zip(a, b).allSatisfy { $0 == -10000 ? $1 == -10000 : abs($1 - $0) <= 1e-3 * max(1, abs($0)) })
    let classes = try GeoRaster(path: path("f16.classes.tif"))
    #expect(classes.metadataItem("LAYOUT", domain: "IMAGE_STRUCTURE") == "COG")
    #expect(classes.colorTable(band: 1).count >= 4)
    #expect(classes.categoryNames(band: 1) == ["background", "solar_panel", "water_heater", "pool_heater"])
    #expect(classes.noDataValues == [0])
  }

  @Test func predictOnlyAndSixteenBitInput() throws {
    defer { cleanup() }
    let s = try run(path("pred.tif")) {
      $0.predictOnly = true
      $0.window = PixelWindow(x: 0, y: 0, width: 300, height: 200)
    }
    #expect(!FileManager.default.fileExists(atPath: path("pred.tif")))
    #expect(FileManager.default.fileExists(atPath: path("pred.classes.tif")))
    #expect(s.outputs["explanations"] == nil && s.layers.isEmpty)
    #expect(s.warnings.isEmpty)

    // 8 cm pixels against a 16 cm model: a warning, or a warped read at 16 cm with --resample.
    let coarse = FakeTileModel(gsd: 0.16)
    let warned = try run(path("gsd.tif"), model: coarse) {
      $0.predictOnly = true
      $0.window = PixelWindow(x: 0, y: 0, width: 200, height: 100)
    }
    #expect(warned.warnings.count == 1 && warned.warnings[0].contains("--resample"))
    let resampled = try run(path("warped.tif"), model: coarse) {
      $0.predictOnly = true
      $0.resample = true
    }
    #expect(resampled.warnings.isEmpty)
    let warped = try GeoRaster(path: path("warped.classes.tif"))
    let sceneWKT = try GeoRaster(path: scene).crsWKT
    #expect(warped.width == 500 && warped.height == 350)
    #expect(warped.geoTransform?.pixelWidth == 0.16 && warped.crsWKT == sceneWKT)

    let u16 = try PipelineTestRasters.makeUInt16(at: path("u16.tif"))
    #expect(throws: PipelineError.self) { try run(path("u16-out.tif"), input: u16) }
    let ok = try run(path("u16-out.tif"), input: u16) { $0.scaling = .linear(low: 0, high: 4095) }
    #expect(ok.provenance["geocam_scaling"] == "linear 0.0..4095.0 -> 0..255")
  }

  // MARK: - Sharding and resume

  func expectSameOutputs(_ a: String, _ b: String, bytes: Bool = true) throws {
    let ba = OutputPaths.base(of: a)
    let bb = OutputPaths.base(of: b)
    for suffix in [".tif", ".probs.tif", ".classes.tif"] {
      let ra = try GeoRaster(path: ba + suffix)
      let rb = try GeoRaster(path: bb + suffix)
      #expect(ra.bandCount == rb.bandCount)
      for band in 1...ra.bandCount {
        #expect(try self.band(ba + suffix, band) == self.band(bb + suffix, band), "\(suffix) band \(band)")
        #expect(ra.bandDescription(band) == rb.bandDescription(band))
      }
      #expect(ra.metadata() == rb.metadata())
      if bytes {
        #expect(FileManager.default.contentsEqual(atPath: ba + suffix, andPath: bb + suffix), "\(suffix) bytes")
      }
    }
    #expect(FileManager.default.contentsEqual(atPath: ba + ".quicklook.png", andPath: bb + ".quicklook.png"))
  }

  @Test func shardsMergeIntoTheSameFilesAsOneRun() throws {
    defer { cleanup() }
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("one"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("sharded"), withIntermediateDirectories: true)
    let one = path("one/city.tif")
    let sharded = path("sharded/city.tif")
    _ = try run(one) { $0.normalization = .scene }
    var read = 0
    for i in 0..<3 {
      let s = try run(sharded) {
        $0.normalization = .scene
        $0.shard = try? Shard(index: i, count: 3)
      }
      #expect(s.status == .partFinished)
      read += s.tiles.read
      let part = try GeoRaster(path: path("sharded/city.part-\(i)-of-3.tif"))
      let input = try GeoRaster(path: scene)
      #expect(part.width == 1000 && part.geoTransform == input.geoTransform)
    }
    #expect(read > 315)  // halo tiles are recomputed by neighbouring shares
    let merged = try CityPipeline.merge(output: sharded, quiet: true, progress: { _ in })
    #expect(merged.status == .finished && merged.mergedParts == 3)
    try expectSameOutputs(one, sharded)
    #expect(try CityPipeline.merge(output: sharded, progress: { _ in }).status == .alreadyFinished)

    // A missing part is refused, naming it.
    try FileManager.default.removeItem(atPath: path("sharded/city.part-1-of-3.json"))
    #expect {
      try CityPipeline.merge(output: sharded, restart: true, progress: { _ in })
    } throws: { ($0 as? PipelineError)?.subject.hasSuffix("city.part-1-of-3.json") == true }
  }

  /// Probabilities-only runs hand the model groups of tiles (`predictGroupSize`): the files are
  /// byte for byte those of one tile at a time, and a run killed inside a group resumes to them.
  @Test func groupedPredictionWritesTheSameFiles() throws {
    defer { cleanup() }
    for sub in ["single", "grouped", "killed"] {
      try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    _ = try run(path("single/p.tif")) { $0.predictOnly = true }
    let grouped = FakeTileModel(group: 3)
    _ = try run(path("grouped/p.tif"), model: grouped) { $0.predictOnly = true }
    #expect(grouped.counter.groups.contains(3) && grouped.counter.groups.allSatisfy { (1...3).contains($0) })

    let counter = TileCounter(failAfter: 100)
    #expect(throws: SimulatedKill.self) {
      try run(path("killed/p.tif"), model: FakeTileModel(counter: counter, group: 3)) { $0.predictOnly = true }
    }
    counter.failAfter = nil
    let resumed = try run(path("killed/p.tif"), model: FakeTileModel(counter: counter, group: 3)) { $0.predictOnly = true }
    #expect(resumed.status == .finished && resumed.tiles.reused > 0)
    for other in ["grouped", "killed"] {
      for suffix in [".probs.tif", ".classes.tif", ".quicklook.png"] {
        #expect(
          FileManager.default.contentsEqual(atPath: path("single/p" + suffix), andPath: path(other + "/p" + suffix)),
          "\(other)\(suffix)")
      }
    }
  }

  @Test func groupedExplanationWritesTheSameFiles() throws {
    defer { cleanup() }
    for sub in ["single", "grouped", "killed"] {
      try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    _ = try run(path("single/e.tif"))
    var grouped = FakeTileModel()
    grouped.explainGroup = 3
    _ = try run(path("grouped/e.tif"), model: grouped)
    #expect(grouped.counter.explainGroups.contains(3) && grouped.counter.explainGroups.allSatisfy { (2...3).contains($0) })

    // Killed inside a group: the group's finished tiles are saved and reused with every earlier one.
    let counter = TileCounter(failAfter: 100)
    var killed = FakeTileModel(counter: counter)
    killed.explainGroup = 3
    #expect(throws: SimulatedKill.self) { try run(path("killed/e.tif"), model: killed) }
    counter.failAfter = nil
    let resumed = try run(path("killed/e.tif"), model: killed)
    #expect(resumed.status == .finished && resumed.tiles.reused > 0)
    for other in ["grouped", "killed"] {
      for suffix in [".tif", ".probs.tif", ".classes.tif", ".quicklook.png"] {
        #expect(
          FileManager.default.contentsEqual(atPath: path("single/e" + suffix), andPath: path(other + "/e" + suffix)),
          "\(other)\(suffix)")
      }
    }
  }

  @Test func killedRunResumesToTheSameFiles() throws {
    defer { cleanup() }
    for sub in ["whole", "killed"] {
      try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    let whole = path("whole/city.tif")
    let killed = path("killed/city.tif")
    _ = try run(whole)

    let counter = TileCounter(failAfter: 150)
    #expect(throws: SimulatedKill.self) { try run(killed, model: FakeTileModel(counter: counter)) }
    // Nothing looks finished; the state is there.
    for p in ["killed/city.tif", "killed/city.json", "killed/city.probs.tif"] {
      #expect(!FileManager.default.fileExists(atPath: path(p)))
    }
    #expect(FileManager.default.fileExists(atPath: path("killed/city.geocam/manifest.json")))

    // A different command refuses to touch the state...
    #expect(throws: PipelineError.self) { try run(killed) { $0.overlap = 8 } }
    // ...the same one resumes.
    counter.failAfter = nil
    let resumed = try run(killed, model: FakeTileModel(counter: counter))
    #expect(resumed.status == .finished)
    #expect(resumed.tiles.reused > 0 && resumed.tiles.read + resumed.tiles.reused == 315)
    #expect(resumed.blocks["reused"] ?? 0 > 0)
    try expectSameOutputs(whole, killed)

    // Finished: reported as such; a different command needs --restart.
    #expect(try run(killed).status == .alreadyFinished)
    #expect(throws: PipelineError.self) { try run(killed) { $0.overlap = 8 } }
    let restarted = try run(killed) {
      $0.overlap = 8
      $0.restart = true
    }
    #expect(restarted.status == .finished && restarted.tiles.reused == 0)
  }
}
