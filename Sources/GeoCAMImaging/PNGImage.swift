import CPNG

/// An 8-bit PNG image in memory (gray, RGB or RGBA), read and written with libpng's simplified
/// API (`png_image_*`, which needs no setjmp, unlike the classic API Swift cannot call).
public struct PNGImage: Sendable, Hashable {
  /// Channel layout, 8 bits per channel.
  public enum Format: String, Sendable, Hashable, CaseIterable {
    /// One channel; RGB; RGB plus alpha.
    case gray, rgb, rgba

    /// Bytes per pixel.
    public var channels: Int {
      switch self {
      case .gray: return 1
      case .rgb: return 3
      case .rgba: return 4
      }
    }

    var libpng: UInt32 {
      switch self {
      case .gray: return GEOCAM_PNG_FORMAT_GRAY
      case .rgb: return GEOCAM_PNG_FORMAT_RGB
      case .rgba: return GEOCAM_PNG_FORMAT_RGBA
      }
    }
  }

  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// Channel layout of `pixels`.
  public let format: Format
  /// `height × width × channels` bytes, row-major, channels interleaved.
  public let pixels: [UInt8]

  /// Wraps pixel bytes; throws unless the count matches the size and format.
  public init(width: Int, height: Int, format: Format, pixels: [UInt8]) throws {
    guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max),
      pixels.count == width * height * format.channels
    else {
      throw ImagingError(
        "PNG image",
        "\(width)x\(height) \(format.rawValue) needs \(max(0, width * height * format.channels)) bytes, got \(pixels.count)")
    }
    self.width = width
    self.height = height
    self.format = format
    self.pixels = pixels
  }

  /// An RGB PNG of `image`.
  public init(_ image: RGBImage) {
    width = image.width
    height = image.height
    format = .rgb
    pixels = image.pixels
  }

  /// Reads a PNG file, converted by libpng to `format` (nil: RGBA if the file has alpha, gray if
  /// it is gray, RGB otherwise). 16-bit files are reduced to 8 bits.
  public init(contentsOf path: String, as format: Format? = nil) throws {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&image, path) != 0 else {
      let message = PNGImage.message(of: image)
      png_image_free(&image)
      throw ImagingError(path, "cannot read PNG: \(message)")
    }
    let stored = image.format
    let chosen: Format =
      format
      ?? ((stored & UInt32(PNG_FORMAT_FLAG_ALPHA)) != 0
        ? .rgba : (stored & UInt32(PNG_FORMAT_FLAG_COLOR)) != 0 ? .rgb : .gray)
    image.format = chosen.libpng
    let w = Int(image.width)
    let h = Int(image.height)
    // Zeroed: libpng composes removed alpha onto the buffer's contents (black) when background is NULL.
    var buffer = [UInt8](repeating: 0, count: w * h * chosen.channels)
    let ok = buffer.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    guard ok != 0 else {
      let message = PNGImage.message(of: image)
      png_image_free(&image)
      throw ImagingError(path, "cannot decode PNG: \(message)")
    }
    try self.init(width: w, height: h, format: chosen, pixels: buffer)
  }

  /// Writes the image as an 8-bit PNG file.
  public func write(to path: String) throws {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    image.width = UInt32(width)
    image.height = UInt32(height)
    image.format = format.libpng
    let ok = pixels.withUnsafeBytes { png_image_write_to_file(&image, path, 0, $0.baseAddress, 0, nil) }
    guard ok != 0 else {
      let message = PNGImage.message(of: image)
      png_image_free(&image)
      throw ImagingError(path, "cannot write PNG: \(message)")
    }
  }

  /// The image as RGB: gray is replicated, alpha dropped.
  public var rgbImage: RGBImage {
    let rgb: [UInt8]
    switch format {
    case .rgb:
      rgb = pixels
    case .gray:
      rgb = pixels.flatMap { [$0, $0, $0] }
    case .rgba:
      var out = [UInt8]()
      out.reserveCapacity(width * height * 3)
      for i in stride(from: 0, to: pixels.count, by: 4) {
        out.append(pixels[i])
        out.append(pixels[i + 1])
        out.append(pixels[i + 2])
      }
      rgb = out
    }
    // Sizes were validated when this image was made.
    return RGBImage(validatedWidth: width, height: height, pixels: rgb)
  }

  /// libpng's error text (`png_image.message`, a fixed 64-byte C string).
  static func message(of image: png_image) -> String {
    var message = image.message
    let text = withUnsafeBytes(of: &message) { raw -> String in
      let bytes = raw.prefix { $0 != 0 }
      return String(decoding: bytes, as: UTF8.self)
    }
    return text.isEmpty ? "unknown libpng error" : text
  }
}
