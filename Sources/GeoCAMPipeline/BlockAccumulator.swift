import GeoCAMGeo
import GeoCAMImaging

/// Blends the tiles that meet one output block into that block: weighted sums and summed
/// weights per pixel, probabilities over every tile run, each explanation band over the tiles
/// where its class was explained only. Holds one block's worth of memory, whatever the raster size.
struct BlockAccumulator {
  let plan: ScenePlan
  let block: OutputBlock
  let xWeights: BlendWindow
  let yWeights: BlendWindow

  /// Block pixels (output resolution), row-major.
  private let n: Int
  /// Explanation-layer pixels of the block.
  private let nl: Int
  private var valid: [UInt8]
  private var probSum: [Float]
  private var probWeight: [Float]
  /// `layerCount × nl`, method-major like the bands.
  private var layerSum: [Float]
  /// `(layerClasses.count + 1) × nl`: the summed weights of the tiles where each class was
  /// explained, then (the last slot) of the tiles where any was, for class-agnostic bands.
  private var classWeight: [Float]
  private let classSlot: [Int: Int]
  /// Per band, the weight slot it is divided by.
  private let bandSlot: [Int]
  /// Per method, its band for each weight slot.
  private let bandOf: [String: [Int: Int]]

  init(plan: ScenePlan, block: OutputBlock, xWeights: BlendWindow, yWeights: BlendWindow) {
    self.plan = plan
    self.block = block
    self.xWeights = xWeights
    self.yWeights = yWeights
    n = block.output.pixelCount
    nl = block.layer.pixelCount
    valid = [UInt8](repeating: 0, count: n)
    probSum = [Float](repeating: 0, count: plan.classCount * n)
    probWeight = [Float](repeating: 0, count: n)
    layerSum = [Float](repeating: 0, count: plan.layerCount * nl)
    classWeight = [Float](repeating: 0, count: (plan.predictOnly ? 0 : plan.layerClasses.count + 1) * nl)
    var slots: [Int: Int] = [:]
    for (i, k) in plan.layerClasses.enumerated() { slots[k] = i }
    classSlot = slots
    var bandSlot: [Int] = []
    var bandOf: [String: [Int: Int]] = [:]
    for (b, band) in plan.layerBands.enumerated() {
      let slot = band.classIndex.flatMap { slots[$0] } ?? plan.layerClasses.count
      bandSlot.append(slot)
      bandOf[band.method, default: [:]][slot] = b
    }
    self.bandSlot = bandSlot
    self.bandOf = bandOf
  }

  /// Adds one tile's contribution (tiles must be added in the same order every time for
  /// bit-identical sums: the pipeline adds them row-major).
  mutating func add(_ result: TileResult, tile: Tile) throws {
    guard let inter = tile.window.intersection(block.rect) else { return }
    let t = plan.tileSize
    let bw = block.rect.width
    let wx = xWeights.pixelWeights(tile.column)
    let wy = yWeights.pixelWeights(tile.row)
    let plane = t * t
    let c = plan.classCount
    let skipped = result.skipped
    for y in inter.y..<inter.maxY {
      let i = y - tile.y
      let rowBase = (y - block.rect.y) * bw - block.rect.x
      for x in inter.x..<inter.maxX {
        let j = x - tile.x
        let p = rowBase + x
        let src = i * t + j
        if result.mask[src] != 0 { valid[p] = 1 }
        if skipped { continue }
        let w = wy[i] * wx[j]
        if w == 0 { continue }
        probWeight[p] += w
        for k in 0..<c { probSum[k * n + p] += w * result.probabilities[k * plane + src] }
      }
    }
    guard !skipped, plan.layerCount > 0 else { return }
    let classes = result.explained.filter { classSlot[$0] != nil }
    guard !classes.isEmpty else { return }
    for k in classes {
      guard let slot = classSlot[k] else { continue }
      var prepared: [[Float]] = []
      var bands: [Int] = []
      for m in plan.methods where !plan.isClassAgnostic(m) {
        guard let map = result.maps.first(where: { $0.method == m && $0.classIndex == k }), let b = bandOf[m]?[slot] else {
          throw PipelineError("tile \(tile)", "model gave no \(m) map for class \(plan.classNames[k])")
        }
        prepared.append(try prepare(map))
        bands.append(b)
      }
      addMaps(prepared, bands: bands, slot: slot, tile: tile, inter: inter, wx: wx, wy: wy)
    }
    // Class-agnostic methods: one map per tile, blended where any class was explained.
    let all = plan.layerClasses.count
    var prepared: [[Float]] = []
    var bands: [Int] = []
    for m in plan.methods where plan.isClassAgnostic(m) {
      guard let map = result.maps.first(where: { $0.method == m }), let b = bandOf[m]?[all] else {
        throw PipelineError("tile \(tile)", "model gave no \(m) map")
      }
      prepared.append(try prepare(map))
      bands.append(b)
    }
    addMaps(prepared, bands: bands, slot: all, tile: tile, inter: inter, wx: wx, wy: wy)
  }

