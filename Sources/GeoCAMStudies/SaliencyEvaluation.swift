import Foundation
import GeoCAMAudit
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// `geocam study evaluate`: how faithful, how well placed and how trustworthy each method's
/// maps are, on images (a classifier) or labelled tiles (a segmentation model).
///
/// Per item and method, from one forward pass (each method timed on its own explain call):
/// - against a reference density map (`--pairs`): CC, SIM, KL (`SaliencyMetrics`), compared in
///   the original image's geometry (the preset's crop only);
/// - against fixations: NSS and AUC-Judd;
/// - against a mask (VOC, or the tile's label of the class): pointing game and energy-based
///   pointing game;
/// - faithfulness without references: RISE's deletion and insertion AUC (`CausalMetric`);
/// - with `sanity`, the cascading randomisation test (`SanityCheck`) on the first items.
public enum SaliencyEvaluation {
  /// What to run.
  public struct Options: Sendable {
    public var methods: [ExplanationMethod] = [.gradcam, .fem, .rise, .lime]
    /// Classifier: the class explained (default each image's top-1). Segmentation: the classes
    /// evaluated on each tile that holds labelled pixels of them (default all but 0).
    public var classes: [Int]?
    public var layer: String?
    public var preset: ImagePreset = .imagenet
    public var resize = 256
    /// Pixels per insertion/deletion step (nil: 224 for 224², scaled by area).
    public var step: Int?
    /// Skip insertion/deletion (they cost ⌈HW/step⌉+1 forwards each per map).
    public var causal = true
    public var blackBox = BlackBoxSettings()
    /// Perturbed images per forward (nil: `PerturbationScorer.defaultBatch`).
    public var batchSize: Int?
    /// Segmentation target of each (tile, class).
    public var target: ExplanationTarget = .classMask
    /// Labelled pixels of a class a tile needs to be an item.
    public var minPixels = 20
    public var tileSize = 320
    public var bands = [1, 2, 3]
    public var sanity = false
    /// Items the cascade runs on (the first ones).
    public var sanityItems = 4
    /// Methods the cascade runs (nil: all but the perturbation methods, whose cascade costs a
    /// full run per step).
    public var sanityMethods: [ExplanationMethod]?
    public var sanitySeed: UInt64 = 0
    /// Per item maps and curves for `Scripts/checks/evaluate_reference.py` (default OUT/raw).
    public var rawDir: String?
    public var limit: Int?
    public var quiet = false
    public init() {}
  }

  /// One item to evaluate.
  public struct Item: Sendable {
    public enum Source: Sendable {
      /// An image for a classifier, with what it is compared with.
      case image(path: String, reference: String?, fixations: String?, mask: String?, maskValue: UInt8?)
      /// A window of the raster and the class evaluated on it.
      case tile(window: PixelWindow, classIndex: Int)
    }
    public var id: String
    public var source: Source
    public init(id: String, source: Source) {
      self.id = id
      self.source = source
    }
  }

  /// A raster with the class of each labelled pixel, read once for both the items and the run.
  public struct LabelledScene {
    public let raster: GeoRaster
    /// Class index per pixel (0 = background or unlabelled).
    public let classGrid: [UInt8]
    /// Where the truth came from (for messages).
    public let labelsPath: String

    /// Opens `path` and its truth (a label raster on the same grid or a vector layer, classes
    /// named as `checkpoint`'s), for a segmentation model.
    public init(raster path: String, labels: AuditOptions.Source, checkpoint: OpenedCheckpoint) throws {
      guard checkpoint.bundle.model.task == .segmentation else {
        throw PipelineError("--checkpoint", "a raster evaluation needs a segmentation model; this checkpoint is a classifier")
      }
      let classNames = checkpoint.bundle.classNames
      raster = try GeoRaster(path: path)
      labelsPath = labels.path
      classGrid = try LabelSet.load(
        labels, classNames: classNames, classField: "class", typeField: nil, width: raster.width, height: raster.height,
        georeferencing: raster.georeferencing
      ).classGrid
    }
  }

  /// Mean and sample standard deviation of one metric over the items.
  public struct Stat: Codable, Sendable {
    public var mean: Double
    public var sd: Double?
    public var n: Int
  }

  /// One method's summary.
  public struct MethodSummary: Codable, Sendable {
    public var method: String
    public var metrics: [String: Stat]
    public var secondsPerItem: Double
    public var sanity: SanityVerdict?

