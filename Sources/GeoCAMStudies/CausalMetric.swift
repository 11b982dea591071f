import Foundation
import GeoCAMExplain
import GeoCAMTensor

/// RISE's insertion and deletion metrics (eclique/RISE `CausalMetric`), on any model GeoCAM
/// runs: pixels are taken in decreasing saliency (a stable order: ties by ascending pixel
/// index), `step` at a time; deletion starts from the image and moves pixels to 0 in
/// normalised space, insertion starts from the blurred image (RISE's kernel, applied per
/// channel in normalised space with zero padding) and puts the image's pixels back. Before each
/// step and after the last the image is scored (`PerturbationScorer`: the class's softmax
/// probability, or its mean over the target's pixels for a segmentation model), giving
/// ⌈HW/step⌉ + 1 scores; the area is `SaliencyMetrics.causalAUC`.
public enum CausalMetric {
  /// Which curve.
  public enum Kind: String, Sendable, CaseIterable, Codable {
    case deletion, insertion
  }

  /// RISE's `gkern(11, 5)`: scipy's `gaussian_filter` (σ 5, truncate 4, mode 'reflect') of an
  /// 11×11 delta, row-major.
  public static let blurKernel: [Double] = {
    let klen = 11, sigma = 5.0, radius = Int(4 * sigma + 0.5)
    // The 1-D Gaussian weights scipy uses, normalised to sum 1.
    var w = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
    let total = w.reduce(0, +)
    w = w.map { $0 / total }
    // Filtering the delta along one axis with reflecting borders: output at i is the sum of
    // the weights whose reflected source index is the centre.
    func reflect(_ j: Int) -> Int {
      var j = j
      while j < 0 || j >= klen { j = j < 0 ? -j - 1 : 2 * klen - j - 1 }
      return j
    }
    let centre = klen / 2
    let line: [Double] = (0..<klen).map { i in
      var s = 0.0
      for (t, wt) in w.enumerated() where reflect(i + t - radius) == centre { s += wt }
      return s
    }
    return (0..<(klen * klen)).map { line[$0 / klen] * line[$0 % klen] }
  }()

  /// The blurred image as raw pixels: normalised, convolved per channel with `blurKernel`
  /// (zero padding), mapped back.
  public static func blurred(_ pixels: Tensor, affine: ChannelAffine) -> Tensor {
    let h = pixels.height, w = pixels.width, klen = 11, r = klen / 2
    let out = Tensor(channels: pixels.channels, batch: 1, height: h, width: w)
    for c in 0..<pixels.channels {
      let scale = Double(affine.scale[c]), shift = Double(affine.shift[c])
      let src = pixels.plane(c, 0), dst = out.plane(c, 0)
      let norm = (0..<(h * w)).map { Double(src[$0]) * scale + shift }
      for y in 0..<h {
        for x in 0..<w {
          var s = 0.0
          for ky in 0..<klen {
            let sy = y + ky - r
            guard sy >= 0, sy < h else { continue }
            for kx in 0..<klen {
              let sx = x + kx - r
              guard sx >= 0, sx < w else { continue }
              s += blurKernel[ky * klen + kx] * norm[sy * w + sx]
            }
          }
          // Rounded to float32 in normalised space, as torch's conv2d leaves it.
          dst[y * w + x] = Float((Double(Float(s)) - shift) / scale)
        }
      }
    }
    return out
  }

  /// Pixel indices in decreasing saliency, ties by ascending index.
  public static func order(_ saliency: [Float]) -> [Int] {
    saliency.indices.sorted { saliency[$0] != saliency[$1] ? saliency[$0] > saliency[$1] : $0 < $1 }
  }

  /// The default step: 224 pixels for a 224 × 224 input, scaled by area otherwise.
  public static func defaultStep(height: Int, width: Int) -> Int { max(1, Int((Double(height * width) / 224).rounded())) }

  /// The scores of both curves for each seed of `scorer` along one saliency map (`H·W`),
  /// `batchSize` perturbed images per forward (nil: `PerturbationScorer.defaultBatch`):
  /// `[kind][seed][step]`.
  public static func curves(
    session: ExplanationSession, scorer: PerturbationScorer, saliency: [Float], step: Int, kinds: [Kind] = Kind.allCases,
    batchSize: Int? = nil
  ) throws -> [Kind: [[Double]]] {
    let px = session.pixels, h = px.height, w = px.width, plane = h * w, channels = px.channels
    let batchSize = max(1, batchSize ?? PerturbationScorer.defaultBatch(height: h, width: w))
    guard saliency.count == plane else {
      throw ExplainError(description: "saliency has \(saliency.count) values for \(plane) pixels")
    }
    let step = max(1, step)
    let steps = (plane + step - 1) / step
    let ranked = order(saliency)
    let affine = session.preprocessing.affine
    var out: [Kind: [[Double]]] = [:]
    for kind in kinds {
      let start = kind == .deletion ? px : blurred(px, affine: affine)
      // The finish: zeros in normalised space, or the image.
      let finish: (Int, Int) -> Float = kind == .deletion ? { c, _ in scorer.neutral[c] } : { c, i in px.plane(c, 0)[i] }
      var current = (0..<channels).map { c in Array(UnsafeBufferPointer(start: start.plane(c, 0), count: plane)) }
      var scores = [[Double]](repeating: [], count: scorer.seedCount)
      var i = 0
      while i <= steps {
        let n = min(batchSize, steps + 1 - i)
        let batch = Tensor(channels: channels, batch: n, height: h, width: w)
        for b in 0..<n {
          for c in 0..<channels { batch.plane(c, b).update(from: current[c], count: plane) }
          let k = i + b
          if k < steps {
            for p in ranked[(step * k)..<min(step * (k + 1), plane)] {
              for c in 0..<channels { current[c][p] = finish(c, p) }
            }
          }
        }
        for (j, v) in try scorer.scores(batch).enumerated() { scores[j] += v }
        i += n
      }
      out[kind] = scores
    }
    return out
  }
}
