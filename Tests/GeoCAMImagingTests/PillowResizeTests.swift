import Foundation
import GeoCAMImaging
import Testing

/// Resizing equals Pillow 12.0.0 byte for byte (Scripts/fixtures/make_resize_fixtures.py).
@Suite struct PillowResizeTests {
  static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/imaging")

  struct Case: Decodable {
    var name: String
    var width: Int
    var height: Int
    var channels: Int
    var to_width: Int
    var to_height: Int
    var filter: String
  }

  static func image(_ w: Int, _ h: Int, _ c: Int) -> [UInt8] {
    var out: [UInt8] = []
    for y in 0..<h {
      for x in 0..<w {
        for k in 0..<c { out.append(UInt8((37 * x + 91 * y + 53 * k + 5 * ((x * x + 3 * y * y + 7 * k) % 29)) % 256)) }
      }
    }
    return out
  }

  /// The bytes of a `|u1` NPY file.
  static func npyBytes(_ url: URL) throws -> [UInt8] {
    let d = [UInt8](try Data(contentsOf: url))
    let headerLength = Int(d[8]) | Int(d[9]) << 8
    return Array(d[(10 + headerLength)...])
  }

  @Test func equalsPillowOnEveryFixture() throws {
    struct File: Decodable { var cases: [Case] }
    let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: Self.dir.appendingPathComponent("pillow_resize.json")))
    #expect(file.cases.count == 6)
    for c in file.cases {
      let expected = try Self.npyBytes(Self.dir.appendingPathComponent("pillow_\(c.name).u8.npy"))
      let src = Self.image(c.width, c.height, c.channels)
      let ours: [UInt8]
      switch c.filter {
      case "bilinear":
        ours = try PillowResize.bilinear(src, width: c.width, height: c.height, channels: c.channels, toWidth: c.to_width, toHeight: c.to_height)
      case "imagenet":
        ours = try ImagePreset.imagenet.apply(rgb: src, width: c.width, height: c.height).pixels
      default:
        ours = PillowResize.nearest(src.map { $0 % 21 }, width: c.width, height: c.height, toWidth: c.to_width, toHeight: c.to_height)
      }
      #expect(ours.count == expected.count, "\(c.name)")
      let differ = zip(ours, expected).filter { $0 != $1 }.count
      let worst = zip(ours, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
      #expect(differ == 0, "\(c.name): \(differ) of \(expected.count) bytes differ (worst \(worst))")
    }
  }

  @Test func imagenetGeometryRoundsHalfToEven() {
    // 300×200 → shorter side 256: 384×256, crop x (384 − 224)/2 = 80.
    let g = ImagePreset.imagenet.geometry(width: 300, height: 200)
    #expect(g.resizedWidth == 384 && g.resizedHeight == 256 && g.cropX == 80 && g.cropY == 16)
    // 225 wide: (225 − 224)/2 = 0.5 rounds to 0 (half to even); 227: 1.5 → 2.
    #expect(ImagePreset.imagenet.geometry(width: 225, height: 400, resize: 225).cropX == 0)
    #expect(ImagePreset.imagenet.geometry(width: 227, height: 400, resize: 227).cropX == 2)
    #expect(ImagePreset.resize224.apply(mask: [UInt8](repeating: 7, count: 10 * 5), width: 10, height: 5).count == 224 * 224)
  }
}
