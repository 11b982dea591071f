import GeoCAMImaging
import Testing

@Suite struct ColormapTests {
  @Test func jetMatchesOpenCV() throws {
    let fixture = try ImagingFixtures.load("jet_rgb.json", as: ImagingFixtures.Jet.self)
    #expect(fixture.rgb.count == 256)
    #expect(Colormap.jet.rgbTable == fixture.rgb.flatMap { $0 })
    #expect(Colormap.jet.rgb(0) == (0, 0, 128) && Colormap.jet.rgb(255) == (128, 0, 0))
    // OpenCV's own order is BGR.
    #expect(Colormap.jet.bgr(0) == (128, 0, 0))
  }

  @Test func indexTruncatesLikeNumpy() {
    #expect(Colormap.index(for: 0) == 0 && Colormap.index(for: 1) == 255)
    #expect(Colormap.index(for: 0.5) == 127)  // 127.5 truncates
    #expect(Colormap.index(for: 0.99999994) == 254)
    #expect(Colormap.index(for: -3) == 0 && Colormap.index(for: 7) == 255 && Colormap.index(for: .nan) == 0)
  }

  @Test func applyInterleavesRGB() throws {
    #expect(Colormap.jet.apply([0, 255]) == [0, 0, 128, 128, 0, 0])
    #expect(Colormap.jet.apply(values: [1, 0]) == [128, 0, 0, 0, 0, 128])
    #expect(throws: ImagingError.self) { try Colormap(rgbTable: [1, 2, 3]) }
  }
}
