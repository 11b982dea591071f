/// A tensor in a checkpoint: a lazy strided view into a ``CheckpointStorage``.
///
/// Shape, strides and storage offset are in **elements**, exactly as torch stores them. The bytes
/// stay in the memory-mapped file until ``floats()`` or ``int64s()`` copies them out in row-major
/// order. Construction validates that the view fits its storage, so a tensor that exists can always
/// be materialised.
public struct CheckpointTensor: Sendable, CustomStringConvertible {
  /// Element type.
  public let dtype: CheckpointDType
  /// Sizes per dimension (empty for a 0-d tensor).
  public let shape: [Int]
  /// Element strides per dimension.
  public let strides: [Int]
  /// Offset of element 0 in the storage, in elements of `dtype`.
  public let storageOffset: Int
  /// The storage this view reads from; shared between views of the same saved storage.
  public let storage: CheckpointStorage
  /// Number of elements (1 for a 0-d tensor).
  public let count: Int

  /// Makes a view and checks that it fits in `storage`.
  /// - Throws: ``CheckpointError/invalidTensor(file:reason:)`` for negative or overflowing sizes,
  ///   ``CheckpointError/storageTooShort(file:record:holds:needs:what:)`` when the view reaches past
  ///   the storage's end.
  public init(
    dtype: CheckpointDType, shape: [Int], strides: [Int], storageOffset: Int, storage: CheckpointStorage
  ) throws {
    let file = storage.file.name
    guard shape.count == strides.count else {
      throw CheckpointError.invalidTensor(
        file: file, reason: "shape \(shape) and strides \(strides) have different ranks (\(storage.record))")
    }
    guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), storageOffset >= 0 else {
      throw CheckpointError.invalidTensor(
        file: file,
        reason: "negative size, stride or offset (shape \(shape), strides \(strides), offset \(storageOffset))")
    }
    // Elements needed: offset + 1 + Σ (size-1)·stride, all overflow-checked (the numbers come from
    // the file). An empty tensor needs nothing.
    var count = 1
    var extent = 0
    var overflow = false
    for (size, stride) in zip(shape, strides) {
      let c = count.multipliedReportingOverflow(by: size)
      count = c.partialValue
      overflow = overflow || c.overflow
      if size > 0 {
        let span = (size - 1).multipliedReportingOverflow(by: stride)
        let sum = extent.addingReportingOverflow(span.partialValue)
        extent = sum.partialValue
        overflow = overflow || span.overflow || sum.overflow
      }
    }
    var neededBytes = 0
    if count > 0 {
      let elements = storageOffset.addingReportingOverflow(extent)
      let plusOne = elements.partialValue.addingReportingOverflow(1)
      let bytes = plusOne.partialValue.multipliedReportingOverflow(by: dtype.elementSize)
      overflow = overflow || elements.overflow || plusOne.overflow || bytes.overflow
      neededBytes = bytes.partialValue
    }
    guard !overflow else {
      throw CheckpointError.invalidTensor(
        file: file, reason: "shape \(shape) with strides \(strides) overflows (\(storage.record))")
    }
    guard neededBytes <= storage.byteCount else {
      throw CheckpointError.storageTooShort(
        file: file, record: storage.record, holds: storage.byteCount, needs: neededBytes, what: "the view")
    }
    self.dtype = dtype
    self.shape = shape
    self.strides = strides
    self.storageOffset = storageOffset
    self.storage = storage
    self.count = count
  }

  /// Row-major strides for `shape` (what a contiguous tensor has).
  public static func contiguousStrides(for shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var running = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[d] = running
      running &*= max(shape[d], 1)
    }
    return strides
  }

  /// Whether the elements are laid out row-major without gaps (torch's `is_contiguous()`:
  /// dimensions of size 1 may have any stride).
  public var isContiguous: Bool {
    if count == 0 { return true }
    var expected = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
      if strides[d] != expected { return false }
      expected *= shape[d]
    }
    return true
  }

  /// Bytes the data occupy once materialised (`count × elementSize`).
  public var byteCount: Int { count * dtype.elementSize }

  /// Whether both tensors are views of the same storage object.
  public func sharesStorage(with other: CheckpointTensor) -> Bool { storage === other.storage }

  /// `float32[4, 3] (data/2, offset 0)`, with strides when not contiguous.
  public var description: String {
    var text = "\(dtype)\(shape)"
    if !isContiguous { text += " strides \(strides)" }
    return text + " (\(storage.record), offset \(storageOffset))"
  }

  /// A contiguous row-major Float32 copy, converting any dtype. float16 and bfloat16 convert
  /// bit-exactly (NaN payloads kept), float64 and integers round to nearest, bool gives 0/1.
  public func floats() throws -> [Float] {
    try checkStillFits()
    if count == 0 { return [] }
    var out = [Float](repeating: 0, count: count)
    storage.withBytes { bytes in
      out.withUnsafeMutableBufferPointer { dst in
        guard let src = bytes.baseAddress, let dstBase = dst.baseAddress else { return }
        switch dtype {
        case .float32:
          if isContiguous {
            // Fast path: one memcpy out of the map.
            UnsafeMutableRawPointer(dstBase).copyMemory(
              from: src + storageOffset * 4, byteCount: count * 4)
          } else {
            gather(src, into: dstBase) { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 4, as: UInt32.self))) }
          }
        case .float16:
          #if arch(x86_64) || arch(arm64)
            if isContiguous {
              // Fast path: the hardware conversion (F16C here) in one vectorised pass, about 20×
              // faster on a float16 checkpoint's 25 M weights. It is exact for normal values, but
              // a thread with denormals-are-zero on (as GeoCAM's workers run) reads subnormal
              // halves as 0, and signalling NaNs come out quieted: a second pass redoes those
              // (exponent 0 or 31) bit by bit, so the result is `halfToFloat`'s on every pattern.
              let base = src + storageOffset * 2
              func half(_ i: Int) -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
              for i in 0..<count { dstBase[i] = Float(Float16(bitPattern: half(i))) }
              for i in 0..<count {
                let h = half(i)
                let exponent = h & 0x7C00
                if exponent == 0 || exponent == 0x7C00 { dstBase[i] = Self.halfToFloat(h) }
              }
              break
            }
          #endif
          gather(src, into: dstBase) { Self.halfToFloat(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) }
        case .bfloat16:
          gather(src, into: dstBase) { Float(bitPattern: UInt32(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self))) << 16) }
        case .float64:
          gather(src, into: dstBase) { Float(Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 8, as: UInt64.self)))) }
        case .int64:
          gather(src, into: dstBase) { Float(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 8, as: Int64.self))) }
        case .int32:
          gather(src, into: dstBase) { Float(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 4, as: Int32.self))) }
        case .int16:
          gather(src, into: dstBase) { Float(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: Int16.self))) }
        case .int8:
          gather(src, into: dstBase) { Float($0.load(fromByteOffset: $1, as: Int8.self)) }
        case .uint8:
          gather(src, into: dstBase) { Float($0.load(fromByteOffset: $1, as: UInt8.self)) }
        case .bool:
          gather(src, into: dstBase) { $0.load(fromByteOffset: $1, as: UInt8.self) != 0 ? 1 : 0 }
        }
      }
    }
    return out
  }

  /// A contiguous row-major Int64 copy of an integer or bool tensor (exact).
  /// - Throws: ``CheckpointError/unsupportedDType(file:dtype:context:)`` for floating-point tensors.
  public func int64s() throws -> [Int64] {
    guard !dtype.isFloatingPoint else {
      throw CheckpointError.unsupportedDType(
        file: storage.file.name, dtype: dtype.rawValue,
        context: "\(storage.record) is floating point; use floats() instead of int64s()")
    }
    try checkStillFits()
    if count == 0 { return [] }
    var out = [Int64](repeating: 0, count: count)
    storage.withBytes { bytes in
      out.withUnsafeMutableBufferPointer { dst in
        guard let src = bytes.baseAddress, let dstBase = dst.baseAddress else { return }
        switch dtype {
        case .int64:
          gather(src, into: dstBase) { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 8, as: Int64.self)) }
        case .int32:
          gather(src, into: dstBase) { Int64(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 4, as: Int32.self))) }
        case .int16:
          gather(src, into: dstBase) { Int64(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: Int16.self))) }
        case .int8:
          gather(src, into: dstBase) { Int64($0.load(fromByteOffset: $1, as: Int8.self)) }
        case .uint8:
          gather(src, into: dstBase) { Int64($0.load(fromByteOffset: $1, as: UInt8.self)) }
        case .bool:
          gather(src, into: dstBase) { $0.load(fromByteOffset: $1, as: UInt8.self) != 0 ? 1 : 0 }
        case .float32, .float16, .bfloat16, .float64:
          break  // excluded above
        }
      }
    }
    return out
  }

  /// Re-checks the bounds (cheap) so that materialising can never read outside the storage, even
  /// if a tensor was assembled some other way in the future.
  private func checkStillFits() throws {
    _ = try CheckpointTensor(
      dtype: dtype, shape: shape, strides: strides, storageOffset: storageOffset, storage: storage)
  }

  /// Visits every element in row-major order; `load(base, elementIndex)` reads one element.
  /// The innermost dimension is a plain strided loop; outer indices advance like an odometer.
  @inline(__always)
  private func gather<T>(
    _ base: UnsafeRawPointer, into dst: UnsafeMutablePointer<T>, _ load: (UnsafeRawPointer, Int) -> T
  ) {
    let rank = shape.count
    if rank == 0 {
      dst[0] = load(base, storageOffset)
      return
    }
    let inner = shape[rank - 1]
    let innerStride = strides[rank - 1]
    guard inner > 0 else { return }
    let outer = count / inner
    var index = [Int](repeating: 0, count: rank)
    var rowStart = storageOffset
    var o = 0
    for row in 0..<outer {
      var e = rowStart
      for j in 0..<inner {
        dst[o + j] = load(base, e)
        e += innerStride
      }
      o += inner
      if row == outer - 1 { break }
      var d = rank - 2
      while d >= 0 {
        index[d] += 1
        rowStart += strides[d]
        if index[d] < shape[d] { break }
        rowStart -= strides[d] * shape[d]
        index[d] = 0
        d -= 1
      }
    }
  }

  /// IEEE binary16 → binary32, exact for every value (subnormals, ±0, ±inf, NaN payloads).
  @inline(__always)
  static func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0 {
      // ±0 or subnormal: mantissa · 2⁻²⁴ is exact in Float.
      let magnitude = Float(mantissa) * 0x1p-24
      return Float(bitPattern: sign | magnitude.bitPattern)
    }
    if exponent == 0x1F {
      return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
  }
}
