import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads and writes NumPy `.npy` files (format 1.0, little-endian float32, C order), the raw
/// output format of `geocam predict/explain --raw-dir` and of the parity fixtures.
public enum NPYFile {
  /// Errors reading a `.npy` file.
  public struct FormatError: Error, CustomStringConvertible {
    /// One line naming the file and the problem.
    public let description: String
  }

  /// Writes `values` with `shape` as `<f4` NPY v1.0.
  public static func write(_ values: [Float], shape: [Int], to url: URL) throws {
    precondition(shape.reduce(1, *) == values.count, "npy shape/count mismatch")
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
    // Pad so that magic(6)+version(2)+len(2)+header is a multiple of 64, ending in '\n'.
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let len = UInt16(header.utf8.count)
    data.append(UInt8(len & 0xFF))
    data.append(UInt8(len >> 8))
    data.append(contentsOf: Array(header.utf8))
    values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: UInt8.self), count: values.count * 4)) }
    try data.write(to: url, options: .atomic)
  }

  /// Reads a `<f4`, `<f8`, `|u1`, `<i2`, `<i4` or `<i8` NPY file into Float32 values and its shape.
  public static func read(_ url: URL) throws -> (values: [Float], shape: [Int]) {
    let name = url.lastPathComponent
    let data = try readWhole(url)
    guard data.count >= 10, data.prefix(6) == Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) else {
      throw FormatError(description: "\(name): not an .npy file")
    }
    let major = data[data.startIndex + 6]
    let headerLength: Int
    let headerStart: Int
    if major == 1 {
      headerLength = Int(data[data.startIndex + 8]) | Int(data[data.startIndex + 9]) << 8
      headerStart = 10
    } else {
      guard data.count >= 12 else { throw FormatError(description: "\(name): truncated header") }
      headerLength = (0..<4).reduce(0) { $0 | Int(data[data.startIndex + 8 + $1]) << (8 * $1) }
      headerStart = 12
    }
    guard data.count >= headerStart + headerLength,
      let header = String(data: data.subdata(in: headerStart..<(headerStart + headerLength)), encoding: .ascii)
    else { throw FormatError(description: "\(name): truncated header") }
    guard !header.contains("'fortran_order': True") else {
      throw FormatError(description: "\(name): Fortran-order arrays are not supported")
    }
    guard let descrRange = header.range(of: "'descr': '"),
      let descrEnd = header[descrRange.upperBound...].firstIndex(of: "'"),
      let shapeStart = header.range(of: "'shape': ("),
      let shapeEnd = header[shapeStart.upperBound...].firstIndex(of: ")")
    else { throw FormatError(description: "\(name): unreadable header \(header)") }
    let descr = String(header[descrRange.upperBound..<descrEnd])
    let shape = header[shapeStart.upperBound..<shapeEnd].split(separator: ",").compactMap {
      Int($0.trimmingCharacters(in: .whitespaces))
    }
    // Dimensions come from the file: negative ones and products that overflow are refused
    // before anything is allocated.
    var count = 1
    for d in shape {
      let (p, overflow) = count.multipliedReportingOverflow(by: d)
      guard d >= 0, !overflow else { throw FormatError(description: "\(name): impossible shape \(shape)") }
      count = p
    }
    let body = headerStart + headerLength
    let itemSize: Int
    switch descr {
    case "<i2": itemSize = 2
    case "<f4", "<i4": itemSize = 4
    case "<f8", "<i8": itemSize = 8
    case "|u1", "|b1": itemSize = 1
    default: throw FormatError(description: "\(name): dtype \(descr) is not supported")
    }
    let (needed, overflow) = count.multipliedReportingOverflow(by: itemSize)
    guard !overflow, data.count - body >= needed else {
      throw FormatError(description: "\(name): holds \(data.count - body) data bytes, shape \(shape) needs more")
    }
    var values = [Float](repeating: 0, count: count)
    data.withUnsafeBytes { raw in
      guard let base = raw.baseAddress else { return }
      let p = base + body
      for i in 0..<count {
        switch descr {
        case "<f4": values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case "<i2": values[i] = Float(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
        case "<i4": values[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case "<f8": values[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case "<i8": values[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        default: values[i] = Float(p.load(fromByteOffset: i, as: UInt8.self))
        }
      }
    }
    return (values, shape)
  }

  /// The file's bytes, read with POSIX calls (Foundation's `Data(contentsOf:)` leaks a page
  /// per empty file on Linux, which the fuzzer's leak checker flags).
  static func readWhole(_ url: URL) throws -> Data {
    let name = url.lastPathComponent
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FormatError(description: "\(name): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
      throw FormatError(description: "\(name): not a regular file")
    }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeMutableBytes { buffer -> Int in
        guard let base = buffer.baseAddress else { return 0 }
        return Glibc.read(fd, base + offset, buffer.count - offset)
      }
      guard n > 0 else { throw FormatError(description: "\(name): read failed after \(offset) bytes") }
      offset += n
    }
    return Data(bytes)
  }
}
