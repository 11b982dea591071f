/// Pixels read from a raster window: band-sequential Float32 samples and a validity mask.
public struct RasterWindow: Sendable, Hashable {
  /// The window in raster pixel coordinates (may extend past the raster).
  public let window: PixelWindow
  /// The 1-based band numbers read, in order.
  public let bands: [Int]
  /// `bands.count × height × width` samples, band-sequential; 0 outside the raster.
  public var data: [Float]
  /// `height × width` flags: 1 = valid, 0 = outside the raster, nodata, masked, or not finite.
  public var mask: [UInt8]

  /// Creates a window result; counts are the caller's responsibility (used by `GeoRaster`).
  public init(window: PixelWindow, bands: [Int], data: [Float], mask: [UInt8]) {
    self.window = window
    self.bands = bands
    self.data = data
    self.mask = mask
  }

  /// Width in pixels.
  public var width: Int { window.width }
  /// Height in pixels.
  public var height: Int { window.height }

  /// The sample of band position `b` (0-based index into `bands`) at window pixel (x, y).
  public func value(band b: Int, x: Int, y: Int) -> Float {
    data[(b * window.height + y) * window.width + x]
  }

  /// Whether window pixel (x, y) is valid.
  public func isValid(x: Int, y: Int) -> Bool { mask[y * window.width + x] != 0 }

  /// A copy whose samples at invalid pixels (all bands) are `value`, e.g. 0 before a model.
  public func filled(with value: Float) -> RasterWindow {
    var copy = self
    let plane = window.pixelCount
    for b in 0..<bands.count {
      for i in 0..<plane where mask[i] == 0 { copy.data[b * plane + i] = value }
    }
    return copy
  }

  /// Number of valid pixels.
  public var validCount: Int { mask.reduce(0) { $0 + Int($1) } }
}
