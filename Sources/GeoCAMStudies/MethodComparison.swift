import Foundation
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// `geocam study compare`: do explanation methods agree? Per image, every method's map of the
/// same class at the input's resolution (CAM maps upsampled bilinearly, guided maps as the L2
/// norm of their channels), and per pair of methods:
/// - IoU of their top-x % masks (the ⌈x·N⌉ highest pixels, ties broken by pixel index);
/// - Pearson correlation of the two maps;
/// - SIM (the MIT saliency benchmark's): each map min-max scaled to [0, 1], then to sum 1;
///   SIM = Σ min(p, q).
/// Each method's time per image is measured on its own explain call (its forward pass shared,
/// its own backward or masked forwards).
public enum MethodComparison {
  /// One pair of methods on one image.
  public struct PairScore: Codable, Sendable {
    public var a: String
    public var b: String
    public var iou: Double
    public var pearson: Double?
    public var sim: Double
  }

  /// One image.
  public struct ImageScores: Codable, Sendable {
    public var id: String
    public var className: String
    public var seconds: [String: Double]
    public var pairs: [PairScore]

    enum CodingKeys: String, CodingKey {
      case id, seconds, pairs
      case className = "class"
    }
  }

  /// Mean ± sd of a pair's scores over the images.
  public struct PairSummary: Codable, Sendable {
    public var a: String
    public var b: String
    public var n: Int
    public var iouMean: Double
    public var iouSD: Double?
    public var pearsonMean: Double?
    public var simMean: Double

    enum CodingKeys: String, CodingKey {
      case a, b, n
      case iouMean = "iou_mean"
      case iouSD = "iou_sd"
      case pearsonMean = "pearson_mean"
      case simMean = "sim_mean"
    }
  }

  /// `compare.json`.
  public struct Report: Codable, Sendable {
    public var methods: [String]
    public var topPercent: Double
    public var layer: String
    public var images: [ImageScores]
    public var pairs: [PairSummary]
    public var secondsPerImage: [String: Double]
    public var provenance: [String: String]

    enum CodingKeys: String, CodingKey {
      case methods, layer, images, pairs, provenance
      case topPercent = "top_percent"
      case secondsPerImage = "seconds_per_image"
    }
  }

  /// IoU of the top-`fraction` masks of two maps of equal size.
  public static func topIoU(_ a: [Float], _ b: [Float], fraction: Double) -> Double {
    let k = max(1, Int((fraction * Double(a.count)).rounded(.up)))
    func mask(_ m: [Float]) -> [Bool] {
      let order = m.indices.sorted { m[$0] != m[$1] ? m[$0] > m[$1] : $0 < $1 }
      var out = [Bool](repeating: false, count: m.count)
      for i in order.prefix(k) { out[i] = true }
      return out
    }
    let ma = mask(a), mb = mask(b)
    var inter = 0, union = 0
    for i in ma.indices {
      if ma[i] && mb[i] { inter += 1 }
      if ma[i] || mb[i] { union += 1 }
    }
    return union > 0 ? Double(inter) / Double(union) : 0
  }

  /// Pearson correlation; nil when a map is constant (`SaliencyMetrics.cc`).
  public static func pearson(_ a: [Float], _ b: [Float]) -> Double? { SaliencyMetrics.cc(a, b) }

  /// SIM of two maps (`SaliencyMetrics.sim`, the MIT benchmark's).
  public static func sim(_ a: [Float], _ b: [Float]) -> Double { SaliencyMetrics.sim(a, b) }

