import GeoCAMCore
import Foundation
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// Images decoded as Pillow's `Image.open(path).convert('RGB')` gives them, through GDAL (JPEG,
/// PNG, TIFF…): grey replicated to three channels, palette images expanded through their
/// colour table, alpha dropped.
public enum RGBImageLoader {
  /// Interleaved RGB bytes and the size.
  public static func load(_ path: String) throws -> (pixels: [UInt8], width: Int, height: Int) {
    let r = try GeoRaster(path: path)
    let w = r.width, h = r.height
    let plane = w * h
    let table = r.bandCount == 1 ? r.colorTable(band: 1) : []
    let bands: [Int]
    switch r.bandCount {
    case 1, 2: bands = [1]  // L, LA
    default: bands = [1, 2, 3]  // RGB, RGBA (alpha dropped)
    }
    let data = try r.readWindow(x: 0, y: 0, width: w, height: h, bands: bands).data
    var out = [UInt8](repeating: 0, count: plane * 3)
    for p in 0..<plane {
      if !table.isEmpty {
        let i = min(max(Int(data[p]), 0), table.count - 1)
        out[3 * p] = table[i].red
        out[3 * p + 1] = table[i].green
        out[3 * p + 2] = table[i].blue
      } else {
        for c in 0..<3 {
          let v = data[(bands.count == 1 ? 0 : c) * plane + p]
          out[3 * p + c] = UInt8(min(max(v.isFinite ? v : 0, 0), 255).rounded())
        }
      }
    }
    return (out, w, h)
  }

  /// The class indices of a mask image (a palette PNG's indices, not its colours).
  public static func loadIndices(_ path: String) throws -> (values: [UInt8], width: Int, height: Int) {
    let r = try GeoRaster(path: path)
    let data = try r.readWindow(x: 0, y: 0, width: r.width, height: r.height, bands: [1]).data
    return (data.map { UInt8(min(max($0, 0), 255)) }, r.width, r.height)
  }

  /// Image files named by `input`: the file itself, a folder's images (sorted by name), or a
  /// list file (`.txt`/`.lst`, one path per line, relative to the list's folder).
  public static func imagePaths(_ input: String) throws -> [String] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: input, isDirectory: &isDir) else {
      throw PipelineError(input, "no such file or folder")
    }
    let extensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff", "bmp", "gif", "webp"]
    if isDir.boolValue {
      let names = try FileManager.default.contentsOfDirectory(atPath: input)
        .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
      guard !names.isEmpty else { throw PipelineError(input, "holds no image (jpg, png, tif…)") }
      return names.map { (input as NSString).appendingPathComponent($0) }
    }
    let ext = (input as NSString).pathExtension.lowercased()
    if ext == "txt" || ext == "lst" {
      let base = (input as NSString).deletingLastPathComponent
      let text = try String(contentsOfFile: input, encoding: .utf8)
      let paths = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        .map { $0.hasPrefix("/") ? $0 : (base as NSString).appendingPathComponent($0) }
      guard !paths.isEmpty else { throw PipelineError(input, "lists no image") }
      return paths
    }
    return [input]
  }
}

/// A classifier's input from an image file: decoded as Pillow's `convert('RGB')`, through a
/// preset, as `[3][1][H][W]` 0…255 values (the model's preprocessing normalises them).
public struct ClassifierInput {
  /// The network input.
  public var tensor: Tensor
  /// The preprocessed image, interleaved RGB bytes (for overlays).
  public var rgb: [UInt8]
  /// Where the preset took the image, and the decoded image's size.
  public var geometry: ImagePreset.Geometry
  public var sourceWidth: Int
  public var sourceHeight: Int

  /// Loads `path` through `preset`.
  public init(path: String, preset: ImagePreset, resize: Int = 256) throws {
    let decoded = try RGBImageLoader.load(path)
    let (rgb, g) = try preset.apply(rgb: decoded.pixels, width: decoded.width, height: decoded.height, resize: resize)
    let plane = g.width * g.height
    var values = [Float](repeating: 0, count: 3 * plane)
    for p in 0..<plane { for c in 0..<3 { values[c * plane + p] = Float(rgb[3 * p + c]) } }
    tensor = Tensor(channels: 3, batch: 1, height: g.height, width: g.width, values: values)
    self.rgb = rgb
    geometry = g
    sourceWidth = decoded.width
    sourceHeight = decoded.height
  }

  /// The preprocessed image as a picture.
  public var image: RGBImage {
    get throws { try RGBImage(width: geometry.width, height: geometry.height, pixels: rgb) }
  }
}

