/// The connected regions of a class grid: 8-connected sets of pixels of one non-zero value.
///
/// 8-connectivity (diagonal neighbours join) because a thin or diagonal object, e.g. a panel
/// row at 45°, is one object, not a staircase of fragments; `GDALPolygonize` is run with the
/// same connectivity, so a region is one polygon.
public struct ConnectedRegions: Sendable {
  /// One region.
  public struct Region: Sendable, Hashable {
    /// 1-based label in `labels`.
    public var label: Int32
    /// The grid value it has (the class index).
    public var value: Int
    /// Pixel count.
    public var pixels: Int
    /// Bounding box (grid pixels).
    public var minX: Int, minY: Int, maxX: Int, maxY: Int
    /// Sums of pixel-centre coordinates (for the centroid).
    public var sumX: Double, sumY: Double

    /// Width and height of the bounding box.
    public var width: Int { maxX - minX + 1 }
    public var height: Int { maxY - minY + 1 }
  }

  /// `width × height` labels, row-major: 0 for value-0 pixels, else the region's label.
  public let labels: [Int32]
  public let width: Int
  public let height: Int
  /// Regions in label order (labels[i] = i + 1), numbered in raster order of their first pixel.
  public let regions: [Region]

  /// Labels the regions of `grid` (values 0…255, 0 = nothing).
  public init(grid: [UInt8], width: Int, height: Int) {
    self.width = width
    self.height = height
    let n = width * height
    // Two passes with union-find over provisional labels.
    var provisional = [Int32](repeating: 0, count: n)
    var parent: [Int32] = [0]
    func find(_ a: Int32) -> Int32 {
      var a = a
      while parent[Int(a)] != a {
        parent[Int(a)] = parent[Int(parent[Int(a)])]
        a = parent[Int(a)]
      }
      return a
    }
    func union(_ a: Int32, _ b: Int32) {
      let ra = find(a), rb = find(b)
      if ra != rb { parent[Int(max(ra, rb))] = min(ra, rb) }
    }
    for y in 0..<height {
      for x in 0..<width {
        let i = y * width + x
        let v = grid[i]
        guard v != 0 else { continue }
        var label: Int32 = 0
        func visit(_ j: Int) {
          guard grid[j] == v else { return }
          let l = provisional[j]
          if label == 0 { label = l } else if l != label { union(label, l) }
        }
        // Already-visited neighbours: W, NW, N, NE.
        if x > 0 {
          visit(i - 1)
          if y > 0 { visit(i - width - 1) }
        }
        if y > 0 {
          visit(i - width)
          if x + 1 < width { visit(i - width + 1) }
        }
        if label == 0 {
          label = Int32(parent.count)
          parent.append(label)
        }
        provisional[i] = label
      }
    }
    // Final labels in raster order of each region's first pixel.
    var final = [Int32](repeating: 0, count: parent.count)
    var regions: [Region] = []
    var labels = [Int32](repeating: 0, count: n)
    for y in 0..<height {
      for x in 0..<width {
        let i = y * width + x
        guard provisional[i] != 0 else { continue }
        let root = Int(find(provisional[i]))
        if final[root] == 0 {
          regions.append(
            Region(
              label: Int32(regions.count + 1), value: Int(grid[i]), pixels: 0, minX: x, minY: y, maxX: x, maxY: y,
              sumX: 0, sumY: 0))
          final[root] = Int32(regions.count)
        }
        let l = final[root]
        labels[i] = l
        let r = Int(l) - 1
        regions[r].pixels += 1
        regions[r].minX = min(regions[r].minX, x)
        regions[r].maxX = max(regions[r].maxX, x)
        regions[r].maxY = y
        regions[r].sumX += Double(x) + 0.5
        regions[r].sumY += Double(y) + 0.5
      }
    }
    self.labels = labels
    self.regions = regions
  }
}