    enum CodingKeys: String, CodingKey {
      case method, metrics, sanity
      case secondsPerItem = "seconds_per_item"
    }
  }

  /// One (item, method) row.
  public struct Row: Codable, Sendable {
    public var item: String
    public var className: String
    public var method: String
    public var metrics: [String: Double]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
      case item, method, metrics, seconds
      case className = "class"
    }
  }

  /// A method's cascade: per step the mean Spearman and SSIM over the items, and the verdict.
  public struct SanityVerdict: Codable, Sendable {
    public var method: String
    public var spearman: [Double?]
    public var ssim: [Double?]
    /// Mean Spearman at the step that reaches the target layer.
    public var spearmanAtTarget: Double?
    public var passed: Bool?
    public var verdict: String

    enum CodingKeys: String, CodingKey {
      case method, spearman, ssim, passed, verdict
      case spearmanAtTarget = "spearman_at_target"
    }
  }

  /// `sanity.json`: the cascade's verdicts, keyed by the checkpoint's SHA-256.
  public struct SanityReport: Codable, Sendable {
    public var checkpointSHA256: String
    public var layer: String
    public var steps: [SanityCheck.Step]
    public var targetStep: Int?
    public var items: [String]
    public var seed: UInt64
    public var threshold: Double
    public var methods: [SanityVerdict]

    enum CodingKeys: String, CodingKey {
      case layer, steps, items, seed, threshold, methods
      case checkpointSHA256 = "checkpoint_sha256"
      case targetStep = "target_step"
    }

    /// One line per method for provenance (`gradcam pass ρ=0.12; guided-backprop FAIL ρ=0.91`).
    public var provenanceLine: String {
      methods.map { v in
        "\(v.method) \(v.passed.map { $0 ? "pass" : "FAIL" } ?? "n/a")" + (v.spearmanAtTarget.map { String(format: " rho=%.3f", $0) } ?? "")
      }.joined(separator: "; ")
    }

    /// Reads `path` and checks it belongs to the checkpoint with `sha256`.
    public static func load(_ path: String, checkpointSHA256 sha256: String) throws -> SanityReport {
      guard let data = FileManager.default.contents(atPath: path) else { throw PipelineError(path, "cannot read the sanity file") }
      let r: SanityReport
      do { r = try JSONDecoder().decode(SanityReport.self, from: data) } catch {
        throw PipelineError(path, "is not a sanity.json written by geocam study evaluate --sanity")
      }
      guard r.checkpointSHA256 == sha256 else {
        throw PipelineError(path, "is for checkpoint \(r.checkpointSHA256.prefix(12))…, not this one (\(sha256.prefix(12))…)")
      }
      return r
    }
  }

  /// `evaluate.json`.
  public struct Report: Codable, Sendable {
    public var methods: [String]
    public var layer: String
    public var task: String
    public var items: Int
    public var parameters: [String: String]
    public var summaries: [MethodSummary]
    public var rows: [Row]
    public var sanity: SanityReport?
    public var provenance: [String: String]
  }

  /// Metric names in report order.
  public static let metricOrder = [
    "cc", "sim", "kl", "nss", "auc_judd", "pointing_game", "energy_pointing_game", "deletion_auc", "insertion_auc",
  ]

  /// Runs the evaluation on `items` and writes `evaluate.json`, `per_image.csv`, `report.md`,
  /// figures, the raw maps and curves, and with `sanity` `sanity.json`.
  public static func run(
    items allItems: [Item], scene: LabelledScene? = nil, checkpoint: OpenedCheckpoint,
    options o: Options, output: String, progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> Report {
    let progress = progress ?? StderrProgress(quiet: o.quiet, unit: "items").handle
    let bundle = checkpoint.bundle
    let segmentation = bundle.model.task == .segmentation
    guard !o.methods.isEmpty else { throw PipelineError("--methods", "give at least one method") }
    let layer = o.layer ?? ((bundle.model as? ResNetClassifier)?.lastConvLayer ?? bundle.model.defaultLayer)
    try bundle.model.checkLayer(layer)
    let items = o.limit.map { Array(allItems.prefix(max(0, $0))) } ?? allItems
    guard !items.isEmpty else { throw PipelineError("input", "has nothing to evaluate") }
    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir.appendingPathComponent("figures"))
    let raw = URL(fileURLWithPath: o.rawDir ?? dir.appendingPathComponent("raw").path)
    try Folder.create(raw)
    if segmentation && scene == nil {
      throw PipelineError("--checkpoint", "is a segmentation model: evaluate it on a labelled raster (--raster with --labels); images need a classifier")
    }
    var explainer = Explainer(methods: [], target: .classMean, perturbationBatchSize: o.batchSize, blackBox: o.blackBox)
    var rows: [Row] = []
    var curves: [String: [CausalMetric.Kind: [[Double]]]] = [:]
    var sanityInputs: [(item: Item, session: ExplanationSession, seed: ExplanationSeed, maps: [String: [Float]])] = []
    let clock = Date()
    progress(.phase("evaluating \(o.methods.map(\.rawValue).joined(separator: ", ")) on \(items.count) items at \(layer)"))
    for (n, item) in items.enumerated() {
      // The input, its session and the seed explained.
      let session: ExplanationSession
      let seed: ExplanationSeed
      var mask: [Bool]?
      var source: (region: EvaluationInputs.SourceRegion, geometry: ImagePreset.Geometry, width: Int, height: Int)?
      var reference: [Float]?
      var fixations: [Int]?
      switch item.source {
      case .image(let path, let refPath, let fixPath, let maskPath, let maskValue):
        guard !segmentation else { throw PipelineError(path, "an image item needs a classifier") }
        let input = try ClassifierInput(path: path, preset: o.preset, resize: o.resize)
        session = try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: input.tensor, layer: layer)
        let logits = session.logits.values
        let k = o.classes?.first ?? (logits.indices.max { logits[$0] < logits[$1] } ?? 0)
        seed = ExplanationSeed(classIndex: k, target: .classMean)
        let region = EvaluationInputs.SourceRegion(geometry: input.geometry, sourceWidth: input.sourceWidth, sourceHeight: input.sourceHeight)
        source = (region, input.geometry, input.sourceWidth, input.sourceHeight)
        if let refPath {
          let full = try EvaluationInputs.densityMap(refPath, width: input.sourceWidth, height: input.sourceHeight)
          reference = region.crop(full, sourceWidth: input.sourceWidth)
        }
        if let fixPath {
          let full = try EvaluationInputs.fixations(fixPath, width: input.sourceWidth, height: input.sourceHeight)
          fixations = region.crop(indices: full, sourceWidth: input.sourceWidth)
        }
        if let maskPath, let maskValue {
          let m = try RGBImageLoader.loadIndices(maskPath)
          guard m.width == input.sourceWidth, m.height == input.sourceHeight else {
            throw PipelineError(maskPath, "is \(m.width)×\(m.height), its image \(input.sourceWidth)×\(input.sourceHeight)")
          }
          mask = region.crop(m.values, sourceWidth: m.width).map { $0 == maskValue }
        }
      case .tile(let window, let k):
        guard segmentation, let scene else { throw PipelineError(item.id, "a tile item needs a segmentation model") }
        let read = try scene.raster.readWindow(window, bands: o.bands)
        let (pixels, allValid) = TileInput.tensor(read, fill: bundle.preprocessing.neutralPixel)
        session = try ExplanationSession(
          model: bundle.model, preprocessing: bundle.preprocessing, pixels: pixels, valid: allValid ? nil : read.mask, layer: layer)
        seed = ExplanationSeed(classIndex: k, target: o.target)
        mask = (0..<(window.width * window.height)).map { i in
          scene.classGrid[(window.y + i / window.width) * scene.raster.width + window.x + i % window.width] == UInt8(k)
        }
      }
      let context = CAMContext(session: session, seeds: [seed])
      guard !context.seeds.isEmpty else {
        progress(.warning("\(item.id): no target pixel for \(bundle.classNames[seed.classIndex]); skipped"))
        continue
      }
      let scorer = PerturbationScorer(context)
      let h = session.pixels.height, w = session.pixels.width
      let step = o.step ?? CausalMetric.defaultStep(height: h, width: w)
      let itemDir = raw.appendingPathComponent(item.id)
      try Folder.create(itemDir)
      if let reference, let s = source {
        try NPYFile.write(reference, shape: [s.region.height, s.region.width], to: itemDir.appendingPathComponent("reference.npy"))
      }
      if let fixations { try NPYFile.write(fixations.map(Float.init), shape: [fixations.count], to: itemDir.appendingPathComponent("fixations.npy")) }
      if let mask {
        let shape = source.map { [$0.region.height, $0.region.width] } ?? [h, w]
        try NPYFile.write(mask.map { $0 ? 1 : 0 }, shape: shape, to: itemDir.appendingPathComponent("mask.npy"))
      }
      var itemMaps: [String: [Float]] = [:]
      for method in o.methods {
        explainer.methods = [method]
        let t0 = Date()
        guard let e = try explainer.explain(session, seeds: [seed]).explanations.first else { continue }
        let map = try e.plane(toHeight: h, toWidth: w)
        let seconds = Date().timeIntervalSince(t0)
        itemMaps[method.rawValue] = map
        try NPYFile.write(map, shape: [h, w], to: itemDir.appendingPathComponent("\(method.rawValue).npy"))
        var metrics: [String: Double] = [:]
        // Comparisons in the original image's geometry (classifiers) or the tile's.
        let compared: [Float]
        if let s = source {
          compared = s.region.resample(map, geometry: s.geometry, sourceWidth: s.width, sourceHeight: s.height)
          if reference != nil || fixations != nil || mask != nil {
            try NPYFile.write(compared, shape: [s.region.height, s.region.width], to: itemDir.appendingPathComponent("\(method.rawValue)_source.npy"))
          }
        } else {
          compared = map
        }
        if let reference {
          metrics["cc"] = SaliencyMetrics.cc(compared, reference)
          metrics["sim"] = SaliencyMetrics.sim(compared, reference)
          metrics["kl"] = SaliencyMetrics.kl(compared, reference: reference)
        }
        if let fixations, !fixations.isEmpty {
          metrics["nss"] = SaliencyMetrics.nss(compared, fixations: fixations)
          metrics["auc_judd"] = SaliencyMetrics.aucJudd(compared, fixations: fixations)
        }
        if let mask, mask.contains(true) {
          metrics["pointing_game"] = SaliencyMetrics.pointingGame(compared, mask: mask) ? 1 : 0
          metrics["energy_pointing_game"] = SaliencyMetrics.energyPointingGame(compared, mask: mask)
        }
        if o.causal {
          let c = try CausalMetric.curves(session: session, scorer: scorer, saliency: map, step: step, batchSize: o.batchSize)
          var perKind: [CausalMetric.Kind: [[Double]]] = [:]
          for (kind, scores) in c {
            guard let s = scores.first else { continue }
            metrics["\(kind.rawValue)_auc"] = SaliencyMetrics.causalAUC(s)
            try NPYFile.write(s.map(Float.init), shape: [s.count], to: itemDir.appendingPathComponent("\(method.rawValue)_\(kind.rawValue).npy"))
            perKind[kind] = [s]
          }
          for (kind, s) in perKind { curves[method.rawValue, default: [:]][kind, default: []] += s }
        }
        rows.append(Row(item: item.id, className: bundle.classNames[seed.classIndex], method: method.rawValue, metrics: metrics, seconds: seconds))
      }
      if o.sanity && sanityInputs.count < o.sanityItems {
        // The cascade keeps the original target pixels: a randomised model's prediction moves.
        let fixedSeed: ExplanationSeed
        if segmentation {
          let weights = scorer.weights.first?.w ?? []
          fixedSeed = ExplanationSeed(classIndex: seed.classIndex, target: .region(weights.map { $0 > 0 ? 1 : 0 }))
        } else {
          fixedSeed = seed
        }
        sanityInputs.append((item, session, fixedSeed, itemMaps))
      }
      let elapsed = Date().timeIntervalSince(clock)
      let rate = elapsed > 0 ? Double(n + 1) / elapsed : 0
      progress(.tiles(done: n + 1, total: items.count, tilesPerSecond: rate, eta: rate > 0 ? Double(items.count - n - 1) / rate : nil))
    }
    guard !rows.isEmpty else { throw PipelineError("input", "no item had a target to explain") }
    var sanity: SanityReport?
    if o.sanity {
      sanity = try runSanity(
        sanityInputs, checkpoint: checkpoint, layer: layer, options: o, figure: dir.appendingPathComponent("figures/sanity_cascade.png"),
        raw: raw.appendingPathComponent("sanity"), progress: progress)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      if let sanity { try AtomicFile.write(try encoder.encode(sanity), to: dir.appendingPathComponent("sanity.json")) }
    }
    let summaries: [MethodSummary] = o.methods.compactMap { m in
      let mine = rows.filter { $0.method == m.rawValue }
      guard !mine.isEmpty else { return nil }
      var stats: [String: Stat] = [:]
      for name in metricOrder {
        let values = mine.compactMap { $0.metrics[name] }
        guard !values.isEmpty else { continue }
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = values.count > 1 ? (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot() : nil
        stats[name] = Stat(mean: mean, sd: sd, n: values.count)
      }
      return MethodSummary(
        method: m.rawValue, metrics: stats, secondsPerItem: mine.map(\.seconds).reduce(0, +) / Double(mine.count),
        sanity: sanity?.methods.first { $0.method == m.rawValue })
    }
    var parameters: [String: String] = [
      "layer": layer, "seed": String(o.blackBox.seed),
      "rise_masks": String(o.blackBox.riseMaskCount(segmentation: segmentation)), "rise_cells": String(o.blackBox.riseCells),
      "rise_keep": String(o.blackBox.riseKeep), "lime_samples": String(o.blackBox.limeSamples), "lime_segments": String(o.blackBox.limeSegments),
      "lime_superpixels": "slic", "causal": o.causal ? "yes" : "no",
    ]
    if o.causal {
      parameters["step"] = o.step.map(String.init) ?? "default (224 per 224², scaled by area)"
    }
    if segmentation {
      parameters["target"] = o.target.id
      parameters["tile_size"] = String(o.tileSize)
    } else {
      parameters["preprocess"] = o.preset.rawValue
    }
    progress(.finished(seconds: Date().timeIntervalSince(clock)))
    let report = Report(
      methods: o.methods.map(\.rawValue), layer: layer, task: segmentation ? "segmentation" : "classification",
      items: Set(rows.map(\.item)).count, parameters: parameters, summaries: summaries, rows: rows, sanity: sanity,
      provenance: [
        "checkpoint_sha256": checkpoint.sha256, "geocam_version": GeoCAMVersion.string,
        "fold_batch_norm": bundle.model.foldsBatchNorm ? "yes" : "no",
      ])
    try EvaluationWriter.write(report, curves: curves, to: dir)
    return report
  }

  /// The cascade on the sanity items: per step a model with the groups so far re-initialised,
  /// each method's map recomputed for the same seed.
  static func runSanity(
    _ inputs: [(item: Item, session: ExplanationSession, seed: ExplanationSeed, maps: [String: [Float]])], checkpoint: OpenedCheckpoint,
    layer: String, options o: Options, figure: URL, raw: URL, progress: (PipelineEvent) -> Void
  ) throws -> SanityReport {
    let bundle = checkpoint.bundle
    guard let weights = bundle.checkpoint?.stateDict else {
      throw PipelineError("--sanity", "needs a checkpoint file (the model was built in memory)")
    }
    let methods = o.sanityMethods ?? o.methods.filter { !$0.isPerturbation }
    let steps = SanityCheck.steps(keys: weights.keys, layerPaths: bundle.model.layerPaths, targetLayer: layer)
    let targetStep = steps.firstIndex { $0.reachesTarget }
    var spearman = [String: [[Double]]](), ssim = [String: [[Double]]]()
    var pictures: [[String: [Float]]] = []  // per step, method → map of item 0
    var explainer = Explainer(methods: [], perturbationBatchSize: o.batchSize, blackBox: o.blackBox)
    // The original maps of methods evaluated for the cascade only.
    var originals = inputs.map(\.maps)
    for (i, input) in inputs.enumerated() {
      for m in methods where originals[i][m.rawValue] == nil {
        explainer.methods = [m]
        if let e = try explainer.explain(input.session, seeds: [input.seed]).explanations.first {
          originals[i][m.rawValue] = try e.plane(toHeight: input.session.pixels.height, toWidth: input.session.pixels.width)
        }
      }
      // Every map of the cascade is kept so the reference script can recompute each number.
      try Folder.create(raw.appendingPathComponent(input.item.id))
      for m in methods {
        guard let map = originals[i][m.rawValue] else { continue }
        try NPYFile.write(map, shape: [input.session.pixels.height, input.session.pixels.width],
          to: raw.appendingPathComponent("\(input.item.id)/\(m.rawValue)_step00.npy"))
      }
    }
    var randomized = Set<String>()
    for (s, step) in steps.enumerated() {
      randomized.insert(step.group)
      let model = try ModelLoader.load(
        SanityCheck.RandomizedWeights(base: weights, groups: randomized, seed: o.sanitySeed), foldBatchNorm: bundle.model.foldsBatchNorm)
      var stepPictures: [String: [Float]] = [:]
      for (i, input) in inputs.enumerated() {
        let session = try ExplanationSession(
          model: model, preprocessing: bundle.preprocessing, pixels: input.session.pixels, valid: input.session.valid, layer: layer)
        for m in methods {
          explainer.methods = [m]
          guard let original = originals[i][m.rawValue],
            let e = try explainer.explain(session, seeds: [input.seed]).explanations.first
          else { continue }
          let h = session.pixels.height, w = session.pixels.width
          let map = try e.plane(toHeight: h, toWidth: w)
          if i == 0 { stepPictures[m.rawValue] = map }
          try NPYFile.write(map, shape: [h, w], to: raw.appendingPathComponent(String(format: "%@/%@_step%02d.npy", input.item.id, m.rawValue, s + 1)))
          let rho = SanityCheck.spearman(original.map { abs($0) }, map.map { abs($0) })
          let q = SanityCheck.ssim(SanityCheck.scaledMagnitude(original), SanityCheck.scaledMagnitude(map), width: w, height: h)
          if spearman[m.rawValue] == nil {
            spearman[m.rawValue] = Array(repeating: [], count: steps.count)
            ssim[m.rawValue] = Array(repeating: [], count: steps.count)
          }
          if let rho { spearman[m.rawValue]?[s].append(rho) }
          if let q { ssim[m.rawValue]?[s].append(q) }
        }
      }
      pictures.append(stepPictures)
      progress(.phase("sanity step \(s + 1)/\(steps.count): \(step.group) randomised"))
    }
    func mean(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
    let verdicts: [SanityVerdict] = methods.map { m in
      let rho = (spearman[m.rawValue] ?? []).map(mean)
      let q = (ssim[m.rawValue] ?? []).map(mean)
      let atTarget = targetStep.flatMap { $0 < rho.count ? rho[$0] : nil }
      let passed = atTarget.map { $0 < SanityCheck.failThreshold }
      let words: String
      switch passed {
      case .some(true):
        words = String(format: "passes: once the layers down to the target are randomised its map changes (mean Spearman %.3f < %.1f)", atTarget ?? 0, SanityCheck.failThreshold)
      case .some(false):
        words = String(format: "FAILS: with the layers down to the target randomised its map barely changes (mean Spearman %.3f ≥ %.1f); it does not show what the model learned there", atTarget ?? 0, SanityCheck.failThreshold)
      case .none:
        words = "not decided (no comparable maps at the target step)"
      }
      return SanityVerdict(method: m.rawValue, spearman: rho, ssim: q, spearmanAtTarget: atTarget, passed: passed, verdict: words)
    }
    if let first = inputs.first {
      try EvaluationWriter.cascadePicture(
        original: methods.map { originals[0][$0.rawValue] ?? [] }, steps: pictures, methods: methods.map(\.rawValue),
        width: first.session.pixels.width, height: first.session.pixels.height, to: figure)
    }
    return SanityReport(
      checkpointSHA256: checkpoint.sha256, layer: layer, steps: steps, targetStep: targetStep, items: inputs.map(\.item.id),
      seed: o.sanitySeed, threshold: SanityCheck.failThreshold, methods: verdicts)
  }

  /// Items for a segmentation model: each tile of a non-overlapping grid and each class with at
  /// least `minPixels` labelled pixels in it, in reading order.
  public static func tileItems(scene: LabelledScene, checkpoint: OpenedCheckpoint, options o: Options) throws -> [Item] {
    let bundle = checkpoint.bundle
    let classes = o.classes ?? Array(1..<bundle.model.classCount)
    guard classes.allSatisfy({ $0 > 0 && $0 < bundle.model.classCount }) else {
      throw PipelineError("--classes", "give object classes (not class 0)")
    }
    let raster = scene.raster
    let grid = try TileGrid(width: raster.width, height: raster.height, tileSize: o.tileSize, overlap: 0)
    var items: [Item] = []
    for tile in grid.tiles {
      var counts = [Int](repeating: 0, count: bundle.model.classCount)
      for y in tile.y..<(tile.y + o.tileSize) {
        for x in tile.x..<(tile.x + o.tileSize) {
          let k = Int(scene.classGrid[y * raster.width + x])
          if k != 0, k < counts.count { counts[k] += 1 }
        }
      }
      for k in classes where counts[k] >= o.minPixels {
        items.append(Item(id: "x\(tile.x)_y\(tile.y)_\(bundle.classNames[k])", source: .tile(window: tile.window, classIndex: k)))
      }
    }
    guard !items.isEmpty else { throw PipelineError(scene.labelsPath, "has no tile with \(o.minPixels) or more labelled pixels of the classes") }
    return items
  }
}
