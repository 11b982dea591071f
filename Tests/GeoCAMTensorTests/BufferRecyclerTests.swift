import Testing

@testable import GeoCAMTensor

#if canImport(Glibc)
  import Glibc
#endif

/// The recycler's footprint cap, on a private instance (the shared one serves every test).
@Suite struct BufferRecyclerTests {
  /// One recyclable size: 256 KiB.
  let floats = 64 << 10

  /// A fresh mapped buffer counted in use, as `TensorBuffer` makes one.
  func fresh(_ r: BufferRecycler) throws -> UnsafeMutablePointer<Float> {
    let p = try #require(TensorBuffer.map(floats: floats))
    r.mapped(count: floats)
    return p
  }

  @Test func keepsFreedBuffersWithinTheCapAndHandsThemBack() throws {
    let r = BufferRecycler()
    r.budget = 3 * floats * 4
    let a = try fresh(r), b = try fresh(r), c = try fresh(r)
    a[0] = 7
    // In use 3 of 3: freeing keeps the footprint, so all are kept.
    #expect(r.give(a, count: floats) && r.give(b, count: floats) && r.give(c, count: floats))
    // Handed back by exact size, last in first out; other sizes miss.
    #expect(r.take(count: floats + 16) == nil)
    let again = try #require(r.take(count: floats))
    #expect(again == c)
    _ = r.take(count: floats)
    let first = try #require(r.take(count: floats))
    #expect(first == a && first[0] == 7)
    #expect(r.take(count: floats) == nil)
    r.trim()
    for p in [a, b, c] { _ = r.give(p, count: floats) }
    r.trim()
  }

  @Test func aFreshBufferPastTheCapUnmapsKeptOnesFirst() throws {
    let r = BufferRecycler()
    r.budget = 2 * floats * 4
    let a = try fresh(r), b = try fresh(r)
    #expect(r.give(a, count: floats) && r.give(b, count: floats))
    // A third fresh buffer: the footprint would be 3 of 2, so one kept buffer goes.
    let c = try fresh(r)
    let kept = try #require(r.take(count: floats))
    #expect(kept == a || kept == b)
    #expect(r.take(count: floats) == nil)
    // In use above the cap is never refused; nothing is kept while it lasts.
    let d = try fresh(r)
    #expect(!r.give(d, count: floats))
    for p in [c, d, kept] { munmap(p, floats * 4) }
  }

  @Test func loweringTheCapUnmapsKeptBuffersAtOnce() throws {
    let r = BufferRecycler()
    r.budget = 2 * floats * 4
    let a = try fresh(r), b = try fresh(r)
    #expect(r.give(a, count: floats) && r.give(b, count: floats))
    r.budget = floats * 4
    let kept = try #require(r.take(count: floats))
    #expect(r.take(count: floats) == nil)
    munmap(kept, floats * 4)
  }

  @Test func aZeroCapKeepsNothing() throws {
    let r = BufferRecycler()
    r.budget = 0
    let a = try fresh(r)
    #expect(!r.give(a, count: floats))
    munmap(a, floats * 4)
  }

  @Test func tensorStorageIsZeroedWhenAskedEvenWhenRecycled() {
    for _ in 0..<3 {
      let t = TensorBuffer(count: floats, zeroed: true)
      #expect((0..<floats).allSatisfy { t.pointer[$0] == 0 })
      t.pointer.update(repeating: 3, count: floats)
    }
  }
}
