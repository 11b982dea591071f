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
  /// A classifier's preprocessing, as `geocam explain` on images does it (Pillow-exact presets).
  public var preset: ImagePreset = .imagenet
  /// Shorter side of the `imagenet` preset.
  public var resize = 256
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
  /// Classifier: the image decoded and preprocessed as `geocam explain` does (`preset`), one
  /// "tile" at (0, 0), so predictions and explanations see the same pixels. Raw logits are written when
  /// `rawDirectory` is set. Returns the number of tiles.
  @discardableResult
  public func tiles(input: String, onTile: (TileLogits) throws -> Void) throws -> Int {
    let bundle = checkpoint.bundle
    let artifacts = rawDirectory.map { TileArtifacts(rawDirectory: $0, pngDirectory: nil) }
    switch bundle.model.task {
    case .segmentation:
      let raster = try GeoRaster(path: input)
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
      let image = try ClassifierInput(path: input, preset: preset, resize: resize)
      let out = try bundle.model.forward(
        pixels: image.tensor, preprocessing: bundle.preprocessing, tape: Tape(recording: false), taps: [])
      try artifacts?.writeLogits(out.logits.value, x: 0, y: 0)
      try onTile(TileLogits(x: 0, y: 0, logits: out.logits.value))
      return 1
    }
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
