#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// SLIC superpixels of an RGB image, label for label as scikit-image 0.26.0's
/// `skimage.segmentation.slic` computes them with the arguments LIME 0.2.0.1's
/// `SegmentationAlgorithm('slic', …)` forwards (`convert2lab=True`, `start_label=1`,
/// `channel_axis=-1`, no mask, no spacing, `slic_zero=False`).
///
/// The steps, each in skimage's order and with its floating-point operations:
/// 1. the image as float64 (8-bit values times `1.0 / 255`, as `img_as_float`), then rescaled by
///    the minimum and maximum over all its values to [0, 1];
/// 2. sRGB → CIE Lab (D65, 2°) as `rgb2lab`: the sRGB curve with `pow`, the RGB→XYZ product
///    evaluated as OpenBLAS's FMA kernels evaluate `arr @ M.T` (the x86-64 default), `cbrt`;
/// 3. with `sigma > 0`, `scipy.ndimage.gaussian_filter` (mode `reflect`, truncate 4) over the
///    depth, row and column axes of the (1, height, width, 3) Lab image;
/// 4. Lab scaled by `1 / compactness`; seeds on `regular_grid((1, height, width), segments)`;
///    `maxIterations` rounds of assigning every pixel in a ±2-step window around each centre (in
///    centre order, a strictly smaller distance wins) then moving each centre to the mean of its
///    pixels; the spatial term is weighted by `1 / step²` with step the largest grid step as
///    float32;
/// 5. with `enforceConnectivity`, skimage's scan-order breadth-first relabelling: components are
///    numbered from 1 in raster order, a component grows to at most `maxSizeFactor` times the
///    mean segment size, and one smaller than `minSizeFactor` times it joins the last labelled
///    neighbour its search met.
///
/// Transcendental functions are the C library's (`pow`, `cbrt`, `exp`), which is what NumPy uses
/// where it does not dispatch to its own SIMD versions; those differ in the last bit now and then,
/// which can only move a pixel whose two best centres are tied to within that bit.
public struct SLICSuperpixels: Sendable {
  /// The approximate number of superpixels (`n_segments`).
  public var segments: Int = 100
  /// Balance of colour against space (`compactness`): larger gives squarer superpixels.
  public var compactness: Double = 10
  /// The number of k-means rounds (`max_num_iter`), at least 1.
  public var maxIterations: Int = 10
  /// Width of the Gaussian pre-smoothing in pixels (`sigma`); 0 smooths nothing.
  public var sigma: Double = 0
  /// Whether disconnected pieces are relabelled and small ones merged (`enforce_connectivity`).
  public var enforceConnectivity = true
  /// Components smaller than this fraction of the mean segment size are merged (`min_size_factor`).
  public var minSizeFactor = 0.5
  /// Components are split when they reach this multiple of the mean segment size (`max_size_factor`).
  public var maxSizeFactor = 3.0

  /// SLIC with `segments` superpixels, `compactness` and `maxIterations` rounds; the other settings
  /// keep skimage's defaults (no smoothing, connectivity enforced with factors 0.5 and 3).
  public init(segments: Int = 100, compactness: Double = 10, maxIterations: Int = 10) {
    self.segments = segments
    self.compactness = compactness
    self.maxIterations = maxIterations
  }

  /// Labels row-major (height·width), starting at 1 like skimage's start_label=1.
  ///
  /// `rgb` holds `height × width × 3` interleaved values, nominally in [0, 1] (skimage rescales
  /// the image by its own minimum and maximum first, so any finite range gives the same labels).
  /// Throws `ImagingError` for an empty image, a buffer of the wrong size, non-finite values or
  /// settings skimage cannot run with.
  public func segment(rgb: [Double], width: Int, height: Int) throws -> [Int32] {
    let count = try checkedSize(width: width, height: height, values: rgb.count)
    return try run(rgb, count: count, width: width, height: height)
  }

  /// Labels of an 8-bit image, as skimage labels it after `img_as_float` (each value times
  /// `1.0 / 255`); `rgb8` holds `height × width × 3` interleaved bytes.
  public func segment(rgb8: [UInt8], width: Int, height: Int) throws -> [Int32] {
    let count = try checkedSize(width: width, height: height, values: rgb8.count)
    let scale = 1.0 / 255.0
    return try run(rgb8.map { Double($0) * scale }, count: count, width: width, height: height)
  }

