import Foundation
import CDigest
@testable import GeoCAMCheckpoint
import Testing

@Suite("SHA-256")
struct SHA256Tests {
  static func hex(_ s: String) -> String {
    var h = SHA256()
    Array(s.utf8).withUnsafeBytes { h.update($0) }
    return h.finalizeHex()
  }

  @Test("FIPS 180-4 test vectors")
  func vectors() {
    #expect(Self.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(Self.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      Self.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  @Test("a file hashed in chunks equals one update")
  func file() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-sha-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: url) }
    let bytes = (0..<(5 << 20) + 13).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try Data(bytes).write(to: url)
    var one = SHA256()
    bytes.withUnsafeBytes { one.update($0) }
    let expected = one.finalizeHex()
    // `hex(ofFile:)` goes through libcrypto where it loads; the portable path is the reference.
    #expect(try SHA256.hex(ofFile: url.path) == expected)
    #expect(try SHA256.portableHex(ofFile: url.path) == expected)
    #expect(throws: CheckpointError.self) { try SHA256.hex(ofFile: "/nonexistent/x.ckpt") }
    // An empty file, and a one-byte one.
    try Data().write(to: url)
    #expect(try SHA256.hex(ofFile: url.path) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    try Data("abc".utf8).write(to: url)
    #expect(try SHA256.hex(ofFile: url.path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  @Test("libcrypto's digest, where it loads, equals the FIPS vector")
  func systemDigest() {
    var digest = [UInt8](repeating: 0, count: 32)
    let status = Array("abc".utf8).withUnsafeBytes { geocam_sha256($0.baseAddress, $0.count, &digest) }
    if status == 0 {
      #expect(digest.map { String(format: "%02x", $0) }.joined() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    } else {
      #expect(status == -1)
    }
  }
}
