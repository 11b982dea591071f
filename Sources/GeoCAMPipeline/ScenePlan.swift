import GeoCAMCore
import Foundation
import GeoCAMGeo

/// Everything that determines a run's results, fixed before the first tile: the input, the
/// area, the grid, the layers, the model's identity. Recorded in the resume state and in each
/// part's JSON; its flattened form is the fingerprint that resume and merge compare.
struct ScenePlan: Codable, Hashable, Sendable {
  // Input
  var inputPath: String
  var inputWidth: Int
  var inputHeight: Int
  var inputBandCount: Int
  var inputDataTypes: [String]
  /// File size and modification time for local files ("" otherwise).
  var inputIdentity: String
  /// Pixel size of the warped VRT the input was read through, nil when read as is.
  var resamplePixelSize: Double?
  var bands: [Int]
  /// Linear input scaling low/high, nil for none.
  var scaleLow: Float?
  var scaleHigh: Float?
  // Area and georeferencing of the outputs
  var areaX: Int
  var areaY: Int
  var width: Int
  var height: Int
  var geoTransform: [Double]?
  var crsWKT: String
  // Tiling
  var tileSize: Int
  var overlap: Int
  var blockSize: Int
  // Model and layers
  var classNames: [String]
  var methods: [String]
  var layerClasses: [Int]
  var predictOnly: Bool
  var explainWhere: PipelineOptions.ExplainWhere
  var minPixels: Int
  var normalization: PipelineOptions.Normalization
  var scenePercentile: Double
  var camResolution: PipelineOptions.CAMResolution
  /// Input pixels per explanation-layer pixel (1 at full resolution).
  var camCell: Int
  var camMapSize: Int?
  var half: Bool
  var cog: Bool
  var compression: String
  // Quicklook
  var quicklookStep: Int
  /// 0-based explanation band shown in the quicklook, nil without explanation bands.
  var quicklookBand: Int?
  /// Model provenance plus the caller's extra provenance.
  var provenance: [String: String]
  /// Methods whose map ignores the class (FEM, Eigen-CAM): one band each, `method:all`,
  /// blended over the tiles where any class was explained. Nil in plans written before.
  var classAgnosticMethods: [String]? = nil

  // MARK: - Derived geometry

  var area: PixelWindow { PixelWindow(x: areaX, y: areaY, width: width, height: height) }

  func grid() throws -> TileGrid { try TileGrid(window: area, tileSize: tileSize, overlap: overlap) }

  var classCount: Int { classNames.count }
  var layerCount: Int { layerBands.count }

  /// Whether `method` has one class-agnostic band.
  func isClassAgnostic(_ method: String) -> Bool { classAgnosticMethods?.contains(method) ?? false }

  /// The explanation bands in order, method-major: (method, class) per band, class nil for a
  /// class-agnostic method's single band.
  var layerBands: [(method: String, classIndex: Int?)] {
    predictOnly ? [] : ScenePlan.layerBands(methods: methods, classAgnostic: classAgnosticMethods ?? [], classes: layerClasses)
  }

  /// Band descriptions of `OUT.tif`, method-major: `gradcam:solar_panel`, `gradcam:water_heater`,
  /// …, `fem:all`.
  var layerDescriptions: [String] { ScenePlan.describe(layerBands, classNames: classNames) }

  /// The bands for `methods` × `classes`, one band only for a class-agnostic method.
  static func layerBands(methods: [String], classAgnostic: [String], classes: [Int]) -> [(method: String, classIndex: Int?)] {
    methods.flatMap { m in classAgnostic.contains(m) ? [(m, nil)] : classes.map { (m, Optional($0)) } }
  }

  /// `method:class` per band (`method:all` for a class-agnostic one).
  static func describe(_ bands: [(method: String, classIndex: Int?)], classNames: [String]) -> [String] {
    bands.map { LayerName.band(method: $0.method, className: $0.classIndex.map { classNames[$0] } ?? LayerName.allClasses) }
  }

  /// Size of the explanation layer (the output size at full resolution, cells at native).
  var layerWidth: Int { (width + camCell - 1) / camCell }
  var layerHeight: Int { (height + camCell - 1) / camCell }

  /// Georeferencing of the full-resolution outputs.
  var georeferencing: Georeferencing {
    Georeferencing(geoTransform: geoTransform.flatMap { GeoTransform($0) }, crsWKT: crsWKT)
  }

  /// Georeferencing of the explanation layer: pixels `camCell` times larger, same origin.
  var layerGeoreferencing: Georeferencing {
    guard camCell > 1, var gt = geoTransform.flatMap({ GeoTransform($0) }) else { return georeferencing }
    let c = Double(camCell)
    gt.pixelWidth *= c
    gt.rowRotation *= c
    gt.columnRotation *= c
    gt.pixelHeight *= c
    return Georeferencing(geoTransform: gt, crsWKT: crsWKT)
  }

  var blockColumns: Int { (width + blockSize - 1) / blockSize }
  var blockRows: Int { (height + blockSize - 1) / blockSize }
  var blockCount: Int { blockColumns * blockRows }

  func block(_ index: Int) -> OutputBlock {
    let bx = index % blockColumns
    let by = index / blockColumns
    let ox = bx * blockSize
    let oy = by * blockSize
    let output = PixelWindow(
      x: ox, y: oy, width: min(blockSize, width - ox), height: min(blockSize, height - oy))
    let cell = blockSize / camCell
    let lx = bx * cell
    let ly = by * cell
    let layer = PixelWindow(
      x: lx, y: ly, width: min(cell, layerWidth - lx), height: min(cell, layerHeight - ly))
    return OutputBlock(
      index: index, column: bx, row: by,
      rect: PixelWindow(x: areaX + ox, y: areaY + oy, width: output.width, height: output.height),
      output: output, layer: layer)
  }

