import GeoCAMAudit
import Testing

@Suite struct EvidenceTests {
  @Test func sharesInsideAndInTheRingOfAHandMadeMap() {
    // 6×6 window; object = the 2×2 square at (2, 2); diameter = 2·√(4/π) ≈ 2.26 px.
    let w = 6
    var object = [Bool](repeating: false, count: w * w)
    for y in 2..<4 { for x in 2..<4 { object[y * w + x] = true } }
    let ring = EvidenceMeter.ring(object: object, width: w, height: w, diameter: EvidenceMeter.diameter(pixels: 4))
    // Ring: outside the object, within 2.26 px of it: rows/columns 0…5 except the corners
    // (0,0)-type pixels at distance √8 ≈ 2.83 and the object itself.
    #expect(ring.filter { $0 }.count == 36 - 4 - 4)
    #expect(!ring[0] && !ring[5] && !ring[30] && !ring[35] && ring[1] && !ring[2 * w + 2])
    var map = [Float](repeating: 0, count: w * w)
    map[2 * w + 2] = 3  // inside
    map[0] = 1  // a corner: outside the ring
    map[1] = 2  // in the ring
    map[5 * w + 5] = -4  // negative values carry no mass
    let e = EvidenceMeter.measure(map: map, inside: object, ring: ring, valid: nil)
    #expect(e.inside == 0.5 && e.ring == 2.0 / 6 && e.peakInside)
    // Invalid pixels do not count.
    var valid = [UInt8](repeating: 1, count: w * w)
    valid[2 * w + 2] = 0
    let f = EvidenceMeter.measure(map: map, inside: object, ring: ring, valid: valid)
    #expect(f.inside == 0 && f.ring == 2.0 / 3 && !f.peakInside)
    #expect(EvidenceMeter.measure(map: [Float](repeating: 0, count: 36), inside: object, ring: ring, valid: nil).inside == 0)
  }
}
