import GeoCAMGeo
import GeoCAMPipeline
import Testing

@Suite struct BlendWindowTests {
  @Test func rampsSumToOneAndStayPositive() throws {
    let grid = try TileGrid(width: 1000, height: 64, tileSize: 64, overlap: 16)
    let w = BlendWindow(origins: grid.xOrigins, tileSize: 64, hard: false)
    var sums = [Double](repeating: 0, count: 1000)
    var cover = [Int](repeating: 0, count: 1000)
    for (j, o) in grid.xOrigins.enumerated() {
      let weights = w.pixelWeights(j)
      #expect(weights.allSatisfy { $0 > 0 && $0 <= 1 })
      for i in 0..<64 {
        sums[o + i] += Double(weights[i])
        cover[o + i] += 1
      }
    }
    // Pairwise sin² + cos² = 1 wherever two tiles meet (every overlap pixel, not a sample of
    // pixels that happen to lie in one tile only); the edge tiles keep weight 1.
    let overlap = (0..<1000).filter { cover[$0] >= 2 }
    #expect(overlap.count > 300)
    #expect(overlap.allSatisfy { abs(sums[$0] - 1) < 1e-6 })
    #expect((0..<1000).allSatisfy { abs(sums[$0] - 1) < 1e-6 })
    #expect(w.pixelWeights(0).prefix(48).allSatisfy { $0 == 1 })
  }

  @Test func overlapZeroSplitsTheShiftedTileAtTheMiddle() throws {
    let w = BlendWindow(origins: [0, 64, 100], tileSize: 64, hard: true)
    // Tiles 1 (64..<128) and 2 (100..<164) share 28 pixels: 100..<114 stay with tile 1.
    let t1 = w.pixelWeights(1)
    let t2 = w.pixelWeights(2)
    for x in 64..<164 {
      let a = x < 128 ? t1[x - 64] : 0
      let b = x >= 100 ? t2[x - 100] : 0
      #expect(a + b == 1)
      #expect((x < 114 ? a : b) == 1)
    }
  }
}
