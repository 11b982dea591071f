import Foundation
import Testing

@testable import GeoCAMStudies

/// The paired statistics equal SciPy 1.17.1's on the committed fixtures
/// (Scripts/fixtures/make_study_fixtures.py), to 1e-9 relative.
@Suite struct PairedStatisticsTests {
  struct Case: Decodable {
    var name: String
    var a: [Double]
    var b: [Double]
    var t: Double?
    var df: Double?
    var p_two_sided: Double?
    var p_one_sided: Double?
    var mean_difference: Double?
    var ci95: [Double]?
    var cohen_dz: Double?
    var cohen_dz_ci95: [Double]?
    var wilcoxon_w_plus: Double?
    var wilcoxon_p: Double?
  }
  struct Fixture: Decodable {
    var cases: [Case]
    var holm_input: [Double]
    var holm: [Double]
  }

  static let fixture: Fixture? = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/studies/paired_stats.json")
    guard let data = try? Data(contentsOf: url) else { return nil }
    return try? JSONDecoder().decode(Fixture.self, from: data)
  }()

  static func close(_ a: Double?, _ b: Double?, _ tol: Double = 1e-9) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let x?, let y?): return abs(x - y) <= tol * max(abs(y), 1e-300) || abs(x - y) < 1e-300
    default: return false
    }
  }

  @Test func equalsSciPyOnEveryFixtureCase() throws {
    let fixture = try #require(Self.fixture)
    #expect(fixture.cases.count >= 8)
    for c in fixture.cases {
      let s = PairedStatistics(c.a, c.b)
      #expect(Self.close(s.t, c.t), "\(c.name) t \(String(describing: s.t)) vs \(String(describing: c.t))")
      #expect(Self.close(s.df, c.df), "\(c.name) df")
      #expect(Self.close(s.pTwoSided, c.p_two_sided), "\(c.name) p \(String(describing: s.pTwoSided)) vs \(String(describing: c.p_two_sided))")
      #expect(Self.close(s.pOneSided, c.p_one_sided), "\(c.name) one-sided p")
      if c.t != nil {
        #expect(Self.close(s.meanDifference, c.mean_difference), "\(c.name) mean")
        #expect(Self.close(s.ci95?[0], c.ci95?[0]) && Self.close(s.ci95?[1], c.ci95?[1]), "\(c.name) ci \(String(describing: s.ci95)) vs \(String(describing: c.ci95))")
        #expect(Self.close(s.cohenDz, c.cohen_dz), "\(c.name) dz")
        #expect(
          Self.close(s.cohenDzCI95?[0], c.cohen_dz_ci95?[0]) && Self.close(s.cohenDzCI95?[1], c.cohen_dz_ci95?[1]),
          "\(c.name) dz ci \(String(describing: s.cohenDzCI95)) vs \(String(describing: c.cohen_dz_ci95))")
      } else {
        #expect(s.warning != nil && s.t == nil && s.cohenDz == nil, "\(c.name)")
      }
      #expect(Self.close(s.wilcoxonWPlus, c.wilcoxon_w_plus), "\(c.name) W+ \(String(describing: s.wilcoxonWPlus))")
      #expect(Self.close(s.wilcoxonP, c.wilcoxon_p), "\(c.name) wilcoxon p \(String(describing: s.wilcoxonP)) vs \(String(describing: c.wilcoxon_p)) (\(s.wilcoxonMethod ?? "-"))")
    }
    let holm = PairedStatistics.holm(fixture.holm_input.map { Optional($0) })
    for (x, y) in zip(holm, fixture.holm) { #expect(Self.close(x, y)) }
  }

  @Test func encodesTheDocumentedKeysAndNeverInfinity() throws {
    let s = PairedStatistics([1, 2, 3], [1, 2, 3])
    #expect(s.t == nil && s.wilcoxonP == nil && s.warning?.contains("zero") == true)
    let json = String(decoding: try JSONEncoder().encode(PairedStatistics([0.9, 0.8, 0.7], [0.2, 0.3, 0.1])), as: UTF8.self)
    for key in ["p_two_sided", "p_one_sided", "cohen_dz_ci95", "wilcoxon_w_plus", "mean_difference", "ci95"] {
      #expect(json.contains("\"\(key)\""))
    }
  }
}