  private mutating func addMaps(_ maps: [[Float]], bands: [Int], slot: Int, tile: Tile, inter: PixelWindow, wx: [Float], wy: [Float]) {
    guard !maps.isEmpty else { return }
    if plan.camCell == 1 {
      addFull(maps, bands: bands, slot: slot, tile: tile, inter: inter, wx: wx, wy: wy)
    } else {
      addNative(maps, bands: bands, slot: slot, tile: tile)
    }
  }

  /// The map as blended: tile-normalised when asked, then at tile size (full resolution) or at
  /// the target layer's size (native).
  private func prepare(_ map: TileMap) throws -> [Float] {
    var values = map.values
    switch plan.normalization {
    case .tile: values = MapNormalization.tile.apply(values)
    case .minmax: values = MapNormalization.minmax.apply(values)
    case .raw, .scene: break
    }
    let t = plan.tileSize
    if plan.camCell == 1 {
      if map.width == t && map.height == t { return values }
      return try Resize.bilinear(values, height: map.height, width: map.width, toHeight: t, toWidth: t)
    }
    let s = t / plan.camCell
    if map.width == s && map.height == s { return values }
    if map.width % s == 0 && map.height % s == 0 {
      // Area mean, e.g. a guided map at tile resolution reduced to the cells.
      let fx = map.width / s
      let fy = map.height / s
      var out = [Float](repeating: 0, count: s * s)
      for cy in 0..<s {
        for cx in 0..<s {
          var sum: Float = 0
          for y in (cy * fy)..<((cy + 1) * fy) {
            for x in (cx * fx)..<((cx + 1) * fx) { sum += values[y * map.width + x] }
          }
          out[cy * s + cx] = sum / Float(fx * fy)
        }
      }
      return out
    }
    return try Resize.bilinear(values, height: map.height, width: map.width, toHeight: s, toWidth: s)
  }

  private mutating func addFull(
    _ maps: [[Float]], bands: [Int], slot: Int, tile: Tile, inter: PixelWindow, wx: [Float], wy: [Float]
  ) {
    let t = plan.tileSize
    let bw = block.rect.width
    for y in inter.y..<inter.maxY {
      let i = y - tile.y
      let rowBase = (y - block.rect.y) * bw - block.rect.x
      for x in inter.x..<inter.maxX {
        let j = x - tile.x
        let w = wy[i] * wx[j]
        if w == 0 { continue }
        let p = rowBase + x
        let src = i * t + j
        classWeight[slot * nl + p] += w
        for (mi, map) in maps.enumerated() {
          layerSum[bands[mi] * nl + p] += w * map[src]
        }
      }
    }
  }

