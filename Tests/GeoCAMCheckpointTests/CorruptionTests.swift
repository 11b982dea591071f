import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("truncated, corrupted and unsupported files are thrown errors, never crashes")
struct CorruptionTests {
  @Test("not a zip / cut short / flipped EOCD")
  func noEOCD() {
    for file in ["truncated_cd.pth", "truncated_storage.pth", "bad_eocd.pth", "not_a_zip.ckpt", "empty.ckpt"] {
      let error = expectCheckpointError(file) { _ = try CheckpointLoader.load(path: Fixtures.path(file)) }
      guard case .notAZip(let name, _)? = error else {
        Issue.record("\(file): \(String(describing: error))")
        continue
      }
      #expect(name == file)
    }
    let error = expectCheckpointError("truncated") {
      _ = try CheckpointLoader.load(path: Fixtures.path("truncated_cd.pth"))
    }
    #expect(error?.description.hasPrefix("truncated_cd.pth: not a zip archive (no end-of-central-directory record") == true)
  }

  @Test("directory pointers out of range and corrupt headers")
  func outOfRange() {
    for file in ["bad_cd_offset.pth", "bad_cd_entry.pth", "bad_local_header.pth"] {
      let error = expectCheckpointError(file) { _ = try CheckpointLoader.load(path: Fixtures.path(file)) }
      guard case .truncated(let name, _)? = error else {
        Issue.record("\(file): \(String(describing: error))")
        continue
      }
      #expect(name == file)
    }
  }

  @Test("records missing or short inside a valid zip")
  func missingAndShort() {
    let missingPkl = expectCheckpointError("missing_datapkl") {
      _ = try CheckpointLoader.load(path: Fixtures.path("missing_datapkl.pth"))
    }
    #expect(missingPkl == .missingRecord(file: "missing_datapkl.pth", record: "missing_datapkl/data.pkl"))
    let missingStorage = expectCheckpointError("missing_storage") {
      _ = try CheckpointLoader.load(path: Fixtures.path("missing_storage.pth"))
    }
    #expect(missingStorage == .missingStorage(file: "missing_storage.pth", record: "data/1"))
    let short = expectCheckpointError("short_storage") {
      _ = try CheckpointLoader.load(path: Fixtures.path("short_storage.pth"))
    }
    guard case .storageTooShort(_, "data/0", 10, 432, _)? = short else {
      Issue.record("short_storage: \(String(describing: short))")
      return
    }
    let cut = expectCheckpointError("cut_pickle") { _ = try CheckpointLoader.load(path: Fixtures.path("cut_pickle.pth")) }
    guard case .malformedPickle("cut_pickle.pth", _, _)? = cut else {
      Issue.record("cut_pickle: \(String(describing: cut))")
      return
    }
  }

  @Test("unsupported containers: deflate, legacy torch format, missing file, directory")
  func unsupported() {
    let deflated = expectCheckpointError("deflated") { _ = try CheckpointLoader.load(path: Fixtures.path("deflated.pth")) }
    guard case .unsupportedZipEntry("deflated.pth", _, let reason)? = deflated, reason.contains("deflate") else {
      Issue.record("deflated: \(String(describing: deflated))")
      return
    }
    let legacy = expectCheckpointError("legacy") { _ = try CheckpointLoader.load(path: Fixtures.path("legacy.pth")) }
    guard case .legacyFormat("legacy.pth", _)? = legacy else {
      Issue.record("legacy: \(String(describing: legacy))")
      return
    }
    #expect(legacy?.description.contains("re-save with torch.save") == true)
    let missing = expectCheckpointError("missing") { _ = try CheckpointLoader.load(path: Fixtures.path("nope.ckpt")) }
    #expect(missing == .fileNotFound(file: "nope.ckpt"))
    let directory = expectCheckpointError("directory") { _ = try CheckpointLoader.load(path: Fixtures.directory.path) }
    guard case .unreadable? = directory else {
      Issue.record("directory: \(String(describing: directory))")
      return
    }
  }

  @Test("every prefix of a real checkpoint fails cleanly or loads")
  func everyTruncation() throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("benign_reduce.pth")))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-trunc-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var loaded = 0
    for cut in stride(from: 0, to: bytes.count, by: 7) {
      let url = dir.appendingPathComponent("cut.pth")
      try bytes.prefix(cut).write(to: url)
      do {
        _ = try CheckpointLoader.load(path: url.path)
        loaded += 1
      } catch let error as CheckpointError {
        #expect(error.description.hasPrefix("cut.pth: "))
      }
    }
    #expect(loaded == 0)
  }

  @Test("single-byte corruption anywhere throws or loads, never traps")
  func byteFlips() throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("benign_build.pth")))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-flip-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var failures = 0
    for position in stride(from: 0, to: bytes.count, by: 3) {
      var copy = bytes
      copy[position] ^= 0x5A
      let url = dir.appendingPathComponent("flip.pth")
      try copy.write(to: url)
      do {
        let ckpt = try CheckpointLoader.load(path: url.path)
        for entry in ckpt.stateDict.entries { _ = try entry.tensor.floats() }
      } catch is CheckpointError {
        failures += 1
      }
    }
    #expect(failures > 0)
  }
}
