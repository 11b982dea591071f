import GeoCAMExplain

/// Everything `geocam audit` can be told.
public struct AuditOptions: Sendable {
  /// A label or confounder source: a raster on the same grid, or an OGR layer (`PATH[:layer]`).
  public struct Source: Sendable, Hashable {
    public var path: String
    public var layer: String?
    public init(path: String, layer: String? = nil) {
      self.path = path
      self.layer = layer
    }

    /// Parses `PATH[:layer]` (a colon after which no file of the whole name exists).
    public static func parse(_ spec: String, fileExists: (String) -> Bool) -> Source {
      if fileExists(spec) { return Source(path: spec) }
      if let i = spec.lastIndex(of: ":") {
        return Source(path: String(spec[..<i]), layer: String(spec[spec.index(after: i)...]))
      }
      return Source(path: spec)
    }
  }

  /// Tile size and overlap of the run's grid (the windows explanations use).
  public var tileSize = 320
  public var overlap = 64
  /// 1-based bands in the model's channel order.
  public var bands = [1, 2, 3]
  /// Methods, in output order.
  public var methods: [ExplanationMethod] = [.gradcam, .gradcamPlusPlus, .guidedGradcam]
  /// Target layer (nil: `encoder.layer3.5.conv3` where the model has it, else its default).
  public var layer: String?
  /// Detections smaller than this are dropped (m²; with no CRS, via the model's GSD when known).
  public var minAreaM2 = 0.5
  /// Labels and typed look-alikes.
  public var labels: Source?
  public var confounders: Source?
  /// Name of the class field of a label layer, and of the type field of a confounder layer.
  public var classField = "class"
  public var typeField = "type"
  /// IoU a match needs (also reported at 0.25).
  public var matchIoU = 0.5
  /// Cards per gallery page.
  public var pageSize = 200
  /// Discard an earlier audit of a different command in the output folder.
  public var restart = false
  /// Take over the output's lock.
  public var breakLock = false
  /// No progress output.
  public var quiet = false
  /// Facts added to provenance (e.g. the tool's version).
  public var provenance: [String: String] = [:]
  /// Seed and sample counts of RISE and LIME.
  public var blackBox = BlackBoxSettings()

  public init() {}
}
