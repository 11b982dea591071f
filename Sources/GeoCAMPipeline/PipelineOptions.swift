import Foundation
import GeoCAMGeo

/// Everything a city-scale run can be told. Each property maps to one `geocam explain` option;
/// the doc comment says which and what it does. Properties marked "result-affecting" are part
/// of the run's fingerprint: resuming or merging with a different value is refused.
public struct PipelineOptions: Sendable, Hashable {
  /// Where to compute explanation maps (`--explain-where`).
  public enum ExplainWhere: String, Sendable, Hashable, CaseIterable, Codable {
    /// Class k only on tiles where k is the argmax on at least `minPixels` valid pixels;
    /// elsewhere its bands are nodata ("not computed" is not "no heat").
    case detected
    /// Every selected class on every tile with a valid pixel.
    case all
  }

  /// How explanation layers are scaled (`--normalize`).
  public enum Normalization: String, Sendable, Hashable, CaseIterable, Codable {
    /// The maps as the method gives them (comparable across tiles of one tile size). Default.
    case raw
    /// Each band divided by a scene-wide high percentile (`scenePercentile`) of its explained
    /// valid pixels, computed after all tiles (at merge time for shards) and recorded.
    case scene
    /// The seed notebook's per-tile scaling `(m − min) / (max + 1e-8)` on the raw map, before
    /// upsampling (`MapNormalization.tile`). Tiles are then not comparable; recorded as such.
    case tile
    /// Per-tile min-max `(m − min) / (max − min + 1e-7)` (pytorch-grad-cam's `scale_cam_image`;
    /// `MapNormalization.minmax`), before upsampling. Not comparable across tiles either.
    case minmax
  }

  /// Resolution of the explanation layers (`--cam-resolution`).
  public enum CAMResolution: String, Sendable, Hashable, CaseIterable, Codable {
    /// Upsampled to the input's pixels (bilinear, half-pixel centres). Default.
    case full
    /// One pixel per target-layer cell (e.g. 32 × 32 input pixels for a 10 × 10 map of a 320
    /// tile): the layer has its own size and geotransform (same origin and CRS, pixel size × cell).
    case native
  }

  /// How input samples become the model's 0…255 pixel values (`--scale`).
  public enum SampleScaling: Sendable, Hashable, Codable {
    /// Byte and floating-point input as read; other integer types (16-bit imagery) are refused
    /// with a message asking for `linear`, because their useful range (12-bit? 16-bit?) varies.
    case automatic
    /// Samples as read, whatever their type.
    case none
    /// `low…high` mapped linearly to 0…255 and clamped, e.g. `linear(low: 0, high: 4095)` for
    /// 12-bit data stored in 16-bit files, `linear(low: 0, high: 65535)` for the full range.
    case linear(low: Float, high: Float)
  }

