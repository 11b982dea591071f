import Foundation
import Testing

@testable import GeoCAMCheckpoint

/// The fuzzer's seeds and every input it ever saved (Fuzz/corpus, Fuzz/regressions) replayed
/// through the real readers: each must load or throw a `CheckpointError`, never trap. Plus
/// hostile archives made by hand.
@Suite struct FuzzRegressionTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz")

  static func files(_ folder: String) -> [URL] {
    let dirs = ["corpus/\(folder)", "regressions/\(folder)"].map { root.appendingPathComponent($0) }
    return dirs.flatMap { (try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
      .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
  }

  /// Loads `bytes` as a file called `name`; returns whether it loaded.
  static func load(_ bytes: [UInt8], name: String) throws -> Bool {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-replay-\(getpid())-\(name)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      let loaded = try CheckpointLoader.load(path: path)
      for (_, t) in loaded.stateDict where t.count <= 1 << 20 { _ = try? t.floats() }
      return true
    } catch is CheckpointError {
      return false
    }
  }

  @Test func checkpointCorpusAndRegressionsLoadOrThrow() throws {
    let files = Self.files("checkpoint")
    #expect(files.count >= 20)
    var loaded = 0
    for f in files {
      let data = [UInt8](try Data(contentsOf: f))
      guard let selector = data.first else { continue }
      let name = ["f.pth", "f.safetensors", "f.ckpt"][Int(selector) % 3]
      if try Self.load(Array(data.dropFirst()), name: name) { loaded += 1 }
    }
    // The seeds include good checkpoints: the replay really exercises the loading path.
    #expect(loaded >= 5)
  }

  @Test func unpicklerCorpusAndRegressionsUnpickleOrThrow() throws {
    let files = Self.files("unpickler")
    #expect(files.count >= 10)
    for f in files {
      do { _ = try RestrictedUnpickler.unpickle([UInt8](try Data(contentsOf: f)), fileName: f.lastPathComponent) } catch is CheckpointError {}
    }
    // A memo index out of range is an error.
    #expect(throws: CheckpointError.self) { try RestrictedUnpickler.unpickle([0x80, 0x02, 0x68, 0x05, 0x2E], fileName: "memo.pkl") }
  }

  /// Central-directory records of a zip: offsets of each `PK\1\2` record.
  static func centralRecords(_ b: [UInt8]) -> [Int] {
    (0..<max(0, b.count - 4)).filter { b[$0] == 0x50 && b[$0 + 1] == 0x4B && b[$0 + 2] == 1 && b[$0 + 3] == 2 }
  }

  static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xFF) }
  }

  @Test func zip64SizesBeyondTheFileAndOverlappingEntriesAreRefusedOrHarmless() throws {
    let plain = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("plain.pth"))))
    let records = Self.centralRecords(plain)
    #expect(records.count >= 3)
    // Sizes that claim zip64 (0xFFFFFFFF) with no zip64 field, or far beyond the file.
    for size: UInt32 in [0xFFFF_FFFF, 0x7FFF_FFF0] {
      var b = plain
      for r in records {
        Self.put32(&b, r + 20, size)
        Self.put32(&b, r + 24, size)
      }
      #expect(try !Self.load(b, name: "big.pth"))
    }
    // Every entry pointing at the first entry's local header: overlapping entries.
    var overlap = plain
    let first = records[0]
    let firstOffset = UInt32(plain[first + 42]) | UInt32(plain[first + 43]) << 8 | UInt32(plain[first + 44]) << 16 | UInt32(plain[first + 45]) << 24
    for r in records { Self.put32(&overlap, r + 42, firstOffset) }
    _ = try Self.load(overlap, name: "overlap.pth")
  }
}
