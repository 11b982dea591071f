import GeoCAMGeo
import GeoCAMImaging

/// `OUT.quicklook.png`: the imagery, downsampled by point sampling, with one explanation band as
/// a jet heatmap whose opacity rises with the heat (`Overlay.fadingHeatmap`: cold or
/// not-computed areas show the plain imagery, so no tile rectangles) and one-pixel outlines of
/// the predicted classes in their palette colours.
struct Quicklook {
  let width: Int
  let height: Int
  /// RGBA per quicklook pixel (alpha 0 = no valid imagery).
  var imagery: [UInt8]
  /// Raw band value per pixel, nil where not computed.
  var heat: [Float?]
  /// Class per pixel (0 = background or invalid).
  var classes: [UInt8]

  init(width: Int, height: Int) {
    self.width = width
    self.height = height
    imagery = [UInt8](repeating: 0, count: width * height * 4)
    heat = [Float?](repeating: nil, count: width * height)
    classes = [UInt8](repeating: 0, count: width * height)
  }

  /// The composed image. Heat is scaled by its own 99th percentile (so raw and scene-normalised
  /// runs look the same) and clamped to [0, 1].
  func render(palette: ClassPalette) throws -> RGBImage {
    let n = width * height
    var rgb = [UInt8](repeating: 0, count: n * 3)
    for p in 0..<n where imagery[4 * p + 3] != 0 {
      rgb[3 * p] = imagery[4 * p]
      rgb[3 * p + 1] = imagery[4 * p + 1]
      rgb[3 * p + 2] = imagery[4 * p + 2]
    }
    var image = try RGBImage(width: width, height: height, pixels: rgb)
    let values = heat.compactMap { $0 }.filter { $0.isFinite }.sorted()
    if !values.isEmpty {
      let rank = max(1, Int((0.99 * Double(values.count)).rounded(.up)))
      let scale = values[rank - 1] > 0 ? values[rank - 1] : (values.last ?? 1)
      let map = heat.map { v -> Float in
        guard let v, scale > 0 else { return 0 }
        return min(max(v / scale, 0), 1)
      }
      // Opacity follows the heat, so cold explained tiles look like the imagery around them.
      image = try Overlay.fadingHeatmap(image: image, map: map)
    }
    var out = image.pixels
    for y in 0..<height {
      for x in 0..<width {
        let c = classes[y * width + x]
        guard c != 0, Int(c) < palette.colors.count else { continue }
        let edge = (x > 0 && classes[y * width + x - 1] != c) || (x + 1 < width && classes[y * width + x + 1] != c)
          || (y > 0 && classes[(y - 1) * width + x] != c) || (y + 1 < height && classes[(y + 1) * width + x] != c)
        guard edge else { continue }
        let color = palette.colors[Int(c)]
        let p = 3 * (y * width + x)
        out[p] = color.red
        out[p + 1] = color.green
        out[p + 2] = color.blue
      }
    }
    return try RGBImage(width: width, height: height, pixels: out)
  }
}
