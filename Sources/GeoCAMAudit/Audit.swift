import Foundation
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline

/// `geocam audit`: every detection of a raster as a polygon with its own explanation, matched
/// to labels, ranked for review, written as a GeoPackage, a CSV, a summary and an HTML gallery.
///
/// Steps: (1) the city pipeline predicts the whole raster (resumable, in `DIR/scene.*`);
/// (2) detections are the 8-connected regions of its stitched class map (so an object across a
/// tile border is one detection), polygonised with GDAL, filtered by area; (3) each detection
/// is explained with a `region` target on one window of the run's tile grid, all detections of
/// a window sharing one forward and one batched backward (resumable per window); (4) labels,
/// matching, confounders, suspicion; (5) reviews of an earlier audit in the same folder are
/// carried over; (6) outputs.
public enum Audit {
  /// The default target layer: `encoder.layer3.5.conv3` (16-px cells; a layer4 cell is 32 px,
  /// wider than a 17-px water heater) where the model has it.
  public static let preferredLayer = "encoder.layer3.5.conv3"

  /// Runs the audit of `input` into the folder `output`.
  public static func run(
    input: String, output: String, checkpoint: OpenedCheckpoint, options: AuditOptions,
    progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> AuditSummary {
    let bundle = checkpoint.bundle
    let checkpointSHA256 = checkpoint.sha256
    var o = options
    o.provenance["geocam_version"] = GeoCAMVersion.string
    o.provenance["input"] = o.provenance["input"] ?? input
    let report = progress ?? StderrProgress(quiet: o.quiet).handle
    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir)
    let lock = try RunLock.acquire(
      path: dir.appendingPathComponent("audit.lock").path, command: "audit", breakLock: o.breakLock
    ) { report(.warning($0)) }
    defer { lock.release() }
    guard bundle.model.task == .segmentation else {
      throw PipelineError(bundle.checkpoint.map { _ in "--checkpoint" } ?? "model", "the audit needs a segmentation model; this checkpoint is a classifier")
    }
    let layer = o.layer ?? (bundle.model.layerPaths.contains(preferredLayer) ? preferredLayer : bundle.model.defaultLayer)
    try bundle.model.checkLayer(layer)
    guard !o.methods.isEmpty else { throw PipelineError("--methods", "give at least one method") }
    guard o.matchIoU > 0, o.matchIoU <= 1 else { throw PipelineError("--match-iou", "must be in (0, 1], got \(o.matchIoU)") }
    guard o.minAreaM2 >= 0 else { throw PipelineError("--min-area-m2", "must be ≥ 0, got \(o.minAreaM2)") }

    // 1. The class map, through the city pipeline (resumable; refuses another command's output).
    report(.phase("predicting \(input)"))
    let scene = dir.appendingPathComponent("scene.tif").path
    var pipelineOptions = PipelineOptions()
    pipelineOptions.tileSize = o.tileSize
    pipelineOptions.overlap = o.overlap
    pipelineOptions.bands = o.bands
    pipelineOptions.predictOnly = true
    pipelineOptions.command = "audit"
    pipelineOptions.restart = o.restart
    pipelineOptions.breakLock = o.breakLock
    pipelineOptions.quiet = o.quiet
    pipelineOptions.provenance = o.provenance
    let tileModel = try ExplainingTileModel(
      bundle: bundle, explainer: Explainer(methods: []), layer: layer, tileSize: o.tileSize,
      checkpointSHA256: checkpointSHA256)
    let run = try CityPipeline.run(input: input, output: scene, model: tileModel, options: pipelineOptions, progress: report)

    // 2. Detections.
    report(.phase("finding detections"))
    var audit = try AuditScene(
      classesPath: run.outputs["classes"] ?? scene, probsPath: run.outputs["probabilities"] ?? scene,
      classNames: bundle.classNames, minAreaM2: o.minAreaM2, gsdMeters: bundle.metadata.gsdM)
    let raster = try GeoRaster(path: input)
    guard raster.width == audit.width, raster.height == audit.height else {
      throw PipelineError(input, "is \(raster.width)x\(raster.height) but its class map is \(audit.width)x\(audit.height)")
    }

    // 3. Explanations per window.
    let grid = try TileGrid(width: audit.width, height: audit.height, tileSize: o.tileSize, overlap: o.overlap)
    var byWindow: [PixelWindow: [Int]] = [:]
    for (i, d) in audit.detections.enumerated() {
      let (w, partial) = ExplanationWindows.assign(
        box: d.bbox, id: Int32(d.id), labels: audit.labels, grid: grid, rasterWidth: audit.width,
        rasterHeight: audit.height)
      audit.detections[i].window = w
      audit.detections[i].partial = partial
      byWindow[w, default: []].append(i)
    }
    let windows = byWindow.keys.sorted { ($0.y, $0.x) < ($1.y, $1.x) }
    let state = AuditState(directory: dir.appendingPathComponent("audit-state"))
    var provenance = tileModel.provenance
    for (k, v) in o.provenance { provenance[k] = v }
    provenance["layer"] = layer
    provenance["methods"] = o.methods.map(\.rawValue).joined(separator: ",")
    provenance["target"] = "region"
    let fingerprint = [
      "input=\(URL(fileURLWithPath: input).standardizedFileURL.path)", "sha256=\(checkpointSHA256)",
      "layer=\(layer)", "methods=\(o.methods.map(\.rawValue).joined(separator: ","))", "tile=\(o.tileSize)",
      "overlap=\(o.overlap)", "bands=\(o.bands)", "min_area_m2=\(o.minAreaM2)", "detections=\(audit.detections.count)",
      "class_names=\(bundle.classNames.joined(separator: ","))",
    ].joined(separator: "\n")
    try state.prepare(fingerprint: fingerprint, restart: o.restart)
    try Folder.create(dir.appendingPathComponent("chips"))
    let explainer = WindowExplainer(
      bundle: bundle, explainer: Explainer(methods: o.methods, blackBox: o.blackBox), layer: layer, raster: raster, bands: o.bands,
      labels: audit.labels, rasterWidth: audit.width, rasterHeight: audit.height, outputDirectory: dir)
    let todo = windows.filter { !state.has($0) }
    report(.phase("explaining \(audit.detections.count) detections in \(windows.count) windows (\(windows.count - todo.count) done earlier)"))
    report(.started(tiles: todo.count, reused: windows.count - todo.count, blocks: 1))
    let clock = Date()
    for (n, w) in todo.enumerated() {
      let members = byWindow[w] ?? []
      let evidence = try explainer.explain(window: w, detections: members.map { audit.detections[$0] })
      try state.save(w, evidence: evidence)
      let elapsed = Date().timeIntervalSince(clock)
      let rate = elapsed > 0 ? Double(n + 1) / elapsed : 0
      report(.tiles(done: n + 1, total: todo.count, tilesPerSecond: rate, eta: rate > 0 ? Double(todo.count - n - 1) / rate : nil))
    }
    let seconds = Date().timeIntervalSince(clock)
    for w in windows {
      let evidence = try state.load(w)
      for i in byWindow[w] ?? [] { audit.detections[i].evidence = evidence[audit.detections[i].id] ?? [:] }
    }

    // 4. Suspicion, labels, matching.
    var medians: [Int: Double] = [:]
    for k in Set(audit.detections.map(\.classIndex)) {
      medians[k] = Suspicion.median(audit.detections.filter { $0.classIndex == k }.map(\.area))
    }
    for i in audit.detections.indices {
      let d = audit.detections[i]
      audit.detections[i].suspicion = Suspicion.score(
        margin: d.margin, focus: Suspicion.focus(d.evidence), area: d.area, medianArea: medians[d.classIndex] ?? 0)
    }
    var summary = AuditSummary(
      detections: audit.detections.count, areaUnit: audit.areaUnit, areaNote: audit.areaNote,
      detectionsPerClass: Dictionary(grouping: audit.detections, by: \.className).mapValues(\.count),
      droppedBelowMinArea: audit.dropped, minAreaM2: o.minAreaM2, methods: o.methods.map(\.rawValue), layer: layer,
      windows: windows.count, secondsExplaining: seconds,
      secondsPerDetection: todo.isEmpty || audit.detections.isEmpty ? nil : seconds / Double(todo.reduce(0) { $0 + (byWindow[$1]?.count ?? 0) }),
      reviews: [:], notes: [], provenance: provenance)
    var missed: [(LabelMatching.Label, WKBGeometry?)] = []
    if let source = o.labels {
      report(.phase("matching against \(source.path)"))
      missed = try match(&audit, &summary, labels: source, confounders: o.confounders, options: o, classNames: bundle.classNames)
    }

    // 5. Reviews of an earlier audit here.
    let gpkg = dir.appendingPathComponent("detections.gpkg").path
    let orphans = try ReviewCarryOver.apply(previous: gpkg, to: &audit, summary: &summary)

    // 6. Outputs.
    report(.phase("writing \(dir.path)"))
    try AuditWriter.write(
      audit: audit, missed: missed, orphans: orphans, summary: summary, options: o, classNames: bundle.classNames,
      directory: dir)
    return summary
  }

