import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A dense Float32 feature map stored channel-major: memory order is `[channels][batch][height][width]`.
///
/// Channel-major with the batch inside lets one GEMM serve a whole batch: a convolution's
/// output `[Cout][N·H·W]` is `weight[Cout][Cin·kh·kw] × columns[Cin·kh·kw][N·H·W]`, and its
/// pullback for K cotangent seeds (one per class) is a single `weightᵀ × dY` over `K·H·W`
/// columns. With `batch == 1` the layout equals PyTorch's NCHW.
///
/// Vectors (a classifier's logits, pooled features) are `[C][N][1][1]`.
/// `Tensor` has value semantics for its shape and reference semantics for its storage: ops
/// always write into fresh or explicitly given outputs, never into an input.
public struct Tensor: @unchecked Sendable {
  /// Number of channels (outermost axis).
  public let channels: Int
  /// Batch size: images in a forward pass, cotangent seeds in a backward pass.
  public let batch: Int
  /// Height in pixels.
  public let height: Int
  /// Width in pixels.
  public let width: Int
  /// The storage; shared between copies of this value.
  public let buffer: TensorBuffer

  /// Allocates a zero-filled tensor.
  public init(channels: Int, batch: Int = 1, height: Int = 1, width: Int = 1) {
    precondition(channels >= 0 && batch >= 0 && height >= 0 && width >= 0, "negative tensor extent")
    self.channels = channels
    self.batch = batch
    self.height = height
    self.width = width
    self.buffer = TensorBuffer(count: channels * batch * height * width)
  }

  /// Allocates a tensor whose contents are unspecified, for kernels that overwrite every element.
  public init(uninitializedChannels channels: Int, batch: Int = 1, height: Int = 1, width: Int = 1) {
    precondition(channels >= 0 && batch >= 0 && height >= 0 && width >= 0, "negative tensor extent")
    self.channels = channels
    self.batch = batch
    self.height = height
    self.width = width
    self.buffer = TensorBuffer(count: channels * batch * height * width, zeroed: false)
  }

  /// Wraps existing storage (which must hold exactly `channels·batch·height·width` floats).
  public init(channels: Int, batch: Int, height: Int, width: Int, buffer: TensorBuffer) {
    precondition(buffer.count == channels * batch * height * width, "buffer size mismatch")
    self.channels = channels
    self.batch = batch
    self.height = height
    self.width = width
    self.buffer = buffer
  }

  /// Copies `values` (in `[C][N][H][W]` order) into a new tensor.
  public init(channels: Int, batch: Int = 1, height: Int = 1, width: Int = 1, values: [Float]) {
    self.init(channels: channels, batch: batch, height: height, width: width)
    precondition(values.count == count, "expected \(count) values, got \(values.count)")
    values.withUnsafeBufferPointer { src in
      if let base = src.baseAddress { buffer.pointer.update(from: base, count: count) }
    }
  }

  /// Total number of elements.
  @inlinable public var count: Int { channels * batch * height * width }
  /// Elements per (channel, sample) plane.
  @inlinable public var planeSize: Int { height * width }
  /// The shape as `[C, N, H, W]`.
  public var shape: [Int] { [channels, batch, height, width] }
  /// Raw pointer to the first element.
  @inlinable public var pointer: UnsafeMutablePointer<Float> { buffer.pointer }

  /// The elements in memory order (`[C][N][H][W]`).
  public var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

  /// The elements in PyTorch's NCHW order (equal to `values` when `batch == 1`).
  public var nchwValues: [Float] {
    if batch == 1 { return values }
    var out = [Float](repeating: 0, count: count)
    let plane = planeSize
    for c in 0..<channels {
      for n in 0..<batch {
        for i in 0..<plane { out[(n * channels + c) * plane + i] = pointer[(c * batch + n) * plane + i] }
      }
    }
    return out
  }

  /// Pointer to the plane of channel `c`, sample `n`.
  @inlinable public func plane(_ c: Int, _ n: Int) -> UnsafeMutablePointer<Float> {
    pointer + (c * batch + n) * planeSize
  }

  /// Element access for tests and small glue code (not for hot loops).
  public subscript(c: Int, n: Int, y: Int, x: Int) -> Float {
    get { pointer[((c * batch + n) * height + y) * width + x] }
    nonmutating set { pointer[((c * batch + n) * height + y) * width + x] = newValue }
  }

  /// Builds a channel-major tensor from PyTorch's NCHW order.
  public static func fromNCHW(_ values: [Float], batch: Int, channels: Int, height: Int, width: Int)
    -> Tensor
  {
    let t = Tensor(channels: channels, batch: batch, height: height, width: width)
    let plane = height * width
    values.withUnsafeBufferPointer { src in
      guard let s = src.baseAddress else { return }
      for n in 0..<batch {
        for c in 0..<channels {
          (t.pointer + (c * batch + n) * plane).update(from: s + (n * channels + c) * plane, count: plane)
        }
      }
    }
    return t
  }

