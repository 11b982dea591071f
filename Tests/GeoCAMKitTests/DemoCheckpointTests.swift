import Foundation
import GeoCAMCheckpoint
import GeoCAMGeo
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMExplain
import GeoCAMTensor
import Testing

/// The committed demo checkpoint on the committed demo scene: guards the float16 safetensors path
/// (metadata, rescaled stem) and the facts the README states about the demo.
@Suite("Demo checkpoint on the demo scene")
struct DemoCheckpointTests {
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let checkpoint = repo.appendingPathComponent("Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors").path
  static let scene = repo.appendingPathComponent("Tiles/demo-main.tif").path
  static let labels = repo.appendingPathComponent("Tiles/demo-main-labels.tif").path

  /// A 320-px tile of the demo scene.
  static func tile(x: Int, y: Int) throws -> RasterWindow {
    try GeoRaster(path: scene).readWindow(x: x, y: y, width: 320, height: 320)
  }

  /// The ground-truth classes of the same tile.
  static func truth(x: Int, y: Int) throws -> [Float] {
    try GeoRaster(path: labels).readWindow(x: x, y: y, width: 320, height: 320).data
  }

  /// The argmax class map of one 320-px tile, predicted without blending.
  static func classMap(_ bundle: ModelBundle, _ window: RasterWindow) throws -> [UInt8] {
    let pixels = TileInput.tensor(window, fill: bundle.preprocessing.neutralPixel).tensor
    let logits = try bundle.model.forward(
      pixels: pixels, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: []
    ).logits.value
    return (0..<logits.planeSize).map { UInt8(logits.channelArgmax(at: $0)) }
  }

  /// Pixels predicted as `cls` in the square `lo..<hi` (both axes) of a tile's class map.
  static func count(_ map: [UInt8], _ cls: UInt8, _ lo: Int, _ hi: Int) -> Int {
    var n = 0
    for y in lo..<hi { for x in lo..<hi where map[y * 320 + x] == cls { n += 1 } }
    return n
  }

  @Test("metadata as documented; a tile with all three classes is segmented with IoU ≥ 0.7 per class")
  func segmentsTheDemoScene() throws {
    let bundle = try ModelBundle.load(path: Self.checkpoint)
    #expect(bundle.classNames == ["background", "solar_panel", "water_heater", "pool_heater"])
    #expect(bundle.metadata.gsdM == 0.08)
    #expect(bundle.metadata.pixelRange == 255)
    let predicted = try Self.classMap(bundle, Self.tile(x: 512, y: 1280))
    let truth = try Self.truth(x: 512, y: 1280)
    for k in 1...3 {
      var inter = 0
      var union = 0
      for i in predicted.indices {
        let p = predicted[i] == k
        let t = Int(truth[i]) == k
        if p && t { inter += 1 }
        if p || t { union += 1 }
      }
      #expect(union > 1000, "class \(k) is present in the tile")
      #expect(Double(inter) / Double(union) >= 0.7, "class \(k): IoU \(Double(inter) / Double(union))")
    }
  }

  @Test("predicting a group of tiles at once gives each tile's probabilities from a full session, bit for bit")
  func groupedPredictionEqualsSessions() throws {
    let bundle = try ModelBundle.load(path: Self.checkpoint)
    let model = try ExplainingTileModel(
      bundle: bundle, explainer: Explainer(methods: [.gradcam]), layer: nil, tileSize: 320,
      checkpointSHA256: "test")
    var inputs: [TilePixels] = []
    for (x, y) in [(512, 1280), (0, 0)] {
      let w = try Self.tile(x: x, y: y)
      var valid = w.mask
      // Padding on the second tile, as at a raster's edge.
      if x == 0 { for i in 0..<(320 * 40) { valid[i] = 0 } }
      inputs.append(TilePixels(pixels: w.data, valid: valid, origin: TileOrigin(x: x, y: y)))
    }
    let grouped = try model.predict(inputs, size: 320)
    #expect(grouped.count == 2)
    for (input, probs) in zip(inputs, grouped) {
      let session = try model.begin(pixels: input.pixels, valid: input.valid, size: 320)
      #expect(probs == session.probabilities)
    }
  }

