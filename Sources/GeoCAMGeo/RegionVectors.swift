import CGDAL
import Foundation

/// A geometry as ISO WKB (little-endian), in a stated CRS: a value type that outlives the GDAL
/// objects it came from.
public struct WKBGeometry: Sendable, Hashable {
  /// The bytes.
  public var bytes: [UInt8]

  /// Wraps WKB bytes.
  public init(bytes: [UInt8]) { self.bytes = bytes }

  /// Copies an OGR geometry.
  init(_ geometry: OGRGeometryH) {
    let n = Int(OGR_G_WkbSize(geometry))
    var bytes = [UInt8](repeating: 0, count: n)
    bytes.withUnsafeMutableBufferPointer { _ = OGR_G_ExportToIsoWkb(geometry, wkbNDR, $0.baseAddress) }
    self.bytes = bytes
  }

  /// Planar area in CRS units² (OGR_G_Area); 0 for bytes OGR cannot read.
  public var area: Double {
    guard let g = makeOGR() else { return 0 }
    defer { OGR_G_DestroyGeometry(g) }
    return OGR_G_Area(g)
  }

  /// The number of polygons (1 for a Polygon, the part count of a MultiPolygon) and of
  /// interior rings (holes) over all of them.
  public var polygonAndHoleCounts: (polygons: Int, holes: Int) {
    guard let g = makeOGR() else { return (0, 0) }
    defer { OGR_G_DestroyGeometry(g) }
    func holes(_ p: OGRGeometryH) -> Int { max(0, Int(OGR_G_GetGeometryCount(p)) - 1) }
    let type = OGR_GT_Flatten(OGR_G_GetGeometryType(g))
    if type == wkbPolygon { return (1, holes(g)) }
    let n = Int(OGR_G_GetGeometryCount(g))
    return (n, (0..<n).reduce(0) { $0 + holes(OGR_G_GetGeometryRef(g, Int32($1))) })
  }

  /// A new OGR geometry (the caller destroys it), or nil for bytes OGR cannot read.
  func makeOGR() -> OGRGeometryH? {
    var geometry: OGRGeometryH? = nil
    let err = bytes.withUnsafeBytes { OGR_G_CreateFromWkbEx($0.baseAddress, nil, &geometry, $0.count) }
    guard err == OGRERR_NONE else {
      if let geometry { OGR_G_DestroyGeometry(geometry) }
      return nil
    }
    return geometry
  }
}

/// Vector operations on a raster's pixel grid: regions to polygons (`GDALPolygonize`), polygons
/// to pixels (`GDALRasterizeGeometries`), reading vector layers.
public enum RegionVectors {
  /// The in-memory GDAL raster of a label grid, georeferenced like the grid (pixel coordinates,
  /// y down, when it has no geotransform).
  static func memoryRaster(
    _ labels: [Int32]?, width: Int, height: Int, georeferencing: Georeferencing, subject: String
  ) throws -> GDALDatasetH {
    let driver = try GDALRuntime.driver("MEM", for: subject)
    guard let ds = GDALCreate(driver, "", Int32(width), Int32(height), 1, GDT_Int32, nil) else {
      throw GDALRuntime.failure(subject, "cannot create a \(width)x\(height) in-memory raster")
    }
    var gt = georeferencing.geoTransform?.coefficients ?? [0, 1, 0, 0, 0, 1]
    GDALSetGeoTransform(ds, &gt)
    if !georeferencing.crsWKT.isEmpty { GDALSetProjection(ds, georeferencing.crsWKT) }
    if var labels {
      let band = GDALGetRasterBand(ds, 1)
      let err = labels.withUnsafeMutableBytes {
        GDALRasterIO(band, GF_Write, 0, 0, Int32(width), Int32(height), $0.baseAddress, Int32(width), Int32(height), GDT_Int32, 0, 0)
      }
      if err.rawValue >= CE_Failure.rawValue {
        GDALClose(ds)
        throw GDALRuntime.failure(subject, "cannot fill the in-memory raster")
      }
    }
    return ds
  }

