/// Spatial resampling with ATen's index and weight arithmetic (nearest with an integer scale
/// factor; bilinear with `align_corners` true or false), and the adjoint of each.
public enum Upsample {
  /// Nearest-neighbour upsampling by an integer factor: `out[y][x] = in[y/f][x/f]`.
  public static func nearest(_ x: Tensor, factor f: Int) -> Tensor {
    Parallel.configure()
    let oh = x.height * f, ow = x.width * f
    let y = Tensor(uninitializedChannels: x.channels, batch: x.batch, height: oh, width: ow)
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    let h = x.height, w = x.width
    Parallel.forRanges(x.channels * x.batch) { r in
      for plane in r {
        let inp = src.value + plane * h * w, out = dst.value + plane * oh * ow
        for y in 0..<h {
          // One output row from the input row, then its f − 1 copies.
          let line = inp + y * w, o = out + y * f * ow
          if f == 2 {
            for x in 0..<w {
              o[2 * x] = line[x]
              o[2 * x + 1] = line[x]
            }
          } else {
            for x in 0..<w { (o + x * f).update(repeating: line[x], count: f) }
          }
          for r in 1..<f { (o + r * ow).update(from: o, count: ow) }
        }
      }
    }
    return y
  }

  /// Adjoint of `nearest`: each input pixel receives the sum of its `f×f` block (summed row by
  /// row, left to right, as the scatter it replaces; every element is written once).
  public static func nearestInputGradient(_ dy: Tensor, factor f: Int) -> Tensor {
    Parallel.configure()
    let h = dy.height / f, w = dy.width / f
    let dx = Tensor(uninitializedChannels: dy.channels, batch: dy.batch, height: h, width: w)
    let src = UncheckedSendable(dy.pointer), dst = UncheckedSendable(dx.pointer)
    let oh = dy.height, ow = dy.width
    Parallel.forRanges(dy.channels * dy.batch) { r in
      for plane in r {
        let g = src.value + plane * oh * ow, d = dst.value + plane * h * w
        for y in 0..<h {
          let line = d + y * w
          for x in 0..<w {
            var sum: Float = 0
            for dyy in 0..<f {
              let gl = g + (y * f + dyy) * ow + x * f
              for dxx in 0..<f { sum += gl[dxx] }
            }
            line[x] = sum
          }
        }
      }
    }
    return dx
  }

  /// Per-axis source indices and weights of bilinear interpolation.
  struct LinearAxis {
    var i0: [Int], i1: [Int], w0: [Float], w1: [Float]

    /// ATen `compute_indices_weights_linear` for one axis, arithmetic in Float as ATen's
    /// opmath for float tensors.
    init(input: Int, output: Int, alignCorners: Bool) {
      i0 = [Int](repeating: 0, count: output)
      i1 = i0
      w0 = [Float](repeating: 0, count: output)
      w1 = w0
      let scale: Float =
        alignCorners
        ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0)
        : Float(input) / Float(output)
      for d in 0..<output {
        let src: Float = alignCorners ? scale * Float(d) : Swift.max(scale * (Float(d) + 0.5) - 0.5, 0)
        let lo = Int(src)
        let lambda = Swift.min(Swift.max(src - Float(lo), 0), 1)
        i0[d] = Swift.min(lo, input - 1)
        i1[d] = Swift.min(lo + 1, input - 1)
        w1[d] = lambda
        w0[d] = 1 - lambda
      }
    }
  }

  /// Bilinear resampling to `height × width`, separably with ATen's arithmetic: each needed
  /// input row is interpolated along x once (`l0·a + l1·b`), and each output row is
  /// `h0·row0 + h1·row1`, the same products and sums as the per-pixel formula.
  public static func bilinear(_ x: Tensor, height oh: Int, width ow: Int, alignCorners: Bool) -> Tensor {
    Parallel.configure()
    let ay = LinearAxis(input: x.height, output: oh, alignCorners: alignCorners)
    let ax = LinearAxis(input: x.width, output: ow, alignCorners: alignCorners)
    let y = Tensor(uninitializedChannels: x.channels, batch: x.batch, height: oh, width: ow)
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    let axes = UncheckedSendable((ay, ax))
    let h = x.height, w = x.width
    Parallel.forRanges(x.channels * x.batch) { r in
      let (ay, ax) = axes.value
      // Rows interpolated along x, one per input row, for the current plane.
      let rows = UnsafeMutablePointer<Float>.allocate(capacity: h * ow)
      defer { rows.deallocate() }
      for plane in r {
        let inp = src.value + plane * h * w, out = dst.value + plane * oh * ow
        for iy in 0..<h {
          let line = inp + iy * w, row = rows + iy * ow
          for ox in 0..<ow { row[ox] = ax.w0[ox] * line[ax.i0[ox]] + ax.w1[ox] * line[ax.i1[ox]] }
        }
        for oy in 0..<oh {
          let r0 = rows + ay.i0[oy] * ow, r1 = rows + ay.i1[oy] * ow
          let h0 = ay.w0[oy], h1 = ay.w1[oy]
          let o = out + oy * ow
          for ox in 0..<ow { o[ox] = h0 * r0[ox] + h1 * r1[ox] }
        }
      }
    }
    return y
  }

  /// Adjoint of `bilinear`, separably: each output row is scattered along x into a row buffer,
  /// which is then added to its two source rows with the row weights (half the work of
  /// scattering every pixel to four sources, and the row step vectorises).
  public static func bilinearInputGradient(
    _ dy: Tensor, height h: Int, width w: Int, alignCorners: Bool
  ) -> Tensor {
    Parallel.configure()
    let oh = dy.height, ow = dy.width
    let ay = LinearAxis(input: h, output: oh, alignCorners: alignCorners)
    let ax = LinearAxis(input: w, output: ow, alignCorners: alignCorners)
    let dx = Tensor(channels: dy.channels, batch: dy.batch, height: h, width: w)
    let src = UncheckedSendable(dy.pointer), dst = UncheckedSendable(dx.pointer)
    let axes = UncheckedSendable((ay, ax))
    Parallel.forRanges(dy.channels * dy.batch) { r in
      let (ay, ax) = axes.value
      let row = UnsafeMutablePointer<Float>.allocate(capacity: w)
      defer { row.deallocate() }
      for plane in r {
        let g = src.value + plane * oh * ow, d = dst.value + plane * h * w
        for oy in 0..<oh {
          row.update(repeating: 0, count: w)
          let gl = g + oy * ow
          for ox in 0..<ow {
            let v = gl[ox]
            row[ax.i0[ox]] += ax.w0[ox] * v
            row[ax.i1[ox]] += ax.w1[ox] * v
          }
          let r0 = d + ay.i0[oy] * w, r1 = d + ay.i1[oy] * w
          let h0 = ay.w0[oy], h1 = ay.w1[oy]
          for x in 0..<w { r0[x] += h0 * row[x] }
          for x in 0..<w { r1[x] += h1 * row[x] }
        }
      }
    }
    return dx
  }
}
