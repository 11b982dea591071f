import Foundation
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// Image/mask pairs for a classifier study: a Pascal VOC layout or two folders.
public enum StudyImages {
  /// One image with its mask.
  public struct Pair: Sendable {
    public var id: String
    public var image: String
    public var mask: String
  }

  /// The 20 VOC classes (index 1…20; 0 background, 255 void).
  public static let vocClasses = [
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
    "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
  ]

  /// A VOC class by name or index (1…20).
  public static func vocIndex(_ spec: String) throws -> UInt8 {
    if let i = Int(spec), (1...20).contains(i) { return UInt8(i) }
    guard let i = vocClasses.firstIndex(of: spec.lowercased()) else {
      throw PipelineError("--voc-class", "'\(spec)' is not a VOC class (\(vocClasses.joined(separator: ", ")))")
    }
    return UInt8(i + 1)
  }

  /// `ROOT/JPEGImages/<id>.jpg` with `ROOT/SegmentationClass/<id>.png`: with `split`, the ids of
  /// `ImageSets/Segmentation/<split>.txt`; without, every image that has a mask, sorted by name
  /// (the notebook's way).
  public static func voc(root: String, split: String?) throws -> [Pair] {
    let images = (root as NSString).appendingPathComponent("JPEGImages")
    let masks = (root as NSString).appendingPathComponent("SegmentationClass")
    guard FileManager.default.fileExists(atPath: images), FileManager.default.fileExists(atPath: masks) else {
      throw PipelineError(root, "is not a Pascal VOC folder (needs JPEGImages/ and SegmentationClass/)")
    }
    var ids: [String]
    if let split {
      let list = (root as NSString).appendingPathComponent("ImageSets/Segmentation/\(split).txt")
      guard let text = try? String(contentsOfFile: list, encoding: .utf8) else {
        throw PipelineError(list, "cannot read the split list (train, val or trainval)")
      }
      ids = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    } else {
      ids = try FileManager.default.contentsOfDirectory(atPath: masks).filter { $0.lowercased().hasSuffix(".png") }
        .map { ($0 as NSString).deletingPathExtension }
        .filter { FileManager.default.fileExists(atPath: (images as NSString).appendingPathComponent("\($0).jpg")) }
        .sorted()
    }
    return ids.map {
      Pair(id: $0, image: (images as NSString).appendingPathComponent("\($0).jpg"), mask: (masks as NSString).appendingPathComponent("\($0).png"))
    }
  }

  /// Images of `images/` paired with the mask of the same stem in `masks/` (any image type).
  public static func folders(images: String, masks: String) throws -> [Pair] {
    let paths = try RGBImageLoader.imagePaths(images)
    let maskNames = try FileManager.default.contentsOfDirectory(atPath: masks)
    var byStem: [String: String] = [:]
    for m in maskNames { byStem[(m as NSString).deletingPathExtension] = (masks as NSString).appendingPathComponent(m) }
    let pairs = paths.compactMap { p -> Pair? in
      let stem = ((p as NSString).lastPathComponent as NSString).deletingPathExtension
      return byStem[stem].map { Pair(id: stem, image: p, mask: $0) }
    }
    guard !pairs.isEmpty else { throw PipelineError(masks, "no mask has the name of an image in \(images)") }
    return pairs
  }
}

extension ForegroundBackgroundStudy {
  /// How an image study treats images and masks.
  public enum ImageProtocol: String, Sendable, CaseIterable {
    /// The VOC notebook exactly: image `Resize((224,224))`; mask nearest to shorter side 256,
    /// then nearest to 224 × 224; the fraction over all 224² pixels; void counts as background.
    case notebook
    /// Image through `--preprocess`, mask through the same geometry (nearest); void (255) is
    /// left out of both regions and of the fraction.
    case strict
  }

  /// Options of an image study.
  public struct ImageOptions: Sendable {
    public var classes: [Int] = []
    public var methods: [ExplanationMethod] = [.gradcam]
    public var layer: String?
    public var foreground: UInt8 = 1
    public var minFraction = 0.2
    public var protocolChoice: ImageProtocol = .strict
    public var preset: ImagePreset = .resize224
    public var resize = 256
    public var quiet = false
    public init() {}
  }

