import GeoCAMCheckpoint

/// A checkpoint's state dict feeds models directly; tensors are converted to Float32 only when
/// a layer asks for them (fp16/bf16 checkpoints stay small until then).
extension StateDict: WeightSource {
  public func shape(of key: String) -> [Int]? { self[key]?.shape }

  public func floats(_ key: String) throws -> [Float] {
    guard let t = self[key] else { throw ModelError.missingKey(key) }
    let values = try t.floats()
    // A NaN or infinite weight would make every explanation NaN (or silently zero after a
    // ReLU): refuse the checkpoint and say where.
    let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
    if bad > 0 { throw ModelError.nonFiniteWeights(key: key, count: bad, of: values.count) }
    return values
  }
}

extension Preprocessing {
  /// The preprocessing a checkpoint's metadata describes; ImageNet statistics and the task's
  /// usual pixel range fill what it does not say (`pixelRange` 255 for segmentation models
  /// that carry mean/std buffers, 1 for torchvision classifiers).
  public init(metadata: ModelMetadata, task: ModelTask) {
    self.init(
      mean: metadata.mean ?? Preprocessing.imagenet.mean, std: metadata.std ?? Preprocessing.imagenet.std,
      pixelRange: metadata.pixelRange ?? (task == .classification ? 1 : 255))
  }
}
