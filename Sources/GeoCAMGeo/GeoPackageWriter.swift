import CGDAL
import Foundation

/// Writes a GeoPackage with OGR: layers of (Multi)Polygon features or plain tables, coded field
/// domains (which QGIS turns into drop-downs), and raw SQL (e.g. a `layer_styles` table).
/// Features are written in one transaction per layer; `finish()` closes the file.
public final class GeoPackageWriter {
  /// A field's type.
  public enum FieldType: Sendable {
    case integer, real, string
  }

  /// One field of a layer; `domain` names a coded domain added with `addCodedDomain`.
  public struct Field: Sendable {
    public var name: String
    public var type: FieldType
    public var domain: String?
    public init(_ name: String, _ type: FieldType, domain: String? = nil) {
      self.name = name
      self.type = type
      self.domain = domain
    }
  }

  /// A value to write (`null` leaves the field unset).
  public enum Value: Sendable, Hashable {
    case integer(Int)
    case real(Double)
    case string(String)
    case null
  }

  /// The file.
  public let path: String
  private var dataset: GDALDatasetH?

  /// Creates `path` (replacing a file of that name).
  public init(path: String) throws {
    self.path = path
    let driver = try GDALRuntime.driver("GPKG", for: path)
    if FileManager.default.fileExists(atPath: path) { GDALDeleteDataset(driver, path) }
    guard let ds = GDALCreate(driver, path, 0, 0, 0, GDT_Unknown, nil) else {
      throw GDALRuntime.failure(path, "cannot create the GeoPackage")
    }
    dataset = ds
  }

  deinit { if let dataset { GDALClose(dataset) } }

  /// Adds a coded-value domain (code → description) on string fields.
  public func addCodedDomain(name: String, description: String, values: [(code: String, name: String)]) throws {
    guard let dataset else { throw GeoError(path, "already finished") }
    // OGRCodedValue { char* pszCode; char* pszValue }, terminated by a null code.
    var cStrings: [UnsafeMutablePointer<CChar>?] = []
    defer { for p in cStrings { free(p) } }
    var entries: [OGRCodedValue] = []
    for v in values {
      let code = strdup(v.code), value = strdup(v.name)
      cStrings += [code, value]
      entries.append(OGRCodedValue(pszCode: code, pszValue: value))
    }
    entries.append(OGRCodedValue(pszCode: nil, pszValue: nil))
    guard let domain = OGR_CodedFldDomain_Create(name, description, OFTString, OFSTNone, entries) else {
      throw GDALRuntime.failure(path, "cannot create the field domain \(name)")
    }
    defer { OGR_FldDomain_Destroy(domain) }
    var reason: UnsafeMutablePointer<CChar>? = nil
    guard GDALDatasetAddFieldDomain(dataset, domain, &reason) else {
      let why = reason.map { String(cString: $0) } ?? GDALRuntime.lastErrorMessage()
      VSIFree(reason)
      throw GeoError(path, "cannot add the field domain \(name): \(why)")
    }
  }

  /// Creates a layer: MultiPolygon geometries in `crsWKT` (no CRS when empty), or a table
  /// without geometry when `geometry` is false.
  public func createLayer(name: String, geometry: Bool = true, crsWKT: String, fields: [Field]) throws -> Layer {
    guard let dataset else { throw GeoError(path, "already finished") }
    var srs: OGRSpatialReferenceH? = nil
    if geometry && !crsWKT.isEmpty { srs = OSRNewSpatialReference(crsWKT) }
    defer { if let srs { OSRDestroySpatialReference(srs) } }
    let layer = GDALRuntime.withOptions([("FID", "fid")]) { options in
      GDALDatasetCreateLayer(dataset, name, srs, geometry ? wkbMultiPolygon : wkbNone, options)
    }
    guard let layer else { throw GDALRuntime.failure(path, "cannot create layer \(name)") }
    for f in fields {
      let type: OGRFieldType
      switch f.type {
      case .integer: type = OFTInteger64
      case .real: type = OFTReal
      case .string: type = OFTString
      }
      let defn = OGR_Fld_Create(f.name, type)
      if let domain = f.domain { OGR_Fld_SetDomainName(defn, domain) }
      let err = OGR_L_CreateField(layer, defn, 1)
      OGR_Fld_Destroy(defn)
      guard err == OGRERR_NONE else { throw GDALRuntime.failure(path, "cannot create field \(f.name) in \(name)") }
    }
    return Layer(writer: self, handle: layer, name: name, fields: fields.map(\.name))
  }

  /// One layer being written.
  public struct Layer {
    let writer: GeoPackageWriter
    let handle: OGRLayerH
    /// The layer's name.
    public let name: String
    let fields: [String]

    /// Adds a feature with `values` by field name (absent names stay unset).
    public func add(geometry: WKBGeometry?, values: [String: Value]) throws {
      guard let feature = OGR_F_Create(OGR_L_GetLayerDefn(handle)) else {
        throw GDALRuntime.failure(writer.path, "cannot create a feature in \(name)")
      }
      defer { OGR_F_Destroy(feature) }
      for (i, field) in fields.enumerated() {
        switch values[field] ?? .null {
        case .integer(let v): OGR_F_SetFieldInteger64(feature, Int32(i), GIntBig(v))
        case .real(let v):
          if v.isFinite { OGR_F_SetFieldDouble(feature, Int32(i), v) } else { OGR_F_SetFieldNull(feature, Int32(i)) }
        case .string(let v): OGR_F_SetFieldString(feature, Int32(i), v)
        case .null: OGR_F_SetFieldNull(feature, Int32(i))
        }
      }
      if let geometry, let g = geometry.makeOGR() {
        // The layer is MultiPolygon; a Polygon is promoted so every feature has the declared type.
        let multi = OGR_G_ForceToMultiPolygon(g)
        OGR_F_SetGeometryDirectly(feature, multi)
      }
      guard OGR_L_CreateFeature(handle, feature) == OGRERR_NONE else {
        throw GDALRuntime.failure(writer.path, "cannot write a feature to \(name)")
      }
    }

    /// Groups the writes that follow in one transaction (much faster in SQLite).
    public func begin() { _ = OGR_L_StartTransaction(handle) }
    /// Commits the transaction `begin` opened.
    public func commit() throws {
      guard OGR_L_CommitTransaction(handle) == OGRERR_NONE else {
        throw GDALRuntime.failure(writer.path, "cannot commit the features of \(name)")
      }
    }
  }

  /// Runs an SQL statement (SQLite dialect) on the file.
  public func execute(_ sql: String) throws {
    guard let dataset else { throw GeoError(path, "already finished") }
    CPLErrorReset()
    let result = GDALDatasetExecuteSQL(dataset, sql, nil, nil)
    if let result { GDALDatasetReleaseResultSet(dataset, result) }
    let msg = GDALRuntime.lastErrorMessage()
    if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
      throw GeoError(path, "SQL failed: \(msg)")
    }
  }

  /// Closes the file (flushes everything).
  public func finish() throws {
    guard let dataset else { return }
    self.dataset = nil
    CPLErrorReset()
    GDALClose(dataset)
    if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
      throw GDALRuntime.failure(path, "cannot finish the GeoPackage")
    }
  }
}
