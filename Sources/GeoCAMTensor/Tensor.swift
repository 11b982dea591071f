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
  /// Whether the storage is mapped pages (recyclable), not malloc's.
  private let mapped: Bool

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
      mapped = true
      if zeroed { pointer.update(repeating: 0, count: capacity) }
    } else if let pages = TensorBuffer.map(floats: capacity) {
      // Fresh anonymous pages read as zeros.
      BufferRecycler.shared.mapped(count: capacity)
      pointer = pages
      mapped = true
    } else {
      mapped = false
      let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Float>.stride, alignment: 64)
      pointer = raw.bindMemory(to: Float.self, capacity: capacity)
      pointer.initialize(repeating: 0, count: capacity)
    }
  }

  deinit {
    let capacity = Swift.max(count, 1)
    if !mapped {
      UnsafeMutableRawPointer(pointer).deallocate()
    } else if !BufferRecycler.shared.give(pointer, count: capacity) {
      munmap(UnsafeMutableRawPointer(pointer), capacity * MemoryLayout<Float>.stride)
    }
  }
}

extension TensorBuffer {
  /// Storage the recycler may keep is mapped straight from the kernel and unmapped when freed
  /// past the recycler's cap: through malloc, freed feature maps stayed in its arenas (two
  /// tiles in flight left 0.7 GB more resident than the tensors alive at the peak).
  static func map(floats: Int) -> UnsafeMutablePointer<Float>? {
    guard BufferRecycler.isRecyclable(floats: floats) else { return nil }
    let raw = mmap(nil, floats * MemoryLayout<Float>.stride, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let raw, raw != MAP_FAILED else { return nil }
    // Large maps on huge pages where the kernel offers them (THP "madvise"): one fault per
    // 2 MiB instead of per 4 KiB when a feature map is touched for the first time.
    let bytes = floats * MemoryLayout<Float>.stride
    if bytes >= 4 << 20 { _ = madvise(raw, bytes, MADV_HUGEPAGE) }
    return raw.bindMemory(to: Float.self, capacity: floats)
  }
}

/// Keeps freed tensor storage (mapped pages) of at least 64 KiB, by exact size, for the next
/// allocation of the same size (the next tile's same layer), within a cap on the footprint:
/// large buffers in use plus those kept.
///
/// Every tile allocates the same sequence of feature maps; reusing them saves the page faults
/// and zero fill of fresh memory (about a tenth of a forward pass on this model). Capping the
/// footprint rather than what is kept lets the recycler keep more while little is in use, and
/// keeps peak memory bounded with two tiles in flight: a fresh buffer that would pass the cap
/// first unmaps kept ones, largest first.
public final class BufferRecycler: Sendable {
  /// The process-wide recycler.
  public static let shared = BufferRecycler()

  private struct State {
    var cap: Int = {
      // GEOCAM_RECYCLE_MB overrides the default cap (0 turns recycling off).
      if let raw = getenv("GEOCAM_RECYCLE_MB"), let mb = Int(String(cString: raw)), mb >= 0 { return mb << 20 }
      return BufferRecycler.defaultCap
    }()
    /// Bytes of recyclable buffers in use.
    var live = 0
    /// Bytes kept for reuse.
    var held = 0
    // Addresses by float count; plain integers keep the state Sendable.
    var free: [Int: [UInt]] = [:]
  }

  /// 896 MiB: one explained 320×320 tile of FPN(resnext50_32x4d) peaks at about 0.5 GB of
  /// large buffers (weights included) and two in flight at about 0.8 GB. On the demo scene
  /// (two tiles in flight) 896 MiB ran as fast as 1 GiB and peaked 0.1 GiB lower, at 1.29 GiB.
  static let defaultCap = 896 << 20

  private let state = Mutex(State())
  private static let minimumFloats = 16 << 10

  /// Cap in bytes on recyclable storage in use plus kept (default 896 MiB, or `GEOCAM_RECYCLE_MB`;
  /// 0 turns recycling off). Storage in use beyond it is never refused, only nothing is kept.
  public var budget: Int {
    get { state.withLock { $0.cap } }
    set {
      let evicted = state.withLock { s in
        s.cap = Swift.max(0, newValue)
        return Self.evict(&s, toFit: 0)
      }
      Self.unmap(evicted)
    }
  }

  /// Takes kept buffers off the lists, largest first, until `bytes` more fit under the cap.
  private static func evict(_ s: inout State, toFit bytes: Int) -> [(count: Int, address: UInt)] {
    var out: [(count: Int, address: UInt)] = []
    while s.live + s.held + bytes > s.cap, let largest = s.free.keys.max(), let a = s.free[largest]?.popLast() {
      if s.free[largest]?.isEmpty == true { s.free[largest] = nil }
      s.held -= largest * 4
      out.append((largest, a))
    }
    return out
  }

  private static func unmap(_ buffers: [(count: Int, address: UInt)]) {
    for (count, address) in buffers {
      UnsafeMutableRawPointer(bitPattern: address).map { _ = munmap($0, count * MemoryLayout<Float>.stride) }
    }
  }

  /// Whether buffers of `floats` floats are recycled (and mapped directly).
  static func isRecyclable(floats: Int) -> Bool { floats >= minimumFloats }

  /// A kept buffer of exactly `count` floats, counted in use; nil when there is none (the caller
  /// then maps a fresh one and reports it with `mapped`).
  func take(count: Int) -> UnsafeMutablePointer<Float>? {
    guard count >= Self.minimumFloats else { return nil }
    let address: UInt? = state.withLock { s in
      guard let a = s.free[count]?.popLast() else { return nil }
      if s.free[count]?.isEmpty == true { s.free[count] = nil }
      s.held -= count * 4
      s.live += count * 4
      return a
    }
    return address.flatMap { UnsafeMutablePointer(bitPattern: $0) }
  }

  /// Counts a freshly mapped buffer in use, first unmapping kept buffers (largest first) that
  /// would put the footprint over the cap.
  func mapped(count: Int) {
    let bytes = count * 4
    let evicted = state.withLock { s in
      let out = Self.evict(&s, toFit: bytes)
      s.live += bytes
      return out
    }
    Self.unmap(evicted)
  }

  /// Takes back a buffer leaving use; false when it is not kept (the caller unmaps it).
  func give(_ pointer: UnsafeMutablePointer<Float>, count: Int) -> Bool {
    guard count >= Self.minimumFloats else { return false }
    let address = UInt(bitPattern: pointer)
    return state.withLock { s in
      s.live -= count * 4
      // Keeping it leaves the footprint as it was; past the cap (in use above it) nothing is kept.
      guard s.live + s.held + count * 4 <= s.cap else { return false }
      s.free[count, default: []].append(address)
      s.held += count * 4
      return true
    }
  }

  /// Frees every kept buffer.
  public func trim() {
    let all: [(count: Int, address: UInt)] = state.withLock { s in
      let list = s.free.flatMap { entry in entry.value.map { (entry.key, $0) } }
      s.free.removeAll()
      s.held = 0
      return list
    }
    Self.unmap(all)
  }
}

