import GeoCAMGeo
import GeoCAMKit
import Testing

@Suite("Tile input")
struct TileInputTests {
  /// A 2-band 2×3 window with one masked pixel.
  static let window = RasterWindow(
    window: PixelWindow(x: -1, y: 0, width: 3, height: 2), bands: [1, 2],
    data: [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], mask: [0, 1, 1, 1, 1, 1])

  @Test("masked pixels get the fill value of their band; others are kept")
  func fillsMaskedPixels() {
    let (t, allValid) = TileInput.tensor(Self.window, fill: [-7, -8])
    #expect(!allValid)
    #expect(t.shape == [2, 1, 2, 3])
    #expect(t.values == [-7, 2, 3, 4, 5, 6, -8, 20, 30, 40, 50, 60])
  }

  @Test("a fully valid window is reported as such and left unchanged")
  func allValidWindow() {
    var w = Self.window
    w.mask = [1, 1, 1, 1, 1, 1]
    let (t, allValid) = TileInput.tensor(w, fill: [-7, -8])
    #expect(allValid)
    #expect(t.values == w.data)
  }
}
