/// Element-wise helpers shared by ops and pullbacks.
public enum Elementwise {
  /// `a + b` (same shapes).
  public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "add shape mismatch \(a.shape) vs \(b.shape)")
    Parallel.configure()
    let y = Tensor(channels: a.channels, batch: a.batch, height: a.height, width: a.width)
    let pa = UncheckedSendable(a.pointer), pb = UncheckedSendable(b.pointer), py = UncheckedSendable(y.pointer)
    Parallel.forRanges(a.count, minimumPerChunk: 1 << 14) { r in
      for i in r { py.value[i] = pa.value[i] + pb.value[i] }
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
