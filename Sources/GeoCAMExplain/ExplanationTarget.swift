import GeoCAMTensor

/// One scalar to explain: class `classIndex`'s logits averaged as `target` says. A tile explains
/// several seeds at once (one per class, or one per detection in an audit), all from one
/// batched backward.
public struct ExplanationSeed: Sendable, Equatable {
  /// The class whose logits are averaged.
  public var classIndex: Int
  /// Over which pixels.
  public var target: ExplanationTarget

  /// Creates a seed.
  public init(classIndex: Int, target: ExplanationTarget) {
    self.classIndex = classIndex
    self.target = target
  }
}

/// The scalar a class explanation differentiates: a mean of one class's logits over pixels.
public enum ExplanationTarget: Sendable, Equatable {
  /// Mean of class k's logit over the tile's valid pixels (all pixels when fully valid). The
  /// seed notebook's target, and the default.
  case classMean
  /// Mean of class k's logit over the valid pixels whose argmax is k; a tile with none is
  /// skipped for k.
  case classMask
  /// Mean over a given pixel mask (`1` = inside), e.g. one detection in an audit.
  case region([UInt8])

  /// The id used on the command line and in provenance.
  public var id: String {
    switch self {
    case .classMean: return "class-mean"
    case .classMask: return "class-mask"
    case .region: return "region"
    }
  }

  /// Per-pixel weights of class `k`'s target (summing to 1), or nil when no pixel qualifies.
  ///
  /// - Parameters:
  ///   - logits: `[classes][1][H][W]` (a classifier's `[classes][1][1][1]` has one pixel).
  ///   - valid: `H·W` validity (nil = all valid).
  func weights(forClass k: Int, logits: Tensor, valid: [UInt8]?) -> [Float]? {
    let plane = logits.planeSize
    var w = [Float](repeating: 0, count: plane)
    var count = 0
    for i in 0..<plane {
      var inside = valid.map { $0[i] != 0 } ?? true
      switch self {
      case .classMean: break
      case .classMask:
        if inside { inside = logits.channelArgmax(at: i) == k }
      case .region(let mask): inside = inside && i < mask.count && mask[i] != 0
      }
      if inside {
        w[i] = 1
        count += 1
      }
    }
    guard count > 0 else { return nil }
    let inv = 1 / Float(count)
    for i in 0..<plane where w[i] != 0 { w[i] = inv }
    return w
  }
}
