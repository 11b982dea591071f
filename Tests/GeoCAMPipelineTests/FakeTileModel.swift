import Foundation
import GeoCAMPipeline

/// Counts tile runs across a test and throws after a given number (to simulate a kill).
final class TileCounter: @unchecked Sendable {
  var calls = 0
  var failAfter: Int?
  /// Sizes of the groups `predict` was handed.
  var groups: [Int] = []
  /// Sizes of the groups the pipeline explained through `concurrently`.
  var explainGroups: [Int] = []
  init(failAfter: Int? = nil) { self.failAfter = failAfter }
}

struct SimulatedKill: Error {}

/// A deterministic stand-in for the FPN: class probabilities are a softmax of how close band 1
/// is to each class's level; maps are simple functions of the tile's pixels and origin, which it
/// reads back from bands 2 and 3 (the test rasters store each pixel's x and y there).
struct FakeTileModel: TileModel {
  enum MapKind { case standard, tileConstant, smooth }

  var classNames = ["background", "solar_panel", "water_heater", "pool_heater"]
  var methods = ["gradcam", "guided-gradcam"]
  var tileSize = 64
  var kind: MapKind = .standard
  var counter = TileCounter()
  var provenance: [String: String] = ["checkpoint": "fake.ckpt", "checkpoint_sha256": "0123abcd"]
  var gsd: Double? = nil
  /// Like a `class-mask` target: no map for a class that wins no valid pixel of the tile.
  var maskTargets = false
  var camMapSize: Int? { tileSize / 8 }
  var gsdMeters: Double? { gsd }
  /// Tiles `predict` asks for at once.
  var group = 1
  var predictGroupSize: Int { group }
  /// Tiles explained at once.
  var explainGroup = 1
  var explainGroupSize: Int { explainGroup }

  /// One job after another (the counter is not thread-safe), recording the group's size.
  func concurrently<T>(_ count: Int, _ job: (Int) throws -> T) throws -> [T] {
    counter.explainGroups.append(count)
    return try (0..<count).map(job)
  }

  func predict(_ tiles: [TilePixels], size: Int) throws -> [[Float]] {
    counter.groups.append(tiles.count)
    return try tiles.map { try begin(pixels: $0.pixels, valid: $0.valid, size: size).probabilities }
  }

  /// Band-1 level of each class.
  static let levels: [Float] = [40, 100, 160, 220]

  static func probabilities(_ v: Float) -> [Float] {
    var out = [Float](repeating: 0, count: 4)
    probabilities(v, into: &out, at: 0, stride: 1)
    return out
  }

  /// Writes the 4 class probabilities of level `v` to `out[start + k·stride]`.
  static func probabilities(_ v: Float, into out: inout [Float], at start: Int, stride: Int) {
    var s: (Float, Float, Float, Float) = (0, 0, 0, 0)
    func score(_ c: Float) -> Float { -((c - v) / 30) * ((c - v) / 30) }
    s = (score(levels[0]), score(levels[1]), score(levels[2]), score(levels[3]))
    let m = max(s.0, s.1, s.2, s.3)
    let e = (expf(s.0 - m), expf(s.1 - m), expf(s.2 - m), expf(s.3 - m))
    let sum = e.0 + e.1 + e.2 + e.3
    out[start] = e.0 / sum
    out[start + stride] = e.1 / sum
    out[start + 2 * stride] = e.2 / sum
    out[start + 3 * stride] = e.3 / sum
  }

  /// Smooth function of the global position for `.smooth` maps.
  static func smooth(x: Float, y: Float) -> Float { 2 + sinf(x / 50) + cosf(y / 70) }

  func begin(pixels: [Float], valid: [UInt8], size: Int) throws -> TileSession {
    counter.calls += 1
    if let f = counter.failAfter, counter.calls > f { throw SimulatedKill() }
    return FakeSession(model: self, pixels: pixels, valid: valid, size: size)
  }
}

struct FakeSession: TileSession {
  let model: FakeTileModel
  let pixels: [Float]
  let valid: [UInt8]
  let size: Int
  let probabilities: [Float]
  let origin: (x: Int, y: Int)

  init(model: FakeTileModel, pixels: [Float], valid: [UInt8], size: Int) {
    self.model = model
    self.pixels = pixels
    self.valid = valid
    self.size = size
    let plane = size * size
    let c = model.classNames.count
    var probs = [Float](repeating: 1 / Float(c), count: c * plane)
    var origin = (x: 0, y: 0)
    var found = false
    for p in 0..<plane where valid[p] != 0 {
      FakeTileModel.probabilities(pixels[p], into: &probs, at: p, stride: plane)
      if !found {
        origin = (Int(pixels[plane + p]) - p % size, Int(pixels[2 * plane + p]) - p / size)
        found = true
      }
    }
    probabilities = probs
    self.origin = origin
  }

  func explain(classes: [Int]) throws -> [TileMap] {
    let plane = size * size
    let n = size / 8
    let cell = 8
    var maps: [TileMap] = []
    let c = model.classNames.count
    let present = Set((0..<plane).filter { valid[$0] != 0 }.map { p in
      (0..<c).max(by: { probabilities[$0 * plane + p] < probabilities[$1 * plane + p] }) ?? 0
    })
    for method in model.methods {
      for k in classes where !model.maskTargets || present.contains(k) {
        var values: [Float]
        let w = method == "gradcam" ? n : size
        switch model.kind {
        case .tileConstant:
          let parity = Float((origin.x / 48 + origin.y / 48) % 2)
          values = [Float](repeating: parity, count: w * w)
        case .smooth:
          values = (0..<(w * w)).map { i in
            let f = Float(size) / Float(w)
            return FakeTileModel.smooth(
              x: Float(origin.x) + (Float(i % w) + 0.5) * f - 0.5, y: Float(origin.y) + (Float(i / w) + 0.5) * f - 0.5)
          }
        case .standard:
          let factor = 1 + Float(origin.x) / 1000 + Float(origin.y) / 2000
          if method == "gradcam" {
            values = [Float](repeating: 0, count: n * n)
            for cy in 0..<n {
              for cx in 0..<n {
                var sum: Float = 0
                var count = 0
                for y in (cy * cell)..<((cy + 1) * cell) {
                  for x in (cx * cell)..<((cx + 1) * cell) where valid[y * size + x] != 0 {
                    sum += probabilities[k * plane + y * size + x]
                    count += 1
                  }
                }
                values[cy * n + cx] = count > 0 ? sum / Float(count) * factor : 0
              }
            }
          } else {
            values = (0..<plane).map { p in valid[p] != 0 ? probabilities[k * plane + p] * (1 + Float(origin.y) / 1000) : 0 }
          }
        }
        maps.append(TileMap(method: method, classIndex: k, width: w, height: w, values: values))
      }
    }
    return maps
  }
}
