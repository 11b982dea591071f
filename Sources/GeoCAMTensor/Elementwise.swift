/// Element-wise helpers shared by ops and pullbacks.
public enum Elementwise {
  /// `a + b`; a batch-1 operand is broadcast over the other's batch (perturbation methods
  /// replace one branch with a batch of variants while the other stays a single sample).
  public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    if a.batch != b.batch && (a.batch == 1 || b.batch == 1) { return broadcastAdd(a, b) }
    precondition(a.shape == b.shape, "add shape mismatch \(a.shape) vs \(b.shape)")
    Parallel.configure()
    let y = Tensor(uninitializedChannels: a.channels, batch: a.batch, height: a.height, width: a.width)
    let pa = UncheckedSendable(a.pointer), pb = UncheckedSendable(b.pointer), py = UncheckedSendable(y.pointer)
    Parallel.forRanges(a.count, minimumPerChunk: 1 << 14) { r in
      for i in r { py.value[i] = pa.value[i] + pb.value[i] }
    }
    return y
  }

  /// `max(a + b, 0)` for operands of one shape, in one pass.
  public static func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "add shape mismatch \(a.shape) vs \(b.shape)")
    Parallel.configure()
    let y = Tensor(uninitializedChannels: a.channels, batch: a.batch, height: a.height, width: a.width)
    let pa = UncheckedSendable(a.pointer), pb = UncheckedSendable(b.pointer), py = UncheckedSendable(y.pointer)
    Parallel.forRanges(a.count, minimumPerChunk: 1 << 14) { r in
      for i in r { py.value[i] = Swift.max(pa.value[i] + pb.value[i], 0) }
    }
    return y
  }

  /// `a + b` with the batch-1 operand repeated over the other's batch.
  static func broadcastAdd(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (big, one) = a.batch == 1 ? (b, a) : (a, b)
    precondition(big.channels == one.channels && big.planeSize == one.planeSize, "add shape mismatch \(a.shape) vs \(b.shape)")
    let y = Tensor(uninitializedChannels: big.channels, batch: big.batch, height: big.height, width: big.width)
    let plane = big.planeSize, n = big.batch
    let pb = UncheckedSendable(big.pointer), po = UncheckedSendable(one.pointer), py = UncheckedSendable(y.pointer)
    Parallel.forRanges(big.channels * n) { r in
      for cn in r {
        let c = cn / n
        let src = pb.value + cn * plane, add = po.value + c * plane, dst = py.value + cn * plane
        for i in 0..<plane { dst[i] = src[i] + add[i] }
      }
    }
    return y
  }

  /// Sums a tensor over its batch (the adjoint of broadcasting a batch-1 tensor).
  public static func sumOverBatch(_ x: Tensor) -> Tensor {
    let y = Tensor(channels: x.channels, batch: 1, height: x.height, width: x.width)
    let plane = x.planeSize
    for c in 0..<x.channels {
      let dst = y.pointer + c * plane
      for n in 0..<x.batch {
        let src = x.pointer + (c * x.batch + n) * plane
        for i in 0..<plane { dst[i] += src[i] }
      }
    }
    return y
  }

  /// `a += b` in place (same shapes); used to accumulate gradients.
  public static func accumulate(_ a: Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "accumulate shape mismatch \(a.shape) vs \(b.shape)")
    Parallel.configure()
    let pa = UncheckedSendable(a.pointer), pb = UncheckedSendable(b.pointer)
    Parallel.forRanges(a.count, minimumPerChunk: 1 << 14) { r in
      for i in r { pa.value[i] += pb.value[i] }
    }
  }

  /// `x · s` as a new tensor.
  public static func scaled(_ x: Tensor, by s: Float) -> Tensor {
    let y = x.copy()
    for i in 0..<y.count { y.pointer[i] *= s }
    return y
  }
}
