import GeoCAMImaging
import GeoCAMTensor

/// The seed notebook's pictures of one tile: JET overlays of CAM maps, guided images, and
/// the class map.
public enum TilePictures {
  /// The seed's class colours (RGB): background black, solar panel green, water heater red,
  /// pool heater blue; further classes cycle through extra colours.
  public static let seedColors: [[UInt8]] = [
    [0, 0, 0], [0, 255, 0], [255, 0, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255],
  ]

  /// The tile's pixels (`[3][1][H][W]`, 0–255) as an RGB image.
  public static func image(_ pixels: Tensor) throws -> RGBImage {
    let h = pixels.height, w = pixels.width
    var rgb = [UInt8](repeating: 0, count: h * w * 3)
    for c in 0..<min(3, pixels.channels) {
      let p = pixels.plane(c, 0)
      for i in 0..<(h * w) { rgb[i * 3 + c] = UInt8(max(0, min(255, p[i].rounded()))) }
    }
    return try RGBImage(width: w, height: h, pixels: rgb)
  }

  /// A CAM map over the tile: normalised per tile as the seed does
  /// (`(x − min) / (max + 1e-8)`) unless `alreadyNormalized`, upsampled with half-pixel
  /// centres, JET at α 0.5 (values outside [0, 1] are clipped).
  public static func camOverlay(_ e: Explanation, on image: RGBImage, alreadyNormalized: Bool = false) throws -> RGBImage {
    let scaled = alreadyNormalized ? e.values : MapNormalization.tile.apply(e.values)
    let up = try Resize.bilinear(scaled, height: e.height, width: e.width, toHeight: image.height, toWidth: image.width)
    return try Overlay.heatmap(image: image, map: up.map { min(max($0, 0), 1) }, imageWeight: 0.5)
  }

  /// A guided map `[3][H][W]` as an image with the seed's (pytorch-grad-cam's
  /// `deprocess_image`) per-image normalisation: `(x − mean) / (std + 1e-5) · 0.1 + 0.5`,
  /// clipped to [0, 1].
  public static func guidedImage(_ e: Explanation) throws -> RGBImage {
    let h = e.height, w = e.width, n = e.values.count
    var mean = 0.0
    for v in e.values { mean += Double(v) }
    mean /= Double(n)
    var variance = 0.0
    for v in e.values { variance += (Double(v) - mean) * (Double(v) - mean) }
    let std = (variance / Double(n)).squareRoot()
    var rgb = [UInt8](repeating: 0, count: h * w * 3)
    for c in 0..<3 {
      for i in 0..<(h * w) {
        let v = (Double(e.values[c * h * w + i]) - mean) / (std + 1e-5) * 0.1 + 0.5
        rgb[i * 3 + c] = UInt8(min(max(v, 0), 1) * 255)
      }
    }
    return try RGBImage(width: w, height: h, pixels: rgb)
  }

  /// The argmax class map in the seed's colours.
  public static func classMap(_ logits: Tensor) throws -> RGBImage {
    let plane = logits.planeSize
    var rgb = [UInt8](repeating: 0, count: plane * 3)
    for i in 0..<plane {
      let color = seedColors[logits.channelArgmax(at: i) % seedColors.count]
      rgb[i * 3] = color[0]
      rgb[i * 3 + 1] = color[1]
      rgb[i * 3 + 2] = color[2]
    }
    return try RGBImage(width: logits.width, height: logits.height, pixels: rgb)
  }
}