  /// Polygons of the regions of a label grid (`width × height`, row-major; 0 = no region),
  /// one geometry per label, in the grid's CRS. Regions are 8-connected (GDALPolygonize with
  /// `8CONNECTED=8`), matching how the labels were found; a label whose pixels GDAL returns as
  /// several polygons becomes one MultiPolygon.
  public static func polygons(
    labels: [Int32], width: Int, height: Int, georeferencing: Georeferencing
  ) throws -> [Int32: WKBGeometry] {
    let subject = "polygonize"
    guard labels.count == width * height else { throw GeoError(subject, "label grid size mismatch") }
    let ds = try memoryRaster(labels, width: width, height: height, georeferencing: georeferencing, subject: subject)
    defer { GDALClose(ds) }
    let band = GDALGetRasterBand(ds, 1)
    guard let memory = GDALGetDriverByName("Memory"),
      let vds = GDALCreate(memory, "regions", 0, 0, 0, GDT_Unknown, nil)
    else { throw GDALRuntime.failure(subject, "cannot create an in-memory vector dataset") }
    defer { GDALClose(vds) }
    guard let layer = GDALDatasetCreateLayer(vds, "regions", nil, wkbPolygon, nil) else {
      throw GDALRuntime.failure(subject, "cannot create a layer")
    }
    let field = OGR_Fld_Create("label", OFTInteger)
    OGR_L_CreateField(layer, field, 1)
    OGR_Fld_Destroy(field)
    // The band is its own mask: label 0 pixels make no polygon.
    try GDALRuntime.withOptions([("8CONNECTED", "8")]) { options in
      try GDALRuntime.check(GDALPolygonize(band, band, layer, 0, options, nil, nil), subject, "GDALPolygonize failed")
    }
    var parts: [Int32: [OGRGeometryH]] = [:]
    var order: [Int32] = []
    OGR_L_ResetReading(layer)
    var features: [OGRFeatureH] = []
    defer { for f in features { OGR_F_Destroy(f) } }
    while let f = OGR_L_GetNextFeature(layer) {
      features.append(f)
      let label = OGR_F_GetFieldAsInteger(f, 0)
      guard label != 0, let g = OGR_F_GetGeometryRef(f) else { continue }
      if parts[label] == nil { order.append(label) }
      parts[label, default: []].append(g)
    }
    var out: [Int32: WKBGeometry] = [:]
    for label in order {
      guard let geoms = parts[label] else { continue }
      if geoms.count == 1 {
        out[label] = WKBGeometry(geoms[0])
      } else {
        guard let multi = OGR_G_CreateGeometry(wkbMultiPolygon) else { continue }
        for g in geoms { OGR_G_AddGeometry(multi, g) }
        out[label] = WKBGeometry(multi)
        OGR_G_DestroyGeometry(multi)
      }
    }
    return out
  }

  /// Burns geometries (in the grid's CRS) into a grid: pixel = 1-based index of the last
  /// geometry whose interior holds the pixel centre, 0 elsewhere (GDAL's default rule).
  public static func rasterize(
    _ geometries: [WKBGeometry], width: Int, height: Int, georeferencing: Georeferencing
  ) throws -> [Int32] {
    let subject = "rasterize"
    let ds = try memoryRaster(nil, width: width, height: height, georeferencing: georeferencing, subject: subject)
    defer { GDALClose(ds) }
    var handles: [OGRGeometryH?] = []
    var burns: [Double] = []
    defer { for case let h? in handles { OGR_G_DestroyGeometry(h) } }
    for (i, g) in geometries.enumerated() {
      guard let h = g.makeOGR() else { continue }
      handles.append(h)
      burns.append(Double(i + 1))
    }
    if !handles.isEmpty {
      var bands: [Int32] = [1]
      try GDALRuntime.check(
        GDALRasterizeGeometries(ds, 1, &bands, Int32(handles.count), handles, nil, nil, burns, nil, nil, nil),
        subject, "GDALRasterizeGeometries failed")
    }
    var out = [Int32](repeating: 0, count: width * height)
    let band = GDALGetRasterBand(ds, 1)
    let err = out.withUnsafeMutableBytes {
      GDALRasterIO(band, GF_Read, 0, 0, Int32(width), Int32(height), $0.baseAddress, Int32(width), Int32(height), GDT_Int32, 0, 0)
    }
    try GDALRuntime.check(err, subject, "cannot read the rasterized grid")
    return out
  }

