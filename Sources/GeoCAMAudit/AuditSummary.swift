/// `summary.json` of an audit.
public struct AuditSummary: Codable, Sendable {
  /// Counts and scores of one class.
  public struct ClassScores: Codable, Sendable {
    public var tp = 0, fp = 0, wrongClass = 0, fn = 0
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    /// Pixel IoU of the class map against the labels over the whole raster.
    public var pixelIoU: Double?

    enum CodingKeys: String, CodingKey {
      case tp, fp, fn, precision, recall, f1
      case wrongClass = "wrong_class"
      case pixelIoU = "pixel_iou"
    }

    /// Fills precision (tp / detections), recall (tp / labels) and F1.
    mutating func score() {
      let detections = tp + fp + wrongClass, labels = tp + fn
      precision = detections > 0 ? Double(tp) / Double(detections) : nil
      recall = labels > 0 ? Double(tp) / Double(labels) : nil
      if let p = precision, let r = recall { f1 = p + r > 0 ? 2 * p * r / (p + r) : 0 }
    }
  }

  /// Detections and their area unit.
  public var detections: Int
  public var areaUnit: String
  public var areaNote: String
  /// Per class name: detections (and dropped by the minimum area).
  public var detectionsPerClass: [String: Int]
  public var droppedBelowMinArea: [String: Int]
  public var minAreaM2: Double
  /// Explanation settings and timing.
  public var methods: [String]
  public var layer: String
  public var windows: Int
  public var secondsExplaining: Double
  public var secondsPerDetection: Double?
  /// With labels: the match threshold, per-class scores at it and at 0.25.
  public var matchIoU: Double?
  public var classes: [String: ClassScores]?
  public var classesAtIoU025: [String: ClassScores]?
  /// Label class × detected class counts ("none" row: false detections; "none" column: missed).
  public var confusion: [String: [String: Int]]?
  /// Per confounder type: how many there are and how many were taken for each class.
  public var confounders: [String: [String: Int]]?
  /// AUC of `suspicion` separating fp from tp, next to the baseline `1 − prob_mean`.
  public var suspicionAUC: Double?
  public var baselineAUC: Double?
  /// Reviews carried over, orphaned, and agreement of reviewers with labels.
  public var reviews: [String: Double]
  /// Label features skipped and other notes.
  public var notes: [String]
  /// Provenance (checkpoint, SHA-256, version, options).
  public var provenance: [String: String]

  enum CodingKeys: String, CodingKey {
    case detections, methods, layer, windows, classes, confusion, confounders, reviews, notes, provenance
    case areaUnit = "area_unit"
    case areaNote = "area_note"
    case detectionsPerClass = "detections_per_class"
    case droppedBelowMinArea = "dropped_below_min_area"
    case minAreaM2 = "min_area_m2"
    case secondsExplaining = "seconds_explaining"
    case secondsPerDetection = "seconds_per_detection"
    case matchIoU = "match_iou"
    case classesAtIoU025 = "classes_at_iou_0_25"
    case suspicionAUC = "suspicion_auc_fp_vs_tp"
    case baselineAUC = "baseline_auc_fp_vs_tp"
  }
}
