import ArgumentParser
import Foundation
import GeoCAMGeo
import GeoCAMCheckpoint
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

extension GeoCAM {
  /// `geocam predict INPUT --checkpoint CKPT [--raw-dir DIR]`: logits per tile.
  struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run the model on an image or raster: probability and class layers, and/or raw logits per tile.",
      discussion: """
        With --output, a city-scale run writes OUT.probs.tif, OUT.classes.tif, OUT.quicklook.png and
        OUT.json (tiles blended across --overlap, resumable, shardable). Without it, tiles of --tile
        pixels without overlap (the last row and column shifted inward) and --raw-dir logits only.
        """)

    @Argument(help: "Image or raster readable by GDAL (GeoTIFF, PNG, JPEG, VRT, …).")
    var input: String

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Write DIR/x<X>_y<Y>/logits.npy per tile (float32; [classes,H,W] or [classes]).")
    var rawDir: String?

    @Option(name: .long, help: "Tile size in pixels for segmentation models (a multiple of 32).")
    var tile = 320

    @Option(name: .long, parsing: .singleValue, help: "Bands to read, 1-based, in the model's channel order (default 1,2,3).")
    var bands: [String] = ["1,2,3"]

    @Option(name: .long, help: "Classifier resizing: 'direct' (bilinear to 224×224, the seed's Resize) or 'center-crop' (short side 256, centre crop 224).")
    var resize: ClassifierResize = .direct

    @Flag(name: .long, help: "Print no per-tile lines.")
    var quiet = false

    @Option(name: .shortAndLong, help: "City-scale run: write OUT.probs.tif, OUT.classes.tif, OUT.quicklook.png, OUT.json.")
    var output: String?

    @Option(name: .long, help: "With --output: pixels shared by neighbouring tiles.")
    var overlap = 64

    func validate() throws {
      if tile <= 0 || tile % 32 != 0 { throw ValidationError("--tile must be a positive multiple of 32") }
    }

    func run() throws {
      let bundle = try model.load()
      let bandList = try parseBands(bands)
      if let output {
        var options = PipelineOptions()
        options.tileSize = tile
        options.overlap = overlap
        options.bands = bandList
        options.predictOnly = true
        options.command = "predict"
        options.quiet = quiet
        options.provenance["geocam_version"] = GeoCAMVersion.string
        let tileModel = try ExplainingTileModel(
          bundle: bundle, explainer: Explainer(methods: []), layer: nil, tileSize: tile,
          checkpointSHA256: try SHA256.hex(ofFile: model.checkpoint),
          artifacts: rawDir.map { TileArtifacts(rawDirectory: URL(fileURLWithPath: $0), pngDirectory: nil) })
        print(try CityPipeline.run(input: input, output: output, model: tileModel, options: options).humanReadable)
        return
      }
      let raster = try GeoRaster(path: input)
      let started = Date()
      switch bundle.model.task {
      case .segmentation:
        let grid = try TileGrid(width: raster.width, height: raster.height, tileSize: tile, overlap: 0)
        for t in grid.tiles {
          let window = try raster.readWindow(x: t.x, y: t.y, width: tile, height: tile, bands: bandList)
          let pixels = TileInput.tensor(window, fill: bundle.preprocessing.neutralPixel).tensor
          let out = try bundle.model.forward(
            pixels: pixels, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: [])
          try writeLogits(out.logits.value, x: t.x, y: t.y)
          if !quiet { print("tile x\(t.x)_y\(t.y): \(ClassShares.describe(out.logits.value, names: bundle.classNames))") }
        }
        print(String(format: "%d tiles in %.2f s", grid.count, Date().timeIntervalSince(started)))
      case .classification:
        let window = try raster.readWindow(x: 0, y: 0, width: raster.width, height: raster.height, bands: bandList)
        let pixels = try resize.apply(TileInput.tensor(window, fill: bundle.preprocessing.neutralPixel).tensor)
        let out = try bundle.model.forward(
          pixels: pixels, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: [])
        try writeLogits(out.logits.value, x: 0, y: 0)
        let logits = out.logits.value.values
        let top = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5)
        for k in top { print(String(format: "%6d  %-24@  %.4f", k, bundle.classNames[k] as NSString, logits[k])) }
      }
    }

    func writeLogits(_ logits: Tensor, x: Int, y: Int) throws {
      guard let rawDir else { return }
      try TileArtifacts(rawDirectory: URL(fileURLWithPath: rawDir), pngDirectory: nil).writeLogits(logits, x: x, y: y)
    }
  }
}

/// Parses `--bands` values like `1,2,3` or `3 2 1`.
func parseBands(_ specs: [String]) throws -> [Int] {
  let values = specs.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }
  let bands = try values.map { s -> Int in
    guard let b = Int(s), b >= 1 else { throw ValidationError("--bands: '\(s)' is not a 1-based band number") }
    return b
  }
  guard bands.count == 3 else { throw ValidationError("--bands needs 3 bands (the model takes RGB), got \(bands.count)") }
  return bands
}

/// How classifier inputs are brought to 224×224.
enum ClassifierResize: String, ExpressibleByArgument, CaseIterable {
  case direct
  case centerCrop = "center-crop"

  func apply(_ t: Tensor) throws -> Tensor {
    switch self {
    case .direct:
      return t.height == 224 && t.width == 224 ? t : try resize(t, height: 224, width: 224)
    case .centerCrop:
      let scale = 256 / Double(min(t.height, t.width))
      let h = max(224, Int((Double(t.height) * scale).rounded())), w = max(224, Int((Double(t.width) * scale).rounded()))
      let r = try resize(t, height: h, width: w)
      let y0 = (h - 224) / 2, x0 = (w - 224) / 2
      let out = Tensor(channels: t.channels, batch: 1, height: 224, width: 224)
      for c in 0..<t.channels { for y in 0..<224 { for x in 0..<224 { out[c, 0, y, x] = r[c, 0, y0 + y, x0 + x] } } }
      return out
    }
  }

  private func resize(_ t: Tensor, height: Int, width: Int) throws -> Tensor {
    var values: [Float] = []
    for c in 0..<t.channels {
      let plane = Array(UnsafeBufferPointer(start: t.plane(c, 0), count: t.planeSize))
      values += try Resize.bilinear(plane, height: t.height, width: t.width, toHeight: height, toWidth: width)
    }
    return Tensor(channels: t.channels, batch: 1, height: height, width: width, values: values)
  }
}

/// Per-class pixel shares of an argmax map, for progress lines.
enum ClassShares {
  static func describe(_ logits: Tensor, names: [String]) -> String {
    let plane = logits.planeSize
    var counts = [Int](repeating: 0, count: logits.channels)
    for i in 0..<plane { counts[logits.channelArgmax(at: i)] += 1 }
    return zip(names, counts).map { String(format: "%@ %.1f%%", $0 as NSString, 100 * Double($1) / Double(plane)) }
      .joined(separator: ", ")
  }
}
