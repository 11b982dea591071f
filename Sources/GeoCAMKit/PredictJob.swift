import Foundation
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMModels
import GeoCAMPipeline
import GeoCAMTensor

/// `geocam predict` as a library call: probability and class layers through the city
/// pipeline, or raw logits per tile (segmentation) / the top classes (classifier).
public struct PredictJob {
  public var checkpoint: OpenedCheckpoint
  /// Tile edge for segmentation models.
  public var tileSize = 320
  /// 1-based bands in the model's channel order.
  public var bands = [1, 2, 3]
  /// How a classifier's input is brought to 224 × 224.
  public var classifierResize: ClassifierResize = .direct
  /// `DIR/x<X>_y<Y>/logits.npy` per tile, when set.
  public var rawDirectory: URL?

  public init(checkpoint: OpenedCheckpoint) { self.checkpoint = checkpoint }

  /// A city-scale run writing `OUT.probs.tif`, `OUT.classes.tif`, `OUT.quicklook.png` and
  /// `OUT.json` (overlap, resume and shards from `pipeline`).
  public func run(input: String, output: String, pipeline: PipelineOptions, progress: ((PipelineEvent) -> Void)? = nil)
    throws -> RunSummary
  {
    var options = pipeline
    options.tileSize = tileSize
    options.bands = bands
    options.predictOnly = true
    options.command = "predict"
    options.provenance["geocam_version"] = GeoCAMVersion.string
    let tileModel = try ExplainingTileModel(
      bundle: checkpoint.bundle, explainer: Explainer(methods: []), layer: nil, tileSize: tileSize,
      checkpointSHA256: checkpoint.sha256,
      artifacts: rawDirectory.map { TileArtifacts(rawDirectory: $0, pngDirectory: nil) })
    return try CityPipeline.run(input: input, output: output, model: tileModel, options: options, progress: progress)
  }

  /// One tile of a run without `--output`.
  public struct TileLogits {
    /// Top-left pixel in the raster.
    public var x: Int
    public var y: Int
    /// `[classes][1][H][W]` logits (`[classes][1][1][1]` for a classifier).
    public var logits: Tensor
  }

  /// Segmentation: tiles of `tileSize` without overlap (the last row and column shifted inward
  /// to end at the raster's edge; a smaller raster padded), each passed to `onTile`.
  /// Classifier: the whole image resized, one "tile" at (0, 0). Raw logits are written when
  /// `rawDirectory` is set. Returns the number of tiles.
  @discardableResult
  public func tiles(input: String, onTile: (TileLogits) throws -> Void) throws -> Int {
    let bundle = checkpoint.bundle
    let raster = try GeoRaster(path: input)
    let artifacts = rawDirectory.map { TileArtifacts(rawDirectory: $0, pngDirectory: nil) }
    switch bundle.model.task {
    case .segmentation:
      let grid = try TileGrid(width: raster.width, height: raster.height, tileSize: tileSize, overlap: 0)
      for t in grid.tiles {
        let window = try raster.readWindow(x: t.x, y: t.y, width: tileSize, height: tileSize, bands: bands)
        let pixels = TileInput.tensor(window, fill: bundle.preprocessing.neutralPixel).tensor
        let out = try bundle.model.forward(
          pixels: pixels, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: [])
        try artifacts?.writeLogits(out.logits.value, x: t.x, y: t.y)
        try onTile(TileLogits(x: t.x, y: t.y, logits: out.logits.value))
      }
      return grid.count
    case .classification:
      let window = try raster.readWindow(x: 0, y: 0, width: raster.width, height: raster.height, bands: bands)
      let pixels = try classifierResize.apply(TileInput.tensor(window, fill: bundle.preprocessing.neutralPixel).tensor)
      let out = try bundle.model.forward(
        pixels: pixels, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: [])
      try artifacts?.writeLogits(out.logits.value, x: 0, y: 0)
      try onTile(TileLogits(x: 0, y: 0, logits: out.logits.value))
      return 1
    }
  }
}

/// How classifier inputs are brought to 224×224.
public enum ClassifierResize: String, CaseIterable, Sendable {
  /// Bilinear to 224 × 224 (the seed's `Resize((224, 224))`).
  case direct
  /// Shorter side to 256, then the centre 224 × 224.
  case centerCrop = "center-crop"

  /// The resized image.
  public func apply(_ t: Tensor) throws -> Tensor {
    switch self {
    case .direct:
      return t.height == 224 && t.width == 224 ? t : try resize(t, height: 224, width: 224)
    case .centerCrop:
      let scale = 256 / Double(min(t.height, t.width))
      let h = max(224, Int((Double(t.height) * scale).rounded())), w = max(224, Int((Double(t.width) * scale).rounded()))
      let r = try resize(t, height: h, width: w)
      let y0 = (h - 224) / 2, x0 = (w - 224) / 2
      let out = Tensor(channels: t.channels, batch: 1, height: 224, width: 224)
      for c in 0..<t.channels { for y in 0..<224 { for x in 0..<224 { out[c, 0, y, x] = r[c, 0, y0 + y, x0 + x] } } }
      return out
    }
  }

  private func resize(_ t: Tensor, height: Int, width: Int) throws -> Tensor {
    var values: [Float] = []
    for c in 0..<t.channels {
      let plane = Array(UnsafeBufferPointer(start: t.plane(c, 0), count: t.planeSize))
      values += try Resize.bilinear(plane, height: t.height, width: t.width, toHeight: height, toWidth: width)
    }
    return Tensor(channels: t.channels, batch: 1, height: height, width: width, values: values)
  }
}

/// Per-class pixel shares of an argmax map, for progress lines (`solar_panel 1.2%, …`).
public enum ClassShares {
  public static func describe(_ logits: Tensor, names: [String]) -> String {
    let plane = logits.planeSize
    var counts = [Int](repeating: 0, count: logits.channels)
    for i in 0..<plane { counts[logits.channelArgmax(at: i)] += 1 }
    return zip(names, counts).map { String(format: "%@ %.1f%%", $0 as NSString, 100 * Double($1) / Double(plane)) }
      .joined(separator: ", ")
  }
}
