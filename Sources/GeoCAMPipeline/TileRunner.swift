import GeoCAMCore
import GeoCAMGeo

/// Runs the model on one tile cut from a larger read: validity (real pixels inside the run's
/// area), input scaling, the forward pass, the choice of classes to explain, the explanations.
struct TileRunner {
  let plan: ScenePlan
  let model: any TileModel

  /// The model's 0…255 value of an input sample.
  static func scale(_ v: Float, plan: ScenePlan) -> Float {
    guard let lo = plan.scaleLow, let hi = plan.scaleHigh else { return v }
    return min(max((v - lo) / (hi - lo) * 255, 0), 255)
  }

  /// The model's input for `tile` cut from `source`, and how many of its pixels are real.
  func input(_ tile: Tile, source: RasterWindow) -> (input: TilePixels, validCount: Int) {
    let t = plan.tileSize
    let plane = t * t
    let nb = plan.bands.count
    let sw = source.width
    let splane = source.window.pixelCount
    let area = plan.area
    var pixels = [Float](repeating: 0, count: nb * plane)
    var mask = [UInt8](repeating: 0, count: plane)
    var validCount = 0
    for i in 0..<t {
      let gy = tile.y + i
      guard gy >= area.y, gy < area.maxY else { continue }
      let sy = gy - source.window.y
      for j in 0..<t {
        let gx = tile.x + j
        guard gx >= area.x, gx < area.maxX else { continue }
        let s = sy * sw + (gx - source.window.x)
        guard source.mask[s] != 0 else { continue }
        mask[i * t + j] = 1
        validCount += 1
        for b in 0..<nb { pixels[b * plane + i * t + j] = TileRunner.scale(source.data[b * splane + s], plan: plan) }
      }
    }
    return (TilePixels(pixels: pixels, valid: mask, origin: TileOrigin(x: tile.x, y: tile.y)), validCount)
  }

  /// Probabilities only (`plan.predictOnly`) for several tiles, run together by the model.
  func predict(_ tiles: [Tile], source: RasterWindow) throws -> [TileResult] {
    let prepared = tiles.map { input($0, source: source) }
    let real = prepared.indices.filter { prepared[$0].validCount > 0 }
    let probabilities = try real.isEmpty ? [] : model.predict(real.map { prepared[$0].input }, size: plan.tileSize)
    guard probabilities.count == real.count else {
      throw PipelineError("model", "predicted \(probabilities.count) tiles, expected \(real.count)")
    }
    var byIndex: [Int: [Float]] = [:]
    for (i, probs) in zip(real, probabilities) {
      try check(probs, tile: tiles[i])
      byIndex[i] = probs
    }
    return tiles.indices.map { i in
      TileResult(
        row: tiles[i].row, column: tiles[i].column, mask: prepared[i].input.valid, probabilities: byIndex[i] ?? [],
        explained: [], maps: [])
    }
  }

  private func check(_ probs: [Float], tile: Tile) throws {
    let t = plan.tileSize
    let c = plan.classCount
    guard probs.count == c * t * t else {
      throw PipelineError("model", "tile \(tile): \(probs.count) probabilities, expected \(c)×\(t)×\(t)")
    }
  }

  /// Runs a group of tiles side by side through the model's `concurrently` (one tile: on the
  /// calling thread with all of the model's compute), one outcome per tile, so the tiles that
  /// finished are kept when another of the group fails.
  func run(_ tiles: [Tile], source: RasterWindow) throws -> [Result<TileResult, any Error>] {
    if tiles.count <= 1 { return tiles.map { t in Result { try run(t, source: source) } } }
    let outcomes = try model.concurrently(tiles.count) { i in Result { try run(tiles[i], source: source) } }
    guard outcomes.count == tiles.count else {
      throw PipelineError("model", "ran \(outcomes.count) of a group of \(tiles.count) tiles")
    }
    return outcomes
  }

  /// One tile: the forward, then the explanations the plan asks for. Probabilities-only runs
  /// go through `predict` instead.
  func run(_ tile: Tile, source: RasterWindow) throws -> TileResult {
    let t = plan.tileSize
    let plane = t * t
    let (input, validCount) = input(tile, source: source)
    let mask = input.valid
    guard validCount > 0 else {
      return TileResult(row: tile.row, column: tile.column, mask: mask, probabilities: [], explained: [], maps: [])
    }
    let session = try model.begin(pixels: input.pixels, valid: mask, size: t, origin: input.origin)
    let probs = session.probabilities
    let c = plan.classCount
    try check(probs, tile: tile)
    var explained: [Int]
    switch plan.explainWhere {
    case .all:
      explained = plan.layerClasses
    case .detected:
      var argmaxCount = [Int](repeating: 0, count: c)
      for p in 0..<plane where mask[p] != 0 {
        argmaxCount[ChannelArgmax.at(p, in: probs, channels: c, plane: plane)] += 1
      }
      explained = plan.layerClasses.filter { argmaxCount[$0] >= plan.minPixels && argmaxCount[$0] > 0 }
    }
    var maps: [TileMap] = []
    var notComputed: [Int] = []
    if !explained.isEmpty {
      maps = try session.explain(classes: explained)
      for m in maps where m.width <= 0 || m.height <= 0 || m.values.count != m.width * m.height {
        throw PipelineError("model", "tile \(tile): \(m.method) map for class \(m.classIndex) is \(m.width)x\(m.height) with \(m.values.count) values")
      }
      // A class the model gave no map for at all (a class-mask target without a pixel of the
      // class) is not computed on this tile; a class with only some methods missing is a bug.
      let given = Set(maps.map(\.classIndex))
      notComputed = explained.filter { !given.contains($0) }
      explained = explained.filter { given.contains($0) }
      // Keep only what the layers use, in a fixed order; every (method, class) must be there.
      var ordered: [TileMap] = []
      for method in plan.methods {
        // A class-agnostic method's map is the same for every class: kept once.
        for k in plan.isClassAgnostic(method) ? Array(explained.prefix(1)) : explained {
          guard let m = maps.first(where: { $0.method == method && $0.classIndex == k }) else {
            throw PipelineError("model", "tile \(tile): no \(method) map for class \(plan.classNames[k])")
          }
          ordered.append(m)
        }
      }
      maps = ordered
    }
    return TileResult(
      row: tile.row, column: tile.column, mask: mask, probabilities: probs, explained: explained, maps: maps,
      notComputed: notComputed)
  }
}