  // MARK: - Checks

  /// The pixel count, after checking the geometry and the settings.
  private func checkedSize(width: Int, height: Int, values: Int) throws -> Int {
    guard width > 0, height > 0 else { throw ImagingError("SLIC", "empty image \(width)x\(height)") }
    let (pixels, o1) = width.multipliedReportingOverflow(by: height)
    let (needed, o2) = pixels.multipliedReportingOverflow(by: 3)
    guard !o1, !o2, pixels < 1 << 40 else { throw ImagingError("SLIC", "image \(width)x\(height) is too large") }
    guard values == needed else {
      throw ImagingError("SLIC", "\(values) values for a \(width)x\(height) RGB image (needs \(needed))")
    }
    guard segments >= 1 else { throw ImagingError("SLIC", "segments must be at least 1, not \(segments)") }
    guard compactness.isFinite, compactness > 0, (1 / compactness).isFinite else {
      throw ImagingError("SLIC", "compactness must be positive and finite, not \(compactness)")
    }
    // skimage runs 0 rounds and returns all-zero labels; no caller wants that.
    guard maxIterations >= 1 else {
      throw ImagingError("SLIC", "maxIterations must be at least 1, not \(maxIterations)")
    }
    guard sigma.isFinite, sigma >= 0, sigma < 1e6 else {
      throw ImagingError("SLIC", "sigma must be finite and not negative, not \(sigma)")
    }
    guard minSizeFactor.isFinite, minSizeFactor >= 0, maxSizeFactor.isFinite, maxSizeFactor >= 0 else {
      throw ImagingError("SLIC", "size factors must be finite and not negative (\(minSizeFactor), \(maxSizeFactor))")
    }
    return pixels
  }

  // MARK: - Pipeline

  private func run(_ image: [Double], count: Int, width: Int, height: Int) throws -> [Int32] {
    // Rescale by the extremes over all values (skimage's `image -= imin; image /= imax - imin`).
    var lo = Double.infinity
    var hi = -Double.infinity
    for v in image {
      guard v.isFinite else { throw ImagingError("SLIC", "the image holds a non-finite value (\(v))") }
      lo = Swift.min(lo, v)
      hi = Swift.max(hi, v)
    }
    let range = hi - lo
    var lab = [Double](repeating: 0, count: count * 3)
    for i in 0..<count {
      var r = image[3 * i] - lo
      var g = image[3 * i + 1] - lo
      var b = image[3 * i + 2] - lo
      if hi != lo {
        r /= range
        g /= range
        b /= range
      }
      let (l, a, bb) = Self.lab(r, g, b)
      lab[3 * i] = l
      lab[3 * i + 1] = a
      lab[3 * i + 2] = bb
    }
    if sigma > 0 { Self.gaussianSmooth(&lab, width: width, height: height, sigma: sigma) }
    let ratio = 1.0 / compactness
    for i in lab.indices { lab[i] *= ratio }

    // Seeds: the regular grid for the requested count.
    let grid = Self.regularGrid([1, height, width], segments)
    var centres: [Double] = []  // y, x, L, a, b per centre; the colours start at 0 as in skimage
    for _ in stride(from: grid[0].start, to: 1, by: grid[0].step) {
      for y in stride(from: grid[1].start, to: height, by: grid[1].step) {
        for x in stride(from: grid[2].start, to: width, by: grid[2].step) {
          centres += [Double(y), Double(x), 0, 0, 0]
        }
      }
    }
    let centreCount = centres.count / 5
    // regular_grid always keeps the single depth plane; this is a guard, not a case.
    guard centreCount > 0 else { throw ImagingError("SLIC", "no seeds for a \(width)x\(height) image") }
    // `_slic_cython` takes the largest step as float32.
    let step = Float(grid.map(\.step).max() ?? 1)
    // The search window uses the grid for the number of seeds actually placed.
    let window = Self.regularGrid([1, height, width], centreCount)
    var labels = Self.cluster(
      lab, width: width, height: height, centres: &centres, spatialWeight: 1.0 / Double(step * step),
      windowY: window[1].step, windowX: window[2].step, iterations: maxIterations)

    if enforceConnectivity {
      let segmentSize = Double(count) / Double(centreCount)
      let minSize = Self.truncated(minSizeFactor * segmentSize)
      let maxSize = Self.truncated(maxSizeFactor * segmentSize)
      labels = Self.connected(labels, width: width, height: height, minSize: minSize, maxSize: maxSize)
    }
    return labels
  }

