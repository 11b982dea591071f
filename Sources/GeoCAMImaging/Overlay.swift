/// Heatmap overlays for viewing explanations.
public enum Overlay {
  /// Blends a colour-mapped CAM over an RGB image exactly like pytorch-grad-cam's
  /// `show_cam_on_image(np.float32(img) / 255, map, use_rgb=True, image_weight=imageWeight)`
  /// (pytorch_grad_cam/utils/image.py, grad-cam 1.5.7):
  ///
  ///     heatmap = JET[np.uint8(255 * map)] / 255          # RGB, Float32
  ///     cam = (1 - imageWeight) * heatmap + imageWeight * img / 255
  ///     cam = cam / np.max(cam)                            # note: renormalised to max 1
  ///     return np.uint8(255 * cam)                         # truncation
  ///
  /// `map` is `height × width` values already in [0, 1] (outside values are clamped, NaN → 0).
  /// `imageWeight` is the image's share (pytorch-grad-cam's `image_weight`), in [0, 1].
  public static func heatmap(
    image: RGBImage, map: [Float], imageWeight: Float = 0.5, colormap: Colormap = .jet
  ) throws -> RGBImage {
    guard map.count == image.width * image.height else {
      throw ImagingError(
        "overlay", "map has \(map.count) values for a \(image.width)x\(image.height) image")
    }
    guard imageWeight >= 0, imageWeight <= 1 else {
      throw ImagingError("overlay", "image weight must be in [0, 1], got \(imageWeight)")
    }
    // numpy evaluates `1 - image_weight` on the Python float, then rounds it to Float32.
    let heatWeight = Float(1 - Double(imageWeight))
    var cam = [Float](repeating: 0, count: image.pixels.count)
    var maxValue: Float = 0
    for p in 0..<map.count {
      let c = colormap.rgb(Colormap.index(for: map[p]))
      let heat: (Float, Float, Float) = (Float(c.red) / 255, Float(c.green) / 255, Float(c.blue) / 255)
      let img: (Float, Float, Float) = (
        Float(image.pixels[3 * p]) / 255, Float(image.pixels[3 * p + 1]) / 255,
        Float(image.pixels[3 * p + 2]) / 255
      )
      let v0 = heatWeight * heat.0 + imageWeight * img.0
      let v1 = heatWeight * heat.1 + imageWeight * img.1
      let v2 = heatWeight * heat.2 + imageWeight * img.2
      cam[3 * p] = v0
      cam[3 * p + 1] = v1
      cam[3 * p + 2] = v2
      maxValue = max(maxValue, v0, v1, v2)
    }
    // All black (weight 0 image and heatmap black): numpy would divide by 0; return black.
    guard maxValue > 0 else {
      return RGBImage(
        validatedWidth: image.width, height: image.height,
        pixels: [UInt8](repeating: 0, count: image.pixels.count))
    }
    let out = cam.map { v -> UInt8 in
      let scaled = 255 * (v / maxValue)
      return scaled >= 255 ? 255 : UInt8(max(0, scaled))
    }
    return RGBImage(validatedWidth: image.width, height: image.height, pixels: out)
  }

  /// Colour-mapped heat over an RGB image whose opacity rises with the value:
  /// `out = (1 − α)·image + α·colormap(v)` with `α = maxAlpha · v`, rounded to the nearest byte.
  /// Where nothing is hot (v = 0) the image shows unchanged, so the edges of tiles where a map
  /// was computed do not show as rectangles (unlike `heatmap`, whose blend tints even zero heat).
  /// `map` holds `height × width` values in [0, 1] (outside values clamped, NaN → 0).
  public static func fadingHeatmap(
    image: RGBImage, map: [Float], maxAlpha: Float = 0.6, colormap: Colormap = .jet
  ) throws -> RGBImage {
    guard map.count == image.width * image.height else {
      throw ImagingError("overlay", "map has \(map.count) values for a \(image.width)x\(image.height) image")
    }
    guard maxAlpha >= 0, maxAlpha <= 1 else {
      throw ImagingError("overlay", "maximum opacity must be in [0, 1], got \(maxAlpha)")
    }
    var out = image.pixels
    for p in 0..<map.count {
      let v = map[p].isNaN ? 0 : min(max(map[p], 0), 1)
      guard v > 0 else { continue }
      let alpha = maxAlpha * v
      let c = colormap.rgb(Colormap.index(for: v))
      for (ch, heat) in [c.red, c.green, c.blue].enumerated() {
        let mixed = (1 - alpha) * Float(image.pixels[3 * p + ch]) + alpha * Float(heat)
        out[3 * p + ch] = UInt8(min(max(mixed.rounded(), 0), 255))
      }
    }
    return RGBImage(validatedWidth: image.width, height: image.height, pixels: out)
  }
}