  /// Indices of the blocks a tile's pixels (clipped to the area) fall in, row-major.
  func consumers(of tile: Tile) -> [Int] {
    guard let clipped = tile.window.intersection(area) else { return [] }
    let c0 = (clipped.x - areaX) / blockSize
    let c1 = (clipped.maxX - 1 - areaX) / blockSize
    let r0 = (clipped.y - areaY) / blockSize
    let r1 = (clipped.maxY - 1 - areaY) / blockSize
    var out: [Int] = []
    for r in r0...r1 { for c in c0...c1 { out.append(r * blockColumns + c) } }
    return out
  }

  /// The tiles whose pixels meet a block, row-major (the order they are blended in).
  func tiles(for block: OutputBlock, in grid: TileGrid) -> [Tile] {
    let cols = grid.xOrigins.indices.filter { grid.xOrigins[$0] < block.rect.maxX && grid.xOrigins[$0] + tileSize > block.rect.x }
    let rows = grid.yOrigins.indices.filter { grid.yOrigins[$0] < block.rect.maxY && grid.yOrigins[$0] + tileSize > block.rect.y }
    var out: [Tile] = []
    for r in rows {
      for c in cols {
        out.append(Tile(row: r, column: c, x: grid.xOrigins[c], y: grid.yOrigins[r], size: tileSize))
      }
    }
    return out
  }

  /// Quicklook size: one quicklook pixel per `quicklookStep` output pixels.
  var quicklookWidth: Int { (width + quicklookStep - 1) / quicklookStep }
  var quicklookHeight: Int { (height + quicklookStep - 1) / quicklookStep }

  /// The output coordinate sampled for quicklook column/row `q` along an axis of `length`.
  func quicklookSample(_ q: Int, length: Int) -> Int {
    min(q * quicklookStep + quicklookStep / 2, length - 1)
  }

  // MARK: - Fingerprint

  /// The plan as flat key → JSON text, for comparing runs and naming what differs.
  func fingerprint() throws -> [String: String] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(self)
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
    var out: [String: String] = [:]
    for (key, value) in object {
      if let d = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
        let s = String(data: d, encoding: .utf8)
      {
        out[key] = s
      }
    }
    return out
  }

  /// A one-line account of how `other` differs from this plan ("" when equal).
  func differences(from other: ScenePlan) throws -> String {
    let a = try fingerprint()
    let b = try other.fingerprint()
    let keys = Set(a.keys).union(b.keys).sorted().filter { a[$0] != b[$0] }
    return keys.map { key in
      func short(_ s: String?) -> String {
        guard let s else { return "none" }
        return s.count > 60 ? String(s.prefix(57)) + "…" : s
      }
      return "\(key) \(short(b[key])) → \(short(a[key]))"
    }.joined(separator: "; ")
  }
}

extension ScenePlan {
  /// Quicklook columns and rows whose sample points fall in `output` (output coordinates).
  func quicklookIndices(in output: PixelWindow) -> (columns: [Int], rows: [Int]) {
    let cols = (0..<quicklookWidth).filter {
      let s = quicklookSample($0, length: width)
      return s >= output.x && s < output.maxX
    }
    let rows = (0..<quicklookHeight).filter {
      let s = quicklookSample($0, length: height)
      return s >= output.y && s < output.maxY
    }
    return (cols, rows)
  }

  /// Metadata written to every output (default and `GEOCAM` domains) and the JSON summary.
  var provenanceItems: [String: String] {
    var items: [String: String] = [:]
    for (k, v) in provenance { items[k.hasPrefix("geocam_") ? k : "geocam_" + k] = v }
    items["geocam_input"] = inputPath
    items["geocam_input_size"] = "\(inputWidth)x\(inputHeight)"
    items["geocam_window"] = "\(areaX),\(areaY),\(width),\(height)"
    items["geocam_bands"] = bands.map(String.init).joined(separator: ",")
    items["geocam_tile"] = String(tileSize)
    items["geocam_overlap"] = String(overlap)
    items["geocam_class_names"] = classNames.joined(separator: ",")
    if let r = resamplePixelSize { items["geocam_resample_pixel_size"] = String(r) }
    if let lo = scaleLow, let hi = scaleHigh { items["geocam_scaling"] = "linear \(lo)..\(hi) -> 0..255" }
    if !predictOnly {
      items["geocam_methods"] = methods.joined(separator: ",")
      items["geocam_classes"] = layerClasses.map { classNames[$0] }.joined(separator: ",")
      items["geocam_explain_where"] = explainWhere == .detected ? "detected (min_pixels \(minPixels))" : "all"
      items["geocam_normalization"] = normalization.rawValue
      items["geocam_cam_resolution"] = camCell == 1 ? "full" : "native (\(camCell) px per cell)"
      switch normalization {
      case .raw: break
      case .scene: items["geocam_scene_percentile"] = String(scenePercentile)
      case .tile:
        items["geocam_normalization_note"] = "per-tile (x - min) / (max + 1e-8): values are not comparable across tiles"
      case .minmax:
        items["geocam_normalization_note"] = "per-tile (x - min) / (max - min + 1e-7): values are not comparable across tiles"
      }
    }
    return items
  }
}