  /// Python's `int(x)` for a finite, non-negative `x`, saturating far beyond any pixel count.
  private static func truncated(_ x: Double) -> Int {
    x >= 0x1p60 ? 1 << 60 : Int(x.rounded(.towardZero))
  }

  /// sRGB in [0, 1] → CIE Lab (D65, 2° observer), as skimage's `rgb2xyz` then `xyz2lab`.
  static func lab(_ r: Double, _ g: Double, _ b: Double) -> (Double, Double, Double) {
    @inline(__always) func linear(_ c: Double) -> Double {
      c > 0.04045 ? pow((c + 0.055) / 1.055, 2.4) : c / 12.92
    }
    let lr = linear(r)
    let lg = linear(g)
    let lb = linear(b)
    // `arr @ xyz_from_rgb.T`: the OpenBLAS FMA kernels accumulate r·m0, then g·m1, then b·m2,
    // each with one rounding.
    @inline(__always) func row(_ m0: Double, _ m1: Double, _ m2: Double) -> Double {
      (lr * m0).addingProduct(lg, m1).addingProduct(lb, m2)
    }
    let x = row(0.412453, 0.35758, 0.180423) / 0.95047
    let y = row(0.212671, 0.71516, 0.072169) / 1.0
    let z = row(0.019334, 0.119193, 0.950227) / 1.08883
    @inline(__always) func f(_ t: Double) -> Double {
      t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0
    }
    let fx = f(x)
    let fy = f(y)
    let fz = f(z)
    return (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz))
  }

  /// `skimage.util.regular_grid(shape, n)`: a start and a step per dimension (a whole-axis
  /// slice is start 0, step 1).
  static func regularGrid(_ shape: [Int], _ n: Int) -> [(start: Int, step: Int)] {
    let ndim = shape.count
    var spaceSize = Double(shape.reduce(1, *))
    if spaceSize <= Double(n) { return Array(repeating: (0, 1), count: ndim) }
    // NumPy's argsort of so few values is an insertion sort, so ties keep their order.
    let order = shape.indices.sorted { shape[$0] < shape[$1] || (shape[$0] == shape[$1] && $0 < $1) }
    let sorted = order.map { shape[$0] }
    var steps = [Double](repeating: pow(spaceSize / Double(n), 1.0 / Double(ndim)), count: ndim)
    if zip(sorted, steps).contains(where: { Double($0) < $1 }) {
      for dim in 0..<ndim {
        steps[dim] = Double(sorted[dim])
        guard dim + 1 < ndim else { break }
        spaceSize = Double(sorted[(dim + 1)...].reduce(1, *))
        let rest = pow(spaceSize / Double(n), 1.0 / Double(ndim - dim - 1))
        for d in (dim + 1)..<ndim { steps[d] = rest }
        if zip(sorted, steps).allSatisfy({ Double($0) >= $1 }) { break }
      }
    }
    var result = Array(repeating: (start: 0, step: 1), count: ndim)
    for (rank, dim) in order.enumerated() {
      result[dim] = (Int((steps[rank] / 2).rounded(.down)), Int(steps[rank].rounded(.toNearestOrEven)))
    }
    return result
  }

  // MARK: - Gaussian pre-smoothing

  /// `scipy.ndimage.gaussian_filter(lab, (sigma, sigma, sigma, 0), mode='reflect')` on the
  /// (1, height, width, 3) image: the depth axis (a single plane, so only the kernel's own sum
  /// acts), then columns along y, then rows along x.
  static func gaussianSmooth(_ lab: inout [Double], width: Int, height: Int, sigma: Double) {
    let radius = Int((4.0 * sigma + 0.5).rounded(.towardZero))
    let sigma2 = sigma * sigma
    let factor = -0.5 / sigma2
    var phi = (-radius...radius).map { exp(factor * Double($0 * $0)) }
    let total = numpySum(phi)
    for i in phi.indices { phi[i] /= total }
    // Correlation with a symmetric kernel: the centre tap, then each pair of taps from the
    // outermost inwards (scipy's NI_Correlate1D).
    func filter(_ line: inout [Double], _ buffer: inout [Double]) {
      let n = line.count
      // Reflect extension "d c b a | a b c d | d c b a", repeated as far as the radius reaches.
      buffer.removeAll(keepingCapacity: true)
      for i in -radius..<(n + radius) {
        var m = i % (2 * n)
        if m < 0 { m += 2 * n }
        buffer.append(m < n ? line[m] : line[2 * n - 1 - m])
      }
      for i in 0..<n {
        let c = i + radius
        var acc = buffer[c] * phi[radius]
        for j in stride(from: radius, to: 0, by: -1) {
          acc += (buffer[c - j] + buffer[c + j]) * phi[radius - j]
        }
        line[i] = acc
      }
    }
    var line: [Double] = []
    var buffer: [Double] = []
    // Depth axis: every value is a line of length 1, which reflects onto itself.
    for i in lab.indices {
      let v = lab[i]
      var acc = v * phi[radius]
      for j in stride(from: radius, to: 0, by: -1) { acc += (v + v) * phi[radius - j] }
      lab[i] = acc
    }
    for x in 0..<width {
      for c in 0..<3 {
        line = (0..<height).map { lab[3 * ($0 * width + x) + c] }
        filter(&line, &buffer)
        for y in 0..<height { lab[3 * (y * width + x) + c] = line[y] }
      }
    }
    for y in 0..<height {
      for c in 0..<3 {
        line = (0..<width).map { lab[3 * (y * width + $0) + c] }
        filter(&line, &buffer)
        for x in 0..<width { lab[3 * (y * width + x) + c] = line[x] }
      }
    }
  }

  /// NumPy's `ndarray.sum()` of a contiguous float64 vector: pairwise summation, whose blocks of
  /// up to 128 values are added in eight interleaved partial sums.
  static func numpySum(_ v: [Double]) -> Double {
    func pairwise(_ lo: Int, _ n: Int) -> Double {
      if n < 8 {
        var s = -0.0
        for i in lo..<(lo + n) { s += v[i] }
        return s
      } else if n <= 128 {
        var r = (0..<8).map { v[lo + $0] }
        var i = 8
        while i < n - n % 8 {
          for k in 0..<8 { r[k] += v[lo + i + k] }
          i += 8
        }
        var s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n {
          s += v[lo + i]
          i += 1
        }
        return s
      } else {
        var n2 = n / 2
        n2 -= n2 % 8
        return pairwise(lo, n2) + pairwise(lo + n2, n - n2)
      }
    }
    return pairwise(0, v.count)
  }

  // MARK: - k-means

  /// skimage's `_slic_cython` for a single plane without mask: returns labels from 1 (0 where
  /// no window ever reached a pixel). `centres` holds y, x, L, a, b per centre.
  static func cluster(
    _ lab: [Double], width: Int, height: Int, centres: inout [Double], spatialWeight: Double,
    windowY: Int, windowX: Int, iterations: Int
  ) -> [Int32] {
    let count = width * height
    let k = centres.count / 5
    var labels = [Int32](repeating: 0, count: count)
    var distance = [Double](repeating: 0, count: count)
    // A centre left without pixels becomes NaN in skimage (0 / 0) and its window then empty.
    var alive = [Bool](repeating: true, count: k)
    var sums = [Double](repeating: 0, count: 5 * k)
    var members = [Int](repeating: 0, count: k)
    let spanY = Double(2 * windowY)
    let spanX = Double(2 * windowX)
    lab.withUnsafeBufferPointer { img in
      labels.withUnsafeMutableBufferPointer { labels in
        distance.withUnsafeMutableBufferPointer { distance in
          for _ in 0..<iterations {
            var change = false
            for i in 0..<count { distance[i] = .greatestFiniteMagnitude }
            for s in 0..<k where alive[s] {
              let cy = centres[5 * s]
              let cx = centres[5 * s + 1]
              let cl = centres[5 * s + 2]
              let ca = centres[5 * s + 3]
              let cb = centres[5 * s + 4]
              let yMin = Int(Swift.max(cy - spanY, 0))
              let yMax = Int(Swift.min((cy + spanY) + 1, Double(height)))
              let xMin = Int(Swift.max(cx - spanX, 0))
              let xMax = Int(Swift.min((cx + spanX) + 1, Double(width)))
              guard yMin < yMax, xMin < xMax else { continue }
              let label = Int32(s + 1)
              for y in yMin..<yMax {
                var dy = cy - Double(y)
                dy *= dy
                let rowBase = y * width
                for x in xMin..<xMax {
                  var dx = cx - Double(x)
                  dx *= dx
                  var d = (dy + dx) * spatialWeight
                  let p = rowBase + x
                  let t0 = img[3 * p] - cl
                  let t1 = img[3 * p + 1] - ca
                  let t2 = img[3 * p + 2] - cb
                  var colour = t0 * t0
                  colour += t1 * t1
                  colour += t2 * t2
                  d += colour
                  if distance[p] > d {
                    labels[p] = label
                    distance[p] = d
                    change = true
                  }
                }
              }
            }
            if !change { break }
            // Move each centre to the mean of its pixels, summed in raster order.
            for i in sums.indices { sums[i] = 0 }
            for i in members.indices { members[i] = 0 }
            for y in 0..<height {
              for x in 0..<width {
                let p = y * width + x
                let s = Int(labels[p]) - 1
                guard s >= 0 else { continue }
                members[s] += 1
                sums[5 * s] += Double(y)
                sums[5 * s + 1] += Double(x)
                sums[5 * s + 2] += img[3 * p]
                sums[5 * s + 3] += img[3 * p + 1]
                sums[5 * s + 4] += img[3 * p + 2]
              }
            }
            for s in 0..<k {
              if members[s] == 0 { alive[s] = false }
              let n = Double(members[s])
              for f in 0..<5 { centres[5 * s + f] = sums[5 * s + f] / n }
            }
          }
        }
      }
    }
    return labels
  }

  // MARK: - Connectivity

  /// skimage's `_enforce_label_connectivity_cython` on one plane (start label 1, 0 = unlabelled).
  static func connected(_ segments: [Int32], width: Int, height: Int, minSize: Int, maxSize: Int) -> [Int32] {
    let count = width * height
    var out = [Int32](repeating: 0, count: count)
    // A component never exceeds the image, so a larger cap changes nothing.
    var queue = [Int](repeating: 0, count: Swift.max(1, Swift.min(maxSize, count)))
    var newLabel: Int32 = 1
    for start in 0..<count {
      let label = segments[start]
      if label == 0 || out[start] > 0 { continue }
      var adjacent = newLabel
      out[start] = newLabel
      var size = 1
      var visited = 0
      queue[0] = start
      search: while visited < size && size < maxSize {
        let p = queue[visited]
        let y = p / width
        let x = p - y * width
        // Neighbour order: x+1, x−1, y+1, y−1 (the depth neighbours never exist).
        for i in 0..<4 {
          let q: Int
          switch i {
          case 0: if x + 1 >= width { continue }; q = p + 1
          case 1: if x == 0 { continue }; q = p - 1
          case 2: if y + 1 >= height { continue }; q = p + width
          default: if y == 0 { continue }; q = p - width
          }
          if segments[q] == label && out[q] == 0 {
            out[q] = newLabel
            queue[size] = q
            size += 1
            if size >= maxSize {
              visited += 1
              break search
            }
          } else if out[q] > 0 && out[q] != newLabel {
            adjacent = out[q]
          }
        }
        visited += 1
      }
      if size < minSize {
        for i in 0..<size { out[queue[i]] = adjacent }
      } else {
        newLabel += 1
      }
    }
    return out
  }
}
