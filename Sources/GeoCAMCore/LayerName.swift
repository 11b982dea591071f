/// Names of explanation layers: the band description `method:class` (e.g. `gradcam:solar_panel`)
/// written in GeoTIFFs and summaries, in one place.
public enum LayerName {
  /// `method:class`.
  public static func band(method: String, className: String) -> String { "\(method):\(className)" }
  /// The class part of a class-agnostic method's band (`fem:all`).
  public static let allClasses = "all"
}