  /// One feature of a vector layer: its id, the requested fields as text, its geometry in the
  /// target CRS.
  public struct Feature: Sendable {
    /// OGR feature id.
    public var fid: Int
    /// Field values by name (absent when unset).
    public var fields: [String: String]
    /// Geometry, reprojected to the target CRS when both have one.
    public var geometry: WKBGeometry?
  }

  /// The layer names of a vector file (e.g. a GeoPackage's `objects`, `confounders`).
  public static func layerNames(path: String) throws -> [String] {
    GDALRuntime.ensureInitialized()
    guard let ds = GDALOpenEx(path, UInt32(GDAL_OF_VECTOR), nil, nil, nil) else {
      throw GDALRuntime.failure(path, "cannot open as a vector dataset")
    }
    defer { GDALClose(ds) }
    return (0..<GDALDatasetGetLayerCount(ds)).compactMap { i in
      GDALDatasetGetLayer(ds, i).flatMap { OGR_L_GetName($0) }.map { String(cString: $0) }
    }
  }

  /// Reads every feature of `layer` (the first layer when nil) with the named fields, its
  /// geometry reprojected into `targetCRS` (WKT; untouched when either side has no CRS).
  /// Throws naming the file when the layer or a required field is missing.
  public static func readFeatures(
    path: String, layer name: String?, fields: [String], required: [String] = [], targetCRS: String
  ) throws -> [Feature] {
    GDALRuntime.ensureInitialized()
    guard let ds = GDALOpenEx(path, UInt32(GDAL_OF_VECTOR), nil, nil, nil) else {
      throw GDALRuntime.failure(path, "cannot open as a vector dataset")
    }
    defer { GDALClose(ds) }
    let layer: OGRLayerH?
    if let name {
      layer = GDALDatasetGetLayerByName(ds, name)
      if layer == nil {
        let names = (try? layerNames(path: path)) ?? []
        throw GeoError(path, "has no layer '\(name)' (layers: \(names.joined(separator: ", ")))")
      }
    } else {
      layer = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : nil
    }
    guard let layer else { throw GeoError(path, "has no vector layer") }
    let defn = OGR_L_GetLayerDefn(layer)
    var index: [String: Int32] = [:]
    for f in fields {
      let i = OGR_FD_GetFieldIndex(defn, f)
      if i >= 0 { index[f] = i }
    }
    for f in required where index[f] == nil {
      let have = (0..<OGR_FD_GetFieldCount(defn)).compactMap { OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, $0)) }
        .map { String(cString: $0) }
      throw GeoError(path, "layer '\(String(cString: OGR_L_GetName(layer)))' has no field '\(f)' (fields: \(have.joined(separator: ", ")))")
    }
    // Reprojection into the raster's CRS, when both are known and differ.
    var transform: OGRCoordinateTransformationH? = nil
    var targetSRS: OGRSpatialReferenceH? = nil
    if let source = OGR_L_GetSpatialRef(layer), !targetCRS.isEmpty {
      targetSRS = OSRNewSpatialReference(targetCRS)
      if let t = targetSRS {
        OSRSetAxisMappingStrategy(t, OAMS_TRADITIONAL_GIS_ORDER)
        if OSRIsSame(source, t) == 0 {
          let s = OSRClone(source)
          OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER)
          transform = OCTNewCoordinateTransformation(s, t)
          OSRDestroySpatialReference(s)
          if transform == nil { throw GDALRuntime.failure(path, "cannot reproject the layer into the raster's CRS") }
        }
      }
    }
    defer {
      if let transform { OCTDestroyCoordinateTransformation(transform) }
      if let targetSRS { OSRDestroySpatialReference(targetSRS) }
    }
    var out: [Feature] = []
    OGR_L_ResetReading(layer)
    while let f = OGR_L_GetNextFeature(layer) {
      defer { OGR_F_Destroy(f) }
      var values: [String: String] = [:]
      for (name, i) in index where OGR_F_IsFieldSetAndNotNull(f, i) != 0 {
        values[name] = String(cString: OGR_F_GetFieldAsString(f, i))
      }
      var geometry: WKBGeometry? = nil
      if let g = OGR_F_GetGeometryRef(f) {
        if let transform {
          let copy = OGR_G_Clone(g)
          if let copy, OGR_G_Transform(copy, transform) == OGRERR_NONE { geometry = WKBGeometry(copy) }
          if let copy { OGR_G_DestroyGeometry(copy) }
        } else {
          geometry = WKBGeometry(g)
        }
      }
      out.append(Feature(fid: Int(OGR_F_GetFID(f)), fields: values, geometry: geometry))
    }
    return out
  }
}

