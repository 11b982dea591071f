/// Classifier preprocessing presets on 8-bit RGB images, as torchvision runs them on PIL images
/// (`--preprocess`): the geometry is reported so masks can follow the image.
public enum ImagePreset: String, Sendable, CaseIterable {
  /// `Resize((224, 224))` (aspect-distorting, bilinear with Pillow's antialiasing): the VOC
  /// study notebook's transform.
  case resize224
  /// torchvision's eval preset: shorter side to `resize` (256; 232 for the V2 weights) with the
  /// longer side `int(resize · long / short)`, then the centre 224 × 224, its offset
  /// `int(round((size − 224) / 2))` with Python's half-to-even rounding.
  case imagenet
  /// As decoded.
  case none

  /// Where the preset takes an image: the resized size and the crop in it.
  public struct Geometry: Sendable, Hashable {
    public var resizedWidth: Int
    public var resizedHeight: Int
    public var cropX: Int
    public var cropY: Int
    public var width: Int
    public var height: Int
  }

  /// The geometry for a `width × height` image.
  public func geometry(width: Int, height: Int, resize: Int = 256) -> Geometry {
    switch self {
    case .none:
      return Geometry(resizedWidth: width, resizedHeight: height, cropX: 0, cropY: 0, width: width, height: height)
    case .resize224:
      return Geometry(resizedWidth: 224, resizedHeight: 224, cropX: 0, cropY: 0, width: 224, height: 224)
    case .imagenet:
      let short = min(width, height), long = max(width, height)
      let newLong = Int(Double(resize) * Double(long) / Double(short))
      let (rw, rh) = width <= height ? (resize, newLong) : (newLong, resize)
      func offset(_ size: Int) -> Int { Int((Double(size - 224) / 2).rounded(.toNearestOrEven)) }
      return Geometry(resizedWidth: rw, resizedHeight: rh, cropX: offset(rw), cropY: offset(rh), width: 224, height: 224)
    }
  }

  /// The preset applied to interleaved RGB bytes.
  public func apply(rgb: [UInt8], width: Int, height: Int, resize: Int = 256) throws -> (pixels: [UInt8], geometry: Geometry) {
    let g = geometry(width: width, height: height, resize: resize)
    guard self != .none else { return (rgb, g) }
    let resized =
      g.resizedWidth == width && g.resizedHeight == height
      ? rgb
      : try PillowResize.bilinear(rgb, width: width, height: height, channels: 3, toWidth: g.resizedWidth, toHeight: g.resizedHeight)
    return (crop(resized, width: g.resizedWidth, channels: 3, g), g)
  }

  /// The same geometry for a mask, nearest-neighbour (`resize224` and `imagenet` alike).
  public func apply<T>(mask: [T], width: Int, height: Int, resize: Int = 256) -> [T] {
    let g = geometry(width: width, height: height, resize: resize)
    guard self != .none else { return mask }
    let resized = PillowResize.nearest(mask, width: width, height: height, toWidth: g.resizedWidth, toHeight: g.resizedHeight)
    return crop(resized, width: g.resizedWidth, channels: 1, g)
  }

  private func crop<T>(_ v: [T], width: Int, channels: Int, _ g: Geometry) -> [T] {
    if g.cropX == 0 && g.cropY == 0 && g.width == g.resizedWidth && g.height == g.resizedHeight { return v }
    var out: [T] = []
    out.reserveCapacity(g.width * g.height * channels)
    for y in 0..<g.height {
      let start = ((y + g.cropY) * width + g.cropX) * channels
      out.append(contentsOf: v[start..<(start + g.width * channels)])
    }
    return out
  }
}
