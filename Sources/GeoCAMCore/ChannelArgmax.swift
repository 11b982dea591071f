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

  /// The same over a Swift array (the pipeline's probability blocks).
  @inlinable public static func at(_ pixel: Int, in values: [Float], channels: Int, plane: Int) -> Int {
    var best = 0
    var c = 1
    while c < channels {
      if values[c * plane + pixel] > values[best * plane + pixel] { best = c }
      c += 1
    }
    return best
  }
}
