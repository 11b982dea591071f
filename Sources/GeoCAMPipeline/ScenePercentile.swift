/// An exact nearest-rank percentile over values streamed block by block, in bounded memory:
/// a first pass counts the top 16 bits of each value's order-preserving key (65,536 bins),
/// a second pass counts the low 16 bits inside the bin that holds the wanted rank. Counts add
/// up across blocks and shards, so the result does not depend on how the scene was cut.
struct ScenePercentile {
  let percentile: Double
  private var high = [Int](repeating: 0, count: 1 << 16)
  private var low = [Int](repeating: 0, count: 1 << 16)
  private(set) var count = 0
  /// After the first pass: the top-16-bit bin and the rank left inside it.
  private var bin: UInt32 = 0
  private var rankInBin = 0

  init(percentile: Double) { self.percentile = percentile }

  /// Order-preserving unsigned key of a float (negative values below positive ones).
  static func key(_ v: Float) -> UInt32 {
    let b = v.bitPattern
    return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
  }

  static func value(_ key: UInt32) -> Float {
    Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
  }

  mutating func firstPass(_ v: Float) {
    high[Int(ScenePercentile.key(v) >> 16)] += 1
    count += 1
  }

  /// Ends the first pass; false when there were no values.
  mutating func endFirstPass() -> Bool {
    guard count > 0 else { return false }
    // Nearest rank: the ⌈p/100 · n⌉-th smallest value (1-based).
    let rank = max(1, min(count, Int((percentile / 100 * Double(count)).rounded(.up))))
    var seen = 0
    for (b, c) in high.enumerated() where c > 0 {
      if seen + c >= rank {
        bin = UInt32(b)
        rankInBin = rank - seen
        return true
      }
      seen += c
    }
    return false
  }

  mutating func secondPass(_ v: Float) {
    let k = ScenePercentile.key(v)
    if k >> 16 == bin { low[Int(k & 0xFFFF)] += 1 }
  }

  /// The percentile value (after both passes).
  func result() -> Float? {
    guard count > 0 else { return nil }
    var seen = 0
    for (l, c) in low.enumerated() where c > 0 {
      if seen + c >= rankInBin { return ScenePercentile.value(bin << 16 | UInt32(l)) }
      seen += c
    }
    return nil
  }
}
