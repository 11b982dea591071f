import CGDAL

/// A band's sample type, named as GDAL names it (`GDALGetDataTypeName`).
/// Cases are GDAL's type names; `.unknown` stands for anything else.
public enum RasterDataType: String, Sendable, Hashable, CaseIterable {
  case byte = "Byte"
  case int8 = "Int8"
  case uint16 = "UInt16"
  case int16 = "Int16"
  case uint32 = "UInt32"
  case int32 = "Int32"
  case uint64 = "UInt64"
  case int64 = "Int64"
  case float32 = "Float32"
  case float64 = "Float64"
  case cint16 = "CInt16"
  case cint32 = "CInt32"
  case cfloat32 = "CFloat32"
  case cfloat64 = "CFloat64"
  case unknown = "Unknown"

  /// Maps a GDAL type by name, so types newer than the headers still map (or become `.unknown`).
  init(_ type: GDALDataType) {
    let name = GDALGetDataTypeName(type).map { String(cString: $0) } ?? "Unknown"
    self = RasterDataType(rawValue: name) ?? .unknown
  }

  /// True for floating-point (real or complex) types.
  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float64, .cfloat32, .cfloat64: return true
    default: return false
    }
  }
}
