/// Class names and colours for a Byte class band: pixel value `i` is `names[i]`, drawn in `colors[i]`.
/// Written as a GDAL colour table (inside the TIFF) plus category names (in the `.aux.xml` sidecar),
/// so QGIS shows a paletted, labelled layer. TIFF colour maps hold RGB only: alpha is not stored
/// (reads back 255, except GDAL reports alpha 0 for the nodata value's entry); make a class
/// transparent by making its value the band's nodata value.
public struct ClassPalette: Sendable, Hashable {
  /// Category name per pixel value, starting at 0.
  public var names: [String]
  /// Colour per pixel value, starting at 0; same count as `names`.
  public var colors: [ColorEntry]

  /// Creates a palette; `names` and `colors` must have the same count (checked when written).
  public init(names: [String], colors: [ColorEntry]) {
    self.names = names
    self.colors = colors
  }
}
