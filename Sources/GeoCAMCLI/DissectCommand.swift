import ArgumentParser
import Foundation
import GeoCAMAudit
import GeoCAMImaging
import GeoCAMKit
import GeoCAMStudies

extension GeoCAM.Study {
  /// `geocam study dissect --checkpoint C --raster R --labels L --output DIR`.
  struct Dissect: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "dissect",
      abstract: "Network Dissection: which units of a layer detect which of your label classes (IoU of unit masks with labels).",
      discussion: """
        Per unit: threshold at the 0.995 quantile of its activations over all positions of all \
        tiles (exact); each map upsampled bilinearly to the labels, mask = upsampled > threshold; \
        IoU with each class (class 0 excluded) summed over all tiles (dataset-level, no per-image \
        gating). A unit detects its best class when that IoU >= --iou-threshold. With a \
        segmentation model: --raster R --labels L (a label raster on the same grid, or a vector \
        file PATH[:layer] with a 'class' field), cut into non-overlapping tiles; nodata pixels are \
        left out. With a classifier: --voc ROOT or --images DIR --masks DIR (label images; 255 = \
        void). Activations are held in memory (units x positions x 4 bytes), at most \
        --max-activation-gib. Writes dissect.json, dissect.csv, report.md and figures.
        """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "A raster (with --labels) for a segmentation model.")
    var raster: String?

    @Option(name: .long, help: "Truth for --raster: a label raster on the same grid or a vector file, PATH[:layer], with a 'class' field.")
    var labels: String?

    @Option(name: .long, help: "Name of the class field of a vector label layer.")
    var classField = "class"

    @Option(name: .long, help: "A Pascal VOC folder (JPEGImages/, SegmentationClass/) for a classifier; concepts are the 20 VOC classes.")
    var voc: String?

    @Option(name: .long, help: "VOC split list (train, val, trainval); default every image with a mask.")
    var split: String?

    @Option(name: .long, help: "A folder of images (with --masks) for a classifier.")
    var images: String?

    @Option(name: .long, help: "Label images named like the images: 0 background, k = concept k, 255 void.")
    var masks: String?

    @Option(name: .long, help: "Names of mask values 1, 2, … (with --images), comma-separated.")
    var conceptNames: String?

    @Option(name: .long, help: "Image preprocessing (classifier): resize224, imagenet or none.")
    var preprocess: ImagePreset = .imagenet

    @Option(name: .long, help: "Shorter side of the imagenet preset.")
    var resize = 256

    @Option(name: .long, help: "Layers to dissect, comma-separated (default encoder.layer4, or layer4 for a classifier: the block output after its ReLU).")
    var layers: String?

    @Option(name: .long, help: "Activation quantile of the unit threshold.")
    var quantile = NetworkDissection.defaultQuantile

    @Option(name: .long, help: "IoU a unit needs to detect its best concept.")
    var iouThreshold = NetworkDissection.defaultIoUThreshold

    @Option(name: .long, help: "Top units per concept and layer in the report, each with a figure.")
    var top = 5

    @Option(name: .long, help: "Tile size for --raster (no overlap).")
    var tileSize = 320

    @Option(name: .long, help: "Refuse runs whose activations and labels would need more memory than this (GiB).")
    var maxActivationGib = 2.0

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func validate() throws {
      let sources = [raster != nil, voc != nil, images != nil].filter { $0 }.count
      guard sources == 1 else { throw ValidationError("give exactly one of --raster (with --labels), --voc or --images (with --masks)") }
      if raster != nil && labels == nil { throw ValidationError("--raster needs --labels") }
      if images != nil && masks == nil { throw ValidationError("--images needs --masks") }
      if !(quantile > 0 && quantile < 1) { throw ValidationError("--quantile must be in (0, 1)") }
      if !(0...1).contains(iouThreshold) { throw ValidationError("--iou-threshold must be in [0, 1]") }
      if top < 0 { throw ValidationError("--top must be at least 0") }
      if tileSize < 32 { throw ValidationError("--tile-size must be at least 32") }
      if !(maxActivationGib > 0) { throw ValidationError("--max-activation-gib must be positive") }
    }

    func run() throws {
      let checkpoint = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides())
      var o = NetworkDissection.Options()
      o.layers = (layers ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      o.quantile = quantile
      o.iouThreshold = iouThreshold
      o.top = top
      o.tileSize = tileSize
      o.classField = classField
      o.preset = preprocess
      o.resize = resize
      o.maxActivationBytes = Int(min(maxActivationGib, 1e6) * Double(1 << 30))
      o.quiet = quiet
      let report: NetworkDissection.Report
      if let raster, let labels {
        let source = AuditOptions.Source.parse(labels) { FileManager.default.fileExists(atPath: $0) }
        report = try NetworkDissection.run(raster: raster, labels: source, checkpoint: checkpoint, options: o, output: output)
      } else if let voc {
        report = try NetworkDissection.run(
          images: try StudyImages.voc(root: voc, split: split), conceptNames: StudyImages.vocClasses, checkpoint: checkpoint,
          options: o, output: output, source: voc)
      } else if let images, let masks {
        let names = conceptNames.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        report = try NetworkDissection.run(
          images: try StudyImages.folders(images: images, masks: masks), conceptNames: names, checkpoint: checkpoint,
          options: o, output: output, source: images)
      } else {
        throw ValidationError("no input")
      }
      for l in report.layers {
        print("\(l.layer): \(l.detectorUnits) detector units of \(l.units), \(l.uniqueConcepts) concepts with a detector")
        for c in l.concepts {
          let tops = c.topUnits.map { String(format: "%d (IoU %.2f)", $0.unit, $0.iou) }.joined(separator: ", ")
          print("  \(c.concept): \(c.detectors.count) detector\(c.detectors.count == 1 ? "" : "s")" + (tops.isEmpty ? "" : "; top units \(tops)"))
        }
      }
      print(String(format: "%.3f s forward per %@", report.seconds["forward_per_image"] ?? 0, report.imageKind == "tiles" ? "tile" : "image"))
      print("  \(URL(fileURLWithPath: output).appendingPathComponent("report.md").path)")
    }
  }
}
