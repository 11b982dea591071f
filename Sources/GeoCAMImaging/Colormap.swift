/// A 256-entry colour lookup table, stored as RGB.
public struct Colormap: Sendable, Hashable {
  /// 256 × (R, G, B), interleaved: entry `i` is bytes `3i ..< 3i + 3`.
  public let rgbTable: [UInt8]

  /// Wraps a table; throws unless it has exactly 256 × 3 bytes.
  public init(rgbTable: [UInt8]) throws {
    guard rgbTable.count == 256 * 3 else {
      throw ImagingError("colormap", "needs 768 bytes (256 RGB entries), got \(rgbTable.count)")
    }
    self.rgbTable = rgbTable
  }

  init(validatedTable: [UInt8]) { rgbTable = validatedTable }

  /// Entry `index` in RGB order.
  public func rgb(_ index: UInt8) -> (red: UInt8, green: UInt8, blue: UInt8) {
    let i = Int(index) * 3
    return (rgbTable[i], rgbTable[i + 1], rgbTable[i + 2])
  }

  /// Entry `index` in BGR order, the order `cv2.applyColorMap` returns.
  public func bgr(_ index: UInt8) -> (blue: UInt8, green: UInt8, red: UInt8) {
    let c = rgb(index)
    return (c.blue, c.green, c.red)
  }

  /// The table index of a value in [0, 1] the way pytorch-grad-cam picks it, `np.uint8(255 * v)`:
  /// Float32 product, truncated. Values outside [0, 1] are clamped first and NaN maps to 0
  /// (numpy's cast is undefined there).
  public static func index(for value: Float) -> UInt8 {
    guard value > 0 else { return 0 }  // also NaN
    guard value < 1 else { return 255 }
    return UInt8(255 * value)  // Swift's Float→UInt8 conversion truncates toward zero, like C.
  }

  /// Maps each index to interleaved RGB (3 bytes per input).
  public func apply(_ indices: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: indices.count * 3)
    for (k, v) in indices.enumerated() {
      let i = Int(v) * 3
      out[3 * k] = rgbTable[i]
      out[3 * k + 1] = rgbTable[i + 1]
      out[3 * k + 2] = rgbTable[i + 2]
    }
    return out
  }

  /// Maps values in [0, 1] (see `index(for:)`) to interleaved RGB.
  public func apply(values: [Float]) -> [UInt8] {
    apply(values.map(Colormap.index(for:)))
  }
}