  /// Compares `methods` on every image; writes `compare.json`, `compare.csv`, a side-by-side
  /// picture per image and a matrix picture of the mean top-x % IoU.
  public static func run(
    images paths: [(id: String, path: String)], checkpoint: OpenedCheckpoint, methods: [ExplanationMethod],
    classes: [Int]?, layer: String?, preset: ImagePreset, resize: Int, topPercent: Double, output: String,
    blackBox: BlackBoxSettings = BlackBoxSettings(), progress: ((String) -> Void)? = nil
  ) throws -> Report {
    let bundle = checkpoint.bundle
    guard bundle.model.task == .classification else {
      throw PipelineError("--checkpoint", "study compare runs on images with a classifier")
    }
    guard methods.count >= 2 else { throw PipelineError("--methods", "give at least two methods to compare") }
    guard topPercent > 0, topPercent <= 100 else { throw PipelineError("--top-percent", "must be in (0, 100]") }
    let layer = layer ?? ((bundle.model as? ResNetClassifier)?.lastConvLayer ?? bundle.model.defaultLayer)
    try bundle.model.checkLayer(layer)
    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir.appendingPathComponent("images"))
    var scores: [ImageScores] = []
    var csv = "image,class,method_a,method_b,iou_top,pearson,sim\n"
    for (n, item) in paths.enumerated() {
      let input = try ClassifierInput(path: item.path, preset: preset, resize: resize)
      let g = input.geometry
      let session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: input.tensor, layer: layer)
      let logits = session.logits.values
      let k = classes?.first ?? logits.indices.max { logits[$0] < logits[$1] } ?? 0
      var maps: [String: [Float]] = [:]
      var seconds: [String: Double] = [:]
      for m in methods {
        let t0 = Date()
        guard let e = try Explainer(methods: [m], blackBox: blackBox).explain(session, classes: [k]).explanations.first else { continue }
        seconds[m.rawValue] = Date().timeIntervalSince(t0)
        maps[m.rawValue] = try e.plane(toHeight: g.height, toWidth: g.width)
      }
      var pairs: [PairScore] = []
      for i in 0..<methods.count {
        for j in (i + 1)..<methods.count {
          guard let a = maps[methods[i].rawValue], let b = maps[methods[j].rawValue] else { continue }
          let s = PairScore(
            a: methods[i].rawValue, b: methods[j].rawValue, iou: topIoU(a, b, fraction: topPercent / 100),
            pearson: pearson(a, b), sim: sim(a, b))
          pairs.append(s)
          csv += "\(item.id),\(bundle.classNames[k]),\(s.a),\(s.b),\(s.iou),\(s.pearson.map { String($0) } ?? ""),\(s.sim)\n"
        }
      }
      scores.append(ImageScores(id: item.id, className: bundle.classNames[k], seconds: seconds, pairs: pairs))
      try sideBySide(rgb: input.rgb, width: g.width, height: g.height, maps: methods.compactMap { maps[$0.rawValue] }, to: dir.appendingPathComponent("images/\(item.id).png"))
      progress?("\(n + 1)/\(paths.count) \(item.id)")
    }
    var summaries: [PairSummary] = []
    for i in 0..<methods.count {
      for j in (i + 1)..<methods.count {
        let all = scores.flatMap(\.pairs).filter { $0.a == methods[i].rawValue && $0.b == methods[j].rawValue }
        guard !all.isEmpty else { continue }
        let ious = all.map(\.iou)
        let mean = ious.reduce(0, +) / Double(ious.count)
        let sd = ious.count > 1 ? (ious.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(ious.count - 1)).squareRoot() : nil
        let ps = all.compactMap(\.pearson)
        summaries.append(
          PairSummary(
            a: methods[i].rawValue, b: methods[j].rawValue, n: all.count, iouMean: mean, iouSD: sd,
            pearsonMean: ps.isEmpty ? nil : ps.reduce(0, +) / Double(ps.count), simMean: all.map(\.sim).reduce(0, +) / Double(all.count)))
      }
    }
    var perMethod: [String: Double] = [:]
    for m in methods {
      let s = scores.compactMap { $0.seconds[m.rawValue] }
      if !s.isEmpty { perMethod[m.rawValue] = s.reduce(0, +) / Double(s.count) }
    }
    let report = Report(
      methods: methods.map(\.rawValue), topPercent: topPercent, layer: layer, images: scores, pairs: summaries,
      secondsPerImage: perMethod,
      provenance: ["checkpoint_sha256": checkpoint.sha256, "geocam_version": GeoCAMVersion.string, "preprocess": preset.rawValue])
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(report), to: dir.appendingPathComponent("compare.json"))
    try AtomicFile.write(Data(csv.utf8), to: dir.appendingPathComponent("compare.csv"))
    try matrix(report, to: dir.appendingPathComponent("matrix.png"))
    return report
  }

  /// The image and each method's overlay, left to right.
  static func sideBySide(rgb: [UInt8], width: Int, height: Int, maps: [[Float]], to url: URL) throws {
    let image = try RGBImage(width: width, height: height, pixels: rgb)
    var panels = [image]
    for m in maps {
      panels.append(try Overlay.heatmap(image: image, map: MapNormalization.minmax.apply(m).map { min(max($0, 0), 1) }))
    }
    let total = width * panels.count
    var out = [UInt8](repeating: 255, count: total * height * 3)
    for (i, p) in panels.enumerated() {
      for y in 0..<height {
        for x in 0..<width {
          for c in 0..<3 { out[3 * (y * total + i * width + x) + c] = p.pixels[3 * (y * width + x) + c] }
        }
      }
    }
    try PNGImage(width: total, height: height, format: .rgb, pixels: out).write(to: url.path)
  }

  /// A method × method matrix of the mean top-x % IoU (jet colours, 48 px cells, diagonal 1).
  static func matrix(_ r: Report, to url: URL) throws {
    let n = r.methods.count, cell = 48
    var out = [UInt8](repeating: 255, count: n * cell * n * cell * 3)
    for i in 0..<n {
      for j in 0..<n {
        let v: Double
        if i == j { v = 1 } else {
          let (a, b) = i < j ? (r.methods[i], r.methods[j]) : (r.methods[j], r.methods[i])
          v = r.pairs.first { $0.a == a && $0.b == b }?.iouMean ?? 0
        }
        let c = Colormap.jet.rgb(Colormap.index(for: Float(v)))
        for y in (i * cell + 1)..<((i + 1) * cell - 1) {
          for x in (j * cell + 1)..<((j + 1) * cell - 1) {
            let p = 3 * (y * n * cell + x)
            (out[p], out[p + 1], out[p + 2]) = (c.red, c.green, c.blue)
          }
        }
      }
    }
    try PNGImage(width: n * cell, height: n * cell, format: .rgb, pixels: out).write(to: url.path)
  }
}
