import CGDAL
import Foundation
import GeoCAMAudit
import GeoCAMGeo
import GeoCAMGeoTestSupport
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import Testing

@testable import GeoCAMStudies

/// `study dissect`: the pure core against NumPy, a planted detector, a run on the demo scene,
/// what is left out of the tallies, image runs with a classifier, and bad input.
@Suite("Network Dissection", .serialized)
struct NetworkDissectionTests {
  static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  static let repo = tests.deletingLastPathComponent()
  static let demoCheckpoint = repo.appendingPathComponent("Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors").path
  static let classifier = tests.appendingPathComponent("Fixtures/models/classifier_tiny.safetensors").path

  /// Writes 8-bit `planes` as a PNG through GDAL (MEM, then CreateCopy).
  static func writePNG(_ path: String, width: Int, height: Int, planes: [[UInt8]]) throws {
    GDALRuntime.ensureInitialized()
    guard let mem = GDALGetDriverByName("MEM"), let png = GDALGetDriverByName("PNG"),
      let ds = GDALCreate(mem, "", Int32(width), Int32(height), Int32(planes.count), GDT_Byte, nil)
    else { throw GeoError(path, "cannot create") }
    defer { GDALClose(ds) }
    for (b, plane) in planes.enumerated() {
      var p = plane
      let band = GDALGetRasterBand(ds, Int32(b + 1))
      _ = p.withUnsafeMutableBytes {
        GDALRasterIO(band, GF_Write, 0, 0, Int32(width), Int32(height), $0.baseAddress, Int32(width), Int32(height), GDT_Byte, 0, 0)
      }
    }
    guard let copy = GDALCreateCopy(png, path, ds, 0, nil, nil, nil) else { throw GeoError(path, "cannot write") }
    GDALClose(copy)
  }

