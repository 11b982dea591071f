import Foundation
import Testing

@testable import GeoCAMStudies

@Suite struct MethodComparisonTests {
  @Test func agreementMeasuresOnHandMadeMaps() {
    let a: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    let b: [Float] = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    // Top 20 % = 2 pixels: {8, 9} vs {0, 1}: disjoint; with itself IoU 1.
    #expect(MethodComparison.topIoU(a, b, fraction: 0.2) == 0)
    #expect(MethodComparison.topIoU(a, a, fraction: 0.2) == 1)
    // Ties broken by pixel index: all-equal maps pick the same pixels.
    #expect(MethodComparison.topIoU([Float](repeating: 1, count: 10), [Float](repeating: 2, count: 10), fraction: 0.3) == 1)
    #expect(abs((MethodComparison.pearson(a, b) ?? 0) + 1) < 1e-12)
    #expect(MethodComparison.pearson(a, [Float](repeating: 3, count: 10)) == nil)
    // SIM: a map with itself is 1; [1,0] vs [0,1] share nothing.
    #expect(abs(MethodComparison.sim(a, a) - 1) < 1e-12)
    #expect(MethodComparison.sim([1, 0], [0, 1]) == 0)
    // Min-max first: an offset changes nothing (the MIT benchmark's definition).
    #expect(abs(MethodComparison.sim([1, 2, 3], [11, 12, 13]) - 1) < 1e-12)
    // p = [0, 1/3, 2/3], q = [2/3, 1/3, 0] → Σ min = 1/3.
    #expect(abs(MethodComparison.sim([0, 1, 2], [2, 1, 0]) - 1.0 / 3) < 1e-12)
  }
}
