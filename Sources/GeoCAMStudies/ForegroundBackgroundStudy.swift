import Foundation
import GeoCAMAudit
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline

/// `geocam study fgbg` on a labelled raster with a segmentation model: "does the model look at
/// the object or at its surroundings?"
///
/// One unit per truth object of a studied class: the map of the object's own `region` target
/// (the mean of the class logit over the object's pixels) on the run's grid window that holds
/// it (as `geocam audit` chooses windows; all objects of a window share one forward and one
/// batched backward), upsampled to the window and min-max normalised there
/// (`(h − min)/(max − min)`, no ε; a constant map leaves the unit out). Inside = the object's
/// pixels, outside = a ring of one equivalent-circle diameter around it; no foreground-fraction
/// filter (a median panel is ~1.5 % of a tile). Per (method, class): the paired statistics of
/// mean inside vs mean outside, Holm-adjusted over the run.
public enum ForegroundBackgroundStudy {
  /// One unit's measurements.
  public struct Unit: Codable, Sendable {
    public var method: String
    public var className: String
    /// The unit: a label feature id (raster studies) or an image id (image studies).
    public var id: String
    /// The object's share of its window (for reference; not filtered).
    public var fraction: Double
    public var meanInside: Double
    public var meanOutside: Double

    enum CodingKeys: String, CodingKey {
      case method, id, fraction
      case className = "class"
      case meanInside = "mean_inside"
      case meanOutside = "mean_outside"
    }
  }

  /// One (method, class) test.
  public struct Test: Codable, Sendable {
    public var method: String
    public var className: String
    public var statistics: PairedStatistics
    public var pHolm: Double?
    public var units: [Unit]

    enum CodingKeys: String, CodingKey {
      case method, statistics, units
      case className = "class"
      case pHolm = "p_holm"
    }
  }

  /// `study.json`.
  public struct Report: Codable, Sendable {
    public var protocolName: String
    public var layer: String
    public var target: String
    public var input: String
    public var labels: String
    public var tests: [Test]
    public var leftOut: [String]
    public var provenance: [String: String]

    enum CodingKeys: String, CodingKey {
      case layer, target, input, labels, tests, provenance
      case protocolName = "protocol"
      case leftOut = "left_out"
    }
  }

  /// One test per (method, class) over its units (in `order`), Holm-adjusted over all tests.
  static func makeTests(
    _ units: [Unit], methods: [ExplanationMethod], classes: [String], order: (Unit, Unit) -> Bool
  ) -> [Test] {
    var tests: [Test] = []
    for m in methods {
      for name in classes {
        let u = units.filter { $0.method == m.rawValue && $0.className == name }.sorted(by: order)
        tests.append(
          Test(
            method: m.rawValue, className: name, statistics: PairedStatistics(u.map(\.meanInside), u.map(\.meanOutside)),
            pHolm: nil, units: u))
      }
    }
    let holm = PairedStatistics.holm(tests.map(\.statistics.pTwoSided))
    for i in tests.indices { tests[i].pHolm = holm[i] }
    return tests
  }

  /// Options of a raster study.
  public struct Options: Sendable {
    public var classes: [Int] = []
    public var methods: [ExplanationMethod] = [.gradcam]
    public var layer: String?
    public var tileSize = 320
    public var overlap = 64
    public var bands = [1, 2, 3]
    public var classField = "class"
    public var quiet = false
    public init() {}
  }