  /// Tile edge in pixels (`--tile`); nil = the model's `tileSize`. Result-affecting.
  public var tileSize: Int? = nil
  /// Pixels shared by neighbouring tiles (`--overlap`); stride = tile − overlap. Default 64.
  /// Overlaps are blended with a raised-cosine window; 0 means each pixel is its tile's map.
  /// Result-affecting.
  public var overlap: Int = 64
  /// 1-based bands to read, in the model's channel order (`--bands`). Default 1,2,3.
  public var bands: [Int] = [1, 2, 3]
  /// Run on this pixel window only (`--window x,y,w,h`); outputs cover the window. Pixels
  /// outside it are treated as padding, so a window run equals a run on the cropped raster.
  public var window: PixelWindow? = nil
  /// Run on the pixels this box (CRS units) touches (`--bbox minx,miny,maxx,maxy`); combined
  /// with `window` by intersection.
  public var bbox: BoundingBox? = nil
  /// Read through a GDAL warped VRT at the model's GSD (`--resample`); needs `TileModel.gsdMeters`.
  /// Without it, a pixel size more than 25 % off the model's GSD only warns.
  public var resample: Bool = false
  /// Interpolation for `resample`.
  public var resampling: GeoRaster.Resampling = .bilinear
  /// Input sample scaling (`--scale`), see `SampleScaling`. Result-affecting.
  public var scaling: SampleScaling = .automatic
  /// Where maps are computed (`--explain-where`, default `detected`). Result-affecting.
  public var explainWhere: ExplainWhere = .detected
  /// `--min-pixels`: with `detected`, class k is explained on a tile when it is the argmax on at
  /// least this many valid pixels (and at least one). Default 100: 0.64 m² at 8 cm, below the
  /// smallest labelled objects (water heaters: p10 1.0 m² = 156 px) yet above isolated noisy pixels.
  public var minPixels: Int = 100
  /// Classes to explain (`--classes`), as indices into `classNames`; nil = every class but
  /// background (0). One band per (method, class). Result-affecting.
  public var classes: [Int]? = nil
  /// `geocam predict`: write only the probability and class layers (no `OUT.tif`).
  public var predictOnly: Bool = false
  /// Layer scaling (`--normalize`, default raw). Result-affecting.
  public var normalization: Normalization = .raw
  /// The percentile (0 < p ≤ 100, nearest-rank) that `normalization = .scene` divides by. Default 99.
  public var scenePercentile: Double = 99
  /// `--cam-resolution full|native`. Result-affecting.
  public var camResolution: CAMResolution = .full
  /// `--half`: store explanation and probability layers as 16-bit floats (NBITS=16), halving
  /// their size; error ≤ 4.9e-4 on [0, 1].
  public var half: Bool = false
  /// `--cog`: write the final GeoTIFFs as Cloud Optimized GeoTIFFs (512-pixel tiles, overviews).
  public var cog: Bool = false
  /// Compression of the GeoTIFFs (DEFLATE default; ZSTD when GDAL has it).
  public var compression: GeoTIFFLayerWriter.Compression = .deflate
  /// `--shard I/N`: compute only share I of N and write `OUT.part-I-of-N.*` for `geocam merge`.
  /// See `Shard.resolve` for the scheduler environment variables.
  public var shard: Shard? = nil
  /// `--restart`: discard any resume state or finished output of a different command.
  public var restart: Bool = false
  /// `--break-lock`: take over the output's run lock even when its holder may still run (on
  /// another host, or a live pid here). Never needed after a kill on the same host.
  public var breakLock: Bool = false
  /// What the run is, as recorded in its lock (`explain`, `predict`, `audit`…).
  public var command: String = "explain"
  /// `--quiet`: no progress output (the default progress reporter prints nothing).
  public var quiet: Bool = false
  /// Output block edge in pixels (a multiple of 256): the unit of streaming, resume and sharding.
  /// The blending buffers take about (8·classes + 8·layers + 4·explained classes + 5) bytes ×
  /// blockSize² (≈ 100 MB for 4 classes and 9 layers at 1024). Default 1024.
  public var blockSize: Int = 1024
  /// Longer side of `OUT.quicklook.png` at most this many pixels. Default 1024.
  public var quicklookSize: Int = 1024
  /// The explanation band shown in the quicklook, by description (e.g. "gradcam:solar_panel");
  /// nil = the first band.
  public var quicklookLayer: String? = nil
  /// Extra provenance written to every output (e.g. `geocam_version`). Result-affecting, so
  /// put no per-invocation facts here (no shard index, no time).
  public var provenance: [String: String] = [:]
  /// Keep `OUT.geocam/` after a finished run (it is deleted by default).
  public var keepState: Bool = false
  /// Cap of GDAL's block cache in MB, applied through `GDAL_CACHEMAX` when the environment does
  /// not set it (GDAL reads it once, at its first block I/O in the process). GDAL's own default,
  /// 5 % of RAM, fills up with written output blocks and dominates peak memory; output blocks
  /// are written whole and once, so a small cache costs nothing. nil leaves GDAL's default.
  /// Default 64: at 256 a 20,000² run peaked at 1.61 GB while writing scene-normalised layers
  /// (the cache full of layer blocks), at 64 at 1.42 GB, during the compute.
  public var gdalCacheMegabytes: Int? = 64

  /// The defaults above.
  public init() {}

  /// Parses `--classes` values (names or indices, comma or space separated) against `classNames`.
  public static func parseClasses(_ specs: [String], classNames: [String]) throws -> [Int] {
    let items = specs.flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }.map(String.init)
    return try items.map { item in
      if let i = Int(item), classNames.indices.contains(i) { return i }
      if let i = classNames.firstIndex(of: item) { return i }
      throw PipelineError(
        "--classes", "'\(item)' is not a class (classes: \(classNames.joined(separator: ", ")))")
    }
  }

  /// Parses `--window x,y,w,h`.
  public static func parseWindow(_ spec: String) throws -> PixelWindow {
    let v = spec.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == 4, let x = v[0], let y = v[1], let w = v[2], let h = v[3], w > 0, h > 0 else {
      throw PipelineError("--window", "expected x,y,width,height in pixels, got '\(spec)'")
    }
    return PixelWindow(x: x, y: y, width: w, height: h)
  }

  /// Parses `--bbox minx,miny,maxx,maxy` (CRS units).
  public static func parseBBox(_ spec: String) throws -> BoundingBox {
    let v = spec.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == 4, let a = v[0], let b = v[1], let c = v[2], let d = v[3] else {
      throw PipelineError("--bbox", "expected minx,miny,maxx,maxy in CRS units, got '\(spec)'")
    }
    return BoundingBox(minX: a, minY: b, maxX: c, maxY: d)
  }

  /// Parses `--scale low,high` (or `none`).
  public static func parseScaling(_ spec: String) throws -> SampleScaling {
    if spec == "none" { return .none }
    if spec == "auto" || spec == "automatic" { return .automatic }
    let v = spec.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == 2, let lo = v[0], let hi = v[1], hi > lo else {
      throw PipelineError("--scale", "expected low,high with low < high (or none), got '\(spec)'")
    }
    return .linear(low: lo, high: hi)
  }
}
