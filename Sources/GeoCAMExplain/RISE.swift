import GeoCAMCore
import GeoCAMTensor

/// RISE (Petsiuk et al. 2018) as eclique/RISE computes it: N random s×s binary grids with keep
/// probability p, each upsampled bilinearly to (s+1)·cell (skimage `resize`, order 1,
/// mode 'reflect', no anti-aliasing; cell = ⌈size/s⌉) and cropped at a random shift in
/// [0, cell); the masked image is the normalised input times the mask (raw pixels move towards
/// the value that normalises to 0); saliency = Σ_i score_i·M_i / (N·p) with the score the
/// softmax probability of the class (segmentation: its mean over the seed's target pixels).
/// Masks are drawn from `SeededRandom` one at a time (grid, then row and column shift), so a
/// seed fixes them all, and run in batches of `batchSize`, never all held at once.
public struct RISE: CAMMethod {
  public let id = "rise"
  /// Masks N (nil: `BlackBoxSettings`' default for the model's task).
  public var masks: Int?
  /// Grid cells per side s.
  public var cells: Int
  /// Keep probability p.
  public var keep: Double
  /// Seeds the grids and shifts.
  public var seed: UInt64
  /// Masked images per forward (bounds memory; nil: `PerturbationScorer.defaultBatch`).
  public var batchSize: Int?

  public init(masks: Int? = nil, cells: Int = 7, keep: Double = 0.5, seed: UInt64 = 0, batchSize: Int? = nil) {
    self.masks = masks.map { max(1, $0) }
    self.cells = max(1, cells)
    self.keep = keep
    self.seed = seed
    self.batchSize = batchSize.map { max(1, $0) }
  }

  public func mapSize(_ context: CAMContext) -> (height: Int, width: Int) {
    (context.session.pixels.height, context.session.pixels.width)
  }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let s = context.session
    let count = masks ?? BlackBoxSettings().riseMaskCount(segmentation: s.model.task == .segmentation)
    let h = s.pixels.height, w = s.pixels.width
    let cellH = (h + cells - 1) / cells, cellW = (w + cells - 1) / cells
    var random = SeededRandom(seed: seed)
    return try saliency(context, count: count) { _ in
      let grid = (0..<(cells * cells)).map { _ in random.unit() < keep ? Float(1) : Float(0) }
      let dy = random.below(cellH), dx = random.below(cellW)
      return RISE.mask(grid: grid, cells: cells, height: h, width: w, shiftY: dy, shiftX: dx)
    }
  }

  /// Σ_i score_i·M_i / (N·p) over `count` masks made in order by `mask(i)` (`height·width`
  /// values each), `batchSize` at a time.
  public func saliency(_ context: CAMContext, count: Int, mask: (Int) throws -> [Float]) throws -> [[Float]] {
    guard keep > 0, keep <= 1 else { throw ExplainError(description: "RISE keep probability must be in (0, 1], got \(keep)") }
    let s = context.session
    let h = s.pixels.height, w = s.pixels.width, plane = h * w
    let batchSize = self.batchSize ?? PerturbationScorer.defaultBatch(height: h, width: w)
    let scorer = PerturbationScorer(context)
    var sums = [[Double]](repeating: [Double](repeating: 0, count: plane), count: scorer.seedCount)
    let full = Tensor(channels: s.pixels.channels, batch: min(batchSize, count), height: h, width: w)
    var chunk: [[Float]] = []
    var done = 0
    while done < count {
      let n = min(batchSize, count - done)
      chunk.removeAll(keepingCapacity: true)
      for i in 0..<n {
        let m = try mask(done + i)
        guard m.count == plane else { throw ExplainError(description: "RISE mask \(done + i) has \(m.count) values for \(plane) pixels") }
        chunk.append(m)
      }
      let input = n == full.batch ? full : Tensor(channels: s.pixels.channels, batch: n, height: h, width: w)
      for c in 0..<s.pixels.channels {
        let src = s.pixels.plane(c, 0), base = scorer.neutral[c]
        for b in 0..<n {
          let dst = input.plane(c, b), m = chunk[b]
          for i in 0..<plane { dst[i] = base + m[i] * (src[i] - base) }
        }
      }
      let scores = try scorer.scores(input)
      for j in 0..<scorer.seedCount {
        for b in 0..<n where scores[j][b] != 0 {
          let v = scores[j][b], m = chunk[b]
          sums[j].withUnsafeMutableBufferPointer { acc in
            for i in 0..<plane { acc[i] += v * Double(m[i]) }
          }
        }
      }
      done += n
    }
    let scale = 1 / (Double(count) * keep)
    return sums.map { $0.map { Float($0 * scale) } }
  }

  /// One mask: the `cells × cells` grid upsampled to `(cells+1)·cell` per side as skimage's
  /// `resize(order=1, mode='reflect', anti_aliasing=False)` does (scipy `zoom` with
  /// `grid_mode=True`: source coordinate `(i + 0.5)·s/up − 0.5`, mirrored at the edges,
  /// computed in Double and stored as float32), then the `height × width` window at
  /// (`shiftY`, `shiftX`).
  public static func mask(grid: [Float], cells: Int, height: Int, width: Int, shiftY: Int, shiftX: Int) -> [Float] {
    let cellH = (height + cells - 1) / cells, cellW = (width + cells - 1) / cells
    let ys = taps(count: height, offset: shiftY, cells: cells, up: (cells + 1) * cellH)
    let xs = taps(count: width, offset: shiftX, cells: cells, up: (cells + 1) * cellW)
    var out = [Float](repeating: 0, count: height * width)
    for (r, ty) in ys.enumerated() {
      for (c, tx) in xs.enumerated() {
        let g00 = Double(grid[ty.i0 * cells + tx.i0]), g01 = Double(grid[ty.i0 * cells + tx.i1])
        let g10 = Double(grid[ty.i1 * cells + tx.i0]), g11 = Double(grid[ty.i1 * cells + tx.i1])
        let v = (1 - ty.f) * ((1 - tx.f) * g00 + tx.f * g01) + ty.f * ((1 - tx.f) * g10 + tx.f * g11)
        out[r * width + c] = Float(v)
      }
    }
    return out
  }

  /// Source indices and weight for output positions `offset..<offset+count` of an upsampling
  /// from `cells` to `up` samples.
  private static func taps(count: Int, offset: Int, cells: Int, up: Int) -> [(i0: Int, i1: Int, f: Double)] {
    (0..<count).map { i in
      guard cells > 1 else { return (0, 0, 0) }
      var x = (Double(i + offset) + 0.5) * (Double(cells) / Double(up)) - 0.5
      let last = Double(cells - 1)
      // scipy's 'mirror': reflect about the first and last sample without repeating them.
      if x < 0 { x = -x }
      if x > last { x = 2 * last - x }
      x = min(max(x, 0), last)
      let i0 = min(Int(x.rounded(.down)), cells - 1)
      let i1 = min(i0 + 1, cells - 1)
      return (i0, i1, x - Double(i0))
    }
  }
}
