import GeoCAMImaging
import Testing

@Suite struct OverlayTests {
  @Test func matchesShowCamOnImage() throws {
    let fixture = try ImagingFixtures.load(
      "overlay_show_cam_on_image.json", as: ImagingFixtures.OverlayCases.self)
    #expect(fixture.cases.count == 2)
    for c in fixture.cases {
      let image = try RGBImage(width: c.width, height: c.height, pixels: c.image)
      let out = try Overlay.heatmap(
        image: image, map: c.mask.map { Float($0) }, imageWeight: Float(c.imageWeight))
      #expect(out.width == c.width && out.height == c.height)
      #expect(out.pixels == c.out, "image_weight \(c.imageWeight)")
    }
  }

  @Test func validation() throws {
    let image = try RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
    #expect(throws: ImagingError.self) { try Overlay.heatmap(image: image, map: [0.5]) }
    #expect(throws: ImagingError.self) { try Overlay.heatmap(image: image, map: [0, 1], imageWeight: 1.5) }
    // Black image, weight 1: nothing to normalise by; black comes back instead of NaN noise.
    let black = try RGBImage(width: 1, height: 1, pixels: [0, 0, 0])
    #expect(try Overlay.heatmap(image: black, map: [1], imageWeight: 1).pixels == [0, 0, 0])
  }

  /// Opacity follows the value: zero heat leaves the image untouched, full heat is 60 % colour.
  @Test func fadingHeatmapLeavesColdPixelsUntouched() throws {
    let image = try RGBImage(width: 4, height: 1, pixels: [10, 20, 30, 10, 20, 30, 200, 100, 50, 7, 8, 9])
    let out = try Overlay.fadingHeatmap(image: image, map: [0, .nan, 1, 0.5])
    #expect(Array(out.pixels[0..<6]) == [10, 20, 30, 10, 20, 30])
    let hot = Colormap.jet.rgb(Colormap.index(for: 1))
    let expected = [200, 100, 50].enumerated().map { ch, v in
      UInt8((0.4 * Float(v) + 0.6 * Float([hot.red, hot.green, hot.blue][ch])).rounded())
    }
    #expect(Array(out.pixels[6..<9]) == expected)
    let mid = Colormap.jet.rgb(Colormap.index(for: 0.5))
    #expect(out.pixels[9] == UInt8((0.7 * 7 + 0.3 * Float(mid.red)).rounded()))
    #expect(throws: ImagingError.self) { try Overlay.fadingHeatmap(image: image, map: [0]) }
  }
}
