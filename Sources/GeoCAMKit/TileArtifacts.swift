import Foundation
import GeoCAMExplain
import GeoCAMImaging
import GeoCAMPipeline
import GeoCAMTensor

/// Per-tile outputs for inspection and parity checks: raw arrays (`--raw-dir`) and the seed's
/// pictures (`--png-dir`).
///
/// `--raw-dir DIR` writes `DIR/x<X>_y<Y>/logits.npy` (`[classes, H, W]` float32) and, per method
/// m and class k, `m_k.npy`: CAM-family maps raw at the target layer's resolution `[h, w]`
/// (after their ReLU, before normalisation or upsampling), guided maps `[3, H, W]`.
/// `--png-dir DIR` writes `x<X>_y<Y>_<method>_<k>.png` (JET overlays at α 0.5, normalised per
/// tile as the seed does, or the guided images) and `x<X>_y<Y>_classes.png`.
public struct TileArtifacts: Sendable {
  /// Folder of raw arrays, if any.
  public var rawDirectory: URL?
  /// Folder of pictures, if any.
  public var pngDirectory: URL?
  /// Normalisation of CAM maps in pictures (the seed's `tile` by default).
  public var normalization: MapNormalization

  /// Creates the writer; folders are created on first use.
  public init(rawDirectory: URL?, pngDirectory: URL?, normalization: MapNormalization = .tile) {
    self.rawDirectory = rawDirectory
    self.pngDirectory = pngDirectory
    self.normalization = normalization
  }

  /// Writes the logits of a tile (used by `predict` too).
  public func writeLogits(_ logits: Tensor, x: Int, y: Int) throws {
    guard let rawDirectory else { return }
    let dir = rawDirectory.appendingPathComponent("x\(x)_y\(y)")
    try Folder.create(dir)
    let shape = logits.planeSize == 1 ? [logits.channels] : [logits.channels, logits.height, logits.width]
    try NPYFile.write(logits.values, shape: shape, to: dir.appendingPathComponent("logits.npy"))
  }

  /// Writes the maps and pictures of one explained tile (its logits are written when the tile
  /// is run, by `writeLogits`).
  public func write(session: ExplanationSession, result: Explainer.Result, classNames: [String], x: Int, y: Int) throws {
    if let rawDirectory {
      let dir = rawDirectory.appendingPathComponent("x\(x)_y\(y)")
      try Folder.create(dir)
      for e in result.explanations {
        let shape = e.method.isGuided ? e.shape : [e.height, e.width]
        try NPYFile.write(e.values, shape: shape, to: dir.appendingPathComponent("\(e.method.rawValue)_\(e.classIndex).npy"))
      }
    }
    if let pngDirectory {
      try Folder.create(pngDirectory)
      let base = pngDirectory.appendingPathComponent("x\(x)_y\(y)").path
      let image = try TilePictures.image(session.pixels)
      for e in result.explanations {
        let picture: RGBImage
        if e.method.isGuided {
          picture = try TilePictures.guidedImage(e)
        } else {
          let scaled = Explanation(method: e.method, classIndex: e.classIndex, shape: e.shape, values: normalization.apply(e.values))
          picture = try TilePictures.camOverlay(scaled, on: image, alreadyNormalized: normalization != .none)
        }
        try PNGImage(picture).write(to: "\(base)_\(e.method.rawValue)_\(e.classIndex).png")
      }
      try PNGImage(try TilePictures.classMap(session.logits)).write(to: "\(base)_classes.png")
    }
  }
}
