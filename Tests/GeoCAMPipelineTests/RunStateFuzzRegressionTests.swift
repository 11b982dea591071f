import Foundation
import Testing

@testable import GeoCAMPipeline

/// The run-state fuzzer's seeds and saved inputs replayed through the readers a resumed run
/// uses: each decodes or throws, never traps (an earlier map size overflowed `w × h`).
@Suite struct RunStateFuzzRegressionTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz")

  @Test func corpusAndRegressionsDecodeOrThrow() throws {
    let dirs = ["corpus/runstate", "regressions/runstate"].map { Self.root.appendingPathComponent($0) }
    let files = dirs.flatMap { (try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
    #expect(files.count >= 5)
    var decoded = 0
    for f in files {
      let data = try Data(contentsOf: f)
      guard let selector = data.first else { continue }
      let body = data.dropFirst()
      switch selector % 3 {
      case 0:
        if (try? TileResult(decoding: Data(body), subject: f.lastPathComponent)) != nil { decoded += 1 }
      case 1: _ = try? JSONDecoder().decode(RunLock.Holder.self, from: Data(body))
      default: _ = try? JSONDecoder().decode([Int: [String: [String: Double]]].self, from: Data(body))
      }
    }
    #expect(decoded >= 2)
    // Map sizes whose product overflows are refused, not multiplied.
    var w = BinaryWriter()
    w.string(TileResult.magic)
    w.int(0); w.int(0); w.bytes([1]); w.floats([0.5]); w.int(1); w.int(1); w.int(1)
    w.string("gradcam"); w.int(1); w.int(Int(Int32.max)); w.int(Int(Int32.max)); w.floats([1])
    #expect(throws: PipelineError.self) { _ = try TileResult(decoding: w.data, subject: "overflow.tile") }
  }
}