/// Longitude / latitude (WGS 84) of points in a raster's CRS.
public final class LonLatTransform {
  private let transform: OGRCoordinateTransformationH

  /// nil when `crsWKT` is empty or cannot be transformed to WGS 84.
  public init?(crsWKT: String) {
    GDALRuntime.ensureInitialized()
    guard !crsWKT.isEmpty, let source = OSRNewSpatialReference(crsWKT) else { return nil }
    defer { OSRDestroySpatialReference(source) }
    guard let target = OSRNewSpatialReference(nil) else { return nil }
    defer { OSRDestroySpatialReference(target) }
    OSRImportFromEPSG(target, 4326)
    OSRSetAxisMappingStrategy(source, OAMS_TRADITIONAL_GIS_ORDER)
    OSRSetAxisMappingStrategy(target, OAMS_TRADITIONAL_GIS_ORDER)
    guard let t = OCTNewCoordinateTransformation(source, target) else { return nil }
    transform = t
  }

  deinit { OCTDestroyCoordinateTransformation(transform) }

  /// (longitude, latitude) of (x, y), or nil when the point cannot be transformed.
  public func lonLat(x: Double, y: Double) -> (lon: Double, lat: Double)? {
    var xs = [x], ys = [y], zs = [0.0]
    guard OCTTransform(transform, 1, &xs, &ys, &zs) != 0 else { return nil }
    return (xs[0], ys[0])
  }
}

/// Facts about a CRS that areas need.
public struct CRSFacts: Sendable {
  /// Geographic (degrees) rather than projected.
  public var isGeographic: Bool
  /// Linear unit in metres (1 for metres, 0.3048 for feet), for projected CRSs.
  public var metresPerUnit: Double
  /// Ellipsoid semi-major axis (m) and inverse flattening.
  public var semiMajor: Double
  public var inverseFlattening: Double

  /// Reads the facts, or nil for an empty / unreadable CRS.
  public init?(crsWKT: String) {
    GDALRuntime.ensureInitialized()
    guard !crsWKT.isEmpty, let srs = OSRNewSpatialReference(crsWKT) else { return nil }
    defer { OSRDestroySpatialReference(srs) }
    isGeographic = OSRIsGeographic(srs) != 0
    metresPerUnit = isGeographic ? 1 : OSRGetLinearUnits(srs, nil)
    var err: OGRErr = OGRERR_NONE
    semiMajor = OSRGetSemiMajor(srs, &err)
    inverseFlattening = OSRGetInvFlattening(srs, &err)
  }
}
