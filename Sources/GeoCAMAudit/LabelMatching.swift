/// Object-level matching of detections against labels on pixel sets.
///
/// One to one, greedy in order of decreasing `prob_mean` (ties: lower detection id first),
/// each detection taking the still-unmatched same-class label of highest IoU ≥ the threshold
/// (ties: lower label id), as solaris/COCO do. A second, class-agnostic pass over the
/// detections and labels left marks `wrong_class`. Every label without a same-class match is
/// `fn` for its class, also when a wrong-class detection covers it.
public struct LabelMatching: Sendable {
  /// A labelled object: id, class, pixel count.
  public struct Label: Sendable, Hashable {
    public var id: Int
    public var classIndex: Int
    public var pixels: Int
    public init(id: Int, classIndex: Int, pixels: Int) {
      self.id = id
      self.classIndex = classIndex
      self.pixels = pixels
    }
  }

  /// A detection as matching sees it.
  public struct Candidate: Sendable, Hashable {
    public var id: Int
    public var classIndex: Int
    public var pixels: Int
    public var probMean: Double
    public init(id: Int, classIndex: Int, pixels: Int, probMean: Double) {
      self.id = id
      self.classIndex = classIndex
      self.pixels = pixels
      self.probMean = probMean
    }
  }

  /// The outcome for one detection.
  public struct Outcome: Sendable, Hashable {
    public var status: Detection.Status
    /// The matched label (tp, wrong_class).
    public var labelId: Int?
    /// IoU with the matched label, or the best IoU with any label (fp; 0 when none overlaps).
    public var iou: Double
  }

  /// Per detection id.
  public var outcomes: [Int: Outcome]
  /// Labels without a same-class match.
  public var missed: [Label]

  /// Matches at IoU ≥ `threshold`. `overlaps[detectionId][labelId]` = shared pixels.
  public init(candidates: [Candidate], labels: [Label], overlaps: [Int: [Int: Int]], threshold: Double) {
    let labelById = Dictionary(uniqueKeysWithValues: labels.map { ($0.id, $0) })
    func iou(_ d: Candidate, _ l: Label) -> Double {
      let inter = overlaps[d.id]?[l.id] ?? 0
      let union = d.pixels + l.pixels - inter
      return union > 0 ? Double(inter) / Double(union) : 0
    }
    let order = candidates.sorted { $0.probMean != $1.probMean ? $0.probMean > $1.probMean : $0.id < $1.id }
    var taken = Set<Int>()
    var outcomes: [Int: Outcome] = [:]
    // Best label among `pool` for a detection, at or above the threshold.
    func best(_ d: Candidate, where accept: (Label) -> Bool) -> (Label, Double)? {
      var found: (Label, Double)? = nil
      for (lid, _) in (overlaps[d.id] ?? [:]).sorted(by: { $0.key < $1.key }) {
        guard let l = labelById[lid], !taken.contains(lid), accept(l) else { continue }
        let v = iou(d, l)
        // A small epsilon keeps an IoU computed as exactly the threshold (e.g. 1/2) inside.
        guard v >= threshold - 1e-12 else { continue }
        if found == nil || v > found!.1 { found = (l, v) }
      }
      return found
    }
    for d in order {
      if let (l, v) = best(d, where: { $0.classIndex == d.classIndex }) {
        taken.insert(l.id)
        outcomes[d.id] = Outcome(status: .tp, labelId: l.id, iou: v)
      }
    }
    let matchedSameClass = taken
    for d in order where outcomes[d.id] == nil {
      if let (l, v) = best(d, where: { $0.classIndex != d.classIndex }) {
        taken.insert(l.id)
        outcomes[d.id] = Outcome(status: .wrongClass, labelId: l.id, iou: v)
      } else {
        let bestAny = (overlaps[d.id] ?? [:]).keys.compactMap { labelById[$0] }.map { iou(d, $0) }.max() ?? 0
        outcomes[d.id] = Outcome(status: .fp, labelId: nil, iou: bestAny)
      }
    }
    self.outcomes = outcomes
    missed = labels.filter { !matchedSameClass.contains($0.id) }.sorted { $0.id < $1.id }
  }

  /// Per class index: tp, fp, wrong_class (detections of that class) and fn (labels of it).
  public func counts(classes: [Int], candidates: [Candidate]) -> [Int: (tp: Int, fp: Int, wrongClass: Int, fn: Int)] {
    var out: [Int: (tp: Int, fp: Int, wrongClass: Int, fn: Int)] = [:]
    for k in classes { out[k] = (0, 0, 0, 0) }
    for d in candidates {
      guard let o = outcomes[d.id] else { continue }
      var c = out[d.classIndex] ?? (0, 0, 0, 0)
      switch o.status {
      case .tp: c.tp += 1
      case .fp: c.fp += 1
      case .wrongClass: c.wrongClass += 1
      }
      out[d.classIndex] = c
    }
    for l in missed {
      var c = out[l.classIndex] ?? (0, 0, 0, 0)
      c.fn += 1
      out[l.classIndex] = c
    }
    return out
  }
}

/// Ranking quality: the area under the ROC curve of `scores` separating positives from
/// negatives (Mann–Whitney U / (n₊·n₋), ties counted half); nil when either side is empty.
public func rocAUC(positives: [Double], negatives: [Double]) -> Double? {
  guard !positives.isEmpty, !negatives.isEmpty else { return nil }
  var wins = 0.0
  for p in positives {
    for n in negatives {
      if p > n { wins += 1 } else if p == n { wins += 0.5 }
    }
  }
  return wins / Double(positives.count * negatives.count)
}
