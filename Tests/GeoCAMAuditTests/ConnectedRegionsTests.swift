import GeoCAMAudit
import Testing

@Suite struct ConnectedRegionsTests {
  @Test func diagonalNeighboursJoinAndClassesSeparate() {
    // 1 1 0 2
    // 0 1 0 2
    // 1 0 0 0
    let g: [UInt8] = [1, 1, 0, 2, 0, 1, 0, 2, 1, 0, 0, 0]
    let r = ConnectedRegions(grid: g, width: 4, height: 3)
    #expect(r.regions.count == 2)
    #expect(r.regions[0].value == 1 && r.regions[0].pixels == 4)
    #expect(r.regions[1].value == 2 && r.regions[1].pixels == 2)
  }
}
