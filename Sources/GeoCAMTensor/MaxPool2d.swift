/// Max pooling with padding (ResNet's stem uses 3×3, stride 2, padding 1).
public struct MaxPool2d: Sendable {
  /// Window size.
  public let kernel: Int
  /// Step between windows.
  public let stride: Int
  /// Implicit −∞ padding on each side.
  public let padding: Int

  /// Creates the pooling op.
  public init(kernel: Int, stride: Int, padding: Int) {
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
  }

  /// Flat input indices (within each plane) of every output's maximum, for the pullback.
  public struct Indices: Sendable {
    /// `[C][N][oh][ow]` plane offsets.
    public let values: [Int32]
    /// Input plane size the indices point into.
    public let inputHeight: Int, inputWidth: Int
  }

  /// Output extent for an input extent.
  public func outputSize(_ n: Int) -> Int { (n + 2 * padding - kernel) / stride + 1 }

  /// Pools `x`; ties keep the first maximum in scan order, NaN wins, as ATen does.
  public func forward(_ x: Tensor) -> (output: Tensor, indices: Indices) {
    Parallel.configure()
    let oh = outputSize(x.height), ow = outputSize(x.width)
    let y = Tensor(uninitializedChannels: x.channels, batch: x.batch, height: oh, width: ow)
    var indices = [Int32](repeating: 0, count: y.count)
    let h = x.height, w = x.width, k = kernel, s = stride, p = padding
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    indices.withUnsafeMutableBufferPointer { ib in
      guard let base = ib.baseAddress else { return }
      let ix = UncheckedSendable(base)
      Parallel.forRanges(x.channels * x.batch) { r in
        for plane in r {
          let inp = src.value + plane * h * w
          let out = dst.value + plane * oh * ow
          let idx = ix.value + plane * oh * ow
          for oy in 0..<oh {
            let y0 = Swift.max(oy * s - p, 0), y1 = Swift.min(oy * s - p + k, h)
            for ox in 0..<ow {
              let x0 = Swift.max(ox * s - p, 0), x1 = Swift.min(ox * s - p + k, w)
              var best = -Float.infinity
              var bestIndex = y0 * w + x0
              for yy in y0..<y1 {
                for xx in x0..<x1 {
                  let v = inp[yy * w + xx]
                  if v > best || v.isNaN { best = v; bestIndex = yy * w + xx }
                }
              }
              out[oy * ow + ox] = best
              idx[oy * ow + ox] = Int32(bestIndex)
            }
          }
        }
      }
    }
    return (y, Indices(values: indices, inputHeight: h, inputWidth: w))
  }

  /// The pooled values alone (inference: no pullback, so no indices): each output row is the
  /// element-wise maximum of its window's input rows, then a maximum along x. NaN wins, as in
  /// `forward`, so the values are the same.
  public func forwardValues(_ x: Tensor) -> Tensor {
    Parallel.configure()
    let oh = outputSize(x.height), ow = outputSize(x.width)
    let y = Tensor(uninitializedChannels: x.channels, batch: x.batch, height: oh, width: ow)
    let h = x.height, w = x.width, k = kernel, s = stride, p = padding
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    @inline(__always) func larger(_ a: Float, _ b: Float) -> Float { (b > a || b.isNaN) ? b : a }
    Parallel.forRanges(x.channels * x.batch) { r in
      let rowMax = UnsafeMutablePointer<Float>.allocate(capacity: w)
      defer { rowMax.deallocate() }
      for plane in r {
        let inp = src.value + plane * h * w, out = dst.value + plane * oh * ow
        for oy in 0..<oh {
          let y0 = Swift.max(oy * s - p, 0), y1 = Swift.min(oy * s - p + k, h)
          rowMax.update(from: inp + y0 * w, count: w)
          for yy in (y0 + 1)..<Swift.max(y1, y0 + 1) {
            let line = inp + yy * w
            for i in 0..<w { rowMax[i] = larger(rowMax[i], line[i]) }
          }
          let o = out + oy * ow
          for ox in 0..<ow {
            let x0 = Swift.max(ox * s - p, 0), x1 = Swift.min(ox * s - p + k, w)
            var best = -Float.infinity
            for xx in x0..<x1 { best = larger(best, rowMax[xx]) }
            o[ox] = best
          }
        }
      }
    }
    return y
  }

  /// Routes each output gradient to its window's maximum (indices from a batch-1 forward are
  /// broadcast over the seeds of `dy`).
  public func inputGradient(_ dy: Tensor, indices: Indices) -> Tensor {
    Parallel.configure()
    let h = indices.inputHeight, w = indices.inputWidth
    let dx = Tensor(channels: dy.channels, batch: dy.batch, height: h, width: w)
    let seeds = dy.batch, plane = dy.planeSize
    let forwardBatch = indices.values.count / (dy.channels * plane)
    precondition(forwardBatch == 1 || forwardBatch == seeds, "maxpool pullback batch mismatch")
    let g = UncheckedSendable(dy.pointer), d = UncheckedSendable(dx.pointer)
    indices.values.withUnsafeBufferPointer { ib in
      guard let base = ib.baseAddress else { return }
      let ix = UncheckedSendable(base)
      Parallel.forRanges(dy.channels * seeds) { r in
        for cn in r {
          let c = cn / seeds, k = cn % seeds
          let idx = ix.value + (c * forwardBatch + (forwardBatch == 1 ? 0 : k)) * plane
          let gi = g.value + cn * plane, di = d.value + cn * h * w
          for i in 0..<plane { di[Int(idx[i])] += gi[i] }
        }
      }
    }
    return dx
  }
}
