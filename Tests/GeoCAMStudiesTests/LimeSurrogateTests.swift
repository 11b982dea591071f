import Foundation
import Testing

import GeoCAMExplain

/// LIME's weighted ridge surrogate equals lime 0.2.0.1's on the same sample matrix to 1e-6
/// (Scripts/fixtures/make_lime_fixtures.py).
@Suite struct LimeSurrogateTests {
  struct Fixture: Decodable {
    var samples: [[Int]]
    var scores: [Double]
    var kernel_width: Double
    var weights: [Double]
    var intercept: Double
    var score: Double
    var local_pred: Double
  }

  @Test func equalsLime() throws {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Fixtures/studies/lime_surrogate.json")
    let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    let s = try #require(LimeSurrogate(samples: f.samples.map { $0.map(UInt8.init) }, scores: f.scores, kernelWidth: f.kernel_width))
    #expect(s.weights.count == f.weights.count)
    for (a, b) in zip(s.weights, f.weights) { #expect(abs(a - b) <= 1e-6 * max(1, abs(b)), "\(a) vs \(b)") }
    #expect(abs(s.intercept - f.intercept) <= 1e-6)
    #expect(abs(s.score - f.score) <= 1e-6)
    #expect(abs(s.localPrediction - f.local_pred) <= 1e-6)
    #expect(LimeSurrogate(samples: [[1, 1]], scores: [0.5]) == nil)
  }
}
