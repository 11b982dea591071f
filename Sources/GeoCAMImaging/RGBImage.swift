/// An 8-bit RGB image: `width × height` pixels, row-major, channels interleaved (R, G, B).
public struct RGBImage: Sendable, Hashable {
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// `height × width × 3` bytes: R, G, B of pixel (0, 0), then (1, 0), …
  public let pixels: [UInt8]

  /// Wraps interleaved RGB bytes; throws unless there are exactly `width × height × 3`.
  public init(width: Int, height: Int, pixels: [UInt8]) throws {
    guard width > 0, height > 0, pixels.count == width * height * 3 else {
      throw ImagingError(
        "RGB image", "\(width)x\(height) needs \(max(0, width * height * 3)) bytes, got \(pixels.count)")
    }
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// For sizes already validated inside the module (no check).
  init(validatedWidth width: Int, height: Int, pixels: [UInt8]) {
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// The pixel at (x, y).
  public func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
    let i = (y * width + x) * 3
    return (pixels[i], pixels[i + 1], pixels[i + 2])
  }
}
