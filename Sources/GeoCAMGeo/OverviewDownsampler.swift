/// GDAL's overview resampling, computed in memory block by block, so a layer's overviews can be
/// written as its blocks arrive instead of by `GDALBuildOverviews` reading the finished layer
/// back (which decompresses it all once more).
///
/// GDAL 3.6 builds each level from the previous one (2×2 cells, cascading). AVERAGE is the mean
/// of the cell's samples that are not nodata, summed in double precision, nodata when none is;
/// NEAREST takes the cell's top-left sample. Both match GDAL bit for bit when every level halves
/// the previous exactly, which `applies` checks: GDAL spreads fractional windows over a level
/// of odd size, and those layers keep `GDALBuildOverviews`.
public enum OverviewDownsampler {
  /// Whether in-memory overviews `factors` (2, 4, 8, …) of a `width × height` layer, written in
  /// blocks of `blockSize` aligned to the layer's origin, reproduce GDAL's: every level is an
  /// exact halving and every block edge falls on a coarsest-level cell edge.
  public static func applies(width: Int, height: Int, factors: [Int], blockSize: Int) -> Bool {
    guard let coarsest = factors.last else { return false }
    for (i, f) in factors.enumerated() where f != 1 << (i + 1) { return false }
    return width % coarsest == 0 && height % coarsest == 0 && blockSize % coarsest == 0
  }

  /// One level down: the 2×2 mean of the samples that are not `noData` (double sums).
  /// `width` and `height` must be even.
  public static func average(_ values: [Float], width: Int, height: Int, noData: Float) -> [Float] {
    let ow = width / 2
    let oh = height / 2
    var out = [Float](repeating: noData, count: ow * oh)
    values.withUnsafeBufferPointer { v in
      out.withUnsafeMutableBufferPointer { o in
        for y in 0..<oh {
          let r0 = 2 * y * width
          let r1 = r0 + width
          for x in 0..<ow {
            var sum = 0.0
            var count = 0
            func take(_ s: Float) {
              guard s != noData else { return }
              sum += Double(s)
              count += 1
            }
            take(v[r0 + 2 * x])
            take(v[r0 + 2 * x + 1])
            take(v[r1 + 2 * x])
            take(v[r1 + 2 * x + 1])
            if count > 0 { o[y * ow + x] = Float(sum / Double(count)) }
          }
        }
      }
    }
    return out
  }

  /// One level down: each 2×2 cell's top-left sample. `width` and `height` must be even.
  public static func nearest<T>(_ values: [T], width: Int, height: Int) -> [T] {
    let ow = width / 2
    let oh = height / 2
    var out: [T] = []
    out.reserveCapacity(ow * oh)
    for y in 0..<oh {
      for x in 0..<ow { out.append(values[2 * y * width + 2 * x]) }
    }
    return out
  }
}
