import Foundation
import GeoCAMTensor
import Testing

/// NPY seeds and fuzzer-saved inputs: read or throw, never trap; shapes that overflow are refused.
@Suite struct NPYFuzzRegressionTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fuzz")

  static func npy(shape: String) -> Data {
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(shape)), }"
    while (header.count + 11) % 16 != 0 { header += " " }
    header += "\n"
    var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)])
    d.append(contentsOf: Array(header.utf8))
    d.append(contentsOf: [UInt8](repeating: 0, count: 16))
    return d
  }

  @Test func corpusRegressionsAndHostileShapes() throws {
    let dirs = ["corpus/npy", "regressions/npy"].map { Self.root.appendingPathComponent($0) }
    let files = dirs.flatMap { (try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
    #expect(files.count >= 3)
    var read = 0
    for f in files where (try? NPYFile.read(f)) != nil { read += 1 }
    #expect(read >= 2)
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(getpid()).npy")
    defer { try? FileManager.default.removeItem(at: tmp) }
    for shape in ["4611686018427387904, 4", "-1, 4", "9223372036854775807, 9223372036854775807", "100"] {
      try Self.npy(shape: shape).write(to: tmp)
      #expect(throws: NPYFile.FormatError.self) { _ = try NPYFile.read(tmp) }
    }
    try Self.npy(shape: "2, 2").write(to: tmp)
    #expect(try NPYFile.read(tmp).shape == [2, 2])
  }
}
