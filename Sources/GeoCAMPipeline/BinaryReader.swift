import Foundation

/// Reads what `BinaryWriter` wrote; throws (naming the file) on truncated or corrupt input.
struct BinaryReader {
  private let data: Data
  private var offset: Int
  private let subject: String

  init(_ data: Data, subject: String) {
    self.data = data
    self.offset = data.startIndex
    self.subject = subject
  }

  private mutating func take(_ n: Int) throws -> Data {
    guard n >= 0, offset + n <= data.endIndex else {
      throw PipelineError(subject, "file is truncated or corrupt")
    }
    defer { offset += n }
    return data[offset..<(offset + n)]
  }

  mutating func int() throws -> Int {
    let d = try take(8)
    var v: Int64 = 0
    withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: d) }
    return Int(Int64(littleEndian: v))
  }

  mutating func count(max: Int) throws -> Int {
    let n = try int()
    guard (0...max).contains(n) else { throw PipelineError(subject, "file is corrupt (count \(n))") }
    return n
  }

  mutating func string() throws -> String {
    let n = try count(max: 1 << 20)
    return String(decoding: try take(n), as: UTF8.self)
  }

  mutating func floats() throws -> [Float] {
    let n = try count(max: 1 << 32)
    let d = try take(n * 4)
    var out = [Float](repeating: 0, count: n)
    out.withUnsafeMutableBytes { $0.copyBytes(from: d) }
    return out
  }

  mutating func bytes() throws -> [UInt8] {
    let n = try count(max: 1 << 32)
    return [UInt8](try take(n))
  }

  var atEnd: Bool { offset == data.endIndex }
}