  /// Samples `n..<n+length` of every channel, as a new tensor.
  public func samples(_ range: Range<Int>) -> Tensor {
    let out = Tensor(channels: channels, batch: range.count, height: height, width: width)
    let plane = planeSize
    for c in 0..<channels {
      (out.pointer + c * range.count * plane).update(
        from: pointer + (c * batch + range.lowerBound) * plane, count: range.count * plane)
    }
    return out
  }

  /// Channels `range` of every sample, as a new tensor (contiguous copy).
  public func channelSlice(_ range: Range<Int>) -> Tensor {
    let out = Tensor(channels: range.count, batch: batch, height: height, width: width)
    out.pointer.update(from: pointer + range.lowerBound * batch * planeSize, count: out.count)
    return out
  }

  /// The same storage viewed with another shape of equal element count.
  public func reshaped(channels: Int, batch: Int, height: Int, width: Int) -> Tensor {
    Tensor(channels: channels, batch: batch, height: height, width: width, buffer: buffer)
  }

  /// A deep copy.
  public func copy() -> Tensor {
    let out = Tensor(uninitializedChannels: channels, batch: batch, height: height, width: width)
    out.pointer.update(from: pointer, count: count)
    return out
  }

  /// Largest absolute value (0 for an empty tensor).
  public var maxAbs: Float {
    var m: Float = 0
    for i in 0..<count { m = Swift.max(m, Swift.abs(pointer[i])) }
    return m
  }
}

/// 64-byte aligned Float32 storage owned by a tensor.
///
/// Large buffers are recycled (``BufferRecycler``): every tile allocates the same sequence of
/// feature maps, and a fresh multi-megabyte allocation costs a page fault per 4 KiB and a zero
/// fill, about a tenth of a forward pass on this model before recycling.
public final class TensorBuffer: @unchecked Sendable {
  /// First element; valid for `count` floats for the buffer's lifetime.
  public let pointer: UnsafeMutablePointer<Float>
  /// Number of floats.
  public let count: Int

  /// Allocates `count` zeroed floats.
  public convenience init(count: Int) {
    self.init(count: count, zeroed: true)
  }

  /// Allocates `count` floats, zeroed or not: kernels that overwrite every element ask for
  /// uninitialised storage and skip the fill.
  public init(count: Int, zeroed: Bool) {
    self.count = count
    let capacity = Swift.max(count, 1)
    if let recycled = BufferRecycler.shared.take(count: capacity) {
      pointer = recycled
      if zeroed { pointer.update(repeating: 0, count: capacity) }
    } else {
      let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
      pointer = raw.bindMemory(to: Float.self, capacity: capacity)
      pointer.initialize(repeating: 0, count: capacity)
    }
  }

  deinit {
    if !BufferRecycler.shared.give(pointer, count: Swift.max(count, 1)) {
      UnsafeMutableRawPointer(pointer).deallocate()
    }
  }
}

/// Keeps freed tensor storage of at least 64 KiB, by exact size, up to a byte budget, for the
/// next allocation of the same size (the next tile's same layer).
public final class BufferRecycler: Sendable {
  /// The process-wide recycler.
  public static let shared = BufferRecycler()

  private struct State {
    var limit: Int = {
      // GEOCAM_RECYCLE_MB overrides the default budget (0 turns recycling off).
      if let raw = getenv("GEOCAM_RECYCLE_MB"), let mb = Int(String(cString: raw)), mb >= 0 { return mb << 20 }
      return 320 << 20
    }()
    var held = 0
    // Addresses by float count; plain integers keep the state Sendable.
    var free: [Int: [UInt]] = [:]
  }

  private let state = Mutex(State())
  private static let minimumFloats = 16 << 10

  /// Bytes of freed storage kept at most (default 320 MiB, or `GEOCAM_RECYCLE_MB`; 0 turns recycling off).
  public var budget: Int {
    get { state.withLock { $0.limit } }
    set { state.withLock { $0.limit = Swift.max(0, newValue) } }
  }

  func take(count: Int) -> UnsafeMutablePointer<Float>? {
    guard count >= Self.minimumFloats else { return nil }
    let address: UInt? = state.withLock { s in
      guard let a = s.free[count]?.popLast() else { return nil }
      s.held -= count * 4
      return a
    }
    return address.flatMap { UnsafeMutablePointer(bitPattern: $0) }
  }

  func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) -> Bool {
    guard count >= Self.minimumFloats else { return false }
    let address = UInt(bitPattern: pointer)
    return state.withLock { s in
      guard s.held + count * 4 <= s.limit else { return false }
      s.free[count, default: []].append(address)
      s.held += count * 4
      return true
    }
  }

  /// Frees every kept buffer.
  public func trim() {
    let all: [UInt] = state.withLock { s in
      let list = s.free.values.flatMap { $0 }
      s.free.removeAll()
      s.held = 0
      return list
    }
    for a in all { UnsafeMutableRawPointer(bitPattern: a).map { $0.deallocate() } }
  }
}
