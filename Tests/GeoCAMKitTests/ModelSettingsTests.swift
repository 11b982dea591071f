import Foundation
import GeoCAMCheckpoint
import GeoCAMExplain
import GeoCAMKit
import GeoCAMModels
import GeoCAMTensor
import Testing

/// What a run records about the model must be what runs: batch-norm folding and class names.
@Suite struct ModelSettingsTests {
  static let preprocessing = Preprocessing(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255)

  /// Folding is fixed when the model is built: a folded model runs folded with default forward
  /// options and provenance says so; an unfolded one runs and records unfolded.
  @Test func provenanceRecordsTheFoldingThatRuns() throws {
    let weights = try SyntheticWeights.fpn(encoder: "resnet18", classes: 3)
    let plain = try FPNModel(weights)
    let folded = try FPNModel(weights, foldBatchNorm: true)
    #expect(!plain.foldsBatchNorm && folded.foldsBatchNorm)
    let pixels = Tensor(channels: 3, batch: 1, height: 64, width: 64)
    for i in 0..<pixels.count { pixels.pointer[i] = Float((i * 37) % 251) }
    let a = try plain.forward(pixels: pixels, preprocessing: Self.preprocessing, tape: Tape(recording: false), taps: [])
    let b = try folded.forward(pixels: pixels, preprocessing: Self.preprocessing, tape: Tape(recording: false), taps: [])
    // The folded path really runs (it rounds differently) and computes the same function.
    let x = a.logits.value.values, y = b.logits.value.values
    let scale = x.map(abs).max() ?? 1
    #expect(x != y)
    #expect(zip(x, y).allSatisfy { abs($0 - $1) <= 1e-3 * scale })
    for (model, expected) in [(plain, "no"), (folded, "yes")] {
      let bundle = ModelBundle(model: model, preprocessing: Self.preprocessing, classNames: ["a", "b", "c"])
      let tileModel = try ExplainingTileModel(
        bundle: bundle, explainer: Explainer(methods: [.gradcam]), layer: nil, tileSize: 64, checkpointSHA256: "test")
      #expect(tileModel.provenance["fold_batch_norm"] == expected)
    }
  }

  @Test func classNamesFromAListOrAFile() throws {
    #expect(try ClassNameList.parse("background, solar_panel,water_heater") == ["background", "solar_panel", "water_heater"])
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("names-\(getpid()).txt")
    defer { try? FileManager.default.removeItem(at: file) }
    try Data("background\nsolar panel\n\nwater_heater\r\n".utf8).write(to: file)
    #expect(try ClassNameList.parse(file.path) == ["background", "solar panel", "water_heater"])
    #expect(throws: ModelError.self) { try ClassNameList.parse("a,,b") }
    #expect(throws: ModelError.self) { try ClassNameList.parse("a,b,a") }
  }

  /// `--class-names` names the bands of a checkpoint that has none, is recorded in provenance,
  /// and must give one name per class.
  @Test func classNamesOverrideAndProvenance() throws {
    let checkpoint = DemoCheckpointTests.checkpoint
    try #require(FileManager.default.fileExists(atPath: checkpoint))
    var overrides = ModelMetadata()
    overrides.classNames = ["bg", "pv", "wh", "ph"]
    let bundle = try ModelBundle.load(path: checkpoint, overrides: overrides)
    #expect(bundle.classNames == ["bg", "pv", "wh", "ph"])
    #expect(try bundle.classIndices(["wh"]) == [2])
    let tileModel = try ExplainingTileModel(
      bundle: bundle, explainer: Explainer(methods: [.gradcam]), layer: nil, tileSize: 320, checkpointSHA256: "x")
    #expect(tileModel.provenance["class_names"] == "bg,pv,wh,ph")
    #expect(tileModel.provenance["class_names_source"] == "override")
    overrides.classNames = ["bg", "pv"]
    #expect(throws: ModelError.self) { _ = try ModelBundle.load(path: checkpoint, overrides: overrides) }
  }

  /// Strides come from the model, not from path prefixes (the prefix rule said 8 for a
  /// bottleneck's `encoder.layer2.0.conv1`, which runs before the block's strided conv2: 4).
  @Test func layerStridesAreMeasuredByTheModel() throws {
    let model = try FPNModel(try SyntheticWeights.fpn(encoder: "resnet18", classes: 3))
    let expected = [
      "encoder.conv1": 2, "encoder.layer1": 4, "encoder.layer2.0.conv1": 8,
      "encoder.layer3.1.conv2": 16, "encoder.layer4": 32, "decoder.p5": 32, "decoder.p2": 4, "segmentation_head": 1,
    ]
    for (path, stride) in expected { #expect(try model.outputStride(of: path) == stride, "\(path)") }
    let bottleneck = try FPNModel(try SyntheticWeights.fpn(encoder: "resnet50", classes: 3))
    #expect(try bottleneck.outputStride(of: "encoder.layer2.0.conv1") == 4)
    #expect(try bottleneck.outputStride(of: "encoder.layer2.0.conv2") == 8)
    let bundle = ModelBundle(model: model, preprocessing: Self.preprocessing, classNames: ["a", "b", "c"])
    let tileModel = try ExplainingTileModel(
      bundle: bundle, explainer: Explainer(methods: [.gradcam]), layer: "encoder.layer3.1.conv2", tileSize: 320,
      checkpointSHA256: "x")
    #expect(tileModel.camMapSize == 20)
  }
}