/// `geocam explain` with a classifier: images in, per image the top-5 predictions and every
/// method's map for the chosen classes, from one forward and one batched backward per image.
///
/// Writes `DIR/predictions.csv` (image, rank, class index, class name, logit, softmax
/// probability) and per image `DIR/<stem>/<method>_<k>.npy` (raw maps at the layer's resolution,
/// as for tiles; guided maps `[3, H, W]`) and `<method>_<k>.png` (overlay on the preprocessed
/// image, normalised per map as the seed does).
public struct ImageClassificationJob {
  public var checkpoint: OpenedCheckpoint
  public var methods: [ExplanationMethod] = ExplanationMethod.defaults
  /// Seed and sample counts of RISE and LIME.
  public var blackBox = BlackBoxSettings()
  /// Class indices to explain (nil: each image's top-1).
  public var classes: [Int]?
  public var layer: String?
  public var preset: ImagePreset = .imagenet
  /// Shorter side of the `imagenet` preset (256; 232 for torchvision's V2 weights).
  public var resize = 256

  public init(checkpoint: OpenedCheckpoint) { self.checkpoint = checkpoint }

  /// One image's result.
  public struct ImageResult: Sendable {
    public var path: String
    public var stem: String
    /// Top-5 (class, logit, probability).
    public var top: [(index: Int, logit: Float, probability: Float)]
    public var explained: [Int]
  }

  /// Explains every image of `input` into the folder `output`.
  @discardableResult
  public func run(input: String, output: String, progress: ((String) -> Void)? = nil) throws -> [ImageResult] {
    let bundle = checkpoint.bundle
    guard bundle.model.task == .classification else {
      throw PipelineError("--checkpoint", "image folders are explained with a classifier; this is a segmentation model")
    }
    guard !output.lowercased().hasSuffix(".tif") && !output.lowercased().hasSuffix(".tiff") else {
      throw PipelineError(output, "a classifier's explanations go to a folder (--output DIR), not a GeoTIFF")
    }
    let layer = layer ?? bundle.model.defaultLayer
    try bundle.model.checkLayer(layer)
    if let classes, let bad = classes.first(where: { $0 < 0 || $0 >= bundle.model.classCount }) {
      throw PipelineError("--classes", "class \(bad) is out of range 0..<\(bundle.model.classCount)")
    }
    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir)
    let paths = try RGBImageLoader.imagePaths(input)
    var results: [ImageResult] = []
    var csv = "image,rank,class_index,class,logit,probability\n"
    var stems = Set<String>()
    let explainer = Explainer(methods: methods, blackBox: blackBox)
    for (n, path) in paths.enumerated() {
      let input = try ClassifierInput(path: path, preset: preset, resize: resize)
      let session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: input.tensor, layer: layer)
      let logits = session.logits.values
      let probs = Softmax.forward(session.logits).values
      let order = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
      let top = order.prefix(5).map { (index: $0, logit: logits[$0], probability: probs[$0]) }
      var stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
      while stems.contains(stem) { stem += "_" }  // two images of one name in a list
      stems.insert(stem)
      for (r, t) in top.enumerated() {
        csv += "\(CSVField.escape(path)),\(r + 1),\(t.index),\(CSVField.escape(bundle.classNames[t.index])),\(t.logit),\(t.probability)\n"
      }
      let explained = classes ?? [order[0]]
      let result = try explainer.explain(session, classes: explained)
      let imageDir = dir.appendingPathComponent(stem)
      try Folder.create(imageDir)
      let picture = try input.image
      for e in result.explanations {
        let shape = e.method.isGuided ? e.shape : [e.height, e.width]
        try NPYFile.write(e.values, shape: shape, to: imageDir.appendingPathComponent("\(e.method.rawValue)_\(e.classIndex).npy"))
        let overlay = e.method.isGuided ? try TilePictures.guidedImage(e) : try TilePictures.camOverlay(e, on: picture)
        try PNGImage(overlay).write(to: imageDir.appendingPathComponent("\(e.method.rawValue)_\(e.classIndex).png").path)
      }
      results.append(ImageResult(path: path, stem: stem, top: top, explained: explained))
      progress?("\(n + 1)/\(paths.count) \(path): \(bundle.classNames[order[0]]) \(String(format: "%.3f", probs[order[0]]))")
    }
    try AtomicFile.write(Data(csv.utf8), to: dir.appendingPathComponent("predictions.csv"))
    return results
  }
}
