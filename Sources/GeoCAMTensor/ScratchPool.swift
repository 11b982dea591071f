import Synchronization

/// Grow-only scratch buffers (im2col columns, packed operands) reused across calls, so the
/// per-layer hot path allocates nothing once the largest layer has been seen.
public final class ScratchPool: Sendable {
  /// The process-wide pool.
  public static let shared = ScratchPool()

  private let free = Mutex<[TensorBuffer]>([])

  /// Lends a buffer of at least `count` floats to `body`; its contents are unspecified.
  public func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    let buffer = take(count)
    defer { give(buffer) }
    return try body(buffer.pointer)
  }

  private func take(_ count: Int) -> TensorBuffer {
    let found: TensorBuffer? = free.withLock { list in
      // Best fit: the smallest buffer that is large enough.
      var best: Int? = nil
      for (i, b) in list.enumerated() where b.count >= count {
        if let current = best, list[current].count <= b.count { continue }
        best = i
      }
      if let i = best { return list.remove(at: i) }
      // Drop the largest too-small buffer so the pool does not keep stale sizes.
      if let i = list.indices.max(by: { list[$0].count < list[$1].count }) { list.remove(at: i) }
      return nil
    }
    return found ?? TensorBuffer(count: count, zeroed: false)
  }

  private func give(_ buffer: TensorBuffer) {
    free.withLock { $0.append(buffer) }
  }

  /// Releases every pooled buffer (e.g. after a large batch).
  public func trim() { free.withLock { $0.removeAll() } }
}