  /// Per image: the class logit's map (upsampled bilinear to the input, min-max normalised
  /// without ε; a constant map leaves the image out), mean inside the mask vs outside, images
  /// kept when the foreground fraction ≥ `minFraction`.
  public static func runImages(
    _ pairs: [StudyImages.Pair], checkpoint: OpenedCheckpoint, options o: ImageOptions, output: String,
    source: String, progress: ((String) -> Void)? = nil
  ) throws -> Report {
    let bundle = checkpoint.bundle
    guard bundle.model.task == .classification else {
      throw PipelineError("--checkpoint", "an image study needs a classifier; use --raster with a segmentation model")
    }
    guard !o.classes.isEmpty else { throw PipelineError("--classes", "give the classifier's target classes") }
    let layer = o.layer ?? ((bundle.model as? ResNetClassifier)?.lastConvLayer ?? bundle.model.defaultLayer)
    try bundle.model.checkLayer(layer)
    let explainer = Explainer(methods: o.methods)
    var units: [Unit] = []
    var leftOut: [String] = []
    for (n, pair) in pairs.enumerated() {
      let input = try ClassifierInput(pair.image, protocolChoice: o.protocolChoice, options: o)
      let g = input.geometry
      let mask = try RGBImageLoader.loadIndices(pair.mask)
      guard mask.width == input.sourceWidth, mask.height == input.sourceHeight else {
        leftOut.append("\(pair.id): mask \(mask.width)x\(mask.height) differs from the image \(input.sourceWidth)x\(input.sourceHeight)")
        continue
      }
      let preset: ImagePreset = o.protocolChoice == .notebook ? .resize224 : o.preset
      let m: [UInt8]
      if o.protocolChoice == .notebook {
        // Resize(256) on the palette image (nearest; the imagenet preset's resize before its
        // crop), then Resize((224, 224)) (nearest again).
        let r = ImagePreset.imagenet.geometry(width: mask.width, height: mask.height, resize: 256)
        let first = PillowResize.nearest(
          mask.values, width: mask.width, height: mask.height, toWidth: r.resizedWidth, toHeight: r.resizedHeight)
        m = PillowResize.nearest(first, width: r.resizedWidth, height: r.resizedHeight, toWidth: 224, toHeight: 224)
      } else {
        m = preset.apply(mask: mask.values, width: mask.width, height: mask.height, resize: o.resize)
      }
      let plane = g.width * g.height
      let counted = o.protocolChoice == .notebook ? plane : m.filter { $0 != 255 }.count
      let fraction = counted > 0 ? Double(m.filter { $0 == o.foreground }.count) / Double(counted) : 0
      guard fraction >= o.minFraction else { continue }
      let session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: input.tensor, layer: layer)
      let result = try explainer.explain(session, classes: o.classes)
      for e in result.explanations {
        let name = bundle.classNames[e.classIndex]
        let map = try e.plane(toHeight: g.height, toWidth: g.width)
        guard let lo = map.min(), let hi = map.max(), hi > lo else {
          leftOut.append("\(e.method.rawValue) \(name) \(pair.id): constant map (NaN after min-max; omitted)")
          continue
        }
        var sIn = 0.0, nIn = 0, sOut = 0.0, nOut = 0
        for i in 0..<plane {
          if o.protocolChoice == .strict && m[i] == 255 { continue }
          let v = Double((map[i] - lo) / (hi - lo))
          if m[i] == o.foreground { sIn += v; nIn += 1 } else { sOut += v; nOut += 1 }
        }
        guard nIn > 0, nOut > 0 else {
          leftOut.append("\(e.method.rawValue) \(name) \(pair.id): no pixel inside or outside the mask")
          continue
        }
        units.append(
          Unit(method: e.method.rawValue, className: name, id: pair.id, fraction: fraction, meanInside: sIn / Double(nIn), meanOutside: sOut / Double(nOut)))
      }
      progress?("\(n + 1)/\(pairs.count) \(pair.id)")
    }
    let tests = makeTests(units, methods: o.methods, classes: o.classes.map { bundle.classNames[$0] }) { $0.id < $1.id }
    var provenance: [String: String] = [
      "checkpoint_sha256": checkpoint.sha256, "geocam_version": GeoCAMVersion.string,
      "min_fraction": String(o.minFraction), "foreground_value": String(o.foreground),
      "preprocess": o.protocolChoice == .notebook ? "resize224 (notebook)" : o.preset.rawValue,
    ]
    provenance["checkpoint"] = bundle.checkpoint.map { URL(fileURLWithPath: $0.path).lastPathComponent }
    let report = Report(
      protocolName: o.protocolChoice.rawValue, layer: layer, target: "the class logit", input: source,
      labels: "masks (value \(o.foreground); 255 = void)", tests: tests, leftOut: leftOut, provenance: provenance)
    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir)
    try StudyWriter.write(report, to: dir)
    try writeExtremes(report, pairs: pairs, checkpoint: checkpoint, options: o, layer: layer, to: dir)
    return report
  }

  /// Overlays of the three strongest and three weakest images of each test (by inside −
  /// outside), recomputed for those images only: `<method>_<class>_strongest_<r>_<id>.png`.
  static func writeExtremes(
    _ report: Report, pairs: [StudyImages.Pair], checkpoint: OpenedCheckpoint, options o: ImageOptions, layer: String,
    to dir: URL
  ) throws {
    let bundle = checkpoint.bundle
    let byId = Dictionary(pairs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    for t in report.tests where !t.units.isEmpty {
      guard let method = ExplanationMethod(rawValue: t.method), let k = bundle.classNames.firstIndex(of: t.className) else { continue }
      let sorted = t.units.sorted { ($0.meanInside - $0.meanOutside) > ($1.meanInside - $1.meanOutside) }
      let picks = Array(sorted.prefix(3).enumerated().map { ("strongest", $0.offset + 1, $0.element) })
        + Array(sorted.reversed().prefix(3).enumerated().map { ("weakest", $0.offset + 1, $0.element) })
      for (kind, rank, unit) in picks {
        guard let pair = byId[unit.id] else { continue }
        let input = try ClassifierInput(pair.image, protocolChoice: o.protocolChoice, options: o)
        let session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: input.tensor, layer: layer)
        guard let e = try Explainer(methods: [method]).explain(session, classes: [k]).explanations.first else { continue }
        let picture = method.isGuided ? try TilePictures.guidedImage(e) : try TilePictures.camOverlay(e, on: try input.image)
        let stem = "\(t.method)_\(t.className)_\(kind)_\(rank)_\(unit.id)".replacingOccurrences(of: "+", with: "p")
        try PNGImage(picture).write(to: dir.appendingPathComponent("\(stem).png").path)
      }
    }
  }
}

extension ClassifierInput {
  /// The image as an image study's protocol preprocesses it (the notebook: `resize224`).
  init(_ path: String, protocolChoice: ForegroundBackgroundStudy.ImageProtocol, options o: ForegroundBackgroundStudy.ImageOptions) throws {
    try self.init(path: path, preset: protocolChoice == .notebook ? .resize224 : o.preset, resize: o.resize)
  }
}