  @Test("explaining two tiles at once, one core each, gives each tile's maps from a session on all cores, bit for bit")
  func groupedExplanationEqualsSessions() throws {
    let bundle = try ModelBundle.load(path: Self.checkpoint)
    let model = try ExplainingTileModel(
      bundle: bundle, explainer: Explainer(methods: [.gradcam, .gradcamPlusPlus, .guidedGradcam]), layer: nil,
      tileSize: 320, checkpointSHA256: "test")
    #expect(model.explainGroupSize == (Parallel.workers >= 2 ? 2 : 1))
    let tiles = try [(512, 1280), (248, 34)].map { try Self.tile(x: $0.0, y: $0.1) }
    func explain(_ i: Int) throws -> [TileMap] {
      try model.begin(pixels: tiles[i].data, valid: tiles[i].mask, size: 320).explain(classes: [1, 2, 3])
    }
    let grouped = try Parallel.withWorkers(2) { try model.concurrently(2, explain) }
    let alone = try Parallel.withWorkers(2) { try (0..<2).map(explain) }
    // More workers than this machine may have cores: kernels may split work differently.
    let wide = try Parallel.withWorkers(4) { try (0..<2).map(explain) }
    #expect(grouped.count == 2)
    for (g, a) in Array(zip(grouped, alone)) + Array(zip(wide, alone)) {
      #expect(g.count == 9 && g.count == a.count)
      for (gm, am) in zip(g, a) {
        #expect(gm.method == am.method && gm.classIndex == am.classIndex)
        #expect(gm.values == am.values, "\(gm.method) class \(gm.classIndex)")
      }
    }
  }

  @Test("the skylight the README audits (pixel 408, 194) is taken for a water heater")
  func auditedSkylightIsAFalsePositive() throws {
    let bundle = try ModelBundle.load(path: Self.checkpoint)
    let predicted = try Self.classMap(bundle, Self.tile(x: 248, y: 34))
    let truth = try Self.truth(x: 248, y: 34)
    // a 9×9 patch at the skylight's centre (tile pixel 160, 160): background in the truth
    var waterHeater = 0
    for y in 156...164 {
      for x in 156...164 {
        #expect(truth[y * 320 + x] == 0)
        if predicted[y * 320 + x] == 2 { waterHeater += 1 }
      }
    }
    #expect(waterHeater >= 60, "\(waterHeater) of 81 pixels predicted as water heater")
  }

  @Test("README audit: painting the pool heater beside that skylight over leaves the skylight a water heater")
  func occludingTheNeighbourDoesNotMatter() throws {
    let bundle = try ModelBundle.load(path: Self.checkpoint)
    var window = try Self.tile(x: 248, y: 34)
    let truth = try Self.truth(x: 248, y: 34)
    // the pool heater's bounding box in the truth, grown by 3 px, filled with the roof colour
    // (per-band median of a 6-px strip left of it); this tile holds one pool heater, at
    // x 215-252, y 123-162, well inside the tile, as the README's occlusion check used it
    let cells = truth.indices.filter { truth[$0] == 3 }
    let xs = cells.map { $0 % 320 }
    let ys = cells.map { $0 / 320 }
    guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else {
      Issue.record("no pool heater in the tile")
      return
    }
    for b in 0..<3 {
      let plane = b * 320 * 320
      var strip: [Float] = []
      for y in y0..<y1 { for x in (x0 - 12)..<(x0 - 6) { strip.append(window.data[plane + y * 320 + x]) } }
      strip.sort()
      let m = strip.count / 2
      let colour = strip.count % 2 == 0 ? (strip[m - 1] + strip[m]) / 2 : strip[m]
      for y in max(0, y0 - 3)...min(319, y1 + 3) {
        for x in max(0, x0 - 3)...min(319, x1 + 3) { window.data[plane + y * 320 + x] = colour }
      }
    }
    let mapBefore = try Self.classMap(bundle, Self.tile(x: 248, y: 34))
    let mapAfter = try Self.classMap(bundle, window)
    // The edit really removed the pool heater: its pool-heater pixels are gone.
    func poolHeater(_ map: [UInt8]) -> Int { cells.filter { map[$0] == 3 }.count }
    #expect(poolHeater(mapBefore) * 2 > cells.count, "the pool heater is a pool heater before the edit")
    #expect(poolHeater(mapAfter) * 20 < cells.count, "\(poolHeater(mapAfter)) pool-heater pixels left after painting")
    let before = Self.count(mapBefore, 2, 150, 171)
    let after = Self.count(mapAfter, 2, 150, 171)
    #expect(before >= 250, "\(before) water-heater pixels at the skylight")
    #expect(after >= 250, "\(after) water-heater pixels at the skylight with the pool heater painted over")
  }
}