  /// Runs the study on `raster` with truth `labels`, writing `study.json`, `per_image.csv`,
  /// `report.md` and figures into `output`.
  public static func run(
    raster path: String, labels: AuditOptions.Source, checkpoint: OpenedCheckpoint, options o: Options, output: String,
    progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> Report {
    let report = progress ?? StderrProgress(quiet: o.quiet).handle
    let bundle = checkpoint.bundle
    guard bundle.model.task == .segmentation else {
      throw PipelineError("--checkpoint", "a raster study needs a segmentation model; this checkpoint is a classifier")
    }
    guard !o.classes.isEmpty, o.classes.allSatisfy({ $0 > 0 && $0 < bundle.model.classCount }) else {
      throw PipelineError("--classes", "give one or more object classes (not class 0)")
    }
    let layer = o.layer ?? (bundle.model.layerPaths.contains(Audit.preferredLayer) ? Audit.preferredLayer : bundle.model.defaultLayer)
    try bundle.model.checkLayer(layer)
    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir)
    let raster = try GeoRaster(path: path)
    let truth = try LabelSet.load(
      labels, classNames: bundle.classNames, classField: o.classField, typeField: nil, width: raster.width,
      height: raster.height, georeferencing: raster.georeferencing)
    let objects = truth.objects.filter { o.classes.contains($0.classIndex) }
    guard !objects.isEmpty else {
      throw PipelineError(labels.path, "holds no object of the classes \(o.classes.map { bundle.classNames[$0] }.joined(separator: ", "))")
    }
    // Bounding boxes of the objects.
    var boxes: [Int: (x0: Int, y0: Int, x1: Int, y1: Int)] = [:]
    for i in truth.grid.indices where truth.grid[i] != 0 {
      let id = Int(truth.grid[i]), x = i % raster.width, y = i / raster.width
      if let b = boxes[id] {
        boxes[id] = (min(b.x0, x), min(b.y0, y), max(b.x1, x), max(b.y1, y))
      } else {
        boxes[id] = (x, y, x, y)
      }
    }
    let grid = try TileGrid(width: raster.width, height: raster.height, tileSize: o.tileSize, overlap: o.overlap)
    var byWindow: [PixelWindow: [LabelMatching.Label]] = [:]
    for obj in objects {
      guard let b = boxes[obj.id] else { continue }
      let box = Detection.Box(x: b.x0, y: b.y0, width: b.x1 - b.x0 + 1, height: b.y1 - b.y0 + 1)
      let (w, _) = ExplanationWindows.assign(
        box: box, id: Int32(obj.id), labels: truth.grid, grid: grid, rasterWidth: raster.width, rasterHeight: raster.height)
      byWindow[w, default: []].append(obj)
    }
    let windows = byWindow.keys.sorted { ($0.y, $0.x) < ($1.y, $1.x) }
    report(.phase("explaining \(objects.count) objects in \(windows.count) windows at \(layer)"))
    report(.started(tiles: windows.count, reused: 0, blocks: 1))
    let explainer = Explainer(methods: o.methods)
    var units: [Unit] = []
    var leftOut: [String] = []
    let clock = Date()
    // One forward and one batched backward for the objects of a window.
    func explainWindow(_ w: PixelWindow, _ members: [LabelMatching.Label]) throws
      -> (read: RasterWindow, masks: [[Bool]], result: Explainer.Result)
    {
      let t = w.width
      let read = try raster.readWindow(w, bands: o.bands)
      let (pixels, allValid) = TileInput.tensor(read, fill: bundle.preprocessing.neutralPixel)
      let session = try ExplanationSession(
        model: bundle.model, preprocessing: bundle.preprocessing, pixels: pixels, valid: allValid ? nil : read.mask,
        layer: layer)
      let masks: [[Bool]] = members.map { obj in
        (0..<(t * t)).map { i in
          let x = w.x + i % t, y = w.y + i / t
          return x >= 0 && y >= 0 && x < raster.width && y < raster.height && truth.grid[y * raster.width + x] == Int32(obj.id)
        }
      }
      let seeds = zip(members, masks).map { obj, m in
        ExplanationSeed(classIndex: obj.classIndex, target: .region(m.map { $0 ? 1 : 0 }))
      }
      return (read, masks, try explainer.explain(session, seeds: seeds))
    }
    var windowOf: [Int: PixelWindow] = [:]
    for (w, members) in byWindow { for m in members { windowOf[m.id] = w } }
    for (n, w) in windows.enumerated() {
      let members = byWindow[w] ?? []
      let t = w.width
      let (read, masks, result) = try explainWindow(w, members)
      for e in result.explanations {
        let obj = members[e.seedIndex]
        let name = bundle.classNames[obj.classIndex]
        let map = try e.plane(toHeight: t, toWidth: t)
        let valid = read.mask
        let values = map.indices.filter { valid[$0] != 0 }.map { map[$0] }
        guard let lo = values.min(), let hi = values.max(), hi > lo else {
          leftOut.append("\(e.method.rawValue) \(name) object \(obj.id): constant map (normalisation undefined)")
          continue
        }
        let inside = masks[e.seedIndex]
        let ring = EvidenceMeter.ring(object: inside, width: t, height: t, diameter: EvidenceMeter.diameter(pixels: obj.pixels))
        var sIn = 0.0, nIn = 0, sOut = 0.0, nOut = 0
        for i in map.indices where valid[i] != 0 {
          let v = Double((map[i] - lo) / (hi - lo))
          if inside[i] { sIn += v; nIn += 1 } else if ring[i] { sOut += v; nOut += 1 }
        }
        guard nIn > 0, nOut > 0 else {
          leftOut.append("\(e.method.rawValue) \(name) object \(obj.id): no valid pixel inside or around it")
          continue
        }
        units.append(
          Unit(
            method: e.method.rawValue, className: name, id: String(obj.id), fraction: Double(nIn) / Double(t * t),
            meanInside: sIn / Double(nIn), meanOutside: sOut / Double(nOut)))
      }
      let elapsed = Date().timeIntervalSince(clock)
      let rate = elapsed > 0 ? Double(n + 1) / elapsed : 0
      report(.tiles(done: n + 1, total: windows.count, tilesPerSecond: rate, eta: rate > 0 ? Double(windows.count - n - 1) / rate : nil))
    }
    // Units are object ids: numeric order.
    let tests = makeTests(units, methods: o.methods, classes: o.classes.map { bundle.classNames[$0] }) {
      ($0.id.count, $0.id) < ($1.id.count, $1.id)
    }
    // Pictures of the three strongest and three weakest objects of each test (recomputed).
    let objectById = Dictionary(objects.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    try Folder.create(dir)
    for t in tests where !t.units.isEmpty {
      let sorted = t.units.sorted { ($0.meanInside - $0.meanOutside) > ($1.meanInside - $1.meanOutside) }
      let picks = sorted.prefix(3).enumerated().map { ("strongest", $0.offset + 1, $0.element) }
        + sorted.reversed().prefix(3).enumerated().map { ("weakest", $0.offset + 1, $0.element) }
      for (kind, rank, unit) in picks {
        guard let id = Int(unit.id), let obj = objectById[id], let w = windowOf[id] else { continue }
        let (read, masks, result) = try explainWindow(w, [obj])
        guard let e = result.explanations.first(where: { $0.method.rawValue == t.method }) else { continue }
        let stem = "\(t.method)_\(t.className)_\(kind)_\(rank)_\(unit.id)".replacingOccurrences(of: "+", with: "p")
        try StudyWriter.objectPicture(read: read, map: try e.plane(toHeight: w.height, toWidth: w.width), mask: masks[0], to: dir.appendingPathComponent("\(stem).png"))
      }
    }
    var provenance: [String: String] = [
      "checkpoint_sha256": checkpoint.sha256, "geocam_version": GeoCAMVersion.string,
      "class_names": bundle.classNames.joined(separator: ","), "tile": String(o.tileSize), "overlap": String(o.overlap),
    ]
    provenance["checkpoint"] = bundle.checkpoint.map { URL(fileURLWithPath: $0.path).lastPathComponent }
    let result = Report(
      protocolName: "raster-objects", layer: layer, target: "region (the object's own pixels)", input: path,
      labels: labels.path + (labels.layer.map { ":" + $0 } ?? ""), tests: tests, leftOut: leftOut, provenance: provenance)
    try StudyWriter.write(result, to: dir)
    return result
  }
}
