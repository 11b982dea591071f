import Foundation
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMGeoTestSupport
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor
import Testing

/// The whole chain on the real model size: a full FPN(resnext50_32x4d) (synthetic weights),
/// a georeferenced raster, the city pipeline, layers, raw arrays and pictures.
@Suite("End to end on the full-size FPN", .serialized)
struct EndToEndTests {
  /// Writes a 3-band Byte GeoTIFF with smooth structure.
  static func raster(width: Int, height: Int, at path: String) throws {
    try TestGeoTIFF.write(path, width: width, height: height, bands: 3, of: UInt8.self) { b, x, y in
      let checker: Double = (x / 40 + y / 40) % 2 == 0 ? 40 : 0
      let v = 120 + 60 * sin(Double(x) / Double(9 + 4 * b)) * cos(Double(y) / 13) + checker
      return UInt8(max(0, min(255, v)))
    }
  }

  @Test("one tile, overlap 0: each layer pixel is the tile's upsampled raw map; raw arrays and pictures written")
  func singleTileIdentity() throws {
    let dir = try TestGeoTIFF.makeTempDir("geocam-e2e")
    defer { TestGeoTIFF.removeDir(dir) }
    let input = dir.appendingPathComponent("scene.tif").path
    try Self.raster(width: 320, height: 320, at: input)
    let weights = try SyntheticWeights.fpn(encoder: "resnext50_32x4d", classes: 4)
    let model = try FPNModel(weights)
    let bundle = ModelBundle(
      model: model, preprocessing: Preprocessing(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255),
      classNames: ["background", "solar_panel", "water_heater", "pool_heater"])
    let raw = dir.appendingPathComponent("raw")
    let png = dir.appendingPathComponent("png")
    let tileModel = try ExplainingTileModel(
      bundle: bundle, explainer: Explainer(methods: [.gradcam, .guidedGradcam]), layer: nil, tileSize: 320,
      checkpointSHA256: "test", artifacts: TileArtifacts(rawDirectory: raw, pngDirectory: png))
    var options = PipelineOptions()
    options.overlap = 0
    options.explainWhere = .all
    options.classes = [1, 2]
    options.quiet = true
    let output = dir.appendingPathComponent("out.tif").path
    let summary = try CityPipeline.run(input: input, output: output, model: tileModel, options: options)
    #expect(summary.tiles.explained == 1)

    let layers = try GeoRaster(path: output)
    #expect(layers.bandCount == 4)
    #expect(layers.bandDescription(1) == "gradcam:solar_panel")
    #expect(layers.bandDescription(4) == "guided-gradcam:water_heater")
    let source = try GeoRaster(path: input)
    #expect(layers.crsWKT == source.crsWKT)
    #expect(layers.geoTransform == source.geoTransform)

    let tileDir = raw.appendingPathComponent("x0_y0")
    let (logits, logitsShape) = try NPYFile.read(tileDir.appendingPathComponent("logits.npy"))
    #expect(logitsShape == [4, 320, 320])
    let (cam, camShape) = try NPYFile.read(tileDir.appendingPathComponent("gradcam_1.npy"))
    #expect(camShape == [10, 10])
    let (_, guidedShape) = try NPYFile.read(tileDir.appendingPathComponent("guided-gradcam_2.npy"))
    #expect(guidedShape == [3, 320, 320])
    let up = try Resize.bilinear(cam, height: 10, width: 10, toHeight: 320, toWidth: 320)
    let band = try layers.readWindow(x: 0, y: 0, width: 320, height: 320, bands: [1]).data
    var worst: Float = 0
    for i in 0..<up.count { worst = max(worst, abs(band[i] - up[i])) }
    #expect(worst <= 1e-6 * max(1, up.max() ?? 1))

    // Probabilities sum to 1 and the class layer is their argmax.
    let probs = try GeoRaster(path: dir.appendingPathComponent("out.probs.tif").path)
    let p = try probs.readWindow(x: 0, y: 0, width: 320, height: 320).data
    let classes = try GeoRaster(path: dir.appendingPathComponent("out.classes.tif").path)
    let c = try classes.readWindow(x: 0, y: 0, width: 320, height: 320).data
    let plane = 320 * 320
    for i in stride(from: 0, to: plane, by: 97) {
      let s = (0..<4).reduce(Float(0)) { $0 + p[$1 * plane + i] }
      #expect(abs(s - 1) < 1e-5)
      let best = (0..<4).max { p[$0 * plane + i] < p[$1 * plane + i] } ?? 0
      let l = (0..<4).max { logits[$0 * plane + i] < logits[$1 * plane + i] } ?? 0
      #expect(Int(c[i]) == best && best == l)
    }
    #expect(FileManager.default.fileExists(atPath: png.appendingPathComponent("x0_y0_gradcam_1.png").path))
    #expect(FileManager.default.fileExists(atPath: png.appendingPathComponent("x0_y0_classes.png").path))
  }
}

/// Class-agnostic methods are written once per window (`fem:all`), never per class; RISE's
/// input-sized maps blend like any other.
@Suite("Class-agnostic and input-sized maps in the layers", .serialized)
struct ClassAgnosticLayerTests {
  @Test func femIsOneBandAndRiseBlends() throws {
    let dir = try TestGeoTIFF.makeTempDir("geocam-fem-all")
    defer { TestGeoTIFF.removeDir(dir) }
    let input = dir.appendingPathComponent("scene.tif").path
    try EndToEndTests.raster(width: 320, height: 320, at: input)
    let weights = try SyntheticWeights.fpn(encoder: "resnet18", classes: 4)
    let bundle = ModelBundle(
      model: try FPNModel(weights), preprocessing: Preprocessing(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255),
      classNames: ["background", "solar_panel", "water_heater", "pool_heater"])
    var settings = BlackBoxSettings()
    settings.riseMasks = 8
    let explainer = Explainer(methods: [.gradcam, .fem, .rise], blackBox: settings)
    let tileModel = try ExplainingTileModel(bundle: bundle, explainer: explainer, layer: nil, tileSize: 320, checkpointSHA256: "test")
    #expect(tileModel.classAgnosticMethods == ["fem"])
    var options = PipelineOptions()
    options.overlap = 0
    options.explainWhere = .all
    options.classes = [1, 2]
    options.quiet = true
    let output = dir.appendingPathComponent("out.tif").path
    _ = try CityPipeline.run(input: input, output: output, model: tileModel, options: options)
    let layers = try GeoRaster(path: output)
    #expect(layers.bandCount == 5)
    #expect((1...5).map { layers.bandDescription($0) } == [
      "gradcam:solar_panel", "gradcam:water_heater", "fem:all", "rise:solar_panel", "rise:water_heater",
    ])
    // The FEM band is the session's FEM map upsampled, whatever the class.
    let pixels = try GeoRaster(path: input).readWindow(x: 0, y: 0, width: 320, height: 320)
    let (t, _) = TileInput.tensor(pixels, fill: bundle.preprocessing.neutralPixel)
    let session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: t)
    let fem = try #require(try Explainer(methods: [.fem]).explain(session, classes: [1]).explanations.first)
    let up = try fem.plane(toHeight: 320, toWidth: 320)
    let band = try layers.readWindow(x: 0, y: 0, width: 320, height: 320, bands: [3]).data
    #expect(zip(band, up).map { abs($0 - $1) }.max() ?? 1 <= 1e-5)
    let rise = try layers.readWindow(x: 0, y: 0, width: 320, height: 320, bands: [4]).data
    #expect(rise.contains { $0 != rise[0] })
  }
}
