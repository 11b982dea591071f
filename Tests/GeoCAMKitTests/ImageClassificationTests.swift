import Foundation
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMTensor
import Testing

/// Classifier workflows on image folders: decoding like Pillow's convert('RGB'), presets,
/// predictions.csv, per-image raw maps and pictures, and the refusals.
@Suite struct ImageClassificationTests {
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let classifier = repo.appendingPathComponent("Tests/Fixtures/models/classifier_tiny.safetensors").path

  static func folder() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-images-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var rgb = [UInt8]()
    for y in 0..<150 {
      for x in 0..<200 {
        let r = UInt8((3 * x + y) % 256), g = UInt8((5 * y) % 256), b = UInt8((x * y / 7) % 256)
        rgb.append(r)
        rgb.append(g)
        rgb.append(b)
      }
    }
    try PNGImage(width: 200, height: 150, format: .rgb, pixels: rgb).write(to: dir.appendingPathComponent("a.png").path)
    let grey = stride(from: 0, to: rgb.count, by: 3).map { rgb[$0] }
    try PNGImage(width: 200, height: 150, format: .gray, pixels: grey).write(to: dir.appendingPathComponent("b.png").path)
    return dir
  }

  @Test func greyImagesDecodeAsReplicatedRGB() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let g = try RGBImageLoader.load(dir.appendingPathComponent("b.png").path)
    #expect(g.width == 200 && g.height == 150)
    var replicated = true
    for p in 0..<(200 * 150) {
      let r = g.pixels[3 * p], gg = g.pixels[3 * p + 1], b = g.pixels[3 * p + 2]
      if r != gg || r != b { replicated = false }
    }
    #expect(replicated)
    #expect(try RGBImageLoader.imagePaths(dir.path).map { ($0 as NSString).lastPathComponent } == ["a.png", "b.png"])
  }

  @Test func explainsAFolderWithOneForwardPerImage() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    var job = ImageClassificationJob(checkpoint: try OpenedCheckpoint(path: Self.classifier))
    job.methods = [.gradcam, .guidedGradcam]
    job.layer = "layer4"
    let out = dir.appendingPathComponent("out")
    let results = try job.run(input: dir.path, output: out.path)
    #expect(results.count == 2)
    for r in results {
      #expect(r.top.count == 5)
      #expect(zip(r.top, r.top.dropFirst()).allSatisfy { $0.logit >= $1.logit })
      #expect(r.explained == [r.top[0].index])
      let k = r.top[0].index
      let (cam, shape) = try NPYFile.read(out.appendingPathComponent("\(r.stem)/gradcam_\(k).npy"))
      #expect(shape == [7, 7] && cam.allSatisfy { $0 >= 0 })
      #expect(try NPYFile.read(out.appendingPathComponent("\(r.stem)/guided-gradcam_\(k).npy")).shape == [3, 224, 224])
      #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("\(r.stem)/gradcam_\(k).png").path))
    }
    let csv = try String(contentsOf: out.appendingPathComponent("predictions.csv"), encoding: .utf8)
    #expect(csv.hasPrefix("image,rank,class_index,class,logit,probability\n"))
    #expect(csv.split(separator: "\n").count == 11)
    // The top-1 map equals the explainer run on the same preprocessed input directly.
    let bundle = job.checkpoint.bundle
    let decoded = try RGBImageLoader.load(dir.appendingPathComponent("a.png").path)
    let (rgb, g) = try ImagePreset.imagenet.apply(rgb: decoded.pixels, width: decoded.width, height: decoded.height)
    let plane = g.width * g.height
    var values = [Float](repeating: 0, count: 3 * plane)
    for p in 0..<plane { for c in 0..<3 { values[c * plane + p] = Float(rgb[3 * p + c]) } }
    let t = Tensor(channels: 3, batch: 1, height: 224, width: 224, values: values)
    let session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: t, layer: "layer4")
    let k = results[0].top[0].index
    let direct = try Explainer(methods: [.gradcam]).explain(session, classes: [k]).explanations[0].values
    #expect(try NPYFile.read(out.appendingPathComponent("a/gradcam_\(k).npy")).values == direct)
    // Given classes are explained instead of the top-1.
    job.classes = [3, 4]
    let again = try job.run(input: dir.appendingPathComponent("a.png").path, output: dir.appendingPathComponent("out2").path)
    #expect(again[0].explained == [3, 4])
  }

  @Test func predictSeesThePixelsExplainSees() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let checkpoint = try OpenedCheckpoint(path: Self.classifier)
    for preset in [ImagePreset.imagenet, .resize224] {
      var explain = ImageClassificationJob(checkpoint: checkpoint)
      explain.methods = [.gradcam]
      explain.preset = preset
      let results = try explain.run(input: dir.appendingPathComponent("a.png").path, output: dir.appendingPathComponent("out-\(preset.rawValue)").path)
      var predict = PredictJob(checkpoint: checkpoint)
      predict.preset = preset
      var logits: [Float] = []
      try predict.tiles(input: dir.appendingPathComponent("a.png").path) { logits = $0.logits.values }
      let top = try #require(results.first?.top)
      for t in top { #expect(logits[t.index] == t.logit) }
    }
  }

  @Test func refusesGeoTIFFOutputsAndSegmentationModels() throws {
    let dir = try Self.folder()
    defer { try? FileManager.default.removeItem(at: dir) }
    let job = ImageClassificationJob(checkpoint: try OpenedCheckpoint(path: Self.classifier))
    #expect(throws: (any Error).self) { _ = try job.run(input: dir.path, output: dir.appendingPathComponent("x.tif").path) }
    let fpn = ModelBundle(
      model: try FPNModel(try SyntheticWeights.fpn(encoder: "resnet18", classes: 3)),
      preprocessing: Preprocessing(mean: [0, 0, 0], std: [1, 1, 1], pixelRange: 255), classNames: ["a", "b", "c"])
    let seg = ImageClassificationJob(checkpoint: OpenedCheckpoint(bundle: fpn, sha256: "x"))
    #expect(throws: (any Error).self) { _ = try seg.run(input: dir.path, output: dir.appendingPathComponent("o").path) }
  }
}

/// JPEG decoding through GDAL equals Pillow's `convert('RGB')` on the pinned fixtures.
@Suite struct JPEGDecodeTests {
  static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/imaging")

  @Test func equalsPillow() throws {
    for name in ["pillow_decode", "pillow_decode_grey"] {
      let ours = try RGBImageLoader.load(Self.dir.appendingPathComponent("\(name).jpg").path)
      let d = [UInt8](try Data(contentsOf: Self.dir.appendingPathComponent("\(name).u8.npy")))
      let header = Int(d[8]) | Int(d[9]) << 8
      let pillow = Array(d[(10 + header)...])
      #expect(ours.width == 120 && ours.height == 90)
      #expect(ours.pixels == pillow, "\(name): \(zip(ours.pixels, pillow).filter { $0 != $1 }.count) bytes differ")
    }
  }
}
