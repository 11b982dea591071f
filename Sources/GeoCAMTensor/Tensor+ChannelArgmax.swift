import GeoCAMCore

extension Tensor {
  /// The argmax over channels at `pixel` of a batch-1 tensor (see `ChannelArgmax`).
  @inlinable public func channelArgmax(at pixel: Int) -> Int {
    ChannelArgmax.at(pixel, in: pointer, channels: channels, plane: planeSize)
  }
}
