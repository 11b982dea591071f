import GeoCAMCore
import GeoCAMImaging
import GeoCAMTensor

/// LIME for images (lime 0.2.0.1's `LimeImageExplainer.explain_instance` with its defaults
/// except the segmentation): superpixels from SLIC (skimage's defaults, n_segments 100) —
/// chosen over LIME's default quickshift because skimage's quickshift adds seeded Gaussian
/// noise from NumPy's generator to break density ties, so its segments cannot be reproduced
/// exactly outside NumPy, while SLIC is deterministic and ported label for label; samples are
/// uniform random on/off vectors over the superpixels (row 0 all on), a hidden superpixel
/// is filled with its own mean colour (`hide_color=None`), each sample is scored by the
/// class's softmax probability (segmentation: its mean over the seed's target pixels), and
/// the weighted ridge surrogate (`LimeSurrogate`: cosine distance, kernel width 0.25, α 1)
/// gives one weight per superpixel; the map holds each pixel's superpixel weight (signed).
public struct LIME: CAMMethod {
  public let id = "lime"
  /// Samples, row 0 the image itself.
  public var samples: Int
  /// Seeds the samples.
  public var seed: UInt64
  /// The superpixel segmentation.
  public var superpixels: SLICSuperpixels
  /// Kernel width on cosine distances.
  public var kernelWidth: Double
  /// Perturbed images per forward (bounds memory; nil: `PerturbationScorer.defaultBatch`).
  public var batchSize: Int?

  public init(samples: Int = 1000, seed: UInt64 = 0, segments: Int = 100, kernelWidth: Double = 0.25, batchSize: Int? = nil) {
    self.samples = max(2, samples)
    self.seed = seed
    superpixels = SLICSuperpixels(segments: segments)
    self.kernelWidth = kernelWidth
    self.batchSize = batchSize.map { max(1, $0) }
  }

  public func mapSize(_ context: CAMContext) -> (height: Int, width: Int) {
    (context.session.pixels.height, context.session.pixels.width)
  }

  /// The superpixels of the session's pixels (labels from 1, row-major); raw pixels are 0–255
  /// whatever the model's scaling, so SLIC sees them as skimage's `img_as_float` would.
  public func segments(_ session: ExplanationSession) throws -> [Int32] {
    let px = session.pixels, plane = px.planeSize
    var rgb = [Double](repeating: 0, count: 3 * plane)
    for c in 0..<min(3, px.channels) {
      let p = px.plane(c, 0)
      for i in 0..<plane { rgb[3 * i + c] = min(max(Double(p[i]) / 255, 0), 1) }
    }
    return try superpixels.segment(rgb: rgb, width: px.width, height: px.height)
  }

  /// LIME's sample matrix: `count` rows over `features` superpixels, row 0 all ones.
  public static func sampleMatrix(count: Int, features: Int, seed: UInt64) -> [[UInt8]] {
    var random = SeededRandom(seed: seed)
    return (0..<count).map { r in
      r == 0 ? [UInt8](repeating: 1, count: features) : (0..<features).map { _ in UInt8(random.below(2)) }
    }
  }

  public func maps(_ context: CAMContext) throws -> [[Float]] {
    let s = context.session
    let px = s.pixels, plane = px.planeSize, channels = px.channels
    let labels = try segments(s)
    let batchSize = self.batchSize ?? PerturbationScorer.defaultBatch(height: px.height, width: px.width)
    let features = Int(labels.max() ?? 0)
    guard features > 0, labels.count == plane, labels.allSatisfy({ $0 >= 1 }) else {
      throw ExplainError(description: "LIME found no usable superpixels")
    }
    // Each superpixel's mean colour, the fill of a hidden superpixel.
    var sums = [Double](repeating: 0, count: features * channels)
    var counts = [Int](repeating: 0, count: features)
    for i in 0..<plane {
      let f = Int(labels[i]) - 1
      counts[f] += 1
      for c in 0..<channels { sums[f * channels + c] += Double(px.plane(c, 0)[i]) }
    }
    let fill: [Float] = (0..<(features * channels)).map { Float(sums[$0] / Double(max(counts[$0 / channels], 1))) }
    let rows = LIME.sampleMatrix(count: samples, features: features, seed: seed)
    let scorer = PerturbationScorer(context)
    var scores = [[Double]](repeating: [], count: scorer.seedCount)
    var done = 0
    while done < rows.count {
      let n = min(batchSize, rows.count - done)
      let batch = Tensor(channels: channels, batch: n, height: px.height, width: px.width)
      for c in 0..<channels {
        let src = px.plane(c, 0)
        for b in 0..<n {
          let row = rows[done + b], dst = batch.plane(c, b)
          for i in 0..<plane {
            let f = Int(labels[i]) - 1
            dst[i] = row[f] != 0 ? src[i] : fill[f * channels + c]
          }
        }
      }
      for (j, v) in try scorer.scores(batch).enumerated() { scores[j] += v }
      done += n
    }
    return try scores.map { y in
      guard let fit = LimeSurrogate(samples: rows, scores: y, kernelWidth: kernelWidth) else {
        throw ExplainError(description: "LIME's surrogate could not be fitted (degenerate samples)")
      }
      return labels.map { Float(fit.weights[Int($0) - 1]) }
    }
  }
}
