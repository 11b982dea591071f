import GeoCAMGeo

/// The seed notebook's class colours: background black (and transparent, being the class
/// layer's nodata value), solar panel green, water heater red, pool heater blue; other classes
/// get distinct fallback colours in order.
public enum SeedPalette {
  /// The palette for `classNames` (index 0 = background).
  public static func palette(for classNames: [String]) -> ClassPalette {
    let fallback: [ColorEntry] = [
      ColorEntry(red: 255, green: 255, blue: 0), ColorEntry(red: 255, green: 0, blue: 255),
      ColorEntry(red: 0, green: 255, blue: 255), ColorEntry(red: 255, green: 128, blue: 0),
      ColorEntry(red: 128, green: 0, blue: 255), ColorEntry(red: 0, green: 128, blue: 128),
    ]
    var next = 0
    let colors = classNames.enumerated().map { i, name -> ColorEntry in
      let n = name.lowercased()
      if i == 0 { return ColorEntry(red: 0, green: 0, blue: 0, alpha: 0) }
      if n.contains("solar") || n.contains("panel") || n == "pv" { return ColorEntry(red: 0, green: 255, blue: 0) }
      if n.contains("water") { return ColorEntry(red: 255, green: 0, blue: 0) }
      if n.contains("pool") { return ColorEntry(red: 0, green: 0, blue: 255) }
      defer { next += 1 }
      return fallback[next % fallback.count]
    }
    return ClassPalette(names: classNames, colors: colors)
  }
}
