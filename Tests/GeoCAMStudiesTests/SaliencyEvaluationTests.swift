import Foundation
import GeoCAMAudit
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMStudies
import GeoCAMTensor
import Testing

/// `study evaluate` end to end on the tiny classifier and the demo FPN, its inputs, and the
/// sanity check's statistics against SciPy / scikit-image.
@Suite(.serialized) struct SaliencyEvaluationTests {
  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
  static let repo = fixtures.deletingLastPathComponent().deletingLastPathComponent()
  static let classifier = fixtures.appendingPathComponent("models/classifier_tiny.safetensors").path

  static func temporary(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// Three images with a Gaussian density map and fixations around a spot, and a pairs CSV
  /// whose reference and fixation files are named differently from the images.
  static func pairsDataset() throws -> URL {
    let dir = try temporary("pairs")
    var csv = "image,reference,fixations\n"
    for i in 0..<3 {
      let w = 96, h = 72 + 8 * i
      var rgb = [UInt8](repeating: 0, count: w * h * 3), density = rgb
      for y in 0..<h {
        for x in 0..<w {
          let p = 3 * (y * w + x)
          rgb[p] = UInt8(128 + 100 * sin(Double(x) / Double(5 + i)))
          rgb[p + 1] = UInt8(120 + 80 * cos(Double(y) / 7))
          rgb[p + 2] = UInt8(((x / 16 + y / 12) % 2) * 120 + 40)
          let d = exp(-(pow(Double(x - 30 - 10 * i), 2) + pow(Double(y - 36), 2)) / (2 * 100))
          density[p] = UInt8(d * 255); density[p + 1] = density[p]; density[p + 2] = density[p]
        }
      }
      try PNGImage(width: w, height: h, format: .rgb, pixels: rgb).write(to: dir.appendingPathComponent("photo\(i).png").path)
      try PNGImage(width: w, height: h, format: .rgb, pixels: density).write(to: dir.appendingPathComponent("gfdm_\(i).png").path)
      let fix = "x,y\n" + (0..<6).map { "\(28 + 10 * i + $0 % 3),\(34 + $0)" }.joined(separator: "\n") + "\n500,500\n"
      try fix.write(to: dir.appendingPathComponent("gaze_\(i).txt"), atomically: true, encoding: .utf8)
      csv += "photo\(i).png,gfdm_\(i).png,\"gaze_\(i).txt\"\n"
    }
    try csv.write(to: dir.appendingPathComponent("pairs.csv"), atomically: true, encoding: .utf8)
    return dir
  }

  @Test func pairsWithSanityOnTheTinyClassifier() throws {
    let data = try Self.pairsDataset()
    let out = try Self.temporary("evaluate")
    defer { try? FileManager.default.removeItem(at: data); try? FileManager.default.removeItem(at: out) }
    let items = try EvaluationInputs.pairs(csv: data.appendingPathComponent("pairs.csv").path).map {
      SaliencyEvaluation.Item(id: (($0.image as NSString).lastPathComponent as NSString).deletingPathExtension,
        source: .image(path: $0.image, reference: $0.reference, fixations: $0.fixations, mask: nil, maskValue: nil))
    }
    #expect(items.count == 3)
    var o = SaliencyEvaluation.Options()
    o.methods = [.gradcam, .fem, .rise, .guidedBackprop]
    o.blackBox.riseMasks = 40
    o.step = 2000
    o.sanity = true
    o.sanityItems = 3
    o.quiet = true
    let checkpoint = try OpenedCheckpoint(path: Self.classifier)
    let report = try SaliencyEvaluation.run(items: items, checkpoint: checkpoint, options: o, output: out.path)
    #expect(report.rows.count == 12)
    for row in report.rows {
      for name in ["cc", "sim", "kl", "nss", "auc_judd", "deletion_auc", "insertion_auc"] {
        #expect(row.metrics[name] != nil, "\(row.item) \(row.method) lacks \(name)")
      }
      #expect((0...1).contains(row.metrics["sim"] ?? -1))
      #expect((0...1).contains(row.metrics["auc_judd"] ?? -1))
    }
    // The sanity check: guided backprop barely changes with the top layers randomised,
    // Grad-CAM does (Adebayo et al.'s finding, on this model too).
    let sanity = try #require(report.sanity)
    #expect(sanity.steps.first?.group == "fc" && sanity.steps.last?.group == "conv1")
    let guided = try #require(sanity.methods.first { $0.method == "guided-backprop" })
    let gradcam = try #require(sanity.methods.first { $0.method == "gradcam" })
    #expect((guided.spearmanAtTarget ?? 0) >= 0.5 && guided.passed == false)
    #expect((gradcam.spearmanAtTarget ?? 1) < 0.5 && gradcam.passed == true)
    #expect(!sanity.methods.contains { $0.method == "rise" })  // perturbation methods are opt-in
    for file in ["evaluate.json", "per_image.csv", "report.md", "sanity.json", "figures/sanity_cascade.png", "figures/cc.png",
      "figures/insertion_curves.png", "raw/photo0/gradcam_source.npy", "raw/photo0/reference.npy", "raw/photo0/fixations.npy",
      "raw/photo0/rise_deletion.npy", "raw/sanity/photo0/gradcam_step01.npy"]
    {
      #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
    }
    let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
    #expect(md.contains("| method | CC (PCC) ↑") && md.contains("FAILS"))
    // The verdicts load for this checkpoint only.
    let loaded = try SaliencyEvaluation.SanityReport.load(out.appendingPathComponent("sanity.json").path, checkpointSHA256: checkpoint.sha256)
    #expect(loaded.provenanceLine.contains("guided-backprop FAIL"))
    #expect(throws: (any Error).self) { try SaliencyEvaluation.SanityReport.load(out.appendingPathComponent("sanity.json").path, checkpointSHA256: "00") }
  }

  @Test func demoFPNOnLabelledTiles() throws {
    let out = try Self.temporary("evaluate-fpn")
    defer { try? FileManager.default.removeItem(at: out) }
    let checkpoint = try OpenedCheckpoint(path: Self.repo.appendingPathComponent("Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors").path)
    var o = SaliencyEvaluation.Options()
    o.methods = [.gradcam, .fem]
    o.step = 20000
    o.limit = 1
    o.quiet = true
    let labels = AuditOptions.Source.parse(Self.repo.appendingPathComponent("Tiles/demo-eval-1-labels.tif").path) { FileManager.default.fileExists(atPath: $0) }
    let raster = Self.repo.appendingPathComponent("Tiles/demo-eval-1.tif").path
    let scene = try SaliencyEvaluation.LabelledScene(raster: raster, labels: labels, checkpoint: checkpoint)
    let items = try SaliencyEvaluation.tileItems(scene: scene, checkpoint: checkpoint, options: o)
    #expect(items.count > 3)
    let report = try SaliencyEvaluation.run(items: items, scene: scene, checkpoint: checkpoint, options: o, output: out.path)
    #expect(report.task == "segmentation" && report.items == 1 && report.rows.count == 2)
    for row in report.rows {
      #expect(row.metrics["pointing_game"] != nil && row.metrics["energy_pointing_game"] != nil)
      #expect(row.metrics["deletion_auc"] != nil && row.metrics["insertion_auc"] != nil)
      #expect(row.metrics["cc"] == nil)
    }
  }

  @Test func pointingGamesOnAVOCLayout() throws {
    let root = try Self.temporary("evaluate-voc")
    defer { try? FileManager.default.removeItem(at: root) }
    for d in ["JPEGImages", "SegmentationClass"] {
      try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
    }
    for i in 0..<2 {
      let w = 180 + 20 * i, h = 140
      var planes = [[UInt8]](repeating: [], count: 3)
      var mask = [UInt8](repeating: 0, count: w * h)
      for y in 0..<h {
        for x in 0..<w {
          planes[0].append(UInt8((3 * x + y + 20 * i) % 256))
          planes[1].append(UInt8((5 * y + i) % 256))
          planes[2].append(UInt8((x * y / 7) % 256))
          if y >= 30 && y < 110 && x >= 40 && x < 140 { mask[y * w + x] = 1 }
        }
      }
      let id = String(format: "2008_%06d", i)
      ImageStudyTests.write(root.appendingPathComponent("JPEGImages/\(id).jpg").path, driver: "JPEG", width: w, height: h, planes: planes)
      ImageStudyTests.write(root.appendingPathComponent("SegmentationClass/\(id).png").path, driver: "PNG", width: w, height: h, planes: [mask], palette: true)
    }
    let value = try StudyImages.vocIndex("aeroplane")
    let items = try StudyImages.voc(root: root.path, split: nil).map {
      SaliencyEvaluation.Item(id: $0.id, source: .image(path: $0.image, reference: nil, fixations: nil, mask: $0.mask, maskValue: value))
    }
    var o = SaliencyEvaluation.Options()
    o.methods = [.gradcam, .fem]
    o.causal = false
    o.quiet = true
    let out = root.appendingPathComponent("out")
    let report = try SaliencyEvaluation.run(items: items, checkpoint: try OpenedCheckpoint(path: Self.classifier), options: o, output: out.path)
    #expect(report.rows.count == 4)
    for row in report.rows {
      #expect(row.metrics.keys.sorted() == ["energy_pointing_game", "pointing_game"])
      #expect([0, 1].contains(row.metrics["pointing_game"] ?? -1))
    }
    // The mask was cropped to the imagenet preset's centre crop in the original geometry.
    let (mask, shape) = try NPYFile.read(out.appendingPathComponent("raw/2008_000000/mask.npy"))
    #expect(shape[0] <= 140 && shape[1] < 180 && mask.contains(1))
  }

  @Test func sourceRegionFollowsThePreset() throws {
    let g = ImagePreset.imagenet.geometry(width: 500, height: 375)
    let r = EvaluationInputs.SourceRegion(geometry: g, sourceWidth: 500, sourceHeight: 375)
    // 375 → 256 rows, 500 → 341 columns; the centre 224² covers 224·375/256 ≈ 328 rows.
    #expect(abs(r.height - 328) <= 1 && abs(r.width - 328) <= 1)
    #expect(r.x > 0 && r.y > 0 && r.x + r.width <= 500 && r.y + r.height <= 375)
    let ramp = (0..<(224 * 224)).map { Float($0 % 224) }
    let back = r.resample(ramp, geometry: g, sourceWidth: 500, sourceHeight: 375)
    #expect(back.count == r.width * r.height)
    let row = Array(back[0..<r.width])
    #expect(zip(row, row.dropFirst()).allSatisfy { $0 <= $1 } && (row.first ?? 9) < 1 && (row.last ?? 0) > 222)
    let full = EvaluationInputs.SourceRegion(geometry: ImagePreset.resize224.geometry(width: 500, height: 375), sourceWidth: 500, sourceHeight: 375)
    #expect(full == EvaluationInputs.SourceRegion(geometry: ImagePreset.none.geometry(width: 500, height: 375), sourceWidth: 500, sourceHeight: 375))
    #expect(full.x == 0 && full.y == 0 && full.width == 500 && full.height == 375)
    #expect(r.crop(indices: [r.y * 500 + r.x, 0], sourceWidth: 500) == [0])
  }

  @Test func pairsFileErrors() throws {
    let dir = try Self.temporary("pairs-bad")
    defer { try? FileManager.default.removeItem(at: dir) }
    let bad = dir.appendingPathComponent("bad.csv")
    try "picture,map\na.png,b.png\n".write(to: bad, atomically: true, encoding: .utf8)
    #expect(throws: (any Error).self) { try EvaluationInputs.pairs(csv: bad.path) }
    try "image\na.png\n".write(to: bad, atomically: true, encoding: .utf8)
    #expect(throws: (any Error).self) { try EvaluationInputs.pairs(csv: bad.path) }
    try "fixations,image\n\"f, 1.txt\",/abs/a.png\n".write(to: bad, atomically: true, encoding: .utf8)
    let p = try EvaluationInputs.pairs(csv: bad.path)
    #expect(p == [EvaluationInputs.Pair(image: "/abs/a.png", reference: nil, fixations: dir.appendingPathComponent("f, 1.txt").path)])
    #expect(throws: (any Error).self) { try EvaluationInputs.pairs(csv: dir.appendingPathComponent("missing.csv").path) }
  }

  @Test func sanityStatisticsEqualSciPyAndScikitImage() throws {
    struct E: Decodable { var sanity_a: [Float]; var sanity_b: [Float]; var spearman: Double; var ssim: Double }
    let e = try JSONDecoder().decode(E.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("explain/blackbox/expected.json")))
    #expect(abs((SanityCheck.spearman(e.sanity_a.map { abs($0) }, e.sanity_b.map { abs($0) }) ?? 9) - e.spearman) <= 1e-6)
    let q = SanityCheck.ssim(SanityCheck.scaledMagnitude(e.sanity_a), SanityCheck.scaledMagnitude(e.sanity_b), width: 10, height: 12)
    #expect(abs((q ?? 9) - e.ssim) <= 1e-6)
  }

  @Test func cascadeRunsFromTheHeadDownToTheStem() {
    let keys = ["encoder.conv1.weight", "encoder.bn1.weight", "encoder.layer1.0.conv1.weight", "encoder.layer4.2.conv3.weight",
      "encoder.layer4.2.bn3.running_var", "decoder.p5.weight", "decoder.seg_blocks.0.block.0.block.0.weight", "segmentation_head.0.weight"]
    let paths = ["input", "encoder.conv1", "encoder.bn1", "encoder.layer1.0", "encoder.layer1", "encoder.layer4.2.conv3", "encoder.layer4.2",
      "decoder.p5", "decoder", "segmentation_head.0"]
    let steps = SanityCheck.steps(keys: keys.sorted(), layerPaths: paths, targetLayer: "encoder.layer4.2.conv3")
    #expect(steps.map(\.group) == ["segmentation_head", "decoder", "encoder.layer4.2", "encoder.layer1.0", "encoder.bn1", "encoder.conv1"])
    #expect(steps.map(\.reachesTarget) == [false, false, true, true, true, true])
  }
}
