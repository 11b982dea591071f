import Foundation
import GeoCAMAudit
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// `geocam study dissect`: Network Dissection (Bau et al., CVPR 2017) on the user's own labelled
/// data: which units of a layer detect which label classes.
///
/// Concepts are the label classes (class 0, background, is no concept). Per unit k of a layer:
/// the threshold T_k is the exact 0.995 quantile of its activations over all positions of all
/// images (`numpy.quantile`, method `linear`); each of its maps is upsampled bilinearly
/// (half-pixel centres, `Resize.bilinear`) to the label grid and M_k = upsampled > T_k. Then
/// IoU_{k,c} = Σ|M_k ∩ L_c| / Σ|M_k ∪ L_c|, both sums over all images: the paper's plain
/// dataset-level IoU. NetDissect-Lite's per-image gating (a unit's activated pixels count toward
/// a category only on images where they overlap a label of that category) is not applied. A unit
/// is a detector of its best concept when that IoU ≥ 0.04.
public enum NetworkDissection {
  /// The quantile NetDissect thresholds at (`1 − QUANTILE`, QUANTILE = 0.005).
  public static let defaultQuantile = 0.995
  /// The IoU a detector needs (NetDissect's `SCORE_THRESHOLD`).
  public static let defaultIoUThreshold = 0.04

  // MARK: - Core

