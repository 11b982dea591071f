/// Resizing 8-bit images exactly as Pillow does (`Image.resize`, what torchvision's `Resize`
/// runs on PIL images), so that classifier inputs match a Python pipeline byte for byte.
///
/// Bilinear is Pillow's separable convolution (libImaging/Resample.c): a triangle filter whose
/// support grows with the downscaling factor (so downscaling antialiases, unlike `cv2.resize`),
/// coefficients normalised per output pixel and rounded to 22-bit fixed point, a horizontal pass
/// over the rows the vertical pass needs, clipped to 8 bits, then the vertical pass. Nearest takes
/// source index ⌊(i + 0.5)·in/out⌋, as Pillow's affine nearest does (and as it resamples palette
/// images whatever filter is asked).
public enum PillowResize {
  /// Pillow's `PRECISION_BITS` (32 − 8 − 2).
  static let precisionBits = 22

  /// Bilinear resize of `channels` interleaved 8-bit planes (`height × width × channels`).
  public static func bilinear(
    _ pixels: [UInt8], width: Int, height: Int, channels: Int, toWidth: Int, toHeight: Int
  ) throws -> [UInt8] {
    guard width > 0, height > 0, toWidth > 0, toHeight > 0, channels > 0, pixels.count == width * height * channels
    else { throw ImagingError("resize", "bad sizes \(width)x\(height)x\(channels) → \(toWidth)x\(toHeight)") }
    let needH = toWidth != width
    let needV = toHeight != height
    let horizontal = coefficients(inSize: width, outSize: toWidth)
    let vertical = coefficients(inSize: height, outSize: toHeight)
    var source = pixels
    var sw = width, sh = height
    var rowOffset = 0
    if needH {
      // Only the rows the vertical pass reads.
      let first = needV ? vertical.bounds[0].min : 0
      let last = needV ? vertical.bounds[toHeight - 1].min + vertical.bounds[toHeight - 1].count : height
      let rows = last - first
      var temp = [UInt8](repeating: 0, count: toWidth * rows * channels)
      for y in 0..<rows {
        let srcRow = (y + first) * width * channels
        for x in 0..<toWidth {
          let b = horizontal.bounds[x]
          let k = x * horizontal.size
          for c in 0..<channels {
            var ss = 1 << (precisionBits - 1)
            for i in 0..<b.count { ss += Int(source[srcRow + (b.min + i) * channels + c]) * horizontal.weights[k + i] }
            temp[(y * toWidth + x) * channels + c] = clip8(ss)
          }
        }
      }
      source = temp
      sw = toWidth
      sh = rows
      rowOffset = first
    }
    guard needV else { return source }
    var out = [UInt8](repeating: 0, count: toWidth * toHeight * channels)
    for y in 0..<toHeight {
      let b = vertical.bounds[y]
      let k = y * vertical.size
      for x in 0..<sw {
        for c in 0..<channels {
          var ss = 1 << (precisionBits - 1)
          for i in 0..<b.count { ss += Int(source[((b.min - rowOffset + i) * sw + x) * channels + c]) * vertical.weights[k + i] }
          out[(y * toWidth + x) * channels + c] = clip8(ss)
        }
      }
    }
    _ = sh
    return out
  }

  /// Nearest-neighbour resize (source index ⌊(i + 0.5)·in/out⌋), any element type: class masks.
  public static func nearest<T>(_ values: [T], width: Int, height: Int, toWidth: Int, toHeight: Int) -> [T] {
    let sx = Double(width) / Double(toWidth), sy = Double(height) / Double(toHeight)
    var out: [T] = []
    out.reserveCapacity(toWidth * toHeight)
    for y in 0..<toHeight {
      let iy = min(height - 1, Int((Double(y) + 0.5) * sy))
      for x in 0..<toWidth {
        let ix = min(width - 1, Int((Double(x) + 0.5) * sx))
        out.append(values[iy * width + ix])
      }
    }
    return out
  }

  static func clip8(_ v: Int) -> UInt8 {
    if v >= (1 << precisionBits) << 8 { return 255 }
    if v <= 0 { return 0 }
    return UInt8(v >> precisionBits)
  }

  /// Per output pixel: the first source pixel, how many, and fixed-point weights (`size` per pixel).
  struct Coefficients {
    var size: Int
    var bounds: [(min: Int, count: Int)]
    var weights: [Int]
  }

  static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
    let scale = Double(inSize) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = 1.0 * filterScale
    let size = Int(support.rounded(.up)) * 2 + 1
    var bounds: [(Int, Int)] = []
    var weights = [Int](repeating: 0, count: outSize * size)
    let ss = 1 / filterScale
    for xx in 0..<outSize {
      let center = (Double(xx) + 0.5) * scale
      var xmin = Int(center - support + 0.5)  // C truncation toward zero, as Pillow's (int) cast
      if xmin < 0 { xmin = 0 }
      var xmax = Int(center + support + 0.5)
      if xmax > inSize { xmax = inSize }
      xmax -= xmin
      var k = [Double](repeating: 0, count: xmax)
      var ww = 0.0
      for x in 0..<xmax {
        var t = (Double(x + xmin) - center + 0.5) * ss
        if t < 0 { t = -t }
        let w = t < 1 ? 1 - t : 0
        k[x] = w
        ww += w
      }
      for x in 0..<xmax {
        let v = ww != 0 ? k[x] / ww : k[x]
        let fixed = v * Double(1 << precisionBits)
        weights[xx * size + x] = v < 0 ? Int(-0.5 + fixed) : Int(0.5 + fixed)
      }
      bounds.append((xmin, xmax))
    }
    return Coefficients(size: size, bounds: bounds.map { (min: $0.0, count: $0.1) }, weights: weights)
  }
}
