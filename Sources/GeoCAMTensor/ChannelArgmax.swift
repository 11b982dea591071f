/// Per-pixel argmax over the channels of `[C][plane]` data: the class map of logits or
/// probabilities, used by the class raster, pictures, targets and progress lines alike.
public enum ChannelArgmax {
  /// The channel with the largest value at `pixel`; ties go to the lower channel, and no
  /// channels gives 0.
  @inlinable public static func at(_ pixel: Int, in values: UnsafePointer<Float>, channels: Int, plane: Int) -> Int {
    var best = 0
    var c = 1
    while c < channels {
      if values[c * plane + pixel] > values[best * plane + pixel] { best = c }
      c += 1
    }
    return best
  }
}

extension Tensor {
  /// The argmax over channels at `pixel` of a batch-1 tensor (see `ChannelArgmax`).
  @inlinable public func channelArgmax(at pixel: Int) -> Int {
    ChannelArgmax.at(pixel, in: pointer, channels: channels, plane: planeSize)
  }
}