  /// The height and width of one activation map.
  public struct MapSize: Sendable, Hashable, Codable {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) {
      self.height = height
      self.width = width
    }
  }

  /// A layer's activation maps over a set of images, stored unit-major (each unit's maps of all
  /// images in one array) because the exact quantile needs all of a unit's values at once.
  /// Memory: units × positions × 4 bytes.
  public struct Activations: Sendable {
    /// Number of units (channels).
    public let units: Int
    /// Each image's map size, in the order images were appended.
    public private(set) var sizes: [MapSize] = []
    /// Where image i starts in every unit's array (`offsets[i]`), plus the end.
    public private(set) var offsets: [Int] = [0]
    /// Per unit, its maps of every image concatenated (row-major within an image).
    public private(set) var values: [[Float]]

    /// An empty store for `units` units.
    public init(units: Int) {
      self.units = units
      values = Array(repeating: [], count: units)
    }

    /// Number of images.
    public var images: Int { sizes.count }
    /// Positions per unit over all images.
    public var positions: Int { offsets[offsets.count - 1] }
    /// Bytes held by the activations.
    public var bytes: Int { units * positions * MemoryLayout<Float>.size }

    /// Reserves room for `positions` positions per unit, so the arrays do not grow by doubling
    /// (which would briefly hold twice the stated bound).
    public mutating func reserve(positions: Int) {
      for u in values.indices { values[u].reserveCapacity(positions) }
    }

    /// Appends one image's maps, `planes[unit]` row-major `height × width`.
    public mutating func append(planes: [[Float]], height: Int, width: Int) throws {
      guard planes.count == units else {
        throw PipelineError("activations", "got \(planes.count) maps for \(units) units")
      }
      guard height > 0, width > 0, planes.allSatisfy({ $0.count == height * width }) else {
        throw PipelineError("activations", "every map must hold \(height) × \(width) values")
      }
      for u in 0..<units { values[u].append(contentsOf: planes[u]) }
      sizes.append(MapSize(height: height, width: width))
      offsets.append(positions + height * width)
    }

    /// Appends sample `sample` of a layer output `[C][N][h][w]` as one image.
    public mutating func append(_ t: Tensor, sample: Int = 0) throws {
      guard t.channels == units, (0..<t.batch).contains(sample) else {
        throw PipelineError("activations", "a \(t.channels)-channel output for \(units) units")
      }
      let n = t.planeSize
      for u in 0..<units { values[u].append(contentsOf: UnsafeBufferPointer(start: t.plane(u, sample), count: n)) }
      sizes.append(MapSize(height: t.height, width: t.width))
      offsets.append(positions + n)
    }

    /// Unit `unit`'s map of image `image`.
    public func map(unit: Int, image: Int) -> ArraySlice<Float> {
      values[unit][offsets[image]..<offsets[image + 1]]
    }

    /// Unit `unit`'s largest activation on each image.
    public func maxima(unit: Int) -> [Float] {
      (0..<images).map { map(unit: unit, image: $0).max() ?? -.infinity }
    }
  }

  /// One image's labels on its label grid: 0 = background (no concept), k in 1…conceptCount =
  /// concept k; any other value (255 = void, nodata, pixels another tile already counted) is
  /// left out of every tally.
  public struct LabelGrid: Sendable, Hashable {
    /// The value of a pixel left out of all tallies.
    public static let excluded: UInt8 = 255
    public let width: Int
    public let height: Int
    /// Row-major labels.
    public var values: [UInt8]

    /// A grid of `width × height` labels.
    public init(width: Int, height: Int, values: [UInt8]) throws {
      guard width > 0, height > 0, values.count == width * height else {
        throw PipelineError("labels", "a \(width) × \(height) label grid needs \(width * height) values, got \(values.count)")
      }
      self.width = width
      self.height = height
      self.values = values
    }
  }

  /// The tallies of one layer: thresholds, activated pixels and intersections per unit.
  public struct Scores: Sendable {
    /// Concepts are the label values 1…conceptCount; arrays index concept k at k − 1.
    public let conceptCount: Int
    /// Per unit: T_k, the quantile of its activations.
    public var thresholds: [Double]
    /// Per unit: Σ|M_k| over counted pixels.
    public var activated: [Int]
    /// Per unit and concept (k − 1): Σ|M_k ∩ L_c|.
    public var intersections: [[Int]]
    /// Per concept (k − 1): Σ|L_c|.
    public var conceptPixels: [Int]
    /// Pixels counted (not excluded), over all images.
    public var countedPixels: Int

    /// IoU of unit `unit` with concept value `concept` (1…conceptCount): I / (A + G − I), 0
    /// when the union is empty.
    public func iou(unit: Int, concept: Int) -> Double {
      let i = intersections[unit][concept - 1]
      let union = activated[unit] + conceptPixels[concept - 1] - i
      return union > 0 ? Double(i) / Double(union) : 0
    }

    /// The unit's best concept (the first on ties, as `numpy.argmax`) and its IoU; nil
    /// without concepts.
    public func best(unit: Int) -> (concept: Int, iou: Double)? {
      guard conceptCount > 0 else { return nil }
      var best = (concept: 1, iou: iou(unit: unit, concept: 1))
      for c in 1...conceptCount {
        let v = iou(unit: unit, concept: c)
        if v > best.iou { best = (c, v) }
      }
      return best
    }

    /// Units that detect `concept`: their best concept, with IoU ≥ `threshold`.
    public func detectors(of concept: Int, threshold: Double) -> [Int] {
      thresholds.indices.filter { u in best(unit: u).map { $0.concept == concept && $0.iou >= threshold } ?? false }
    }
  }

  /// `numpy.quantile(values, q)` with the default method `linear` on the values as float64:
  /// index (n − 1)·q, `lerp` as NumPy's `_lerp` (from the upper neighbour when the weight is
  /// ≥ ½). Sorts `values` in place.
  public static func quantile(sorting values: inout [Float], _ q: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    values.sort()
    return quantile(sorted: values, q)
  }

  /// `quantile(sorting:_:)` on values already sorted ascending.
  public static func quantile(sorted v: [Float], _ q: Double) -> Double {
    let n = v.count
    guard n > 0 else { return .nan }
    let index = Double(n - 1) * q
    guard index < Double(n - 1) else { return Double(v[n - 1]) }
    guard index >= 0 else { return Double(v[0]) }
    let lower = index.rounded(.down)
    let t = index - lower
    let a = Double(v[Int(lower)]), b = Double(v[Int(lower) + 1])
    let d = b - a
    return t >= 0.5 ? b - d * (1 - t) : a + d * t
  }

  /// The pure core: thresholds, activated pixels and intersections of every unit of
  /// `activations` against `labels` (one grid per image, in the same order).
  /// `progress(done, total)` after each image's tally.
  public static func dissect(
    _ activations: Activations, labels: [LabelGrid], conceptCount: Int, quantile q: Double = defaultQuantile,
    progress: ((Int, Int) -> Void)? = nil
  ) throws -> Scores {
    guard labels.count == activations.images else {
      throw PipelineError("labels", "\(labels.count) label grids for \(activations.images) images")
    }
    guard (0...254).contains(conceptCount) else {
      throw PipelineError("labels", "concepts are label values 1…254; got \(conceptCount) concepts")
    }
    guard q > 0, q < 1 else { throw PipelineError("quantile", "must be in (0, 1), got \(q)") }
    let units = activations.units, k = conceptCount
    var thresholds = [Double](repeating: 0, count: units)
    thresholds.withUnsafeMutableBufferPointer { out in
      let out = UncheckedSendable(out)
      Parallel.forRanges(units) { range in
        for u in range {
          var copy = activations.values[u]
          out.value[u] = quantile(sorting: &copy, q)
        }
      }
    }
    var conceptPixels = [Int](repeating: 0, count: k)
    var counted = 0
    for grid in labels {
      for v in grid.values where Int(v) <= k {
        counted += 1
        if v > 0 { conceptPixels[Int(v) - 1] += 1 }
      }
    }
    var activated = [Int](repeating: 0, count: units)
    // Unit-major (k + 1 counters per unit: activated, then one per concept) so each worker
    // writes only its own units' counters.
    var tallies = [Int](repeating: 0, count: units * (k + 1))
    for (image, grid) in labels.enumerated() {
      let size = activations.sizes[image]
      var failure: Error?
      let lock = NSLock()
      tallies.withUnsafeMutableBufferPointer { buffer in
        let out = UncheckedSendable(buffer)
        Parallel.forRanges(units) { range in
          do {
            for u in range {
              let map = activations.map(unit: u, image: image)
              let t = thresholds[u]
              // The upsampled map mixes neighbours with weights summing to 1 (up to rounding),
              // so it cannot exceed the map's maximum by more than a few ulp: a unit whose map
              // stays below T_k activates no pixel of this image and is skipped.
              guard let top = map.max(), Double(top) + 1e-5 * max(abs(Double(top)), 1e-30) > t else { continue }
              let up = try Resize.bilinear(Array(map), height: size.height, width: size.width, toHeight: grid.height, toWidth: grid.width)
              let base = u * (k + 1)
              up.withUnsafeBufferPointer { up in
                grid.values.withUnsafeBufferPointer { labels in
                  var a = 0
                  for p in 0..<up.count where Double(up[p]) > t {
                    let v = Int(labels[p])
                    guard v <= k else { continue }
                    a += 1
                    if v > 0 { out.value[base + v] += 1 }
                  }
                  out.value[base] += a
                }
              }
            }
          } catch {
            lock.lock()
            failure = error
            lock.unlock()
          }
        }
      }
      if let failure { throw failure }
      progress?(image + 1, labels.count)
    }
    var intersections = [[Int]](repeating: [], count: units)
    for u in 0..<units {
      activated[u] = tallies[u * (k + 1)]
      intersections[u] = Array(tallies[(u * (k + 1) + 1)..<((u + 1) * (k + 1))])
    }
    return Scores(
      conceptCount: k, thresholds: thresholds, activated: activated, intersections: intersections,
      conceptPixels: conceptPixels, countedPixels: counted)
  }

  /// The unit's mask M_k on one image: its map upsampled to the label grid, > T_k.
  public static func mask(_ activations: Activations, unit: Int, image: Int, threshold: Double, height: Int, width: Int) throws -> [Bool] {
    let size = activations.sizes[image]
    let up = try Resize.bilinear(
      Array(activations.map(unit: unit, image: image)), height: size.height, width: size.width, toHeight: height, toWidth: width)
    return up.map { Double($0) > threshold }
  }

  // MARK: - Runs

  /// Options of a dissection run.
  public struct Options: Sendable {
    /// Layers to dissect (empty: `encoder.layer4`, or `layer4` for a classifier, or the
    /// model's default).
    public var layers: [String] = []
    public var quantile = NetworkDissection.defaultQuantile
    public var iouThreshold = NetworkDissection.defaultIoUThreshold
    /// Top units per concept and layer in the report, each with a figure.
    public var top = 5
    /// Images per figure (those where the unit fires most).
    public var figureImages = 4
    /// Raster runs: tile size (overlap is always 0) and 1-based bands in the model's order.
    public var tileSize = TileGrid.defaultTileSize
    public var bands = [1, 2, 3]
    /// Name of the class field of a vector label layer.
    public var classField = "class"
    /// Image runs: preprocessing (masks follow the same geometry, nearest).
    public var preset: ImagePreset = .imagenet
    public var resize = 256
    /// Refuse runs whose activations would exceed this (bytes).
    public var maxActivationBytes = 2 << 30
    public var quiet = false
    public init() {}
  }

  /// A concept: a label value with its name and labelled pixels.
  public struct Concept: Codable, Sendable {
    public var value: Int
    public var name: String
    public var pixels: Int
  }

  /// One of the top units of a concept.
  public struct TopUnit: Codable, Sendable {
    public var unit: Int
    public var iou: Double
    public var threshold: Double
    /// The unit's best concept (nil when it overlaps none) and whether it detects this concept.
    public var bestConcept: String?
    public var detector: Bool
    /// The figure (file name in the output folder) and the images it shows, left to right.
    public var figure: String?
    public var images: [String]

    enum CodingKeys: String, CodingKey {
      case unit, iou, threshold, detector, figure, images
      case bestConcept = "best_concept"
    }
  }

  /// One concept at one layer.
  public struct LayerConcept: Codable, Sendable {
    public var concept: String
    /// Units whose best concept this is, with IoU ≥ the threshold, by IoU.
    public var detectors: [Int]
    public var topUnits: [TopUnit]

    enum CodingKeys: String, CodingKey {
      case concept, detectors
      case topUnits = "top_units"
    }
  }

  /// One dissected layer.
  public struct Layer: Codable, Sendable {
    public var layer: String
    public var units: Int
    /// The map size of the first image (all tiles of a raster share it).
    public var map: MapSize
    public var positions: Int
    public var activationBytes: Int
    public var detectorUnits: Int
    /// Concepts with at least one detector (the paper's layer interpretability).
    public var uniqueConcepts: Int
    public var concepts: [LayerConcept]

    enum CodingKeys: String, CodingKey {
      case layer, units, map, positions, concepts
      case activationBytes = "activation_bytes"
      case detectorUnits = "detector_units"
      case uniqueConcepts = "unique_concepts"
    }
  }

  /// `dissect.json`.
  public struct Report: Codable, Sendable {
    public var input: String
    public var labels: String
    /// `tiles` (raster runs) or `images`.
    public var imageKind: String
    public var images: Int
    public var labelGrid: MapSize
    public var quantile: Double
    public var iouThreshold: Double
    public var iou: String
    public var gating: String
    public var upsampling: String
    public var concepts: [Concept]
    public var countedPixels: Int
    public var excludedPixels: Int
    public var layers: [Layer]
    /// Wall times: `forward_per_image`, `forward`, `tally`, `figures`, `total`.
    public var seconds: [String: Double]
    public var provenance: [String: String]

    enum CodingKeys: String, CodingKey {
      case input, labels, images, quantile, iou, gating, upsampling, concepts, layers, seconds, provenance
      case imageKind = "image_kind"
      case labelGrid = "label_grid"
      case iouThreshold = "iou_threshold"
      case countedPixels = "counted_pixels"
      case excludedPixels = "excluded_pixels"
    }
  }

  /// The layers to dissect: `requested`, or the default; each checked against the model.
  static func layers(_ requested: [String], model: any ExplainableModel) throws -> [String] {
    var out: [String] = []
    for l in requested where !out.contains(l) { out.append(l) }
    if out.isEmpty {
      out = [["encoder.layer4", "layer4"].first(where: model.layerPaths.contains) ?? model.defaultLayer]
    }
    for l in out { try model.checkLayer(l) }
    return out
  }

  /// Everything pass one collects: activations per layer, labels per image, image names.
  struct Collected {
    var layers: [String]
    var activations: [Activations]
    var labels: [LabelGrid]
    var names: [String]
    var forwardSeconds: Double
  }

  /// Adds one forward's taps to `c`. On the first image, refuses a run whose activations
  /// (units × positions × 4 bytes, positions = the first map's size × `expected` images) plus
  /// labels (`labelPixels` bytes per image) would exceed `cap`, before anything big is held;
  /// then checks the running total (images of other sizes).
  static func store(_ out: ModelOutput, into c: inout Collected, expected: Int, cap: Int, labelPixels: Int) throws {
    var maps: [Tensor] = []
    for layer in c.layers {
      guard let t = out.taps[layer]?.value else { throw PipelineError(layer, "the model produced no output for this layer") }
      guard t.height * t.width > 1 else {
        throw PipelineError(layer, "gives one value per image (no spatial map); dissect a convolutional layer, e.g. encoder.layer4 or layer4")
      }
      // A NaN would sort anywhere and make the threshold meaningless (and unencodable in JSON).
      guard UnsafeBufferPointer(start: t.pointer, count: t.count).allSatisfy(\.isFinite) else {
        throw PipelineError(layer, "non-finite activations on image \(c.labels.count + 1); the checkpoint or the input is damaged")
      }
      maps.append(t)
    }
    func gib(_ bytes: Int) -> String { String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) }
    if c.activations.isEmpty {
      var parts: [String] = []
      var total = labelPixels * expected
      for (layer, t) in zip(c.layers, maps) {
        let positions = t.planeSize * expected
        total += t.channels * positions * MemoryLayout<Float>.size
        parts.append("\(layer): \(t.channels) units × \(positions) positions × 4 bytes")
      }
      guard total <= cap else {
        throw PipelineError(
          "activations",
          "\(parts.joined(separator: " + ")) + labels \(labelPixels * expected) bytes = \(gib(total)), above the cap of \(gib(cap)) (--max-activation-gib); dissect fewer tiles or images, or fewer layers")
      }
      c.activations = maps.map { t in
        var a = Activations(units: t.channels)
        a.reserve(positions: t.planeSize * expected)
        return a
      }
    }
    var held = labelPixels * (c.labels.count + 1)
    for i in maps.indices {
      try c.activations[i].append(maps[i])
      held += c.activations[i].bytes
    }
    guard held <= cap else {
      throw PipelineError("activations", "\(gib(held)) held after \(c.labels.count + 1) images, above the cap of \(gib(cap)) (--max-activation-gib)")
    }
  }

  /// Runs Network Dissection with a segmentation model on `raster` cut into non-overlapping
  /// tiles (`TileGrid`, overlap 0; the edge tile shifted inward counts only pixels no earlier
  /// tile counted), with truth `labels` (a label raster on the same grid, values outside the
  /// classes and nodata left out, or a vector layer with a class field). Pixels that are
  /// nodata in the imagery are left out of every tally. Writes `dissect.json`, `dissect.csv`,
  /// `report.md` and figures into `output`.
  public static func run(
    raster path: String, labels source: AuditOptions.Source, checkpoint: OpenedCheckpoint, options o: Options,
    output: String, progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> Report {
    let report = progress ?? StderrProgress(quiet: o.quiet).handle
    let clock = Date()
    let bundle = checkpoint.bundle
    guard bundle.model.task == .segmentation else {
      throw PipelineError("--raster", "needs a segmentation model; this checkpoint is a classifier (give --voc ROOT or --images DIR --masks DIR)")
    }
    let layers = try Self.layers(o.layers, model: bundle.model)
    let k = bundle.model.classCount - 1
    guard k >= 1, k <= 254 else { throw PipelineError("--checkpoint", "dissection needs 2…255 classes, the model has \(k + 1)") }
    try checkCommon(o)
    let raster = try GeoRaster(path: path)
    let grid = try TileGrid(width: raster.width, height: raster.height, tileSize: o.tileSize, overlap: 0)
    try bundle.model.validate(height: o.tileSize, width: o.tileSize)

    // Labels: a raster read tile by tile, or vectors rasterised once onto the grid.
    var labelRaster: GeoRaster?
    var sceneClasses: [UInt8]?
    if source.layer == nil, let r = try? GeoRaster(path: source.path) {
      guard r.width == raster.width, r.height == raster.height else {
        throw PipelineError(source.path, "label raster is \(r.width)x\(r.height); the raster is \(raster.width)x\(raster.height) (labels must be on the same grid)")
      }
      labelRaster = r
    } else {
      let set = try LabelSet.load(
        source, classNames: bundle.classNames, classField: o.classField, typeField: nil, width: raster.width,
        height: raster.height, georeferencing: raster.georeferencing)
      sceneClasses = set.classGrid
    }

    let tiles = grid.tiles
    report(.phase("dissecting \(layers.joined(separator: ", ")) on \(tiles.count) tiles of \(o.tileSize) px"))
    report(.started(tiles: tiles.count, reused: 0, blocks: 1))
    var c = Collected(
      layers: layers, activations: [], labels: [], names: [], forwardSeconds: 0)
    let s = o.tileSize
    for (n, tile) in tiles.enumerated() {
      let window = PixelWindow(x: tile.x, y: tile.y, width: s, height: s)
      let read = try raster.readWindow(window, bands: o.bands)
      let (pixels, _) = TileInput.tensor(read, fill: bundle.preprocessing.neutralPixel)
      let t0 = Date()
      let out = try bundle.model.forward(pixels: pixels, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: Set(layers))
      c.forwardSeconds += Date().timeIntervalSince(t0)
      try store(out, into: &c, expected: tiles.count, cap: o.maxActivationBytes, labelPixels: s * s)
      // A pixel counts in the first tile that covers it: the edge tile, shifted inward, leaves
      // out what the tile before it already counted.
      let x0 = tile.column > 0 ? grid.xOrigins[tile.column - 1] + s : 0
      let y0 = tile.row > 0 ? grid.yOrigins[tile.row - 1] + s : 0
      var values = [UInt8](repeating: LabelGrid.excluded, count: s * s)
      let labelRead = try labelRaster?.readWindow(window, bands: [1])
      for p in 0..<(s * s) where read.mask[p] != 0 {
        let x = tile.x + p % s, y = tile.y + p / s
        guard x >= x0, y >= y0, x < raster.width, y < raster.height else { continue }
        if let labelRead {
          let v = labelRead.data[p]
          guard labelRead.mask[p] != 0, v >= 0, v <= Float(k), v == v.rounded() else { continue }
          values[p] = UInt8(v)
        } else if let sceneClasses {
          values[p] = sceneClasses[y * raster.width + x]
        }
      }
      c.labels.append(try LabelGrid(width: s, height: s, values: values))
      c.names.append("r\(tile.row)c\(tile.column) (x \(tile.x), y \(tile.y))")
      let elapsed = Date().timeIntervalSince(clock)
      let rate = elapsed > 0 ? Double(n + 1) / elapsed : 0
      report(.tiles(done: n + 1, total: tiles.count, tilesPerSecond: rate, eta: rate > 0 ? Double(tiles.count - n - 1) / rate : nil))
    }
    let imagery: (Int) throws -> RGBImage = { i in
      let tile = tiles[i]
      let read = try raster.readWindow(PixelWindow(x: tile.x, y: tile.y, width: s, height: s), bands: o.bands)
      return try rgb(read)
    }
    var provenance: [String: String] = ["tile": String(s), "overlap": "0", "bands": o.bands.map(String.init).joined(separator: ",")]
    provenance["class_field"] = labelRaster == nil ? o.classField : nil
    return try finish(
      c, conceptNames: Array(bundle.classNames.dropFirst().prefix(k)), input: path,
      labels: source.path + (source.layer.map { ":" + $0 } ?? ""), imageKind: "tiles", checkpoint: checkpoint, options: o,
      output: output, imagery: imagery, extraProvenance: provenance, clock: clock, report: report)
  }

  /// Runs Network Dissection with a classifier on images with masks (label images: 0
  /// background, k = concept k, 255 = void, left out). Images go through `options.preset`,
  /// masks through the same geometry (nearest). `conceptNames[k − 1]` names mask value k (nil:
  /// `value_k` up to the largest value below 255 in the masks).
  public static func run(
    images pairs: [StudyImages.Pair], conceptNames: [String]?, checkpoint: OpenedCheckpoint, options o: Options,
    output: String, source: String, progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> Report {
    let report = progress ?? StderrProgress(quiet: o.quiet).handle
    let clock = Date()
    let bundle = checkpoint.bundle
    guard bundle.model.task == .classification else {
      throw PipelineError("--images", "image dissection needs a classifier; use --raster R --labels L with a segmentation model")
    }
    guard !pairs.isEmpty else { throw PipelineError(source, "holds no image with a mask") }
    let layers = try Self.layers(o.layers, model: bundle.model)
    try checkCommon(o)
    report(.phase("dissecting \(layers.joined(separator: ", ")) on \(pairs.count) images"))
    report(.started(tiles: pairs.count, reused: 0, blocks: 1))
    var c = Collected(
      layers: layers, activations: [], labels: [], names: [], forwardSeconds: 0)
    var largest = 0
    for (n, pair) in pairs.enumerated() {
      let input = try ClassifierInput(path: pair.image, preset: o.preset, resize: o.resize)
      let mask = try RGBImageLoader.loadIndices(pair.mask)
      guard mask.width == input.sourceWidth, mask.height == input.sourceHeight else {
        throw PipelineError(pair.mask, "mask is \(mask.width)x\(mask.height); the image is \(input.sourceWidth)x\(input.sourceHeight)")
      }
      let g = input.geometry
      let m = o.preset.apply(mask: mask.values, width: mask.width, height: mask.height, resize: o.resize)
      for v in m where v != 255 { largest = max(largest, Int(v)) }
      let t0 = Date()
      let out = try bundle.model.forward(pixels: input.tensor, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: Set(layers))
      c.forwardSeconds += Date().timeIntervalSince(t0)
      try store(out, into: &c, expected: pairs.count, cap: o.maxActivationBytes, labelPixels: g.width * g.height)
      c.labels.append(try LabelGrid(width: g.width, height: g.height, values: m))
      c.names.append(pair.id)
      let elapsed = Date().timeIntervalSince(clock)
      let rate = elapsed > 0 ? Double(n + 1) / elapsed : 0
      report(.tiles(done: n + 1, total: pairs.count, tilesPerSecond: rate, eta: rate > 0 ? Double(pairs.count - n - 1) / rate : nil))
    }
    let names = conceptNames ?? (0..<min(largest, 254)).map { "value_\($0 + 1)" }
    guard !names.isEmpty else { throw PipelineError(source, "the masks hold no concept (no value other than 0 and 255)") }
    // Values above the named concepts are no concept: leave them out like void.
    if names.count < 254 {
      for i in c.labels.indices {
        c.labels[i].values = c.labels[i].values.map { Int($0) > names.count ? LabelGrid.excluded : $0 }
      }
    }
    let imagery: (Int) throws -> RGBImage = { i in try ClassifierInput(path: pairs[i].image, preset: o.preset, resize: o.resize).image }
    return try finish(
      c, conceptNames: names, input: source, labels: "masks (0 background, 255 void)", imageKind: "images",
      checkpoint: checkpoint, options: o, output: output, imagery: imagery,
      extraProvenance: ["preprocess": o.preset.rawValue, "resize": String(o.resize)], clock: clock, report: report)
  }

  static func checkCommon(_ o: Options) throws {
    guard o.quantile > 0, o.quantile < 1 else { throw PipelineError("--quantile", "must be in (0, 1), got \(o.quantile)") }
    guard o.iouThreshold >= 0, o.iouThreshold <= 1 else { throw PipelineError("--iou-threshold", "must be in [0, 1], got \(o.iouThreshold)") }
    guard o.top >= 0 else { throw PipelineError("--top", "must be at least 0") }
  }

  /// A window's bands as an RGB picture (one band is repeated; values clamped to 0…255).
  static func rgb(_ read: RasterWindow) throws -> RGBImage {
    let plane = read.width * read.height
    var px = [UInt8](repeating: 0, count: 3 * plane)
    for p in 0..<plane {
      for ch in 0..<3 {
        let v = read.data[min(ch, read.bands.count - 1) * plane + p]
        px[3 * p + ch] = UInt8(min(max(v, 0), 255))
      }
    }
    return try RGBImage(width: read.width, height: read.height, pixels: px)
  }

  /// Pass two and the outputs, shared by raster and image runs.
  static func finish(
    _ c: Collected, conceptNames: [String], input: String, labels: String, imageKind: String,
    checkpoint: OpenedCheckpoint, options o: Options, output: String, imagery: (Int) throws -> RGBImage,
    extraProvenance: [String: String], clock: Date, report: (PipelineEvent) -> Void
  ) throws -> Report {
    let k = conceptNames.count
    var layerScores: [Scores] = []
    let tallyStart = Date()
    for (i, layer) in c.layers.enumerated() {
      report(.phase("\(layer): thresholds and IoU over \(c.labels.count) \(imageKind)"))
      layerScores.append(try dissect(c.activations[i], labels: c.labels, conceptCount: k, quantile: o.quantile))
    }
    let tallySeconds = Date().timeIntervalSince(tallyStart)
    guard let first = layerScores.first else { throw PipelineError("--layers", "no layer to dissect") }
    let concepts = conceptNames.enumerated().map { Concept(value: $0.offset + 1, name: $0.element, pixels: first.conceptPixels[$0.offset]) }
    let totalPixels = c.labels.reduce(0) { $0 + $1.values.count }

    let dir = URL(fileURLWithPath: output)
    try Folder.create(dir)
    let figureStart = Date()
    // The same few images top many units: read each once.
    var pictures: [Int: RGBImage] = [:]
    var layers: [Layer] = []
    for (i, layer) in c.layers.enumerated() {
      let s = layerScores[i], a = c.activations[i]
      var perConcept: [LayerConcept] = []
      var seen = Set<Int>()
      for concept in concepts {
        let detectors = s.detectors(of: concept.value, threshold: o.iouThreshold)
          .sorted { (s.iou(unit: $0, concept: concept.value), -$0) > (s.iou(unit: $1, concept: concept.value), -$1) }
        if !detectors.isEmpty { seen.insert(concept.value) }
        var top: [TopUnit] = []
        if concept.pixels > 0 {
          let ranked = (0..<a.units).sorted {
            (s.iou(unit: $0, concept: concept.value), -$0) > (s.iou(unit: $1, concept: concept.value), -$1)
          }
          for (rank, u) in ranked.prefix(o.top).enumerated() {
            let best = s.best(unit: u)
            let maxima = a.maxima(unit: u)
            let shown = maxima.indices.sorted { (maxima[$0], -$0) > (maxima[$1], -$1) }.prefix(o.figureImages)
            var panels: [DissectionWriter.Panel] = []
            for img in shown {
              let grid = c.labels[img]
              let m = try mask(a, unit: u, image: img, threshold: s.thresholds[u], height: grid.height, width: grid.width)
              let picture: RGBImage
              if let cached = pictures[img] {
                picture = cached
              } else {
                picture = try imagery(img)
                pictures[img] = picture
              }
              panels.append(DissectionWriter.Panel(image: picture, unitMask: m, concept: grid.values.map { Int($0) == concept.value }))
            }
            let file = DissectionWriter.fileStem("\(layer)_\(concept.name)_\(rank + 1)_unit\(u)") + ".png"
            try DissectionWriter.unitFigure(panels, to: dir.appendingPathComponent(file))
            top.append(
              TopUnit(
                unit: u, iou: s.iou(unit: u, concept: concept.value), threshold: s.thresholds[u],
                bestConcept: best.flatMap { $0.iou > 0 ? conceptNames[$0.concept - 1] : nil },
                detector: best.map { $0.concept == concept.value && $0.iou >= o.iouThreshold } ?? false, figure: file,
                images: shown.map { c.names[$0] }))
          }
        }
        perConcept.append(LayerConcept(concept: concept.name, detectors: detectors, topUnits: top))
      }
      let size = a.sizes.first ?? MapSize(height: 0, width: 0)
      layers.append(
        Layer(
          layer: layer, units: a.units, map: size, positions: a.positions, activationBytes: a.bytes,
          detectorUnits: perConcept.reduce(0) { $0 + $1.detectors.count }, uniqueConcepts: seen.count, concepts: perConcept))
    }
    let figureSeconds = Date().timeIntervalSince(figureStart)
    var provenance = extraProvenance
    provenance["checkpoint_sha256"] = checkpoint.sha256
    provenance["geocam_version"] = GeoCAMVersion.string
    provenance["class_names"] = checkpoint.bundle.classNames.joined(separator: ",")
    provenance["checkpoint"] = checkpoint.bundle.checkpoint.map { URL(fileURLWithPath: $0.path).lastPathComponent }
    let images = c.labels.count
    let result = Report(
      input: input, labels: labels, imageKind: imageKind, images: images,
      labelGrid: MapSize(height: c.labels.first?.height ?? 0, width: c.labels.first?.width ?? 0), quantile: o.quantile,
      iouThreshold: o.iouThreshold, iou: "dataset-level: Σ|M ∩ L_c| / Σ|M ∪ L_c| over all \(imageKind) (Bau et al. 2017)",
      gating: "none (NetDissect-Lite's per-image category gating is not applied)",
      upsampling: "bilinear with half-pixel centres and edge clamping, as OpenCV's INTER_LINEAR; M = upsampled > threshold",
      concepts: concepts, countedPixels: first.countedPixels, excludedPixels: totalPixels - first.countedPixels, layers: layers,
      seconds: [
        "forward": c.forwardSeconds, "forward_per_image": images > 0 ? c.forwardSeconds / Double(images) : 0,
        "tally": tallySeconds, "figures": figureSeconds, "total": Date().timeIntervalSince(clock),
      ], provenance: provenance)
    try DissectionWriter.write(result, scores: layerScores, conceptNames: conceptNames, to: dir)
    report(.finished(seconds: Date().timeIntervalSince(clock)))
    return result
  }
}
