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
}
