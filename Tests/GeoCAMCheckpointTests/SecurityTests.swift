import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("malicious pickles are refused, their benign twins load")
struct SecurityTests {
  /// (fixture suffix, global the malicious file reaches, opcode that would call it)
  static let cases: [(String, String, String)] = [
    ("reduce", "os.system", "REDUCE"),
    ("eval", "builtins.eval", "REDUCE"),
    ("stack_global", "posix.system", "REDUCE"),
    ("inst", "os.system", "INST"),
    ("obj", "os.system", "OBJ"),
    ("newobj_ex", "os.system", "NEWOBJ_EX"),
    ("build", "os.system", "BUILD"),
  ]

  @Test("each malicious file is refused naming the global; nothing runs", arguments: cases.map(\.0))
  func refused(kind: String) throws {
    let (_, global, opcode) = try #require(Self.cases.first { $0.0 == kind })
    let file = "evil_\(kind).pth"
    let error = expectCheckpointError(file) { _ = try CheckpointLoader.load(path: Fixtures.path(file)) }
    #expect(error == .refusedGlobal(file: file, name: global, opcode: opcode))
    #expect(
      error?.description
        == "\(file): refused: the pickle calls \(global) (via \(opcode)), which is not on the allow-list")
    #expect(!FileManager.default.fileExists(atPath: "/tmp/geocam_pwned"), "a payload ran")
  }

  @Test("each benign twin loads with the same opcodes", arguments: cases.map(\.0))
  func benignTwin(kind: String) throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("benign_\(kind).pth"))
    #expect(ckpt.stateDictKey == "state_dict")
    try expectMatches(ckpt.stateDict["weight"], Fixtures.tensor("benign", "weight"), "benign_\(kind)")
    #expect(ckpt.root?["payload"] != nil)
    #expect(ckpt.unusedKeys.isEmpty)
  }

  @Test("benign payloads become inert values")
  func benignPayloads() throws {
    func payload(_ kind: String) throws -> PickleValue {
      try #require(CheckpointLoader.load(path: Fixtures.path("benign_\(kind).pth")).root?["payload"])
    }
    #expect(try payload("reduce").dictEntries?.isEmpty == true)
    #expect(canon(try payload("eval")) == "set{i:1,i:2}")
    #expect(try payload("inst").dictEntries?.isEmpty == true)
    guard case .object("pathlib.PosixPath", let args, nil) = try payload("obj") else {
      Issue.record("obj payload")
      return
    }
    #expect(args.first?.stringValue == "tiles/a.tif")
    guard case .object("argparse.Namespace", let nsArgs, let state?) = try payload("newobj_ex"), nsArgs.isEmpty else {
      Issue.record("newobj_ex payload")
      return
    }
    #expect(state["lr"]?.doubleValue == 0.1)
  }

  @Test("a pickle never reaches anything outside the allow-list, however it is phrased")
  func handMadeRefusals() throws {
    func pickle(_ parts: [UInt8]...) -> [UInt8] { [0x80, 0x02] + parts.joined() + [0x2E] }
    func t(_ text: String) -> [UInt8] { Array(text.utf8) }
    let attempts: [([UInt8], String)] = [
      (pickle(t("csubprocess\nPopen\n)"), [0x81]), "subprocess.Popen"),  // NEWOBJ
      (pickle(t("c__builtin__\neval\nX\u{1}\0\0\0x"), [0x85], t("R")), "__builtin__.eval"),
      (pickle(t("ctorch\nFloatStorage\n)R")), "torch.FloatStorage"),  // storage classes are not callable
      (pickle(t("ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\ncos\nsystem\n)}tR")),
        "os.system"),
      (pickle(t("cbuiltins\ngetattr\n(cos\nsystem\nX\u{4}\0\0\0nametR")), "builtins.getattr"),
      (pickle(t("(cos\nsystem\nX\u{2}\0\0\0lsi__main__\nPwn\n")), "__main__.Pwn"),  // INST of an unknown class
    ]
    for (bytes, name) in attempts {
      let error = expectCheckpointError(name) { _ = try RestrictedUnpickler.unpickle(bytes, fileName: "x.pkl") }
      guard case .refusedGlobal(_, let refused, _)? = error else {
        Issue.record("\(name): \(String(describing: error))")
        continue
      }
      #expect(refused == name)
    }
    // Only referencing a global is harmless and kept as a value.
    let referenced = try RestrictedUnpickler.unpickle(pickle(t("cos\nsystem\n")), fileName: "x.pkl")
    guard case .global("os", "system") = referenced else {
      Issue.record("\(referenced)")
      return
    }
    #expect(RestrictedUnpickler.allowedCalls.contains("collections.OrderedDict"))
    #expect(!RestrictedUnpickler.allowedCalls.contains("os.system"))
  }
}
