import CGDAL

/// What a band's GDAL mask is made of (`GDALGetMaskFlags`).
public struct MaskFlags: OptionSet, Sendable, Hashable {
  /// GDAL's `GMF_*` bits.
  public let rawValue: Int32
  /// Creates flags from GDAL's `GMF_*` bits.
  public init(rawValue: Int32) { self.rawValue = rawValue }

  /// Every pixel is valid (no nodata, no alpha, no mask).
  public static let allValid = MaskFlags(rawValue: GMF_ALL_VALID)
  /// The mask is shared by all bands (a per-dataset mask or an alpha band).
  public static let perDataset = MaskFlags(rawValue: GMF_PER_DATASET)
  /// The mask comes from an alpha band.
  public static let alpha = MaskFlags(rawValue: GMF_ALPHA)
  /// The mask comes from the band's nodata value.
  public static let nodata = MaskFlags(rawValue: GMF_NODATA)
}
