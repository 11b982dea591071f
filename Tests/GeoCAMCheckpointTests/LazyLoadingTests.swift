import Foundation
import Testing

@testable import GeoCAMCheckpoint

#if canImport(Glibc)
  import Glibc
#endif

@Suite("loading is lazy", .serialized)
struct LazyLoadingTests {
  /// Resident bytes of this process's mappings of `path`, from /proc/self/smaps (Linux). Exact
  /// for the checkpoint's map, so tests running in parallel cannot disturb it.
  private func mappedResidentBytes(_ path: String) -> Int? {
    // Read to the end: String(contentsOfFile:) stops early on /proc files, which report size 0.
    guard let data = FileHandle(forReadingAtPath: "/proc/self/smaps")?.readDataToEndOfFile() else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    var total = 0
    var inside = false
    for line in text.split(separator: "\n") {
      if let first = line.first, first.isHexDigit, line.contains("-") {
        inside = line.hasSuffix(path)
      } else if inside, line.hasPrefix("Rss:") {
        total += (Int(line.split(separator: " ")[1]) ?? 0) * 1024
      }
    }
    return total
  }

  /// Resident set size of this process, from /proc/self/statm (Linux).
  private func residentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
  }

  @Test("a 256 MB tensor is not touched when loading and materialising a small one")
  func largeTensorStaysInTheFile() throws {
    // A sparse safetensors file: 64 Mi float32 elements of holes plus a 4-element tensor.
    let big = 64 << 20
    let header = """
      {"big":{"dtype":"F32","shape":[\(big)],"data_offsets":[0,\(big * 4)]},\
      "small":{"dtype":"F32","shape":[4],"data_offsets":[\(big * 4),\(big * 4 + 16)]}}
      """
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-lazy-\(UUID()).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(FileManager.default.createFile(atPath: url.path, contents: nil))
    let handle = try FileHandle(forWritingTo: url)
    var length = UInt64(headerBytes.count).littleEndian
    try handle.write(contentsOf: Data(bytes: &length, count: 8) + Data(headerBytes))
    try handle.seek(toOffset: UInt64(8 + headerBytes.count + big * 4))
    let small: [Float] = [1, 2, 3, 4]
    try handle.write(contentsOf: small.withUnsafeBytes { Data($0) })
    try handle.close()

    let before = try #require(residentBytes())
    let ckpt = try CheckpointLoader.load(path: url.path)
    #expect(ckpt.stateDict["big"]?.count == big)
    #expect(try ckpt.stateDict["small"]?.floats() == small)
    let mapped = try #require(mappedResidentBytes(url.path))
    let after = try #require(residentBytes())
    // Touching the big tensor would map 256 MB; copying it would add as much to the process.
    #expect(mapped < 4 << 20, "\(mapped) bytes of the file are mapped in")
    #expect(after - before < 64 << 20, "resident memory grew by \(after - before) bytes")
    withExtendedLifetime(ckpt) {}
  }

  @Test("a 128 MB torch zip of 1024 storages: loading maps no tensor data in")
  func torchZipStaysInTheFile() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-lazy-\(UUID()).pth")
    defer { try? FileManager.default.removeItem(at: url) }
    let numel = 1 << 15  // 128 KiB of float32 per storage
    try TinyTorchZipWriter.write(to: url, storages: 1024, numel: numel)
    let ckpt = try CheckpointLoader.load(path: url.path)
    #expect(ckpt.stateDict.count == 1024)
    #expect(try ckpt.stateDict["w7"]?.floats() == [Float](repeating: Float(bitPattern: 0x3F3F_3F3F), count: numel))
    // One 128 KiB tensor was read. Reading the 1025 local headers through the map instead of
    // pread would pull in ~64 MiB around them (fault-around); copying storages, all 128 MiB.
    let mapped = try #require(mappedResidentBytes(url.path))
    #expect(mapped < 8 << 20, "\(mapped) bytes of the file are mapped in")
    withExtendedLifetime(ckpt) {}
  }

  /// Opt-in check on a real, large checkpoint: `GEOCAM_BIG_CKPT=/path/model.ckpt swift test …`.
  /// Loads it, reports time and memory, then materialises every model tensor.
  @Test(
    "a large real checkpoint loads in well under a second and materialises fully",
    .enabled(if: ProcessInfo.processInfo.environment["GEOCAM_BIG_CKPT"] != nil))
  func largeRealCheckpoint() throws {
    let path = try #require(ProcessInfo.processInfo.environment["GEOCAM_BIG_CKPT"])
    let clock = ContinuousClock()
    let before = residentBytes() ?? 0
    var loaded: LoadedCheckpoint?
    let loadTime = try clock.measure { loaded = try CheckpointLoader.load(path: path) }
    let ckpt = try #require(loaded)
    let afterLoad = residentBytes() ?? 0
    let mapped = mappedResidentBytes(path) ?? 0
    var total = 0.0
    let materialiseTime = try clock.measure {
      for entry in ckpt.stateDict.entries { total += try entry.tensor.floats().reduce(0.0) { $0 + Double($1) } }
    }
    print(
      "GEOCAM_BIG_CKPT \(ckpt.fileSize) bytes, \(ckpt.stateDict.count) tensors, load \(loadTime) (+\((afterLoad - before) >> 20) MiB, \(mapped >> 20) MiB of the file mapped in), materialise \(materialiseTime), sum \(total)"
    )
    #expect(loadTime < .seconds(5))
    #expect(afterLoad - before < 64 << 20)
    #expect(mapped < 16 << 20)
  }
}

