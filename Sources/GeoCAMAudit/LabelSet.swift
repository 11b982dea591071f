import Foundation
import GeoCAMGeo

/// Labelled objects on the audit's pixel grid: from a label raster on the same grid (0 =
/// background, k = class index; each 8-connected region of one value is one object; values
/// outside the classes, e.g. 255 = void, are ignored) or from any OGR vector layer with a class
/// (or type) field, rasterised onto the grid (a pixel belongs to a polygon when its centre is
/// inside; where polygons overlap, the later feature wins).
public struct LabelSet {
  /// Object id per pixel (0 = none).
  public var grid: [Int32]
  /// The objects (id = feature id for vectors, region number for rasters).
  public var objects: [LabelMatching.Label]
  /// Per object id: its polygon in the grid's CRS, and its type (confounders).
  public var geometries: [Int: WKBGeometry]
  public var types: [Int: String]
  /// Features skipped (background class, empty after rasterising, unknown class), for the summary.
  public var skipped: [String]

  /// The class index of each pixel (0 where no object), for studies that count labelled
  /// pixels per class rather than objects.
  public var classGrid: [UInt8] {
    var classOf: [Int32: UInt8] = [:]
    for obj in objects { classOf[Int32(obj.id)] = UInt8(clamping: obj.classIndex) }
    return grid.map { $0 == 0 ? 0 : classOf[$0] ?? 0 }
  }

  /// Loads labels (`typeField == nil`: a class field resolved against `classNames`) or typed
  /// confounders (`typeField` set: any value is a type).
  public static func load(
    _ source: AuditOptions.Source, classNames: [String], classField: String, typeField: String?, width: Int,
    height: Int, georeferencing: Georeferencing
  ) throws -> LabelSet {
    if source.layer == nil, let raster = try? GeoRaster(path: source.path) {
      return try fromRaster(raster, classNames: classNames, typed: typeField != nil, width: width, height: height)
    }
    let field = typeField ?? classField
    let features = try RegionVectors.readFeatures(
      path: source.path, layer: source.layer, fields: [field], required: [field], targetCRS: georeferencing.crsWKT)
    var kept: [(fid: Int, value: String, geometry: WKBGeometry)] = []
    var skipped: [String] = []
    let lower = classNames.map { $0.lowercased() }
    for f in features {
      guard let g = f.geometry, let raw = f.fields[field]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
        skipped.append("feature \(f.fid): no geometry or no \(field)")
        continue
      }
      if typeField != nil {
        kept.append((f.fid, raw, g))
        continue
      }
      let k: Int?
      if let i = Int(raw) { k = i } else { k = lower.firstIndex(of: raw.lowercased()) }
      guard let k, k >= 0, k < classNames.count else {
        throw GeoError(
          source.path,
          "feature \(f.fid): class '\(raw)' is neither an index below \(classNames.count) nor one of \(classNames.joined(separator: ", ")) (name classes with --class-names)")
      }
      if k == 0 {
        skipped.append("feature \(f.fid): background")
        continue
      }
      kept.append((f.fid, String(k), g))
    }
    let grid = try RegionVectors.rasterize(kept.map(\.geometry), width: width, height: height, georeferencing: georeferencing)
    var counts = [Int](repeating: 0, count: kept.count + 1)
    for v in grid where v > 0 { counts[Int(v)] += 1 }
    var objects: [LabelMatching.Label] = []
    var geometries: [Int: WKBGeometry] = [:]
    var types: [Int: String] = [:]
    var remap = [Int32](repeating: 0, count: kept.count + 1)
    for (i, item) in kept.enumerated() {
      guard counts[i + 1] > 0 else {
        skipped.append("feature \(item.fid): covers no pixel centre of the raster")
        continue
      }
      remap[i + 1] = Int32(item.fid)
      objects.append(LabelMatching.Label(id: item.fid, classIndex: typeField == nil ? Int(item.value) ?? 0 : 0, pixels: counts[i + 1]))
      geometries[item.fid] = item.geometry
      if typeField != nil { types[item.fid] = item.value }
    }
    return LabelSet(
      grid: grid.map { remap[Int($0)] }, objects: objects, geometries: geometries, types: types, skipped: skipped)
  }

  private static func fromRaster(_ raster: GeoRaster, classNames: [String], typed: Bool, width: Int, height: Int) throws -> LabelSet {
    guard raster.width == width, raster.height == height else {
      throw GeoError(raster.path, "label raster is \(raster.width)x\(raster.height); the audited raster is \(width)x\(height) (labels must be on the same grid)")
    }
    let values = try raster.readWindow(x: 0, y: 0, width: width, height: height, bands: [1]).data
    let limit = typed ? 256 : classNames.count
    let grid = values.map { v -> UInt8 in v >= 1 && v < Float(limit) ? UInt8(v) : 0 }
    let regions = ConnectedRegions(grid: grid, width: width, height: height)
    let polygons = try RegionVectors.polygons(
      labels: regions.labels, width: width, height: height, georeferencing: raster.georeferencing)
    var geometries: [Int: WKBGeometry] = [:]
    var types: [Int: String] = [:]
    let objects = regions.regions.map { r -> LabelMatching.Label in
      let id = Int(r.label)
      geometries[id] = polygons[r.label]
      if typed { types[id] = "value_\(r.value)" }
      return LabelMatching.Label(id: id, classIndex: typed ? 0 : r.value, pixels: r.pixels)
    }
    return LabelSet(grid: regions.labels, objects: objects, geometries: geometries, types: types, skipped: [])
  }

  /// Shared pixels of each detection (grid `detections`, 0 = none) with each object.
  public func overlaps(with detections: [Int32]) -> [Int: [Int: Int]] {
    var out: [Int: [Int: Int]] = [:]
    for i in grid.indices where grid[i] != 0 && detections[i] != 0 {
      out[Int(detections[i]), default: [:]][Int(grid[i]), default: 0] += 1
    }
    return out
  }
}
