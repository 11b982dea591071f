/// The review priority of a detection, in [0, 1], fixed before it was ever scored against labels:
///
///     suspicion = 0.5 · (1 − margin) + 0.3 · (1 − focus) + 0.2 · smallness
///
/// - `margin`: mean over the detection's pixels of the winning class's probability minus the
///   runner-up's (a hesitant model is the first thing to check).
/// - `focus`: for the class-discriminative CAM methods that ran (Grad-CAM, Grad-CAM++, … — never
///   the guided maps, which fail the model-randomisation sanity check), the mean of
///   `inside / (inside + ring)`: how much of the heat near the object sits on the object rather
///   than on its surroundings. 0.5 (no information) when no such method ran or there is no heat
///   near the object.
/// - `smallness`: `max(0, 1 − area / median area of the run's detections of the same class)`:
///   fragments and specks are more often wrong than objects of the usual size.
public enum Suspicion {
  /// Weights of margin, focus and smallness.
  public static let weights = (margin: 0.5, focus: 0.3, smallness: 0.2)

  /// The score of one detection.
  public static func score(margin: Double, focus: Double?, area: Double, medianArea: Double) -> Double {
    let m = min(max(margin, 0), 1)
    let f = min(max(focus ?? 0.5, 0), 1)
    let s = medianArea > 0 ? max(0, 1 - area / medianArea) : 0
    return weights.margin * (1 - m) + weights.focus * (1 - f) + weights.smallness * s
  }

  /// `focus` from a detection's evidence: the mean of inside / (inside + ring) over the
  /// non-guided methods with heat near the object; nil when there is none.
  public static func focus(_ evidence: [String: Detection.Evidence]) -> Double? {
    let shares = evidence.filter { !$0.key.hasPrefix("guided") }.values.compactMap { e -> Double? in
      let local = e.inside + e.ring
      return local > 0 ? e.inside / local : nil
    }
    return shares.isEmpty ? nil : shares.reduce(0, +) / Double(shares.count)
  }

  /// The median of `values` (mean of the middle two for an even count); 0 when empty.
  public static func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
  }
}