  /// Native resolution: each layer cell takes the maps sampled (bilinear, half-pixel centres) at
  /// the cell centre, weighted by the blend window there; exact copies for cell-aligned tiles.
  private mutating func addNative(_ maps: [[Float]], bands: [Int], slot: Int, tile: Tile) {
    let t = Double(plan.tileSize)
    let f = Double(plan.camCell)
    let s = plan.tileSize / plan.camCell
    func centre(_ cell: Int, length: Int) -> Double { min((Double(cell) + 0.5) * f, Double(length) - 0.5) }
    func tap(_ u: Double) -> (Int, Int, Float) {
      let pos = min(max(u * Double(s) / t - 0.5, 0), Double(s - 1))
      let i0 = Int(pos.rounded(.down))
      let i1 = min(i0 + 1, s - 1)
      return (i0, i1, Float(pos - Double(i0)))
    }
    let lw = block.layer.width
    for ly in 0..<block.layer.height {
      let v = centre(block.layer.y + ly, length: plan.height) + Double(plan.areaY - tile.y)
      guard v > 0, v < t else { continue }
      let wy = yWeights.weight(tile.row, at: v)
      if wy == 0 { continue }
      let (y0, y1, fy) = tap(v)
      for lx in 0..<lw {
        let u = centre(block.layer.x + lx, length: plan.width) + Double(plan.areaX - tile.x)
        guard u > 0, u < t else { continue }
        let w = wy * xWeights.weight(tile.column, at: u)
        if w == 0 { continue }
        let (x0, x1, fx) = tap(u)
        let p = ly * lw + lx
        classWeight[slot * nl + p] += w
        for (mi, m) in maps.enumerated() {
          let top = m[y0 * s + x0] * (1 - fx) + m[y0 * s + x1] * fx
          let bottom = m[y1 * s + x0] * (1 - fx) + m[y1 * s + x1] * fx
          layerSum[bands[mi] * nl + p] += w * (top * (1 - fy) + bottom * fy)
        }
      }
    }
  }

  /// Whether layer cell `p` (block-relative) is valid: its centre pixel is.
  private func layerValid(_ p: Int) -> Bool {
    if plan.camCell == 1 { return valid[p] != 0 }
    let lw = block.layer.width
    let f = Double(plan.camCell)
    let cx = min((Double(block.layer.x + p % lw) + 0.5) * f, Double(plan.width) - 0.5)
    let cy = min((Double(block.layer.y + p / lw) + 0.5) * f, Double(plan.height) - 0.5)
    let x = Int(cx.rounded(.down)) - block.output.x
    let y = Int(cy.rounded(.down)) - block.output.y
    return valid[y * block.output.width + x] != 0
  }

  /// The blended block: probabilities `classes × pixels` and layers `layers × layer pixels`,
  /// `CityPipeline.noData` where invalid or where no tile contributed.
  func finish() -> BlockData {
    let nodata = CityPipeline.noData
    var probs = [Float](repeating: nodata, count: probSum.count)
    for p in 0..<n where valid[p] != 0 && probWeight[p] > 0 {
      for k in 0..<plan.classCount { probs[k * n + p] = probSum[k * n + p] / probWeight[p] }
    }
    var layers = [Float](repeating: nodata, count: layerSum.count)
    if !bandSlot.isEmpty {
      for p in 0..<nl where layerValid(p) {
        for (b, slot) in bandSlot.enumerated() where classWeight[slot * nl + p] > 0 {
          layers[b * nl + p] = layerSum[b * nl + p] / classWeight[slot * nl + p]
        }
      }
    }
    return BlockData(probabilities: probs, layers: layers)
  }
}

/// One block's blended values, `CityPipeline.noData` where not valid or not computed.
struct BlockData: Sendable {
  /// `classes × block pixels`, band-sequential.
  var probabilities: [Float]
  /// `layers × block layer pixels`, band-sequential (raw, before scene normalisation).
  var layers: [Float]
}
