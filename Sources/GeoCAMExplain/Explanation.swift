import GeoCAMImaging

/// One explanation map for one class.
public struct Explanation: Sendable {
  /// Method id.
  public let method: ExplanationMethod
  /// Class index.
  public let classIndex: Int
  /// `[channels][height][width]`: CAM maps are raw `[1][h][w]` at the target layer's
  /// resolution (after ReLU, before normalisation or upsampling); guided maps are `[3][H][W]`.
  public let shape: [Int]
  /// Values in `shape` order.
  public let values: [Float]
  /// Index of the seed this map explains (into the seeds given to `Explainer.explain`; for a
  /// class list, the class's position in it).
  public let seedIndex: Int

  /// Creates a map.
  public init(method: ExplanationMethod, classIndex: Int, shape: [Int], values: [Float], seedIndex: Int = 0) {
    self.method = method
    self.classIndex = classIndex
    self.shape = shape
    self.values = values
    self.seedIndex = seedIndex
  }

  /// Height of the map.
  public var height: Int { shape[shape.count - 2] }
  /// Width of the map.
  public var width: Int { shape[shape.count - 1] }

  /// One plane per pixel: the L2 norm over the channels (how layers and studies read a guided
  /// map), or the map itself for a one-channel CAM map.
  public var channelNorm: [Float] {
    let plane = height * width
    let channels = values.count / max(plane, 1)
    guard channels > 1 else { return values }
    var out = [Float](repeating: 0, count: plane)
    for i in 0..<plane {
      var s: Float = 0
      for c in 0..<channels { s += values[c * plane + i] * values[c * plane + i] }
      out[i] = s.squareRoot()
    }
    return out
  }

  /// The map as one plane at `toHeight × toWidth`: guided maps as their channel norm, CAM maps
  /// upsampled bilinearly with half-pixel centres when their size differs.
  public func plane(toHeight: Int, toWidth: Int) throws -> [Float] {
    let v = channelNorm
    if height == toHeight && width == toWidth { return v }
    return try Resize.bilinear(v, height: height, width: width, toHeight: toHeight, toWidth: toWidth)
  }
}
