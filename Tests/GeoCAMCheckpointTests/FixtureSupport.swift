import Foundation
import Testing

@testable import GeoCAMCheckpoint

/// Fixtures written by Scripts/fixtures/make_checkpoint_fixtures.py (found via #filePath, not
/// SwiftPM resources, so the tests read the committed files in place).
enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/checkpoints")

  static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// expected.json: what torch saw when it wrote the fixtures.
  nonisolated(unsafe) static let expected: [String: Any] = {
    // A missing or unreadable expected.json must fail the suite, not turn every expectation
    // into a comparison with nothing.
    guard let data = try? Data(contentsOf: directory.appendingPathComponent("expected.json")),
      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], object["tensors"] != nil
    else { preconditionFailure("Tests/Fixtures/checkpoints/expected.json is missing or unreadable") }
    return object
  }()

  /// Expected description of tensor `key` in fixture `file`.
  static func tensor(_ file: String, _ key: String) -> [String: Any]? {
    ((expected["tensors"] as? [String: Any])?[file] as? [String: Any])?[key] as? [String: Any]
  }

  /// All expected tensors of `file`, in the order torch wrote them.
  static func tensors(_ file: String) -> [String: Any] {
    ((expected["tensors"] as? [String: Any])?[file] as? [String: Any]) ?? [:]
  }

  static func lightning(_ file: String) -> [String: Any] {
    ((expected["lightning"] as? [String: Any])?[file] as? [String: Any]) ?? [:]
  }

  static func pickle(_ file: String) -> String? {
    (expected["pickles"] as? [String: Any])?[file] as? String
  }
}

/// Checks shape, dtype and every value of `tensor` against torch's record, bit for bit (NaN: any NaN).
func expectMatches(_ tensor: CheckpointTensor?, _ expected: [String: Any]?, _ label: String) throws {
  let tensor = try #require(tensor, "\(label): tensor missing")
  let expected = try #require(expected, "\(label): no expected record")
  #expect(tensor.shape == (expected["shape"] as? [Int]), "\(label): shape")
  #expect(tensor.dtype.rawValue == (expected["dtype"] as? String), "\(label): dtype")
  let bits = try #require(expected["f32_bits"] as? [Int], "\(label): no f32_bits")
  let values = try tensor.floats()
  #expect(values.count == bits.count, "\(label): count")
  for (i, (v, b)) in zip(values, bits).enumerated() {
    let want = Float(bitPattern: UInt32(truncatingIfNeeded: b))
    if want.isNaN {
      #expect(v.isNaN, "\(label)[\(i)]: expected NaN, got \(v)")
    } else {
      #expect(v.bitPattern == want.bitPattern, "\(label)[\(i)]: \(v) != \(want)")
    }
  }
  if let ints = expected["int_values"] as? [Int] {
    #expect(try tensor.int64s().map(Int.init) == ints, "\(label): int values")
  }
}

/// Runs `body` and returns the CheckpointError it throws (failing the test if it does not).
func expectCheckpointError(
  _ label: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> CheckpointError? {
  do {
    try body()
    Issue.record("\(label): expected a CheckpointError, but it loaded", sourceLocation: sourceLocation)
    return nil
  } catch let error as CheckpointError {
    let text = error.description
    #expect(!text.contains("\n"), "\(label): description must be one line", sourceLocation: sourceLocation)
    return error
  } catch {
    Issue.record("\(label): unexpected error type \(error)", sourceLocation: sourceLocation)
    return nil
  }
}

/// Canonical rendering shared with the fixture script's `canon()`.
func canon(_ value: PickleValue) -> String {
  func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
  switch value {
  case .none: return "None"
  case .bool(let b): return b ? "True" : "False"
  case .int(let i): return "i:\(i)"
  case .bigInt(let s): return "i:\(s)"
  case .float(let d): return "f:\(Int64(bitPattern: d.bitPattern))"
  case .string(let s): return "s:" + hex(Array(s.utf8))
  case .bytes(let b): return "b:" + hex(b)
  case .tuple(let a): return "(" + a.map(canon).joined(separator: ",") + ")"
  case .list(let a): return "[" + a.map(canon).joined(separator: ",") + "]"
  case .dict(let pairs): return "{" + pairs.map { canon($0.key) + ":" + canon($0.value) }.joined(separator: ",") + "}"
  case .set(let a): return "set{" + a.map(canon).sorted().joined(separator: ",") + "}"
  case .tensor, .storage, .global, .object: return "<\(value)>"
  }
}
