import ArgumentParser
import Foundation
import GeoCAMCheckpoint
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMStudies
import GeoCAMModels
import GeoCAMPipeline

extension GeoCAM {
  /// `geocam explain INPUT --checkpoint CKPT --output OUT.tif`: explanation layers over a raster.
  struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Explain detections over a georeferenced raster and write GeoTIFF saliency layers.",
      discussion: """
        Per tile: one forward pass, one batched backward for all classes, then every method.
        Methods: \(ExplanationMethod.allCases.map(\.rawValue).joined(separator: ", ")).
        """)

    @Argument(help: "Raster readable by GDAL (GeoTIFF, COG, VRT, JPEG2000, /vsicurl/…); for a classifier an image, a folder of images or a list file.")
    var input: String

    @OptionGroup var model: ModelOptions
    @OptionGroup var pipeline: PipelineArguments

    @Option(name: .long, help: "Comma-separated method ids.")
    var methods = ExplanationMethod.defaults.map(\.rawValue).joined(separator: ",")

    @Option(name: .long, help: "Classes by index or name, comma-separated (default: all but class 0).")
    var classes: String?

    @Option(name: .long, help: "Target: class-mean (mean logit over valid pixels) or class-mask (over pixels whose argmax is the class).")
    var target: TargetChoice = .classMean

    @Option(name: .long, help: "Target layer by PyTorch path (default: the encoder's last conv, encoder.layer4.2.conv3 for ResNeXt-50).")
    var layer: String?

    @Option(name: .long, help: "Normalisation: none (raw layers), scene (layers ÷ a scene-wide 99th percentile), tile (the seed's per-tile (x − min)/(max + 1e-8)), minmax (per-tile (x − min)/(max − min + 1e-7)).")
    var normalize: NormalizeChoice = .none

    @Option(name: .long, help: "Where to explain: detected (class k only on tiles where it wins ≥ --min-pixels valid pixels) or all.")
    var explainWhere: PipelineOptions.ExplainWhere = .detected

    @Option(name: .long, help: "Pixels a class must win on a tile to be explained there.")
    var minPixels = 100

    @Option(name: .long, help: "Write per tile DIR/x<X>_y<Y>/logits.npy and <method>_<class>.npy raw maps.")
    var rawDir: String?

    @Option(name: .long, help: "Write the seed's pictures per tile and class into DIR.")
    var pngDir: String?

    @Option(name: .long, help: "Masked forwards per batch for scorecam/ablationcam (bounds memory).")
    var perturbationBatch: Int?

    @Flag(name: .long, help: "Fold batch norms into convolutions (faster; rounds differently from PyTorch).")
    var foldBN = false

    @OptionGroup var blackBox: BlackBoxArguments

    @Option(name: .long, help: "A sanity.json from `geocam study evaluate --sanity` for this checkpoint: its verdicts go into the provenance.")
    var sanity: String?

    @Option(name: .long, help: "Classifier images: resize224 (Resize((224,224))), imagenet (shorter side --resize, centre crop 224) or none.")
    var preprocess: ImagePreset = .imagenet

    @Option(name: .long, help: "Shorter side of the imagenet preset (256; 232 for torchvision's V2 weights).")
    var resize = 256

    func run() throws {
      let opened = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides(), foldBatchNorm: foldBN)
      if opened.bundle.model.task == .classification {
        // An image, a folder of images or a list file, into a folder.
        var job = ImageClassificationJob(checkpoint: opened)
        job.methods = try ExplanationMethod.parse(methods)
        job.classes = try classes.map { try opened.bundle.classIndices($0.split(separator: ",").map(String.init)) }
        job.layer = layer
        job.preset = preprocess
        job.resize = resize
        job.blackBox = blackBox.settings
        let results = try job.run(input: input, output: pipeline.output) { line in
          if !pipeline.quiet { FileHandle.standardError.write(Data("geocam: \(line)\n".utf8)) }
        }
        print("\(results.count) image\(results.count == 1 ? "" : "s") explained: \(URL(fileURLWithPath: pipeline.output).appendingPathComponent("predictions.csv").path)")
        return
      }
      var job = ExplainJob(checkpoint: opened)
      job.methods = try ExplanationMethod.parse(methods)
      job.classes = try job.checkpoint.classIndices(classes.map { $0.split(separator: ",").map(String.init) })
      job.target = target.target
      job.layer = layer
      job.pipeline = try pipeline.pipelineOptions()
      job.pipeline.explainWhere = explainWhere
      job.pipeline.minPixels = minPixels
      job.pipeline.normalization = normalize.layers
      job.rawDirectory = rawDir.map { URL(fileURLWithPath: $0) }
      job.pngDirectory = pngDir.map { URL(fileURLWithPath: $0) }
      job.pictureNormalization = normalize.pictures
      job.perturbationBatchSize = perturbationBatch
      job.blackBox = blackBox.settings
      if let sanity {
        let report = try SaliencyEvaluation.SanityReport.load(sanity, checkpointSHA256: opened.sha256)
        job.pipeline.provenance["sanity"] = report.provenanceLine
        job.pipeline.provenance["sanity_layer"] = report.layer
      }
      print(try job.run(input: input, output: pipeline.output).humanReadable)
    }
  }
}

/// `--target` choices.
enum TargetChoice: String, ExpressibleByArgument, CaseIterable {
  case classMean = "class-mean"
  case classMask = "class-mask"
  var target: ExplanationTarget { self == .classMean ? .classMean : .classMask }
}

/// `--normalize` choices and what they mean for layers and for pictures.
enum NormalizeChoice: String, ExpressibleByArgument, CaseIterable {
  case none, tile, minmax, scene
  var layers: PipelineOptions.Normalization {
    switch self {
    case .none: return .raw
    case .minmax: return .minmax
    case .tile: return .tile
    case .scene: return .scene
    }
  }
  var pictures: MapNormalization {
    switch self {
    case .none: return .none
    case .minmax: return .minmax
    case .tile, .scene: return .tile
    }
  }
}

extension PipelineOptions.ExplainWhere: ExpressibleByArgument {}

extension RunSummary {
  /// A few lines for the terminal (the full summary is OUT.json).
  var humanReadable: String {
    var lines = [
      "\(status.rawValue): \(tiles.explained) tiles explained, \(tiles.read) read, \(tiles.skipped) skipped, \(tiles.reused) reused in \(String(format: "%.1f", seconds)) s"
    ]
    for (key, path) in outputs.sorted(by: { $0.key < $1.key }) { lines.append("  \(key): \(path)") }
    for (name, n) in (tiles.notComputed ?? [:]).sorted(by: { $0.key < $1.key }) {
      lines.append("  \(name): not computed on \(n) tile\(n == 1 ? "" : "s") (no target pixel; nodata there)")
    }
    for w in warnings { lines.append("warning: \(w)") }
    return lines.joined(separator: "\n")
  }
}

extension ImagePreset: ExpressibleByArgument {}
