import Foundation
import GeoCAMImaging
import Testing

/// SLIC labels equal scikit-image 0.26.0's, pixel for pixel (Scripts/fixtures/make_superpixel_fixtures.py).
@Suite struct SLICSuperpixelsTests {
  static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/imaging/slic")

  struct Case: Decodable {
    var name: String
    var image: String
    var width: Int
    var height: Int
    var input: String
    var segments: Int
    var compactness: Double
    var sigma: Double
    var enforceConnectivity: Bool
    var labelCount: Int
  }

  /// The values of a `|u1` or `<i2` NPY file with the shape its header gives.
  static func npy(_ name: String) throws -> (values: [Int], shape: [Int]) {
    let d = [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
    let headerLength = Int(d[8]) | Int(d[9]) << 8
    let header = String(decoding: d[10..<(10 + headerLength)], as: UTF8.self)
    let shapeText = header.split(separator: "(")[1].split(separator: ")")[0]
    let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    let body = Array(d[(10 + headerLength)...])
    if header.contains("'|u1'") { return (body.map(Int.init), shape) }
    #expect(header.contains("'<i2'"), "\(name): \(header)")
    let values = stride(from: 0, to: body.count, by: 2).map { Int(Int16(bitPattern: UInt16(body[$0]) | UInt16(body[$0 + 1]) << 8)) }
    return (values, shape)
  }

  /// `natural_image()` of the fixture script: a landscape from integer arithmetic only.
  static func natural(width: Int = 224, height: Int = 224) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(width * height * 3)
    for y in 0..<height {
      for x in 0..<width {
        var n = (x * 7919 + y * 104729) % 65521
        n = (n * n + 12345) % 65521
        let noise = n % 21 - 10
        let horizon = 120 - max(0, 45 - abs(x - 60)) - max(0, 30 - abs(x - 170) / 2) + (x - 112) * (x - 112) / 400
        var rgb =
          y < horizon
          ? (90 + y / 2, 140 + y / 3, 235 - y / 4)
          : (55 + (y - horizon) / 6 + (x * 3 + y * 5) % 17, 125 + (x + 2 * y) % 23 - y / 8, 45 + x % 11)
        if (x - 175) * (x - 175) + (y - 38) * (y - 38) < 400 { rgb = (250, 215, 110) }
        if (x - 70) * (x - 70) + 4 * (y - 30) * (y - 30) < 900 { rgb = (240, 240, 245) }
        let d = abs(y - 150 - x / 5)
        if y >= horizon && d < 7 { rgb = (40, 90 + d * 6, 170) }
        if x >= 30 && x < 38 && y >= 140 && y < 190 { rgb = (95, 60, 30) }
        if (x - 34) * (x - 34) + (y - 130) * (y - 130) < 484 { rgb = (30, 100 + n % 30, 35) }
        if x >= 120 && x < 160 && y >= 160 && y < 200 { rgb = (180, 70, 60) }
        if y >= 135 && y < 160 && abs(x - 140) < y - 135 { rgb = (110, 40, 40) }
        for v in [rgb.0, rgb.1, rgb.2] { out.append(UInt8(min(255, max(0, v + noise)))) }
      }
    }
    return out
  }

  static func image(_ c: Case) throws -> [UInt8] {
    switch c.image {
    case "natural": return natural(width: c.width, height: c.height)
    case "flat": return [UInt8](repeating: 128, count: c.width * c.height * 3)
    default:
      let (values, shape) = try npy("slic_\(c.image).u8.npy")
      #expect(shape == [c.height, c.width, 3])
      return values.map { UInt8($0) }
    }
  }

  static func slic(_ c: Case) -> SLICSuperpixels {
    var slic = SLICSuperpixels(segments: c.segments, compactness: c.compactness, maxIterations: 10)
    slic.sigma = c.sigma
    slic.enforceConnectivity = c.enforceConnectivity
    return slic
  }

