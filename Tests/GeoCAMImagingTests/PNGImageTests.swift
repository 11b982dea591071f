import Foundation
import GeoCAMImaging
import Testing

@Suite struct PNGImageTests {
  let dir: URL

  init() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-png-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  @Test(arguments: PNGImage.Format.allCases)
  func roundTrip(format: PNGImage.Format) throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let (w, h) = (13, 7)
    let bytes = (0..<(w * h * format.channels)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
    let image = try PNGImage(width: w, height: h, format: format, pixels: bytes)
    let file = path("x-\(format.rawValue).png")
    try image.write(to: file)
    let back = try PNGImage(contentsOf: file)
    #expect(back == image)
  }

  @Test func rgbImageConversions() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let rgb = try RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 250, 251, 252])
    try PNGImage(rgb).write(to: path("rgb.png"))
    #expect(try PNGImage(contentsOf: path("rgb.png")).rgbImage == rgb)
    let rgba = try PNGImage(contentsOf: path("rgb.png"), as: .rgba)
    #expect(rgba.format == .rgba && rgba.pixels == [1, 2, 3, 255, 250, 251, 252, 255])
    #expect(rgba.rgbImage == rgb)
    let gray = try PNGImage(width: 2, height: 1, format: .gray, pixels: [9, 200])
    #expect(gray.rgbImage.pixels == [9, 9, 9, 200, 200, 200])
  }

  @Test func errorsCarryLibpngMessage() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let missing = path("missing.png")
    let e1 = #expect(throws: ImagingError.self) { try PNGImage(contentsOf: missing) }
    #expect(e1?.subject == missing && e1?.problem.isEmpty == false)
    let notPNG = path("not.png")
    try Data("hello".utf8).write(to: URL(fileURLWithPath: notPNG))
    let e2 = #expect(throws: ImagingError.self) { try PNGImage(contentsOf: notPNG) }
    #expect(e2?.description.contains(notPNG) == true)
    let image = try PNGImage(width: 1, height: 1, format: .gray, pixels: [0])
    #expect(throws: ImagingError.self) { try image.write(to: path("no/such/dir/x.png")) }
    #expect(throws: ImagingError.self) { try PNGImage(width: 2, height: 2, format: .rgb, pixels: [0]) }
    #expect(throws: ImagingError.self) { try RGBImage(width: 2, height: 2, pixels: [0]) }
  }
}
