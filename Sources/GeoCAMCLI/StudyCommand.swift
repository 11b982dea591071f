import ArgumentParser
import Foundation
import GeoCAMAudit
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMStudies

extension GeoCAM {
  /// `geocam study …`: studies on the same core.
  struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Studies of what a model looks at.", subcommands: [ForegroundBackground.self, Compare.self, Evaluate.self, Dissect.self])
  }
}

extension GeoCAM.Study {
  /// `geocam study fgbg --checkpoint C --raster R --labels L --classes solar_panel --output DIR`.
  struct ForegroundBackground: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "fgbg",
      abstract: "Does the model look at the object or at its surroundings? Paired statistics of the map inside vs around each labelled object.",
      discussion: """
        With a classifier and images with masks (--voc ROOT --voc-class NAME, or --images DIR \
        --masks DIR): per image the map of each --classes logit, min-max normalised; inside = the \
        mask's foreground, outside = the rest; --protocol notebook reproduces the VOC notebook, \
        strict leaves void out. With a segmentation model and a labelled raster (--raster R \
        --labels L): one unit per truth object of --classes, the map of its own region target; \
        inside = the object, outside = a ring of one object-diameter. Paired t-test, Cohen's d_z, \
        Wilcoxon and Holm as SciPy; writes study.json, per_image.csv, report.md and figures.
        """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "A labelled raster (with --labels) for a segmentation model.")
    var raster: String?

    @Option(name: .long, help: "Truth for --raster: a label raster on the same grid or a vector file, PATH[:layer], with a 'class' field.")
    var labels: String?

    @Option(name: .long, help: "A Pascal VOC folder (JPEGImages/, SegmentationClass/, ImageSets/Segmentation/) for a classifier.")
    var voc: String?

    @Option(name: .long, help: "The VOC class of the masks' foreground, by name or index (e.g. aeroplane).")
    var vocClass: String?

    @Option(name: .long, help: "VOC split list (train, val, trainval); ignored by --protocol notebook.")
    var split: String?

    @Option(name: .long, help: "A folder of images (with --masks) for a classifier.")
    var images: String?

    @Option(name: .long, help: "Masks named like the images (palette PNGs are read as indices).")
    var masks: String?

    @Option(name: .long, help: "The masks' foreground value (with --images).")
    var maskValue = 1

    @Option(name: .long, help: "notebook (the VOC notebook exactly) or strict (void left out); image studies.")
    var `protocol`: ForegroundBackgroundStudy.ImageProtocol = .strict

    @Option(name: .long, help: "Keep images whose foreground fraction is at least this (image studies).")
    var minFraction = 0.2

    @Option(name: .long, help: "Image preprocessing for --protocol strict: resize224, imagenet or none.")
    var preprocess: ImagePreset = .resize224

    @Option(name: .long, help: "Shorter side of the imagenet preset.")
    var resize = 256

    @Option(name: .long, help: "Target classes: classifier indices or names, or segmentation class names, comma-separated.")
    var classes: String

    @Option(name: .long, help: "Comma-separated method ids.")
    var methods = "gradcam"

    @Option(name: .long, help: "Target layer (default encoder.layer3.5.conv3).")
    var layer: String?

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func validate() throws {
      let sources = [raster != nil, voc != nil, images != nil].filter { $0 }.count
      guard sources == 1 else { throw ValidationError("give exactly one of --raster (with --labels), --voc (with --voc-class) or --images (with --masks)") }
      if raster != nil && labels == nil { throw ValidationError("--raster needs --labels") }
      if voc != nil && vocClass == nil { throw ValidationError("--voc needs --voc-class") }
      if images != nil && masks == nil { throw ValidationError("--images needs --masks") }
      if !(0...255).contains(maskValue) { throw ValidationError("--mask-value must be 0…255") }
      if !(0...1).contains(minFraction) { throw ValidationError("--min-fraction must be in [0, 1]") }
    }

    func run() throws {
      let checkpoint = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides())
      let classList = try checkpoint.classIndices(classes.split(separator: ",").map(String.init))
      let report: ForegroundBackgroundStudy.Report
      if let raster, let labels {
        var o = ForegroundBackgroundStudy.Options()
        o.classes = classList
        o.methods = try ExplanationMethod.parse(methods)
        o.layer = layer
        o.quiet = quiet
        let source = AuditOptions.Source.parse(labels) { FileManager.default.fileExists(atPath: $0) }
        report = try ForegroundBackgroundStudy.run(raster: raster, labels: source, checkpoint: checkpoint, options: o, output: output)
      } else {
        var o = ForegroundBackgroundStudy.ImageOptions()
        o.classes = classList
        o.methods = try ExplanationMethod.parse(methods)
        o.layer = layer
        o.quiet = quiet
        o.minFraction = minFraction
        o.protocolChoice = `protocol`
        o.preset = preprocess
        o.resize = resize
        let pairs: [StudyImages.Pair]
        let source: String
        if let voc, let vocClass {
          o.foreground = try StudyImages.vocIndex(vocClass)
          pairs = try StudyImages.voc(root: voc, split: `protocol` == .notebook ? nil : split)
          source = voc
        } else if let images, let masks {
          o.foreground = UInt8(maskValue)
          pairs = try StudyImages.folders(images: images, masks: masks)
          source = images
        } else {
          throw ValidationError("no input")
        }
        report = try ForegroundBackgroundStudy.runImages(
          pairs, checkpoint: checkpoint, options: o, output: output, source: source
        ) { line in if !quiet { FileHandle.standardError.write(Data("geocam: \(line)\n".utf8)) } }
      }
      for t in report.tests {
        let s = t.statistics
        let line = String(
          format: "%@ %@: n %d, mean in − out %@, t %@, p (Holm) %@, d_z %@",
          t.method, t.className, s.n, s.meanDifference.map { String(format: "%.3f", $0) } ?? "–",
          s.t.map { String(format: "%.2f", $0) } ?? "–", t.pHolm.map { String(format: "%.2g", $0) } ?? "–",
          s.cohenDz.map { String(format: "%.2f", $0) } ?? "–")
        print(line)
      }
      print("  \(URL(fileURLWithPath: output).appendingPathComponent("report.md").path)")
    }
  }
}

