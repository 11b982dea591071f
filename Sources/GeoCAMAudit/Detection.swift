import GeoCAMGeo

/// One detected object of an audit: a connected region of one class in the stitched class map,
/// with its probabilities, its own explanation's evidence, and its match against labels.
public struct Detection: Codable, Sendable, Hashable {
  /// How a detection compares with the labels.
  public enum Status: String, Codable, Sendable, CaseIterable {
    /// Matched one to one to a label of its class at IoU ≥ the match threshold.
    case tp
    /// No label of any class matches it.
    case fp
    /// Matches a label of another class (class-agnostic second pass).
    case wrongClass = "wrong_class"
  }

  /// A reviewer's verdict (the `review` field of the GeoPackage; empty = not reviewed).
  public enum Review: String, Codable, Sendable, CaseIterable {
    case tp, fp
    case wrongClass = "wrong_class"
    case unsure
  }

  /// Evidence of one method's map for this detection, over its explanation window.
  public struct Evidence: Codable, Sendable, Hashable {
    /// Share of the map's mass inside the detection's pixels.
    public var inside: Double
    /// Share of the map's mass in a ring of one object-diameter around the detection.
    public var ring: Double
    /// Whether the map's maximum lies inside the detection.
    public var peakInside: Bool

    public init(inside: Double, ring: Double, peakInside: Bool) {
      self.inside = inside
      self.ring = ring
      self.peakInside = peakInside
    }
  }

  /// Pixel rectangle in the raster (x, y of the top-left pixel; width, height).
  public typealias Box = PixelWindow

  /// 1-based id, stable within one audit output.
  public var id: Int
  /// Class name and index (index into the model's classes; never 0).
  public var className: String
  public var classIndex: Int
  /// Pixel count and area (m² from the raster's CRS; pixels when it has none).
  public var pixels: Int
  public var area: Double
  /// Mean and maximum of the class's softmax probability over the detection's pixels.
  public var probMean: Double
  public var probMax: Double
  /// Mean over the pixels of the winning probability minus the runner-up's.
  public var margin: Double
  /// Centroid of the pixels in the raster's CRS, and in longitude / latitude (WGS 84) when the
  /// raster has a CRS.
  public var centroidX: Double
  public var centroidY: Double
  public var lon: Double?
  public var lat: Double?
  /// Bounding box of the pixels, and the window the detection was explained on.
  public var bbox: Box
  public var window: Box
  /// The detection is larger than the window: explained on the part the window holds.
  public var partial: Bool
  /// Evidence per method id (`gradcam`, `gradcam++`, `guided-gradcam`…).
  public var evidence: [String: Evidence]
  /// Status against the labels; nil without labels.
  public var status: Status?
  /// IoU with the matched label (tp, wrong_class) or the best overlapping label (fp); nil without labels.
  public var iou: Double?
  /// The matched label's id (its feature id or label-raster object number).
  public var labelId: Int?
  /// Type of the confounder a false detection covers (e.g. `skylight`), if any.
  public var confounder: String?
  /// Review priority in [0, 1] (see `Suspicion`).
  public var suspicion: Double
  /// Reviewer's verdict and note (kept across re-runs).
  public var review: Review?
  public var reviewNote: String?

  public init(
    id: Int, className: String, classIndex: Int, pixels: Int, area: Double, probMean: Double, probMax: Double,
    margin: Double, centroidX: Double, centroidY: Double, lon: Double?, lat: Double?, bbox: Box, window: Box,
    partial: Bool, evidence: [String: Evidence] = [:], status: Status? = nil, iou: Double? = nil,
    labelId: Int? = nil, confounder: String? = nil, suspicion: Double = 0, review: Review? = nil,
    reviewNote: String? = nil
  ) {
    self.id = id
    self.className = className
    self.classIndex = classIndex
    self.pixels = pixels
    self.area = area
    self.probMean = probMean
    self.probMax = probMax
    self.margin = margin
    self.centroidX = centroidX
    self.centroidY = centroidY
    self.lon = lon
    self.lat = lat
    self.bbox = bbox
    self.window = window
    self.partial = partial
    self.evidence = evidence
    self.status = status
    self.iou = iou
    self.labelId = labelId
    self.confounder = confounder
    self.suspicion = suspicion
    self.review = review
    self.reviewNote = reviewNote
  }
}
