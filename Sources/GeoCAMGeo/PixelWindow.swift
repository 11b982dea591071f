/// A rectangle of pixels: top-left (x, y) in raster coordinates, width × height.
/// It may extend past the raster (reads pad the outside part and mark it invalid).
public struct PixelWindow: Sendable, Hashable, Codable, CustomStringConvertible {
  /// Column of the top-left pixel (may be negative for padded windows).
  public var x: Int
  /// Row of the top-left pixel (may be negative for padded windows).
  public var y: Int
  /// Width in pixels.
  public var width: Int
  /// Height in pixels.
  public var height: Int

  /// Creates a window.
  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  /// One past the last column.
  public var maxX: Int { x + width }
  /// One past the last row.
  public var maxY: Int { y + height }
  /// Number of pixels.
  public var pixelCount: Int { width * height }
  /// True when it has no pixels.
  public var isEmpty: Bool { width <= 0 || height <= 0 }

  /// The overlap of two windows, or nil when they do not overlap.
  public func intersection(_ other: PixelWindow) -> PixelWindow? {
    let x0 = max(x, other.x)
    let y0 = max(y, other.y)
    let x1 = min(maxX, other.maxX)
    let y1 = min(maxY, other.maxY)
    guard x1 > x0, y1 > y0 else { return nil }
    return PixelWindow(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
  }

  /// The smallest window containing both.
  public func union(_ other: PixelWindow) -> PixelWindow {
    let x0 = min(x, other.x)
    let y0 = min(y, other.y)
    return PixelWindow(
      x: x0, y: y0, width: max(maxX, other.maxX) - x0, height: max(maxY, other.maxY) - y0)
  }

  /// `x,y widthxheight`.
  public var description: String { "\(x),\(y) \(width)x\(height)" }
}