extension ForegroundBackgroundStudy.ImageProtocol: ExpressibleByArgument {}

extension GeoCAM.Study {
  /// `geocam study compare --checkpoint C --images DIR --methods gradcam,gradcam++,scorecam --output DIR`.
  struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Do explanation methods agree? Top-x % IoU, Pearson correlation and SIM per pair of methods, per image.")

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "An image, a folder of images or a list file.")
    var images: String?

    @Option(name: .long, help: "A Pascal VOC folder (its JPEGImages with masks; --split picks a list).")
    var voc: String?

    @Option(name: .long, help: "VOC split list (train, val, trainval).")
    var split: String?

    @Option(name: .long, help: "Comma-separated method ids (at least two).")
    var methods = "gradcam,gradcam++,ablationcam,scorecam"

    @Option(name: .long, help: "Class to explain (index or name; default each image's top-1).")
    var classes: String?

    @Option(name: .long, help: "Target layer (default the last convolution).")
    var layer: String?

    @Option(name: .long, help: "Share of pixels in each method's top mask, in percent.")
    var topPercent = 20.0

    @OptionGroup var blackBox: BlackBoxArguments

    @Option(name: .long, help: "Image preprocessing: resize224, imagenet or none.")
    var preprocess: ImagePreset = .imagenet

    @Option(name: .long, help: "Shorter side of the imagenet preset.")
    var resize = 256

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func validate() throws {
      guard (images != nil) != (voc != nil) else { throw ValidationError("give one of --images or --voc") }
      guard topPercent > 0 && topPercent <= 100 else { throw ValidationError("--top-percent must be in (0, 100]") }
    }

    func run() throws {
      let checkpoint = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides())
      let list: [(id: String, path: String)]
      if let voc {
        list = try StudyImages.voc(root: voc, split: split).map { ($0.id, $0.image) }
      } else {
        list = try RGBImageLoader.imagePaths(images ?? "").map { (((($0 as NSString).lastPathComponent) as NSString).deletingPathExtension, $0) }
      }
      let report = try MethodComparison.run(
        images: list, checkpoint: checkpoint, methods: try ExplanationMethod.parse(methods),
        classes: try classes.map { try checkpoint.bundle.classIndices($0.split(separator: ",").map(String.init)) }, layer: layer,
        preset: preprocess, resize: resize, topPercent: topPercent, output: output, blackBox: blackBox.settings
      ) { line in if !quiet { FileHandle.standardError.write(Data("geocam: \(line)\n".utf8)) } }
      for p in report.pairs {
        print(String(format: "%@ vs %@: top-%.0f%% IoU %.3f ± %.3f, Pearson %@, SIM %.3f (n %d)", p.a, p.b, report.topPercent, p.iouMean, p.iouSD ?? 0, p.pearsonMean.map { String(format: "%.3f", $0) } ?? "–", p.simMean, p.n))
      }
      for (m, s) in report.secondsPerImage.sorted(by: { $0.key < $1.key }) { print(String(format: "%@: %.3f s per image", m, s)) }
    }
  }
}