/// Writes a minimal stored zip in torch's layout (`lazy/data.pkl`, `lazy/data/<i>`). Storage bytes
/// are real (page-cache backed, like a freshly saved checkpoint): holes would not show the kernel
/// mapping neighbouring data in around every small read.
enum TinyTorchZipWriter {
  static func write(to url: URL, storages: Int, numel: Int) throws {
    func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
    func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    func text(_ s: String) -> [UInt8] { Array(s.utf8) }
    func unicode(_ s: String) -> [UInt8] { [0x58] + le32(s.utf8.count) + text(s) }
    var pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x28]
    for i in 0..<storages {
      pickle += unicode("w\(i)") + text("ctorch._utils\n_rebuild_tensor_v2\n(")
      pickle += [0x28] + unicode("storage") + text("ctorch\nFloatStorage\n") + unicode("\(i)") + unicode("cpu")
      pickle += [0x4A] + le32(numel) + [0x74, 0x51]  // BININT numel, TUPLE, BINPERSID
      pickle += [0x4B, 0x00, 0x4A] + le32(numel) + [0x85, 0x4B, 0x01, 0x85, 0x89]
      pickle += text("ccollections\nOrderedDict\n)R") + [0x74, 0x52]
    }
    pickle += [0x75, 0x2E]

    FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    var offset = 0
    var central: [UInt8] = []
    func entry(_ name: String, size: Int, data: [UInt8]?) throws {
      let header = le32(0x0403_4B50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
        + le32(size) + le32(size) + le16(name.utf8.count) + le16(0) + text(name)
      try handle.seek(toOffset: UInt64(offset))
      try handle.write(contentsOf: Data(header))
      if let data { try handle.write(contentsOf: Data(data)) }
      central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
        + le32(size) + le32(size) + le16(name.utf8.count) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0)
        + le32(offset) + text(name)
      offset += header.count + size
    }
    try entry("lazy/data.pkl", size: pickle.count, data: pickle)
    let payload = [UInt8](repeating: 0x3F, count: numel * 4)  // 0x3F3F3F3F ≈ 0.747 as float32
    for i in 0..<storages { try entry("lazy/data/\(i)", size: numel * 4, data: payload) }
    let eocd = le32(0x0605_4B50) + le16(0) + le16(0) + le16(storages + 1) + le16(storages + 1)
      + le32(central.count) + le32(offset) + le16(0)
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data(central + eocd))
  }
}