  /// Matches detections with labels; returns the missed labels with their polygons.
  static func match(
    _ audit: inout AuditScene, _ summary: inout AuditSummary, labels source: AuditOptions.Source,
    confounders: AuditOptions.Source?, options o: AuditOptions, classNames: [String]
  ) throws -> [(LabelMatching.Label, WKBGeometry?)] {
    let labels = try LabelSet.load(
      source, classNames: classNames, classField: o.classField, typeField: nil, width: audit.width,
      height: audit.height, georeferencing: audit.georeferencing)
    summary.notes += labels.skipped.prefix(20).map { "labels: \($0)" }
    let overlaps = labels.overlaps(with: audit.labels)
    let candidates = audit.detections.map {
      LabelMatching.Candidate(id: $0.id, classIndex: $0.classIndex, pixels: $0.pixels, probMean: $0.probMean)
    }
    let classes = Array(1..<classNames.count)
    func scores(_ m: LabelMatching) -> [String: AuditSummary.ClassScores] {
      var out: [String: AuditSummary.ClassScores] = [:]
      for (k, c) in m.counts(classes: classes, candidates: candidates) {
        var s = AuditSummary.ClassScores()
        (s.tp, s.fp, s.wrongClass, s.fn) = (c.tp, c.fp, c.wrongClass, c.fn)
        s.score()
        out[classNames[k]] = s
      }
      return out
    }
    let matching = LabelMatching(candidates: candidates, labels: labels.objects, overlaps: overlaps, threshold: o.matchIoU)
    var perClass = scores(matching)
    summary.classesAtIoU025 = scores(
      LabelMatching(candidates: candidates, labels: labels.objects, overlaps: overlaps, threshold: 0.25))
    summary.matchIoU = o.matchIoU
    for i in audit.detections.indices {
      guard let r = matching.outcomes[audit.detections[i].id] else { continue }
      audit.detections[i].status = r.status
      audit.detections[i].iou = r.iou
      audit.detections[i].labelId = r.labelId
    }

    // Pixel IoU per class: the class map against the labels' classes.
    let labelClass = Dictionary(uniqueKeysWithValues: labels.objects.map { ($0.id, $0.classIndex) })
    var inter = [Int](repeating: 0, count: classNames.count), union = inter
    for i in audit.classes.indices {
      let p = Int(audit.classes[i])
      let t = labels.grid[i] > 0 ? labelClass[Int(labels.grid[i])] ?? 0 : 0
      if p == t { inter[p] += 1; union[p] += 1 } else { union[p] += 1; union[t] += 1 }
    }
    for k in classes where union[k] > 0 { perClass[classNames[k], default: .init()].pixelIoU = Double(inter[k]) / Double(union[k]) }
    summary.classes = perClass

    // Confusion: label class × detected class.
    var confusion: [String: [String: Int]] = [:]
    let labelById = Dictionary(uniqueKeysWithValues: labels.objects.map { ($0.id, $0) })
    for d in audit.detections {
      let row = d.labelId.flatMap { labelById[$0] }.map { classNames[$0.classIndex] } ?? "none"
      confusion[row, default: [:]][d.className, default: 0] += 1
    }
    let coveredByWrongClass = Set(audit.detections.filter { $0.status == .wrongClass }.compactMap(\.labelId))
    for l in matching.missed where !coveredByWrongClass.contains(l.id) {
      confusion[classNames[l.classIndex], default: [:]]["none", default: 0] += 1
    }
    summary.confusion = confusion

    // Confounders. A look-alike is taken for class k when the detections of class k together
    // cover ≥ 25 % of its pixels and ≥ 20 px (the pixel rule of the demo's evaluation, so one
    // look-alike split into fragments still counts); each false detection among them records
    // its type (the look-alike it shares most pixels with).
    if let confounders {
      let set = try LabelSet.load(
        confounders, classNames: classNames, classField: o.classField, typeField: o.typeField, width: audit.width,
        height: audit.height, georeferencing: audit.georeferencing)
      let cover = set.overlaps(with: audit.labels)
      let sizes = Dictionary(uniqueKeysWithValues: set.objects.map { ($0.id, $0.pixels) })
      var perType: [String: [String: Int]] = [:]
      for c in set.objects { perType[set.types[c.id] ?? "?", default: [:]]["count", default: 0] += 1 }
      // Pixels of each look-alike covered per class, and by which detections.
      var byClass: [Int: [Int: (pixels: Int, detections: [Int])]] = [:]
      for (i, d) in audit.detections.enumerated() {
        for (cid, n) in cover[d.id] ?? [:] {
          var entry = byClass[cid]?[d.classIndex] ?? (0, [])
          entry.pixels += n
          entry.detections.append(i)
          byClass[cid, default: [:]][d.classIndex] = entry
        }
      }
      var best: [Int: (cid: Int, shared: Int)] = [:]
      for (cid, row) in byClass.sorted(by: { $0.key < $1.key }) {
        let size = sizes[cid] ?? Int.max
        for (k, entry) in row.sorted(by: { $0.key < $1.key }) where entry.pixels >= 20 && Double(entry.pixels) >= 0.25 * Double(size) {
          perType[set.types[cid] ?? "?", default: [:]][classNames[k], default: 0] += 1
          for i in entry.detections where audit.detections[i].status != .tp {
            let shared = cover[audit.detections[i].id]?[cid] ?? 0
            if best[i] == nil || shared > best[i]!.shared { best[i] = (cid, shared) }
          }
        }
      }
      for (i, b) in best { audit.detections[i].confounder = set.types[b.cid] }
      summary.confounders = perType
    }

    // Does the suspicion rank false detections above true ones better than 1 − prob_mean?
    let fp = audit.detections.filter { $0.status == .fp || $0.status == .wrongClass }
    let tp = audit.detections.filter { $0.status == .tp }
    summary.suspicionAUC = rocAUC(positives: fp.map(\.suspicion), negatives: tp.map(\.suspicion))
    summary.baselineAUC = rocAUC(positives: fp.map { 1 - $0.probMean }, negatives: tp.map { 1 - $0.probMean })
    return matching.missed.map { ($0, labels.geometries[$0.id]) }
  }
}

