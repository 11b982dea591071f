import CGDAL
import Foundation
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMGeoTestSupport
import GeoCAMKit
import GeoCAMModels
import GeoCAMTensor
import Testing

@testable import GeoCAMAudit

/// The audit on the demo checkpoint and a crop of the demo scene, and the explainer's batched
/// region targets.
@Suite("Audit runs", .serialized)
struct AuditRunTests {
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let checkpoint = repo.appendingPathComponent("Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors").path
  static let scene = repo.appendingPathComponent("Tiles/demo-main.tif").path
  static let truth = repo.appendingPathComponent("Tiles/demo-main-truth.gpkg").path

  /// All detections of a window from one batched backward equal each explained on its own.
  @Test func batchedRegionTargetsEqualOneAtATime() throws {
    let w = try SyntheticWeights.fpn(encoder: "resnet18", classes: 3)
    let model = try FPNModel(w)
    let pre = Preprocessing(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255)
    let pixels = Tensor(channels: 3, batch: 1, height: 64, width: 64)
    for i in 0..<pixels.count { pixels.pointer[i] = Float((i * 53) % 255) }
    let session = try ExplanationSession(model: model, preprocessing: pre, pixels: pixels, layer: "encoder.layer3.1.conv2")
    func region(_ x0: Int, _ y0: Int, _ s: Int) -> [UInt8] {
      (0..<(64 * 64)).map { i in (x0..<(x0 + s)).contains(i % 64) && (y0..<(y0 + s)).contains(i / 64) ? 1 : 0 }
    }
    let seeds = [
      ExplanationSeed(classIndex: 1, target: .region(region(4, 4, 10))),
      ExplanationSeed(classIndex: 2, target: .region(region(30, 40, 12))),
      ExplanationSeed(classIndex: 1, target: .region(region(50, 10, 8))),
    ]
    let explainer = Explainer(methods: [.gradcam, .gradcamPlusPlus, .guidedGradcam])
    let batched = try explainer.explain(session, seeds: seeds)
    #expect(batched.explanations.count == 9)
    for (j, seed) in seeds.enumerated() {
      let single = try explainer.explain(session, seeds: [seed])
      for e in single.explanations {
        let b = try #require(batched.explanations.first { $0.seedIndex == j && $0.method == e.method })
        #expect(b.classIndex == seed.classIndex)
        let scale = max(e.values.map(abs).max() ?? 0, 1e-20)
        let err = zip(b.values, e.values).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= 1e-5 * scale, "\(e.method) seed \(j): \(err) of \(scale)")
      }
    }
    // Two seeds of the same class over different regions give different maps.
    let a = try #require(batched.explanations.first { $0.seedIndex == 0 && $0.method == .gradcam })
    let c = try #require(batched.explanations.first { $0.seedIndex == 2 && $0.method == .gradcam })
    #expect(a.values != c.values)
  }

  /// Crops the demo scene (keeps its georeferencing).
  static func crop(to path: String, x: Int, y: Int, size: Int) throws {
    let r = try GeoRaster(path: scene)
    let w = try r.readWindow(x: x, y: y, width: size, height: size, bands: [1, 2, 3])
    try TestGeoTIFF.write(path, width: size, height: size, bands: 3, of: UInt8.self, originOffset: (x, y)) { b, px, py in
      UInt8(w.data[(b - 1) * size * size + py * size + px])
    }
  }

  static func sql(_ path: String, _ statement: String) {
    GDALRuntime.ensureInitialized()
    guard let ds = GDALOpenEx(path, UInt32(GDAL_OF_VECTOR | GDAL_OF_UPDATE), nil, nil, nil) else { return }
    if let r = GDALDatasetExecuteSQL(ds, statement, nil, nil) { GDALDatasetReleaseResultSet(ds, r) }
    GDALClose(ds)
  }

  /// The audit on a crop: detections, statuses against the truth file, outputs; a re-run keeps
  /// verdicts, and a verdict whose detection is gone becomes an orphan, never dropped.
  @Test func auditFindsMatchesAndKeepsVerdictsAcrossReRuns() throws {
    try #require(FileManager.default.fileExists(atPath: Self.checkpoint))
    let dir = try TestGeoTIFF.makeTempDir("geocam-audit-run")
    defer { TestGeoTIFF.removeDir(dir) }
    let input = dir.appendingPathComponent("crop.tif").path
    try Self.crop(to: input, x: 0, y: 0, size: 448)
    let out = dir.appendingPathComponent("audit").path
    let bundle = OpenedCheckpoint(bundle: try ModelBundle.load(path: Self.checkpoint), sha256: "test")
    var o = AuditOptions()
    o.quiet = true
    o.labels = AuditOptions.Source(path: Self.truth, layer: "objects")
    o.confounders = AuditOptions.Source(path: Self.truth, layer: "confounders")
    let s1 = try Audit.run(input: input, output: out, checkpoint: bundle, options: o, progress: { _ in })
    #expect(s1.detections > 3)
    #expect(s1.layer == "encoder.layer3.5.conv3")
    let tp = (s1.classes ?? [:]).values.reduce(0) { $0 + $1.tp }
    #expect(tp >= 3)
    for f in ["detections.gpkg", "detections.csv", "summary.json", "report.html"] {
      #expect(FileManager.default.fileExists(atPath: out + "/" + f))
    }
    let csv = try String(contentsOfFile: out + "/detections.csv", encoding: .utf8)
    #expect(csv.split(separator: "\n").count == s1.detections + 1)
    #expect(csv.hasPrefix("id,class,class_index,area_m2,pixels,prob_mean,prob_max,margin"))
    let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
    #expect(html.components(separatedBy: "<article class=\"card\"").count - 1 == s1.detections)
    #expect(FileManager.default.fileExists(atPath: out + "/chips/d1_context.png"))
    let layers = try RegionVectors.layerNames(path: out + "/detections.gpkg")
    #expect(["detections", "missed", "orphaned_reviews"].allSatisfy { layers.contains($0) }, "\(layers)")

    // A reviewer marks detection 1 and adds a verdict on a feature that matches nothing.
    Self.sql(out + "/detections.gpkg", "UPDATE detections SET review = 'fp', review_note = 'looks like a skylight' WHERE id = 1")
    Self.sql(out + "/detections.gpkg", "UPDATE detections SET review = 'unsure' WHERE id = 2")
    Self.sql(
      out + "/detections.gpkg",
      "INSERT INTO detections (id, class, review, review_note, geom) SELECT 999, 'water_heater', 'tp', 'gone', geom FROM missed LIMIT 1")
    let before = try RegionVectors.readFeatures(
      path: out + "/detections.gpkg", layer: "detections", fields: ["id", "review"], targetCRS: "")
    #expect(before.contains { $0.fields["review"] == "fp" })
    // The same command again resumes (nothing recomputed) and rewrites the outputs.
    let s2 = try Audit.run(input: input, output: out, checkpoint: bundle, options: o, progress: { _ in })
    #expect(s2.detections == s1.detections)
    #expect(s2.secondsPerDetection == nil)
    let after = try RegionVectors.readFeatures(
      path: out + "/detections.gpkg", layer: "detections", fields: ["id", "review", "review_note"], targetCRS: "")
    let one = try #require(after.first { $0.fields["id"] == "1" })
    #expect(one.fields["review"] == "fp" && one.fields["review_note"] == "looks like a skylight")
    #expect(after.first { $0.fields["id"] == "2" }?.fields["review"] == "unsure")
    #expect(!after.contains { $0.fields["id"] == "999" })
    let orphans = try RegionVectors.readFeatures(
      path: out + "/detections.gpkg", layer: "orphaned_reviews", fields: ["old_id", "review_note"], targetCRS: "")
    if before.contains(where: { $0.fields["id"] == "999" }) {
      #expect(orphans.contains { $0.fields["old_id"] == "999" && $0.fields["review_note"] == "gone" })
    }
    #expect(s2.reviews["carried_over"] == 2)
    // A third run keeps the orphan too.
    let s3 = try Audit.run(input: input, output: out, checkpoint: bundle, options: o, progress: { _ in })
    #expect(s3.reviews["orphaned"] == s2.reviews["orphaned"])
  }

  /// The gallery in headless Chromium (Debian's `chromium`): one card per detection in the
  /// DOM, and a screenshot that is not blank. Skipped where Chromium is not installed.
  @Test func galleryRendersInHeadlessChromium() throws {
    guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
    else {
      // The test command installs it (Scripts/install-deps.sh --tests); elsewhere it is optional.
      if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("chromium is not installed") }
      return
    }
    let dir = try TestGeoTIFF.makeTempDir("geocam-gallery")
    defer { TestGeoTIFF.removeDir(dir) }
    var detections: [Detection] = []
    for i in 1...7 {
      let name = i % 2 == 0 ? "water_heater" : "solar_panel"
      var d = Detection(
        id: i, className: name, classIndex: 1 + i % 2, pixels: 100 * i, area: Double(i), probMean: 0.5, probMax: 0.9,
        margin: 0.3, centroidX: 0, centroidY: 0, lon: 18.4, lat: -34, bbox: .init(x: 0, y: 0, width: 10, height: 10),
        window: .init(x: 0, y: 0, width: 320, height: 320), partial: false)
      d.status = i == 3 ? .fp : .tp
      d.confounder = i == 3 ? "skylight" : nil
      d.suspicion = Double(i) / 10
      d.reviewNote = i == 2 ? "<b>not bold</b>" : nil
      detections.append(d)
    }
    let html = AuditGallery.html(detections: detections, methods: ["gradcam"], title: "t", summary: [("a", "b")], areaUnit: "m²", pageSize: 5)
    let page = dir.appendingPathComponent("report.html")
    try Data(html.utf8).write(to: page)
    func run(_ args: [String]) throws -> Data {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: chromium)
      p.arguments = ["--headless", "--no-sandbox", "--disable-gpu"] + args + [page.absoluteString]
      let pipe = Pipe()
      p.standardOutput = pipe
      p.standardError = FileHandle.nullDevice
      try p.run()
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      return data
    }
    let dom = String(decoding: try run(["--dump-dom"]), as: UTF8.self)
    #expect(dom.components(separatedBy: "<article class=\"card\"").count - 1 == 7)
    #expect(!dom.contains("<b>not bold</b>"))
    let shot = dir.appendingPathComponent("shot.png")
    _ = try run(["--screenshot=\(shot.path)", "--window-size=1200,900"])
    let png = try Data(contentsOf: shot)
    #expect(png.count > 10_000)
  }
}
