import GeoCAMGeo
import Testing

@Suite struct TileGridTests {
  /// Every pixel of the area is covered by some tile, and no tile leaves a larger-than-tile area.
  func checkCoverage(_ g: TileGrid) {
    var covered = [Bool](repeating: false, count: g.area.pixelCount)
    for t in g.tiles {
      if g.area.width >= g.tileSize { #expect(t.x >= g.area.x && t.x + t.size <= g.area.maxX) }
      if g.area.height >= g.tileSize { #expect(t.y >= g.area.y && t.y + t.size <= g.area.maxY) }
      guard let w = t.window.intersection(g.area) else { continue }
      for y in w.y..<w.maxY {
        for x in w.x..<w.maxX { covered[(y - g.area.y) * g.area.width + (x - g.area.x)] = true }
      }
    }
    #expect(covered.allSatisfy { $0 })
  }

  @Test func oddSize1000x700() throws {
    let g = try TileGrid(width: 1000, height: 700)
    #expect(g.tileSize == 320 && g.stride == 320)
    #expect(g.xOrigins == [0, 320, 640, 680])
    #expect(g.yOrigins == [0, 320, 380])
    #expect(g.count == 12 && g.tiles.count == 12)
    #expect(g.tile(row: 2, column: 3) == Tile(row: 2, column: 3, x: 680, y: 380, size: 320))
    #expect(g.tile(row: 3, column: 0) == nil)
    checkCoverage(g)
  }

  @Test func exactMultiple() throws {
    let g = try TileGrid(width: 960, height: 640)
    #expect(g.xOrigins == [0, 320, 640] && g.yOrigins == [0, 320])
    checkCoverage(g)
  }

  @Test func overlap() throws {
    let g = try TileGrid(width: 1000, height: 700, overlap: 64)
    #expect(g.stride == 256)
    #expect(g.xOrigins == [0, 256, 512, 680])
    #expect(g.yOrigins == [0, 256, 380])
    checkCoverage(g)
    let half = try TileGrid(width: 960, height: 320, overlap: 160)
    #expect(half.xOrigins == [0, 160, 320, 480, 640] && half.yOrigins == [0])
  }

  @Test func smallRasterAndTileEqualsRaster() throws {
    let small = try TileGrid(width: 200, height: 150)
    #expect(small.tiles == [Tile(row: 0, column: 0, x: 0, y: 0, size: 320)])
    checkCoverage(small)
    let one = try TileGrid(width: 320, height: 320)
    #expect(one.xOrigins == [0] && one.yOrigins == [0])
    let wide = try TileGrid(width: 321, height: 100)
    #expect(wide.xOrigins == [0, 1] && wide.yOrigins == [0])
  }

  @Test func windowOrigins() throws {
    let g = try TileGrid(window: PixelWindow(x: 100, y: 50, width: 700, height: 320), tileSize: 320, overlap: 0)
    #expect(g.xOrigins == [100, 420, 480] && g.yOrigins == [50])
    checkCoverage(g)
  }

  @Test func validation() {
    #expect(throws: GeoError.self) { try TileGrid(width: 1000, height: 700, overlap: 320) }
    #expect(throws: GeoError.self) { try TileGrid(width: 1000, height: 700, overlap: -1) }
    #expect(throws: GeoError.self) { try TileGrid(width: 0, height: 700) }
    #expect(throws: GeoError.self) { try TileGrid(width: 10, height: 10, tileSize: 0) }
    #expect(throws: GeoError.self) { try TileGrid(width: 10, height: 10).blocks(ofTiles: 0) }
  }

  @Test func orderingAndHashing() throws {
    let g = try TileGrid(width: 1000, height: 700)
    #expect(g.tiles == g.tiles.sorted())
    #expect(Set(g.tiles).count == g.count)
    #expect(Tile(row: 0, column: 5, x: 0, y: 0, size: 1) < Tile(row: 1, column: 0, x: 0, y: 0, size: 1))
  }

  @Test func blocks() throws {
    let g = try TileGrid(width: 3000, height: 1700)  // 10 × 6 tiles
    #expect(g.columns == 10 && g.rows == 6)
    let blocks = try g.blocks(ofTiles: 4)
    #expect(blocks.count == 3 * 2)
    #expect(blocks.map(\.rows) == [0..<4, 0..<4, 0..<4, 4..<6, 4..<6, 4..<6])
    #expect(blocks.map(\.columns) == [0..<4, 4..<8, 8..<10, 0..<4, 4..<8, 8..<10])
    // Every tile exactly once, in block order.
    let all = blocks.flatMap(\.tiles)
    #expect(all.count == g.count && Set(all) == Set(g.tiles))
    #expect(blocks[0].window == PixelWindow(x: 0, y: 0, width: 4 * 320, height: 4 * 320))
    #expect(blocks[5].window == PixelWindow(x: 2560, y: 1280, width: 440, height: 420))
    #expect(blocks[5].tiles == blocks[5].tiles.sorted())
  }
}