/// Per-window explanation results on disk (`DIR/audit-state/`), so a killed audit resumes
/// without redoing a finished window.
struct AuditState {
  let directory: URL
  var manifest: URL { directory.appendingPathComponent("manifest.txt") }

  func prepare(fingerprint: String, restart: Bool) throws {
    let fm = FileManager.default
    if let old = try? String(contentsOf: manifest, encoding: .utf8) {
      if old == fingerprint { return }
      guard restart else {
        throw PipelineError(
          directory.path,
          "an unfinished or earlier audit of a different command is here; rerun the same command to resume, or add --restart")
      }
    }
    try? fm.removeItem(at: directory)
    try Folder.create(directory)
    try AtomicFile.write(Data(fingerprint.utf8), to: manifest)
  }

  func url(_ w: PixelWindow) -> URL { directory.appendingPathComponent("w\(w.x)_\(w.y).json") }
  func has(_ w: PixelWindow) -> Bool { FileManager.default.fileExists(atPath: url(w).path) }

  func save(_ w: PixelWindow, evidence: [Int: [String: Detection.Evidence]]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try AtomicFile.write(try encoder.encode(evidence), to: url(w))
  }

  func load(_ w: PixelWindow) throws -> [Int: [String: Detection.Evidence]] {
    let u = url(w)
    do { return try JSONDecoder().decode([Int: [String: Detection.Evidence]].self, from: Data(contentsOf: u)) } catch {
      throw PipelineError(u.path, "audit state is unreadable (\(PipelineError.reason(error))); rerun with --restart")
    }
  }
}