  @Test func equalsSkimageOnEveryFixture() throws {
    struct File: Decodable { var cases: [Case] }
    let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: Self.dir.appendingPathComponent("slic_cases.json")))
    #expect(file.cases.count == 11)
    for c in file.cases {
      let (expected, shape) = try Self.npy("slic_\(c.name).labels.npy")
      #expect(shape == [c.height, c.width], "\(c.name)")
      let pixels = try Self.image(c)
      let ours: [Int32]
      if c.input == "float" {
        // The script's `image.astype(float64) / 300.0 + 0.1`: skimage rescales it to [0, 1] itself.
        ours = try Self.slic(c).segment(rgb: pixels.map { Double($0) / 300.0 + 0.1 }, width: c.width, height: c.height)
      } else {
        ours = try Self.slic(c).segment(rgb8: pixels, width: c.width, height: c.height)
      }
      #expect(ours.count == expected.count, "\(c.name)")
      let differ = zip(ours, expected).filter { Int($0) != $1 }.count
      #expect(differ == 0, "\(c.name): \(differ) of \(expected.count) labels differ")
      #expect(Int(ours.max() ?? 0) == c.labelCount, "\(c.name)")
    }
  }

  @Test func floatAndByteInputsAgree() throws {
    let pixels = Self.natural(width: 60, height: 50)
    let slic = SLICSuperpixels(segments: 40, compactness: 10)
    let fromBytes = try slic.segment(rgb8: pixels, width: 60, height: 50)
    let fromDoubles = try slic.segment(rgb: pixels.map { Double($0) * (1.0 / 255.0) }, width: 60, height: 50)
    #expect(fromBytes == fromDoubles)
    #expect(fromBytes.min() == 1)
  }

  @Test func badInputThrows() {
    let slic = SLICSuperpixels()
    let px = [Double](repeating: 0.5, count: 4 * 3 * 3)
    #expect(throws: ImagingError.self) { try slic.segment(rgb: [], width: 0, height: 0) }
    #expect(throws: ImagingError.self) { try slic.segment(rgb: px, width: 4, height: 4) }
    #expect(throws: ImagingError.self) { try slic.segment(rgb: px, width: -4, height: -3) }
    #expect(throws: ImagingError.self) { try slic.segment(rgb8: [1, 2, 3, 4], width: 1, height: 1) }
    #expect(throws: ImagingError.self) { try slic.segment(rgb: px, width: Int.max, height: 3) }
    var nan = px
    nan[5] = .nan
    #expect(throws: ImagingError.self) { try slic.segment(rgb: nan, width: 4, height: 3) }
    nan[5] = .infinity
    #expect(throws: ImagingError.self) { try slic.segment(rgb: nan, width: 4, height: 3) }
    for bad in [
      SLICSuperpixels(segments: 0), SLICSuperpixels(segments: -5), SLICSuperpixels(compactness: 0),
      SLICSuperpixels(compactness: -1), SLICSuperpixels(compactness: .nan), SLICSuperpixels(maxIterations: -1),
      SLICSuperpixels(maxIterations: 0),
    ] {
      #expect(throws: ImagingError.self) { try bad.segment(rgb: px, width: 4, height: 3) }
    }
    var s = SLICSuperpixels()
    s.sigma = -1
    #expect(throws: ImagingError.self) { try s.segment(rgb: px, width: 4, height: 3) }
    s = SLICSuperpixels()
    s.maxSizeFactor = .infinity
    #expect(throws: ImagingError.self) { try s.segment(rgb: px, width: 4, height: 3) }
    // Degenerate but valid: one pixel, more segments than pixels.
    #expect((try? SLICSuperpixels().segment(rgb8: [9, 9, 9], width: 1, height: 1)) == [1])
    #expect((try? SLICSuperpixels(segments: 1_000_000).segment(rgb: px, width: 4, height: 3))?.count == 12)
  }

  @Test func segments224InReasonableTime() throws {
    let pixels = Self.natural()
    let slic = SLICSuperpixels(segments: 100, compactness: 10)
    _ = try slic.segment(rgb8: pixels, width: 224, height: 224)
    let clock = ContinuousClock()
    var best = Duration.seconds(100)
    for _ in 0..<5 {
      let t = try clock.measure { _ = try slic.segment(rgb8: pixels, width: 224, height: 224) }
      best = min(best, t)
    }
    print("SLIC 224x224, 100 segments: \(best)")
    // Loose: the machines running the tests are shared.
    #expect(best < .seconds(1))
  }
}
