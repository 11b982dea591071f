import Foundation
import Testing

@testable import GeoCAMStudies

/// Every metric equals the NumPy reference of its stated definition to 1e-6
/// (Scripts/fixtures/make_metric_fixtures.py).
@Suite struct SaliencyMetricsTests {
  @Test func equalsTheNumPyReference() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/studies/saliency_metrics.json")
    let ref = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    let w = 40, h = 30
    var a = [Float](), b = [Float](), mask = [Bool]()
    for y in 0..<h {
      for x in 0..<w {
        let (dx, dy) = (Double(x), Double(y))
        a.append(Float(sin(dx / 5) * cos(dy / 7) + 0.3 * Double((x * 7 + y * 13) % 11) / 11))
        b.append(Float(exp(-((dx - 25) * (dx - 25) + (dy - 12) * (dy - 12)) / 60) + 0.1 * Double((x * 3 + y * 5) % 7) / 7))
        mask.append(x >= 20 && x < 32 && y >= 6 && y < 18)
      }
    }
    let fix = [(25, 12), (24, 13), (5, 5), (30, 20), (26, 11)].map { $0.1 * w + $0.0 }
    func expectClose(_ v: Double?, _ key: String) {
      let r = (ref[key] as? Double) ?? .nan
      #expect(v.map { abs($0 - r) <= 1e-6 * max(1, abs(r)) } == true, "\(key): \(String(describing: v)) vs \(r)")
    }
    expectClose(SaliencyMetrics.cc(a, b), "cc")
    expectClose(SaliencyMetrics.sim(a, b), "sim")
    expectClose(SaliencyMetrics.kl(a, reference: b), "kl")
    expectClose(SaliencyMetrics.nss(a, fixations: fix), "nss_a")
    expectClose(SaliencyMetrics.nss(b, fixations: fix), "nss_b")
    expectClose(SaliencyMetrics.aucJudd(a, fixations: fix), "auc_judd_a")
    expectClose(SaliencyMetrics.aucJudd(b, fixations: fix), "auc_judd_b")
    #expect(SaliencyMetrics.pointingGame(a, mask: mask) == (ref["pointing_a"] as? Bool))
    #expect(SaliencyMetrics.pointingGame(b, mask: mask) == (ref["pointing_b"] as? Bool))
    expectClose(SaliencyMetrics.energyPointingGame(a, mask: mask), "energy_a")
    expectClose(SaliencyMetrics.energyPointingGame(b, mask: mask), "energy_b")
    expectClose(SaliencyMetrics.causalAUC([0.9, 0.7, 0.6, 0.2, 0.15, 0.1]), "causal_auc")
  }
}
