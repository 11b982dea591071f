import ArgumentParser
import Foundation
import GeoCAMGeo
import GeoCAMPipeline

/// Options of a city-scale run shared by `explain` and `predict`.
struct PipelineArguments: ParsableArguments {
  @Option(name: .shortAndLong, help: "Output GeoTIFF of explanation layers; companions OUT.probs.tif, OUT.classes.tif, OUT.quicklook.png, OUT.json.")
  var output: String

  @Option(name: .long, help: "Tile size in pixels (a multiple of 32; default 320).")
  var tile: Int?

  @Option(name: .long, help: "Pixels shared by neighbouring tiles (stride = tile − overlap).")
  var overlap = 64

  @Option(name: .long, help: "Bands to read, 1-based, in the model's channel order.")
  var bands = "1,2,3"

  @Option(name: .long, help: "Pixel window x,y,width,height to run on.")
  var window: String?

  @Option(name: .long, help: "Bounding box minx,miny,maxx,maxy in the raster's CRS units.")
  var bbox: String?

  @Flag(name: .long, help: "Read through a warped VRT at the model's ground sample distance.")
  var resample = false

  @Option(name: .long, help: "Sample scaling: 'auto' (8-bit and float as read; other integers refused), 'none', or 'LOW:HIGH' mapped to 0-255 (e.g. 0:4095 for 12-bit in 16-bit files).")
  var scale = "auto"

  @Option(name: .long, help: "Explanation layer resolution: full (upsampled to pixels) or native (one pixel per target-layer cell).")
  var camResolution: PipelineOptions.CAMResolution = .full

  @Flag(name: .long, help: "Store explanation and probability layers as Float16.")
  var half = false

  @Flag(name: .long, help: "Write Cloud Optimized GeoTIFFs.")
  var cog = false

  @Option(name: .long, help: "Compression of the output layers: deflate (the default; read by every GIS), zstd (cheaper to write: GDAL 2.3+ built with ZSTD reads it, QGIS included), lzw or none.")
  var compression: GeoTIFFLayerWriter.Compression = .deflate

  @Option(name: .long, help: "Process share I of N (0-based), e.g. 3/8; also from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX (with --shards).")
  var shard: String?

  @Option(name: .long, help: "Number of shares when the index comes from the environment.")
  var shards: Int?

  @Flag(name: .long, help: "Discard the state of an earlier run with other arguments and start over.")
  var restart = false

  @Flag(name: .long, help: "Take over the output's run lock even if its holder may still run (another host, or a live process here).")
  var breakLock = false

  @Flag(name: .long, help: "No progress output.")
  var quiet = false

  func validate() throws {
    if let tile, tile <= 0 || tile % 32 != 0 { throw ValidationError("--tile must be a positive multiple of 32") }
    if overlap < 0 { throw ValidationError("--overlap must be ≥ 0") }
  }

  /// The pipeline options these arguments describe.
  func pipelineOptions() throws -> PipelineOptions {
    var o = PipelineOptions()
    o.tileSize = tile
    o.overlap = overlap
    o.bands = try parseBandList(bands)
    if let window {
      let v = try numbers(window, count: 4, name: "--window").map { Int($0) }
      o.window = PixelWindow(x: v[0], y: v[1], width: v[2], height: v[3])
    }
    if let bbox {
      let v = try numbers(bbox, count: 4, name: "--bbox")
      o.bbox = BoundingBox(minX: v[0], minY: v[1], maxX: v[2], maxY: v[3])
    }
    o.resample = resample
    switch scale {
    case "auto": o.scaling = .automatic
    case "none": o.scaling = .none
    default:
      let v = try numbers(scale.replacingOccurrences(of: ":", with: ","), count: 2, name: "--scale")
      guard v[1] > v[0] else { throw ValidationError("--scale LOW:HIGH needs HIGH > LOW") }
      o.scaling = .linear(low: Float(v[0]), high: Float(v[1]))
    }
    o.camResolution = camResolution
    o.half = half
    o.cog = cog
    o.compression = compression
    o.shard = try Shard.resolve(flag: shard, shards: shards, environment: ProcessInfo.processInfo.environment)
    o.restart = restart
    o.breakLock = breakLock
    o.quiet = quiet
    return o
  }

  private func numbers(_ text: String, count: Int, name: String) throws -> [Double] {
    let v = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard v.count == count, v.allSatisfy({ $0 != nil }) else {
      throw ValidationError("\(name) needs \(count) comma-separated numbers, got '\(text)'")
    }
    return v.compactMap { $0 }
  }
}

/// Parses `1,2,3`-style band lists (three 1-based bands).
func parseBandList(_ text: String) throws -> [Int] { try parseBands([text]) }

extension PipelineOptions.CAMResolution: ExpressibleByArgument {}

extension GeoTIFFLayerWriter.Compression: ExpressibleByArgument {
  public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
  public static var allValueStrings: [String] { allCases.map { $0.rawValue.lowercased() } }
  public var defaultValueDescription: String { rawValue.lowercased() }
}
