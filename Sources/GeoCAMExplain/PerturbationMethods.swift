import GeoCAMCore
import GeoCAMModels
import GeoCAMTensor

/// Target scores of a batch of logits `[classes][B][H][W]` with the tile's per-class target
/// weights: `score[j][b] = Σ_p w_j[p]·logits[k_j][b][p]`.
func targetScores(_ logits: Tensor, weights: [(k: Int, w: [Float])]) -> [[Float]] {
  let plane = logits.planeSize
  return weights.map { item in
    (0..<logits.batch).map { b in
      let p = logits.plane(item.k, b)
      var s = 0.0
      for i in 0..<plane where item.w[i] != 0 { s += Double(item.w[i]) * Double(p[i]) }
      return Float(s)
    }
  }
}

/// Each explained seed's target weights on the tile (from the original prediction).
func classWeights(_ context: CAMContext) -> [(k: Int, w: [Float])] {
  context.seeds.compactMap { s in
    s.target.weights(forClass: s.classIndex, logits: context.session.logits, valid: context.session.valid)
      .map { (s.classIndex, $0) }
  }
}

/// Score-CAM as pytorch-grad-cam defines it: each activation channel, upsampled to the input
/// (bilinear, `align_corners=True`) and min-max scaled with ε 1e-8, masks the pixels; the
/// channel's score is the class target of the masked forward; weights are the softmax of the
/// scores over channels; the map is `ReLU(Σ_k w_k·A_k)`. The masked forwards run in batches of
/// `batchSize` and serve all classes at once. Costs one forward per channel (2,048 at layer4).
public struct ScoreCAM: CAMMethod {
  public let id = "scorecam"
  /// Masked inputs per forward (bounds memory).
  public var batchSize: Int

  public init(batchSize: Int = 8) { self.batchSize = Swift.max(1, batchSize) }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let s = context.session
    let a = context.activations
    let up = Upsample.bilinear(a, height: s.pixels.height, width: s.pixels.width, alignCorners: true)
    let plane = up.planeSize
    // Per-channel min-max scaling.
    for c in 0..<up.channels {
      let p = up.plane(c, 0)
      var lo = Float.infinity, hi = -Float.infinity
      for i in 0..<plane { lo = Swift.min(lo, p[i]); hi = Swift.max(hi, p[i]) }
      let d = hi - lo + 1e-8
      for i in 0..<plane { p[i] = (p[i] - lo) / d }
    }
    let weights = classWeights(context)
    var scores = [[Float]](repeating: [], count: weights.count)
    var c0 = 0
    while c0 < a.channels {
      let n = Swift.min(batchSize, a.channels - c0)
      let batch = Tensor(channels: s.pixels.channels, batch: n, height: s.pixels.height, width: s.pixels.width)
      for ch in 0..<s.pixels.channels {
        let src = s.pixels.plane(ch, 0)
        for b in 0..<n {
          let mask = up.plane(c0 + b, 0), dst = batch.plane(ch, b)
          for i in 0..<plane { dst[i] = src[i] * mask[i] }
        }
      }
      let out = try s.model.forward(
        pixels: batch, preprocessing: s.preprocessing, tape: Tape(recording: false), taps: [], options: s.options)
      for (j, row) in targetScores(out.logits.value, weights: weights).enumerated() { scores[j] += row }
      c0 += n
    }
    return scores.map { row in
      let m = row.max() ?? 0
      let e = row.map { Double(($0 - m)).exp }
      let total = e.reduce(0, +)
      return CAMMath.weightedSum(a, weights: e.map { Float($0 / total) })
    }
  }
}

/// Ablation-CAM as pytorch-grad-cam defines it: channel k of the target layer's output is
/// replaced by 0 when the layer's minimum is 0, else by `min − 1e7`; `w_k = (y − y_k) / y`
/// with y the original target score; the map is `ReLU(Σ_k w_k·A_k)`.
///
/// pytorch-grad-cam re-reads the minimum after each sample of a batch, so its ablation value
/// drifts by −1e7 per batch position; GeoCAM uses the first position's value for every channel,
/// which is what pytorch-grad-cam computes with `batch_size=1`. Only the network after the
/// target layer is re-run per channel (the ablated activations are broadcast against the
/// unchanged earlier features), in batches of `batchSize`.
public struct AblationCAM: CAMMethod {
  public let id = "ablationcam"
  /// Ablated channels per forward (bounds memory).
  public var batchSize: Int

  public init(batchSize: Int = 32) { self.batchSize = Swift.max(1, batchSize) }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let s = context.session
    let a = context.activations
    let weights = classWeights(context)
    let original = targetScores(s.logits, weights: weights).map { $0[0] }
    var minA = Float.infinity
    for i in 0..<a.count { minA = Swift.min(minA, a.pointer[i]) }
    let value: Float = minA == 0 ? 0 : minA - 1e7
    var scores = [[Float]](repeating: [], count: weights.count)
    var c0 = 0
    while c0 < a.channels {
      let n = Swift.min(batchSize, a.channels - c0)
      let first = c0
      let ablated = Tensor(channels: a.channels, batch: n, height: a.height, width: a.width)
      for c in 0..<a.channels {
        for b in 0..<n {
          let dst = ablated.plane(c, b)
          if c == first + b { dst.update(repeating: value, count: a.planeSize) } else { dst.update(from: a.plane(c, 0), count: a.planeSize) }
        }
      }
      let layer = s.layer
      var options = s.options
      options.override = { path, v in path == layer ? Traced(id: v.id, value: ablated) : nil }
      let out = try s.model.forward(
        pixels: s.pixels, preprocessing: s.preprocessing, tape: Tape(recording: false), taps: [layer], options: options)
      for (j, row) in targetScores(out.logits.value, weights: weights).enumerated() { scores[j] += row }
      c0 += n
    }
    return zip(scores, original).map { row, y in
      CAMMath.weightedSum(a, weights: row.map { (y - $0) / y })
    }
  }
}

extension Double {
  fileprivate var exp: Double { libmExp(self) }
}
