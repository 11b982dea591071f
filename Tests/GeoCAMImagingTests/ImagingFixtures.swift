import Foundation

/// The JSON references in Tests/Fixtures/imaging, made by Scripts/fixtures/make_imaging_fixtures.py.
enum ImagingFixtures {
  static let folder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/imaging")

  static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
    let data = try Data(contentsOf: folder.appendingPathComponent(name))
    return try JSONDecoder().decode(T.self, from: data)
  }

  struct Jet: Decodable { let rgb: [[UInt8]] }

  struct ResizeCase: Decodable {
    let height: Int
    let width: Int
    let toHeight: Int
    let toWidth: Int
    // Decoded as Double: each is an exact Float32 value, so Float(_:) is exact.
    let src: [Double]
    let dst: [Double]
    let dstIPP: [Double]
  }
  struct ResizeCases: Decodable { let cases: [ResizeCase] }

  struct OverlayCase: Decodable {
    let height: Int
    let width: Int
    let imageWeight: Double
    let image: [UInt8]
    let mask: [Double]
    let out: [UInt8]
  }
  struct OverlayCases: Decodable { let cases: [OverlayCase] }
}
