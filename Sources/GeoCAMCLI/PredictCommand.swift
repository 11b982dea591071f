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

    @Option(name: .long, help: "Classifier images: resize224 (Resize((224,224))), imagenet (shorter side --resize, centre crop 224) or none; as geocam explain.")
    var preprocess: ImagePreset = .imagenet

    @Option(name: .long, help: "Shorter side of the imagenet preset (256; 232 for torchvision's V2 weights).")
    var resize = 256

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
      var job = PredictJob(checkpoint: try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides()))
      job.tileSize = tile
      job.bands = try parseBands(bands)
      job.preset = preprocess
      job.resize = resize
      job.rawDirectory = rawDir.map { URL(fileURLWithPath: $0) }
      if let output {
        var options = PipelineOptions()
        options.overlap = overlap
        options.quiet = quiet
        print(try job.run(input: input, output: output, pipeline: options).humanReadable)
        return
      }
      let started = Date()
      let names = job.checkpoint.bundle.classNames
      let n = try job.tiles(input: input) { t in
        if job.checkpoint.bundle.model.task == .classification {
          let logits = t.logits.values
          let probs = Softmax.forward(t.logits).values
          print("rank  index  class                     logit       probability")
          for (r, k) in logits.indices.sorted(by: { logits[$0] > logits[$1] }).prefix(5).enumerated() {
            print(String(format: "%4d  %5d  %-24@  %10.4f  %.4f", r + 1, k, names[k] as NSString, logits[k], probs[k]))
          }
        } else if !quiet {
          print("tile x\(t.x)_y\(t.y): \(ClassShares.describe(t.logits, names: names))")
        }
      }
      if job.checkpoint.bundle.model.task == .segmentation {
        print(String(format: "%d tiles in %.2f s", n, Date().timeIntervalSince(started)))
      }
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


