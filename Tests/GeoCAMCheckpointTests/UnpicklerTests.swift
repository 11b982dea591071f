import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("restricted unpickler")
struct UnpicklerTests {
  @Test("plain data pickled with protocols 0-5 equals what Python unpickled", arguments: 0...5)
  func protocols(proto: Int) throws {
    let file = "proto\(proto).pkl"
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pickles/\(file)"))))
    let value = try RestrictedUnpickler.unpickle(bytes, fileName: file)
    let expected = try #require(Fixtures.pickle(file))
    #expect(canon(value) == expected)
  }

  @Test("rare opcodes: BINSTRING, BINUNICODE8, BINBYTES8, LONG4, DUP, POP, POP_MARK, text memo, STRING")
  func rareOpcodes() throws {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pickles/rare.pkl"))))
    let value = try RestrictedUnpickler.unpickle(bytes, fileName: "rare.pkl")
    #expect(canon(value) == Fixtures.pickle("rare.pkl"))
    #expect(value.arrayValue?.first?.stringValue == "abc")
  }

  @Test("big integers become decimal text")
  func bigIntegers() throws {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pickles/proto2.pkl"))))
    let big = try #require(RestrictedUnpickler.unpickle(bytes, fileName: "proto2.pkl")["big"]?.arrayValue)
    #expect(big.map(canon) == ["i:18446744073709551616", "i:-1180591620717411315769", "i:1000000000000000000000000000000"])
    #expect(PickleValue.float(0.001).description == "0.001")
    #expect(PickleValue.tuple([.int(1)]).description == "(1,)")
  }

  /// Raw bytes after PROTO 2.
  private func run(_ body: [UInt8]) throws -> PickleValue {
    try RestrictedUnpickler.unpickle([0x80, 0x02] + body, fileName: "bad.pkl")
  }

  @Test("malformed streams are errors with the reason")
  func malformed() throws {
    let cases: [([UInt8], String)] = [
      ([0x85, 0x2E], "stack underflow"),  // TUPLE1 on an empty stack
      ([0x4E, 0x74, 0x2E], "MARK missing"),  // TUPLE without MARK
      ([0x68, 0x05, 0x2E], "memo miss"),  // BINGET 5
      ([0x4E], "without STOP"),
      ([0x58, 0x64, 0, 0, 0, 0x61, 0x62], "cut short"),  // BINUNICODE of 100 bytes, 2 present
      ([0x5D, 0x4E, 0x4E, 0x73, 0x2E], "not a dict"),  // SETITEM on a list
      ([0x7D, 0x4E, 0x61, 0x2E], "not a list"),  // APPEND to a dict
      ([0x28, 0x4E, 0x64, 0x2E], "odd number"),  // DICT with one item
      ([0x28, 0x4E, 0x74, 0x51, 0x2E], "persistent id"),  // BINPERSID outside torch
      ([0x4B, 0x01, 0x29, 0x52, 0x2E], "not a global"),  // REDUCE on an int
      (Array("ccollections\nOrderedDict\n}b.".utf8), "BUILD on the class"),
      (Array("ctorch._utils\n_rebuild_tensor_v2\n(K\u{0}K\u{0}))tR.".utf8), "not a storage"),
    ]
    for (body, phrase) in cases {
      let error = expectCheckpointError(phrase) { _ = try run(body) }
      guard case .malformedPickle(let file, _, let reason)? = error else {
        Issue.record("\(phrase): \(String(describing: error))")
        continue
      }
      #expect(file == "bad.pkl")
      #expect(reason.contains(phrase), "\(phrase): got '\(reason)'")
    }
    let proto = expectCheckpointError("proto 6") { _ = try RestrictedUnpickler.unpickle([0x80, 0x06, 0x4E, 0x2E], fileName: "p.pkl") }
    guard case .malformedPickle? = proto else {
      Issue.record("proto 6: \(String(describing: proto))")
      return
    }
  }

  @Test("unsupported opcodes: EXT1/2/4, out-of-band buffers, unknown bytes")
  func unsupportedOpcodes() throws {
    for op: UInt8 in [0x82, 0x83, 0x84, 0x97, 0x98, 0xFF, 0x00] {
      let error = expectCheckpointError("0x\(String(op, radix: 16))") { _ = try run([op, 0x01, 0x00, 0x00, 0x00, 0x2E]) }
      #expect(error == .unsupportedOpcode(file: "bad.pkl", opcode: op, offset: 2))
    }
    #expect(
      CheckpointError.unsupportedOpcode(file: "a.pkl", opcode: 0x82, offset: 9).description
        == "a.pkl: unsupported pickle opcode 0x82 EXT1 at byte 9")
  }

  @Test("deep nesting is an error, not a stack overflow")
  func deepNesting() throws {
    let depth = 100_000
    let body = [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E]
    let error = expectCheckpointError("deep") { _ = try run(body) }
    guard case .malformedPickle(_, _, let reason)? = error else {
      Issue.record("deep: \(String(describing: error))")
      return
    }
    #expect(reason.contains("nest deeper"))
  }

  @Test("shared references stay linear (no exponential blow-up), cycles are marked")
  func sharingAndCycles() throws {
    // L0 = []; L(i+1) = [Li, Li] for 64 levels: 2^64 paths, 65 distinct lists.
    var body: [UInt8] = [0x5D, 0x71, 0x00]  // EMPTY_LIST BINPUT 0
    for i in 0..<64 {
      // EMPTY_LIST MARK BINGET i BINGET i APPENDS BINPUT i+1
      body += [0x5D, 0x28, 0x68, UInt8(i), 0x68, UInt8(i), 0x65, 0x71, UInt8(i + 1)]
    }
    body += [0x2E]
    let value = try run(body)
    #expect(value.arrayValue?.count == 2)
    #expect(value.rendered(maxLength: 50).count <= 51)
    // A list that contains itself: L = []; L.append(L)
    let cyclic = try run([0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E])
    #expect(cyclic.description == "[<recursion>()]")
  }

  @Test("dict keys follow Python equality: 1, 1.0 and True are one key")
  func dictKeys() throws {
    // {1: 'a', True: 'b', 1.0: 'c', 'x': 'd'} → {1: 'c', 'x': 'd'}
    var body: [UInt8] = [0x7D, 0x28]
    body += [0x4B, 0x01, 0x8C, 0x01, 0x61]
    body += [0x88, 0x8C, 0x01, 0x62]
    body += [0x47, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x8C, 0x01, 0x63]
    body += [0x8C, 0x01, 0x78, 0x8C, 0x01, 0x64]
    body += [0x75, 0x2E]
    let value = try run(body)
    #expect(canon(value) == "{i:1:s:63,s:78:s:64}")
  }
}
