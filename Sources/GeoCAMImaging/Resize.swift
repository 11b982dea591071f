/// Image resizing matching OpenCV.
public enum Resize {
  /// Bilinear resize of a single-channel Float32 image (row-major), bit-exact with OpenCV's own
  /// `cv2.resize(src, (toWidth, toHeight), interpolation=cv2.INTER_LINEAR)` on float32
  /// (resize.cpp's generic path): half-pixel centres, `src = (dst + 0.5) · scale − 0.5` computed in
  /// Double with `scale = 1 / (to / from)`, rounded to Float32; Float32 weights `1 − f, f`;
  /// rows interpolated horizontally first, then vertically. Positions before 0 or after
  /// `n − 1` read the edge pixel: OpenCV zeroes the weight for columns but keeps it for rows
  /// (both taps then read the same edge row), and so does this, to the last bit.
  /// An exact 2× reduction on both axes takes OpenCV's INTER_AREA fast path (2 × 2 means), as
  /// cv::resize does, with its summation order. Wheels built with Intel IPP (the default
  /// opencv-python) round differently, within ~2 ulp.
  /// No antialiasing when shrinking (INTER_LINEAR has none).
  public static func bilinear(
    _ src: [Float], height: Int, width: Int, toHeight: Int, toWidth: Int
  ) throws -> [Float] {
    guard height > 0, width > 0, toHeight > 0, toWidth > 0 else {
      throw ImagingError("resize", "sizes must be positive: \(width)x\(height) → \(toWidth)x\(toHeight)")
    }
    guard src.count == height * width else {
      throw ImagingError("resize", "\(width)x\(height) needs \(height * width) values, got \(src.count)")
    }
    if width == 2 * toWidth && height == 2 * toHeight {
      return halve(src, width: width, toHeight: toHeight, toWidth: toWidth)
    }
    let xs = taps(from: width, to: toWidth, clampWeights: true)
    let ys = taps(from: height, to: toHeight, clampWeights: false)

    // Horizontal pass for each source row that some output row needs (OpenCV caches them too).
    var rows = [[Float]?](repeating: nil, count: height)
    func row(_ r: Int) -> [Float] {
      if let cached = rows[r] { return cached }
      var out = [Float](repeating: 0, count: toWidth)
      let base = r * width
      for (dx, t) in xs.enumerated() {
        out[dx] = src[base + t.i0] * t.w0 + src[base + t.i1] * t.w1
      }
      rows[r] = out
      return out
    }

    var dst = [Float](repeating: 0, count: toHeight * toWidth)
    for (dy, t) in ys.enumerated() {
      let r0 = row(t.i0)
      let r1 = row(t.i1)
      let base = dy * toWidth
      for dx in 0..<toWidth {
        dst[base + dx] = r0[dx] * t.w0 + r1[dx] * t.w1
      }
    }
    return dst
  }

  /// cv::resize turns INTER_LINEAR with scale exactly 2 × 2 into INTER_AREA's fast path:
  /// 4-lane SIMD blocks compute ((a + b) + (c + d)) · 0.25, the scalar tail ((a + b) + c + d) · 0.25.
  static func halve(_ src: [Float], width: Int, toHeight: Int, toWidth: Int) -> [Float] {
    var dst = [Float](repeating: 0, count: toHeight * toWidth)
    let simdEnd = toWidth / 4 * 4
    for y in 0..<toHeight {
      let r0 = 2 * y * width
      let r1 = r0 + width
      for x in 0..<toWidth {
        let a = src[r0 + 2 * x]
        let b = src[r0 + 2 * x + 1]
        let c = src[r1 + 2 * x]
        let d = src[r1 + 2 * x + 1]
        let sum = x < simdEnd ? (a + b) + (c + d) : ((a + b) + c) + d
        dst[y * toWidth + x] = sum * 0.25
      }
    }
    return dst
  }

  /// One output position's two source indices and Float32 weights.
  struct Tap {
    var i0: Int
    var i1: Int
    var w0: Float
    var w1: Float
  }

  /// OpenCV's coordinate mapping (resize.cpp, resizeGeneric setup for INTER_LINEAR). Columns
  /// outside the image get weight (1, 0) on the edge pixel; rows keep their fractional weights
  /// with both taps clipped to the edge row.
  static func taps(from n: Int, to m: Int, clampWeights: Bool) -> [Tap] {
    // cv::resize computes inv_scale = dsize / ssize in double, then scale = 1 / inv_scale.
    let scale = 1.0 / (Double(m) / Double(n))
    return (0..<m).map { d in
      var f = Float((Double(d) + 0.5) * scale - 0.5)
      var s = Int(f.rounded(.down))
      f -= Float(s)
      if clampWeights {
        if s < 0 {
          f = 0
          s = 0
        }
        if s >= n - 1 {
          f = 0
          s = n - 1
        }
      }
      let i0 = min(max(s, 0), n - 1)
      let i1 = min(max(s + 1, 0), n - 1)
      return Tap(i0: i0, i1: i1, w0: 1 - f, w1: f)
    }
  }
}
