import ArgumentParser
import Foundation
import GeoCAMAudit
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMStudies

extension GeoCAM.Study {
  /// `geocam study evaluate --checkpoint C (--pairs CSV | --images DIR | --voc ROOT | --raster R --labels L) --output DIR`.
  struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "How good are the maps? Agreement with human maps (CC, SIM, KL, NSS, AUC-Judd), localisation (pointing games), faithfulness (insertion/deletion AUC) and a sanity check, per method.",
      discussion: """
        Inputs: --pairs FILE.csv (columns image, reference[, fixations]: density maps and fixation \
        files next to the images), --images (faithfulness only), --voc ROOT --voc-class NAME \
        (pointing games on the class's masks) for a classifier; --raster R --labels L for a \
        segmentation model (one item per tile and labelled class). --sanity re-initialises the \
        model from the top down and reports whether each method's map depends on the weights \
        (sanity.json; copy its verdicts into a run's provenance with explain/audit --sanity). \
        Writes evaluate.json, per_image.csv, report.md, figures/ and raw/ (maps and curves that \
        Scripts/checks/evaluate_reference.py recomputes).
        """)

    @OptionGroup var model: ModelOptions
    @OptionGroup var blackBox: BlackBoxArguments

    @Option(name: .long, help: "A CSV with columns image, reference and optionally fixations (paths relative to the CSV).")
    var pairs: String?

    @Option(name: .long, help: "An image, a folder of images or a list file (faithfulness only).")
    var images: String?

    @Option(name: .long, help: "A Pascal VOC folder: pointing games against --voc-class's masks.")
    var voc: String?

    @Option(name: .long, help: "The VOC class whose mask is the object (name or 1…20).")
    var vocClass: String?

    @Option(name: .long, help: "VOC split list (train, val, trainval).")
    var split: String?

    @Option(name: .long, help: "A labelled raster (with --labels) for a segmentation model.")
    var raster: String?

    @Option(name: .long, help: "Truth for --raster: a label raster on the same grid or a vector file, PATH[:layer].")
    var labels: String?

    @Option(name: .long, help: "Comma-separated method ids.")
    var methods = "gradcam,fem,rise,lime"

    @Option(name: .long, help: "Classifier: the class to explain (default each image's top-1). Segmentation: classes evaluated (default all but 0).")
    var classes: String?

    @Option(name: .long, help: "Target layer (default the last convolution / encoder.layer4.2.conv3).")
    var layer: String?

    @Option(name: .long, help: "Segmentation target: class-mask (pixels predicted as the class) or class-mean.")
    var target: TargetChoice = .classMask

    @Option(name: .long, help: "Labelled pixels of a class a tile needs to be evaluated (segmentation).")
    var minPixels = 20

    @Option(name: .long, help: "Image preprocessing: resize224, imagenet or none.")
    var preprocess: ImagePreset = .imagenet

    @Option(name: .long, help: "Shorter side of the imagenet preset.")
    var resize = 256

    @Option(name: .long, help: "Pixels per insertion/deletion step (default 224 for a 224² input, scaled by area).")
    var step: Int?

    @Flag(name: .long, help: "Skip insertion/deletion (each costs ⌈HW/step⌉+1 forwards per map).")
    var noCausal = false

    @Option(name: .long, help: "Perturbed images per forward (default about 4 × 320² pixels per batch, at most 16).")
    var batchSize: Int?

    @Flag(name: .long, help: "Run the cascading randomisation sanity check and write sanity.json.")
    var sanity = false

    @Option(name: .long, help: "Items the sanity check runs on (the first ones).")
    var sanityItems = 4

    @Option(name: .long, help: "Methods the sanity check runs (default all but the perturbation methods).")
    var sanityMethods: String?

    @Option(name: .long, help: "Evaluate at most N items.")
    var limit: Int?

    @Option(name: .long, help: "Where per-item maps and curves go (default OUTPUT/raw).")
    var rawDir: String?

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func validate() throws {
      let sources = [pairs != nil, images != nil, voc != nil, raster != nil].filter { $0 }.count
      guard sources == 1 else { throw ValidationError("give exactly one of --pairs, --images, --voc (with --voc-class) or --raster (with --labels)") }
      if raster != nil && labels == nil { throw ValidationError("--raster needs --labels") }
      if voc != nil && vocClass == nil { throw ValidationError("--voc needs --voc-class") }
      if let step, step < 1 { throw ValidationError("--step must be at least 1") }
      if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
      if sanityItems < 1 { throw ValidationError("--sanity-items must be at least 1") }
      if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
      if minPixels < 1 { throw ValidationError("--min-pixels must be at least 1") }
    }

    func run() throws {
      let checkpoint = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides())
      var o = SaliencyEvaluation.Options()
      o.methods = try ExplanationMethod.parse(methods)
      o.classes = try classes.map { try checkpoint.bundle.classIndices($0.split(separator: ",").map(String.init)) }
      o.layer = layer
      o.preset = preprocess
      o.resize = resize
      o.step = step
      o.causal = !noCausal
      o.blackBox = blackBox.settings
      o.batchSize = batchSize
      o.target = target.target
      o.minPixels = minPixels
      o.sanity = sanity
      o.sanityItems = sanityItems
      o.sanityMethods = try sanityMethods.map { try ExplanationMethod.parse($0) }
      o.sanitySeed = blackBox.seed
      o.rawDir = rawDir
      o.limit = limit
      o.quiet = quiet
      let items: [SaliencyEvaluation.Item]
      var scene: SaliencyEvaluation.LabelledScene?
      if let raster, let labels {
        let source = AuditOptions.Source.parse(labels) { FileManager.default.fileExists(atPath: $0) }
        let labelled = try SaliencyEvaluation.LabelledScene(raster: raster, labels: source, checkpoint: checkpoint)
        scene = labelled
        items = try SaliencyEvaluation.tileItems(scene: labelled, checkpoint: checkpoint, options: o)
      } else if let pairs {
        items = try EvaluationInputs.pairs(csv: pairs).map { p in
          SaliencyEvaluation.Item(
            id: (((p.image as NSString).lastPathComponent) as NSString).deletingPathExtension,
            source: .image(path: p.image, reference: p.reference, fixations: p.fixations, mask: nil, maskValue: nil))
        }
      } else if let voc, let vocClass {
        let value = try StudyImages.vocIndex(vocClass)
        items = try StudyImages.voc(root: voc, split: split).map {
          SaliencyEvaluation.Item(id: $0.id, source: .image(path: $0.image, reference: nil, fixations: nil, mask: $0.mask, maskValue: value))
        }
      } else {
        items = try RGBImageLoader.imagePaths(images ?? "").map { p in
          SaliencyEvaluation.Item(
            id: (((p as NSString).lastPathComponent) as NSString).deletingPathExtension,
            source: .image(path: p, reference: nil, fixations: nil, mask: nil, maskValue: nil))
        }
      }
      let report = try SaliencyEvaluation.run(
        items: items, scene: scene, checkpoint: checkpoint, options: o, output: output)
      for s in report.summaries {
        let parts = SaliencyEvaluation.metricOrder.compactMap { name in
          s.metrics[name].map { String(format: "%@ %.3f", name, $0.mean) + ($0.sd.map { String(format: " ± %.3f", $0) } ?? "") }
        }
        print("\(s.method): " + parts.joined(separator: ", ") + String(format: " (%.3f s per item)", s.secondsPerItem))
      }
      if let sanity = report.sanity {
        for v in sanity.methods { print("sanity \(v.method): \(v.verdict)") }
      }
      print("  \(URL(fileURLWithPath: output).appendingPathComponent("report.md").path)")
    }
  }
}
