import GeoCAMTensor

/// Turns pixels into the network's input: `(x / s − mean) / std`, with `s = 1` when the model
/// was trained on raw 0–255 pixels (`pixelRange` 255, the seed's PVModel) and `s = 255` when
/// it expects pixels scaled to 0–1 first (`pixelRange` 1, torchvision classifiers).
public struct Preprocessing: Sendable, Equatable {
  /// Per-channel mean (in the model's channel order).
  public var mean: [Float]
  /// Per-channel standard deviation.
  public var std: [Float]
  /// 255 for raw pixels, 1 for pixels divided by 255 first.
  public var pixelRange: Float

  /// Creates the map; `mean` and `std` must have one entry per input channel.
  public init(mean: [Float], std: [Float], pixelRange: Float) {
    self.mean = mean
    self.std = std
    self.pixelRange = pixelRange
  }

  /// ImageNet statistics on 0–1 pixels (torchvision classifiers).
  public static let imagenet = Preprocessing(
    mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 1)

  /// The map as a per-channel affine op, so input gradients come out per raw pixel.
  public var affine: ChannelAffine {
    let s: Float = 255 / pixelRange
    return ChannelAffine(
      scale: std.map { 1 / (s * $0) }, shift: zip(mean, std).map { -$0 / $1 })
  }

  /// The value an invalid (nodata or padding) pixel gets so that it normalises to 0.
  public var neutralPixel: [Float] {
    let s: Float = 255 / pixelRange
    return mean.map { $0 * s }
  }
}
