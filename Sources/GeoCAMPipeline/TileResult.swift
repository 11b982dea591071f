import Foundation

/// What one tile contributes to the scene: its validity mask, probabilities and explanation
/// maps as the model gave them. Persisted in the resume state until every block that needs it
/// is written, so a killed run never recomputes it.
struct TileResult: Sendable {
  /// Grid row and column.
  var row: Int
  var column: Int
  /// `size × size` validity (1 = real pixel inside the run's area).
  var mask: [UInt8]
  /// `classes × size × size` softmax probabilities; empty for a skipped tile (no valid pixel).
  var probabilities: [Float]
  /// Classes explained on this tile, ascending.
  var explained: [Int]
  /// The maps for `explained`, one per (method, class).
  var maps: [TileMap]
  /// Classes asked for on this tile that the model could not explain (e.g. a `class-mask`
  /// target with no pixel of the class): "not computed" there, like an unexplained tile.
  var notComputed: [Int] = []

  var skipped: Bool { probabilities.isEmpty }

  static let magic = "GEOCAM-TILE-2"

  func encoded() -> Data {
    var w = BinaryWriter()
    w.string(TileResult.magic)
    w.int(row)
    w.int(column)
    w.bytes(mask)
    w.floats(probabilities)
    w.int(explained.count)
    for k in explained { w.int(k) }
    w.int(maps.count)
    for m in maps {
      w.string(m.method)
      w.int(m.classIndex)
      w.int(m.width)
      w.int(m.height)
      w.floats(m.values)
    }
    w.int(notComputed.count)
    for k in notComputed { w.int(k) }
    return w.data
  }

  init(
    row: Int, column: Int, mask: [UInt8], probabilities: [Float], explained: [Int], maps: [TileMap],
    notComputed: [Int] = []
  ) {
    self.row = row
    self.column = column
    self.mask = mask
    self.probabilities = probabilities
    self.explained = explained
    self.maps = maps
    self.notComputed = notComputed
  }

  init(decoding data: Data, subject: String) throws {
    var r = BinaryReader(data, subject: subject)
    guard try r.string() == TileResult.magic else { throw PipelineError(subject, "not a GeoCAM tile file") }
    row = try r.int()
    column = try r.int()
    mask = try r.bytes()
    probabilities = try r.floats()
    let ne = try r.count(max: 1 << 16)
    explained = try (0..<ne).map { _ in try r.int() }
    let nm = try r.count(max: 1 << 16)
    maps = try (0..<nm).map { _ in
      let method = try r.string()
      let k = try r.int()
      // Sizes are bounded before they are multiplied: a corrupt file must not overflow.
      let w = try r.count(max: 1 << 16)
      let h = try r.count(max: 1 << 16)
      let v = try r.floats()
      guard w > 0, h > 0, v.count == w * h else { throw PipelineError(subject, "file is corrupt (map size)") }
      return TileMap(method: method, classIndex: k, width: w, height: h, values: v)
    }
    let nn = try r.count(max: 1 << 16)
    notComputed = try (0..<nn).map { _ in try r.int() }
    guard r.atEnd else { throw PipelineError(subject, "file is corrupt (trailing bytes)") }
  }
}
