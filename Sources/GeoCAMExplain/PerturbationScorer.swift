import GeoCAMCore
import GeoCAMModels
import GeoCAMTensor

/// Scores perturbed copies of a session's pixels as the black-box methods and the causal
/// metrics define them: per seed, the softmax probability of its class, averaged over the
/// seed's target pixels as fixed by the unperturbed prediction (a classifier has one pixel).
public struct PerturbationScorer {
  let session: ExplanationSession
  /// Per seed: its class and per-pixel target weights (summing to 1).
  public let weights: [(k: Int, w: [Float])]
  /// Raw pixel values that normalise to 0, per channel (the "zero" of normalised space).
  public let neutral: [Float]

  /// A scorer for the explained seeds of `context`.
  public init(_ context: CAMContext) {
    self.init(session: context.session, weights: classWeights(context))
  }

  /// A scorer for explicit per-seed weights.
  public init(session: ExplanationSession, weights: [(k: Int, w: [Float])]) {
    self.session = session
    self.weights = weights
    // The fill TileInput gives invalid pixels: it normalises to 0.
    neutral = session.preprocessing.neutralPixel
  }

  /// Perturbed images per forward when not given: about 4 × 320² pixels per batch, at most
  /// 16. Measured on the demo FPN (2 cores): batches of 4 run at 0.22 s per tile, of 16 at
  /// 0.41 s (the activations no longer fit the caches), of 1 at 0.25 s.
  public static func defaultBatch(height: Int, width: Int) -> Int {
    max(1, min(16, (4 * 320 * 320) / max(1, height * width)))
  }

  /// Number of seeds scored.
  public var seedCount: Int { weights.count }

  /// Scores of a batch `[3][B][H][W]` of raw pixels: `[seed][b]`.
  public func scores(_ batch: Tensor) throws -> [[Double]] {
    let out = try session.model.forward(
      pixels: batch, preprocessing: session.preprocessing, tape: Tape(recording: false), taps: [], options: session.options)
    return PerturbationScorer.probabilityScores(out.logits.value, weights: weights)
  }

  /// `Σ_p w[p]·softmax(logits[·][b][p])[k]` per seed and batch item, in Double.
  static func probabilityScores(_ logits: Tensor, weights: [(k: Int, w: [Float])]) -> [[Double]] {
    let plane = logits.planeSize, classes = logits.channels
    var out = [[Double]](repeating: [Double](repeating: 0, count: logits.batch), count: weights.count)
    // Pixels any seed reads.
    var used = [Bool](repeating: false, count: plane)
    for item in weights { for p in 0..<min(plane, item.w.count) where item.w[p] != 0 { used[p] = true } }
    var z = [Double](repeating: 0, count: classes)
    for b in 0..<logits.batch {
      let planes = (0..<classes).map { logits.plane($0, b) }
      for p in 0..<plane where used[p] {
        var top = -Double.infinity
        for c in 0..<classes { z[c] = Double(planes[c][p]); top = max(top, z[c]) }
        var total = 0.0
        for c in 0..<classes { z[c] = libmExp(z[c] - top); total += z[c] }
        for (j, item) in weights.enumerated() where p < item.w.count && item.w[p] != 0 {
          out[j][b] += Double(item.w[p]) * z[item.k] / total
        }
      }
    }
    return out
  }
}