  /// Thresholds, tallies and IoU equal Scripts/fixtures/make_dissect_fixtures.py (numpy.quantile
  /// linear, OpenCV's bilinear, dataset-level IoU) at q = 0.995 and 0.8.
  @Test func coreEqualsTheNumPyReference() throws {
    let url = Self.tests.appendingPathComponent("Fixtures/studies/dissect/core.json")
    let ref = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let units = try #require(ref["units"] as? Int), h = try #require(ref["height"] as? Int), w = try #require(ref["width"] as? Int)
    let lh = try #require(ref["label_height"] as? Int), lw = try #require(ref["label_width"] as? Int)
    let k = try #require(ref["concepts"] as? Int)
    let acts = try #require(ref["activations"] as? [[[Double]]])
    let labelValues = try #require(ref["labels"] as? [[Int]])
    var a = NetworkDissection.Activations(units: units)
    for i in labelValues.indices {
      try a.append(planes: (0..<units).map { u in acts[u][i].map { Float($0) } }, height: h, width: w)
    }
    let labels = try labelValues.map { try NetworkDissection.LabelGrid(width: lw, height: lh, values: $0.map { UInt8($0) }) }
    // The bilinear upsampling both sides use.
    let up = try Resize.bilinear(Array(a.map(unit: 0, image: 0)), height: h, width: w, toHeight: lh, toWidth: lw)
    let refUp = try #require(ref["upsampled_unit0_image0"] as? [Double])
    #expect(zip(up, refUp).allSatisfy { abs(Double($0) - $1) <= 1e-6 })
    let runs = try #require(ref["runs"] as? [[String: Any]])
    #expect(runs.count == 2)
    for run in runs {
      let q = try #require(run["quantile"] as? Double)
      let s = try NetworkDissection.dissect(a, labels: labels, conceptCount: k, quantile: q)
      let thresholds = try #require(run["thresholds"] as? [Double])
      let iou = try #require(run["iou"] as? [[Double]])
      #expect(s.countedPixels == ref["counted"] as? Int)
      #expect(s.conceptPixels == ref["concept_pixels"] as? [Int])
      #expect(s.activated == run["activated"] as? [Int], "q \(q)")
      #expect(s.intersections == run["intersections"] as? [[Int]], "q \(q)")
      for u in 0..<units {
        #expect(abs(s.thresholds[u] - thresholds[u]) <= 1e-6 * max(1, abs(thresholds[u])), "q \(q) unit \(u)")
        for c in 1...k { #expect(abs(s.iou(unit: u, concept: c) - iou[u][c - 1]) <= 1e-6, "q \(q) unit \(u) concept \(c)") }
        #expect(s.best(unit: u)?.concept == (run["best"] as? [Int])?[u])
      }
    }
    // The quantile on its own: numpy.quantile([1, 2, 3, 4, 10], q).
    var v: [Float] = [10, 2, 4, 1, 3]
    #expect(abs(NetworkDissection.quantile(sorting: &v, 0.995) - 9.88) < 1e-12)
    #expect(NetworkDissection.quantile(sorted: v, 0.5) == 3)
    #expect(NetworkDissection.quantile(sorted: v, 1) == 10)
  }

  /// SplitMix64 → standard normal (Box–Muller): deterministic noise.
  struct Noise {
    var state: UInt64
    mutating func uniform() -> Double {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
    mutating func normal() -> Float {
      Float(sqrt(-2 * log(max(uniform(), 1e-300))) * cos(2 * Double.pi * uniform()))
    }
  }

  /// A unit high exactly over class 2's cells (the rest noise) is the top class-2 detector;
  /// noise units detect nothing.
  @Test func aPlantedUnitIsFoundAndNoiseIsNot() throws {
    let images = 8, cells = 10, side = 40, units = 8, planted = 5
    var labels: [NetworkDissection.LabelGrid] = []
    var class2Cells: [[Int]] = []
    for i in 0..<images {
      var v = [UInt8](repeating: 0, count: side * side)
      for y in 0..<side {
        for x in 0..<side {
          // Large classes 1 (left 40 %) and 3 (bottom 30 % of the rest), so a random mask cannot
          // reach 0.04 IoU with them.
          if x < 16 { v[y * side + x] = 1 } else if y >= 28 { v[y * side + x] = 3 }
        }
      }
      // One 4 × 4 block of class 2 (exactly one cell of the 10 × 10 map) on every other image:
      // 4 of 800 positions, within the top 0.5 %, so T_k falls below them (a concept much larger
      // than 0.5 % of the positions caps any unit's IoU, as in NetDissect).
      let cy = (3 * i + 1) % cells, cx = 5 + i % 4
      if i % 2 == 0 {
        for y in (4 * cy)..<(4 * cy + 4) { for x in (4 * cx)..<(4 * cx + 4) { v[y * side + x] = 2 } }
        class2Cells.append([cy * cells + cx])
      } else {
        class2Cells.append([])
      }
      labels.append(try NetworkDissection.LabelGrid(width: side, height: side, values: v))
    }
    var noise = Noise(state: 42)
    var a = NetworkDissection.Activations(units: units)
    for i in 0..<images {
      let planes: [[Float]] = (0..<units).map { u in
        (0..<(cells * cells)).map { p in
          u == planted ? (class2Cells[i].contains(p) ? 1 + 0.01 * noise.normal() : 0.05 * noise.normal()) : noise.normal()
        }
      }
      try a.append(planes: planes, height: cells, width: cells)
    }
    let s = try NetworkDissection.dissect(a, labels: labels, conceptCount: 3)
    let best = try #require(s.best(unit: planted))
    #expect(best.concept == 2)
    // M is the 6 × 6 pixels around each block less its corners (the bilinear peak falls off over
    // one cell): 16 / 32.
    #expect(abs(best.iou - 0.5) < 0.05, "\(best.iou)")
    #expect(s.detectors(of: 2, threshold: 0.04) == [planted])
    let top = (0..<units).max { s.iou(unit: $0, concept: 2) < s.iou(unit: $1, concept: 2) }
    #expect(top == planted)
    for u in 0..<units where u != planted {
      #expect((s.best(unit: u)?.iou ?? 0) < 0.04, "noise unit \(u): \(String(describing: s.best(unit: u)))")
    }
  }

  /// The real run on the demo scene demo-eval-1 (16 tiles) with its label raster: the documented
  /// outputs, consistent with each other.
  @Test func demoSceneWritesTheReport() throws {
    try #require(FileManager.default.fileExists(atPath: Self.demoCheckpoint))
    let dir = try TestGeoTIFF.makeTempDir("geocam-dissect")
    defer { TestGeoTIFF.removeDir(dir) }
    let opened = OpenedCheckpoint(bundle: try ModelBundle.load(path: Self.demoCheckpoint), sha256: "test")
    var o = NetworkDissection.Options()
    o.top = 2
    o.quiet = true
    let out = dir.appendingPathComponent("dissect").path
    var events = 0
    let r = try NetworkDissection.run(
      raster: Self.repo.appendingPathComponent("Tiles/demo-eval-1.tif").path,
      labels: AuditOptions.Source(path: Self.repo.appendingPathComponent("Tiles/demo-eval-1-labels.tif").path),
      checkpoint: opened, options: o, output: out, progress: { _ in events += 1 })
    #expect(events > 16)
    #expect(r.images == 16 && r.imageKind == "tiles")
    #expect(r.countedPixels == 1280 * 1280 && r.excludedPixels == 0)
    #expect(r.concepts.map(\.name) == ["solar_panel", "water_heater", "pool_heater"])
    #expect(r.concepts.allSatisfy { $0.pixels > 0 })
    let layer = try #require(r.layers.first)
    #expect(r.layers.count == 1 && layer.layer == "encoder.layer4")
    #expect(layer.units == 2048 && layer.map == NetworkDissection.MapSize(height: 10, width: 10) && layer.positions == 1600)
    #expect(layer.activationBytes == 2048 * 1600 * 4)
    #expect(layer.detectorUnits == layer.concepts.reduce(0) { $0 + $1.detectors.count })
    #expect(layer.uniqueConcepts == layer.concepts.filter { !$0.detectors.isEmpty }.count)
    #expect(r.seconds["forward_per_image"].map { $0 > 0 } == true)

    let csv = try String(contentsOfFile: out + "/dissect.csv", encoding: .utf8).split(separator: "\n")
    #expect(csv.first == "layer,unit,threshold,activated_pixels,best_concept,best_iou,detector,iou_solar_panel,iou_water_heater,iou_pool_heater")
    #expect(csv.count == 2049)
    let rows = csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    #expect(rows.filter { $0[6] == "1" }.count == layer.detectorUnits)
    for (ci, c) in layer.concepts.enumerated() {
      #expect(c.topUnits.count == 2)
      // No unit beats the first top unit; each top unit's IoU is the CSV's and its figure exists.
      #expect(rows.allSatisfy { (Double($0[7 + ci]) ?? 0) <= c.topUnits[0].iou + 1e-12 })
      for t in c.topUnits {
        #expect(Double(rows[t.unit][7 + ci]).map { abs($0 - t.iou) < 1e-12 } == true)
        let fig = try #require(t.figure)
        let png = try PNGImage(contentsOf: out + "/" + fig)
        #expect(png.height == 320 && png.width == 4 * 320 + 3 * 6)
        #expect(t.images.count == 4)
      }
      #expect(c.detectors.allSatisfy { rows[$0][4] == c.concept && rows[$0][6] == "1" })
    }
    let json = try String(contentsOfFile: out + "/dissect.json", encoding: .utf8)
    for key in ["\"iou_threshold\"", "\"gating\"", "\"top_units\"", "\"detector_units\"", "\"activation_bytes\"", "\"forward_per_image\""] {
      #expect(json.contains(key), "\(key)")
    }
    let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    #expect(md.contains("No per-image gating"))
    #expect(md.contains("| `encoder.layer4` | 2048 | 10 × 10 |"))
    #expect(md.contains("](encoder.layer4_solar_panel_1_unit"))
  }

  /// A scene that is no multiple of the tile: the shifted edge tiles count only new pixels;
  /// label nodata and values outside the classes are left out.
  @Test func edgeTilesNodataAndStrayLabelsAreLeftOut() throws {
    try #require(FileManager.default.fileExists(atPath: Self.demoCheckpoint))
    let dir = try TestGeoTIFF.makeTempDir("geocam-dissect-edge")
    defer { TestGeoTIFF.removeDir(dir) }
    let scene = try GeoRaster(path: Self.repo.appendingPathComponent("Tiles/demo-eval-1.tif").path)
    let truth = try GeoRaster(path: Self.repo.appendingPathComponent("Tiles/demo-eval-1-labels.tif").path)
    let w = 400, h = 352
    let img = try scene.readWindow(x: 0, y: 0, width: w, height: h, bands: [1, 2, 3])
    let lab = try truth.readWindow(x: 0, y: 0, width: w, height: h, bands: [1])
    let crop = try TestGeoTIFF.write(dir.appendingPathComponent("crop.tif").path, width: w, height: h, bands: 3, of: UInt8.self) { b, x, y in
      UInt8(img.data[(b - 1) * w * h + y * w + x])
    }
    // Rows 0–9: nodata (255); columns 0–4: class 9 (no class of the model).
    let labels = try TestGeoTIFF.write(dir.appendingPathComponent("labels.tif").path, width: w, height: h, bands: 1, of: UInt8.self, noData: 255) { _, x, y in
      y < 10 ? 255 : x < 5 ? 9 : UInt8(lab.data[y * w + x])
    }
    let opened = OpenedCheckpoint(bundle: try ModelBundle.load(path: Self.demoCheckpoint), sha256: "test")
    var o = NetworkDissection.Options()
    o.top = 1
    o.quiet = true
    let r = try NetworkDissection.run(
      raster: crop, labels: AuditOptions.Source(path: labels), checkpoint: opened, options: o,
      output: dir.appendingPathComponent("out").path)
    #expect(r.images == 4)
    let left = 10 * w + 5 * (h - 10)
    #expect(r.countedPixels == w * h - left)
    #expect(r.countedPixels + r.excludedPixels == 4 * 320 * 320)
  }

  /// A classifier on image folders with masks (0 background, 1–2 concepts, 255 void).
  @Test func classifierImagesWithMasks() throws {
    let root = try TestGeoTIFF.makeTempDir("geocam-dissect-images")
    defer { TestGeoTIFF.removeDir(root) }
    for d in ["images", "masks"] {
      try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
    }
    let w = 96, h = 64
    var void = 0
    for i in 0..<3 {
      var planes = [[UInt8]](repeating: [], count: 3)
      var mask = [UInt8](repeating: 0, count: w * h)
      for y in 0..<h {
        for x in 0..<w {
          let inBox = x >= 10 + 8 * i && x < 50 + 8 * i && y >= 12 && y < 40
          planes[0].append(inBox ? 220 : UInt8((3 * x + y) % 120))
          planes[1].append(inBox ? 40 : UInt8((5 * y + i) % 120))
          planes[2].append(UInt8((x * y / 7) % 256))
          if inBox { mask[y * w + x] = 1 } else if y >= 50 { mask[y * w + x] = 2 }
          if y == 45 { mask[y * w + x] = 255; void += 1 }
        }
      }
      try Self.writePNG(root.appendingPathComponent("images/im\(i).png").path, width: w, height: h, planes: planes)
      try Self.writePNG(root.appendingPathComponent("masks/im\(i).png").path, width: w, height: h, planes: [mask])
    }
    let checkpoint = try OpenedCheckpoint(path: Self.classifier)
    var o = NetworkDissection.Options()
    o.preset = .none
    o.top = 1
    o.quiet = true
    let pairs = try StudyImages.folders(images: root.appendingPathComponent("images").path, masks: root.appendingPathComponent("masks").path)
    let r = try NetworkDissection.run(
      images: pairs, conceptNames: ["box", "ground"], checkpoint: checkpoint, options: o,
      output: root.appendingPathComponent("out").path, source: root.path)
    #expect(r.layers.map(\.layer) == ["layer4"])
    #expect(r.concepts.map(\.name) == ["box", "ground"])
    #expect(r.countedPixels == 3 * w * h - void && r.excludedPixels == void)
    #expect(r.layers[0].concepts.allSatisfy { $0.topUnits.count == 1 && $0.topUnits[0].figure != nil })
  }

  /// Unknown layers, a classifier on a raster, labels on another grid, and a memory cap:
  /// each one clear line.
  @Test func badInputIsOneClearLine() throws {
    try #require(FileManager.default.fileExists(atPath: Self.demoCheckpoint))
    let dir = try TestGeoTIFF.makeTempDir("geocam-dissect-bad")
    defer { TestGeoTIFF.removeDir(dir) }
    let raster = try TestGeoTIFF.write(dir.appendingPathComponent("r.tif").path, width: 64, height: 64, bands: 3, of: UInt8.self) { b, x, y in
      UInt8((x * b + y) % 256)
    }
    let small = try TestGeoTIFF.write(dir.appendingPathComponent("l.tif").path, width: 60, height: 64, bands: 1, of: UInt8.self) { _, _, _ in 0 }
    let same = try TestGeoTIFF.write(dir.appendingPathComponent("l64.tif").path, width: 64, height: 64, bands: 1, of: UInt8.self) { _, x, _ in x < 8 ? 1 : 0 }
    let fpn = OpenedCheckpoint(bundle: try ModelBundle.load(path: Self.demoCheckpoint), sha256: "test")
    let classifier = try OpenedCheckpoint(path: Self.classifier)
    let out = dir.appendingPathComponent("out").path
    func message(_ body: () throws -> Void) -> String {
      do {
        try body()
        return "no error"
      } catch { return String(describing: error) }
    }
    var o = NetworkDissection.Options()
    o.quiet = true
    o.tileSize = 64
    o.layers = ["encoder.layer9"]
    let unknown = message { _ = try NetworkDissection.run(raster: raster, labels: .init(path: same), checkpoint: fpn, options: o, output: out) }
    #expect(unknown.hasPrefix("unknown layer 'encoder.layer9'"), "\(unknown)")
    o.layers = []
    let wrongModel = message { _ = try NetworkDissection.run(raster: raster, labels: .init(path: same), checkpoint: classifier, options: o, output: out) }
    #expect(wrongModel.hasPrefix("--raster: needs a segmentation model"), "\(wrongModel)")
    let wrongGrid = message { _ = try NetworkDissection.run(raster: raster, labels: .init(path: small), checkpoint: fpn, options: o, output: out) }
    #expect(wrongGrid.contains("label raster is 60x64; the raster is 64x64"), "\(wrongGrid)")
    o.maxActivationBytes = 1000
    let cap = message { _ = try NetworkDissection.run(raster: raster, labels: .init(path: same), checkpoint: fpn, options: o, output: out) }
    #expect(cap.hasPrefix("activations: encoder.layer4: 2048 units × 4 positions × 4 bytes"), "\(cap)")
    #expect(cap.contains("above the cap"))
    o.maxActivationBytes = 2 << 30
    let pool = message {
      o.layers = ["avgpool"]
      _ = try NetworkDissection.run(images: [StudyImages.Pair(id: "x", image: raster, mask: same)], conceptNames: nil, checkpoint: classifier, options: o, output: out, source: dir.path)
    }
    #expect(pool.hasPrefix("avgpool: gives one value per image"), "\(pool)")
    for m in [unknown, wrongModel, wrongGrid, cap, pool] { #expect(!m.contains("\n")) }
  }
}
