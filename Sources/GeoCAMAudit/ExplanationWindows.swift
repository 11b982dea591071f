import GeoCAMGeo

/// Which window of the run's tile grid explains each detection.
///
/// A detection goes to the grid window whose centre is nearest its bounding-box centre among
/// the windows that contain the whole box (ties: the first in row-major order), so neighbouring
/// detections share windows and one forward pass. A detection no grid window contains (it
/// straddles the overlap) gets its own window centred on it, clipped inside the raster. One
/// larger than a window is explained on the grid window holding most of its pixels, `partial`.
public enum ExplanationWindows {
  /// The window (tile-sized, top-left in raster pixels) and whether the detection is partial.
  public static func assign(
    box: Detection.Box, grid: TileGrid, rasterWidth: Int, rasterHeight: Int, pixelsInside: (PixelWindow) -> Int
  ) -> (window: PixelWindow, partial: Bool) {
    let t = grid.tileSize
    let cx2 = 2 * box.x + box.width  // twice the box centre, to stay in integers
    let cy2 = 2 * box.y + box.height
    if box.width <= t && box.height <= t {
      var best: (d: Int, w: PixelWindow)? = nil
      for y in grid.yOrigins where y <= box.y && box.y + box.height <= y + t {
        for x in grid.xOrigins where x <= box.x && box.x + box.width <= x + t {
          let dx = 2 * x + t - cx2, dy = 2 * y + t - cy2
          let d = dx * dx + dy * dy
          if best == nil || d < best!.d { best = (d, PixelWindow(x: x, y: y, width: t, height: t)) }
        }
      }
      if let best { return (best.w, false) }
      // Its own window, centred and clipped inside the raster (a raster smaller than a tile
      // keeps the window at 0: the rest is padding).
      let x = clamp((cx2 - t) / 2, 0, max(0, rasterWidth - t))
      let y = clamp((cy2 - t) / 2, 0, max(0, rasterHeight - t))
      return (PixelWindow(x: x, y: y, width: t, height: t), false)
    }
    let boxWindow = PixelWindow(x: box.x, y: box.y, width: box.width, height: box.height)
    var best: (n: Int, w: PixelWindow)? = nil
    for y in grid.yOrigins {
      for x in grid.xOrigins {
        let w = PixelWindow(x: x, y: y, width: t, height: t)
        guard w.intersection(boxWindow) != nil else { continue }
        let n = pixelsInside(w)
        if best == nil || n > best!.n { best = (n, w) }
      }
    }
    return (best?.w ?? PixelWindow(x: 0, y: 0, width: t, height: t), true)
  }

  /// `assign` for an object given as the pixels of a label grid (`width` wide) equal to `id`:
  /// a window's share of the object is counted on the grid.
  public static func assign(
    box: Detection.Box, id: Int32, labels: [Int32], grid: TileGrid, rasterWidth: Int, rasterHeight: Int
  ) -> (window: PixelWindow, partial: Bool) {
    assign(box: box, grid: grid, rasterWidth: rasterWidth, rasterHeight: rasterHeight) { w in
      guard let part = w.intersection(box) else { return 0 }
      var n = 0
      for y in part.y..<part.maxY {
        for x in part.x..<part.maxX where labels[y * rasterWidth + x] == id { n += 1 }
      }
      return n
    }
  }

  static func clamp(_ v: Int, _ lo: Int, _ hi: Int) -> Int { min(max(v, lo), hi) }
}

/// The evidence of one map for one detection over its window.
public enum EvidenceMeter {
  /// Shares of a non-negative map's mass (over the window's valid pixels) inside the object and
  /// in its ring, and whether the map's maximum (first in row-major order) lies inside.
  /// `inside` and `ring` are window masks (`size × size`); a map without mass gives 0, 0, false.
  public static func measure(map: [Float], inside: [Bool], ring: [Bool], valid: [UInt8]?) -> Detection.Evidence {
    var total = 0.0, inObject = 0.0, inRing = 0.0
    var peak = -Float.infinity
    var peakIndex = -1
    for i in map.indices {
      if let valid, valid[i] == 0 { continue }
      let v = max(map[i], 0)
      total += Double(v)
      if inside[i] { inObject += Double(v) } else if ring[i] { inRing += Double(v) }
      if v > peak {
        peak = v
        peakIndex = i
      }
    }
    guard total > 0 else { return Detection.Evidence(inside: 0, ring: 0, peakInside: false) }
    return Detection.Evidence(inside: inObject / total, ring: inRing / total, peakInside: peakIndex >= 0 && inside[peakIndex])
  }

  /// The ring of one object-diameter around a pixel set: pixels outside the object whose
  /// Euclidean distance (between pixel centres) to the nearest object pixel is at most
  /// `diameter`. The diameter is the equivalent circle's, `2·√(pixels/π)`.
  public static func ring(object: [Bool], width: Int, height: Int, diameter: Double) -> [Bool] {
    let d2 = distanceSquared(to: object, width: width, height: height)
    let limit = diameter * diameter
    return (0..<(width * height)).map { !object[$0] && d2[$0] <= limit }
  }

  /// The equivalent circle's diameter of `pixels` pixels.
  public static func diameter(pixels: Int) -> Double { 2 * (Double(pixels) / Double.pi).squareRoot() }

  /// Exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher): per pixel, the
  /// squared distance to the nearest `true` pixel (∞ when there is none).
  static func distanceSquared(to object: [Bool], width: Int, height: Int) -> [Double] {
    let inf = 1e20
    var f = object.map { $0 ? 0.0 : inf }
    var column = [Double](repeating: 0, count: height)
    var out = [Double](repeating: 0, count: max(width, height))
    for x in 0..<width {
      for y in 0..<height { column[y] = f[y * width + x] }
      transform1D(column, into: &out)
      for y in 0..<height { f[y * width + x] = out[y] }
    }
    var row = [Double](repeating: 0, count: width)
    for y in 0..<height {
      for x in 0..<width { row[x] = f[y * width + x] }
      transform1D(row, into: &out)
      for x in 0..<width { f[y * width + x] = out[x] }
    }
    return f
  }

  /// The 1-D squared distance transform of sampled function `f` (lower envelope of parabolas).
  private static func transform1D(_ f: [Double], into d: inout [Double]) {
    let n = f.count
    guard n > 0 else { return }
    var v = [Int](repeating: 0, count: n)
    var z = [Double](repeating: 0, count: n + 1)
    var k = 0
    z[0] = -.infinity
    z[1] = .infinity
    for q in 1..<max(n, 1) where n > 1 {
      var s = ((f[q] + Double(q * q)) - (f[v[k]] + Double(v[k] * v[k]))) / Double(2 * q - 2 * v[k])
      while s <= z[k] {
        k -= 1
        s = ((f[q] + Double(q * q)) - (f[v[k]] + Double(v[k] * v[k]))) / Double(2 * q - 2 * v[k])
      }
      k += 1
      v[k] = q
      z[k] = s
      z[k + 1] = .infinity
    }
    k = 0
    for q in 0..<n {
      while z[k + 1] < Double(q) { k += 1 }
      let dq = Double(q - v[k])
      d[q] = dq * dq + f[v[k]]
    }
  }
}
