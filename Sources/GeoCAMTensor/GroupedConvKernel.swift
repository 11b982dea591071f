/// A direct kernel for grouped 3×3, stride-1, padding-1 convolutions (ResNeXt's conv2 with
/// 4–32 channels per group), used instead of one tiny GEMM per group: a GEMM with M = 4 rows
/// leaves most of OpenBLAS's 16-row micro-kernel idle.
///
/// Each worker takes whole (group, sample) pairs, copies the group's input planes into a
/// zero-bordered scratch (so the inner loop has no bounds checks), and accumulates 8 output
/// channels × 16 pixels in registers, loading each input vector once per kernel tap.
/// The input gradient of such a convolution is the same kernel on the output gradient with the
/// weights transposed per group and flipped in space (`backwardWeights`).
enum GroupedConvKernel {
  /// Whether the direct kernel handles this convolution.
  static func applies(
    groups: Int, inChannels: Int, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int),
    dilation: (h: Int, w: Int)
  ) -> Bool {
    groups > 1 && kernel == (3, 3) && stride == (1, 1) && padding == (1, 1) && dilation == (1, 1)
      && inChannels / groups <= 64
  }

  /// Repacks PyTorch weights `[G·co][ci][3][3]` as `[G][ci][3][3][co]`: the weights of one tap
  /// for a block of output channels are contiguous.
  static func pack(_ weight: UnsafePointer<Float>, groups: Int, outPerGroup co: Int, inPerGroup ci: Int) -> TensorBuffer {
    let packed = TensorBuffer(count: groups * co * ci * 9)
    for g in 0..<groups {
      for o in 0..<co {
        for c in 0..<ci {
          for t in 0..<9 {
            packed.pointer[((g * ci + c) * 9 + t) * co + o] = weight[((g * co + o) * ci + c) * 9 + t]
          }
        }
      }
    }
    return packed
  }

  /// Packed weights of the transposed, flipped convolution that computes the input gradient.
  static func backwardWeights(_ weight: UnsafePointer<Float>, groups: Int, outPerGroup co: Int, inPerGroup ci: Int) -> TensorBuffer {
    // Transposed conv weight w'[g·ci + c][o][t] = w[g·co + o][c][8 − t], then packed.
    let flipped = TensorBuffer(count: groups * co * ci * 9)
    for g in 0..<groups {
      for c in 0..<ci {
        for o in 0..<co {
          for t in 0..<9 {
            flipped.pointer[((g * ci + c) * co + o) * 9 + t] = weight[((g * co + o) * ci + c) * 9 + (8 - t)]
          }
        }
      }
    }
    return pack(UnsafePointer(flipped.pointer), groups: groups, outPerGroup: ci, inPerGroup: co)
  }

  /// `y[g·co + o][n] = Σ_c Σ_t w[g][c][t][o] · x_pad[g·ci + c][n][shifted by t] (+ bias)`.
  static func run(
    _ x: Tensor, packed: UnsafePointer<Float>, bias: UnsafePointer<Float>?, groups: Int, outPerGroup co: Int,
    into y: Tensor
  ) {
    let ci = x.channels / groups
    let n = x.batch, h = x.height, w = x.width
    let wp = w + 2 + 16  // padded row, with room for the last vector's overrun
    let hp = h + 2
    let src = UncheckedSendable(x.pointer), dst = UncheckedSendable(y.pointer)
    let wts = UncheckedSendable(packed), b = UncheckedSendable(bias)
    Parallel.forRanges(groups * n) { range in
      ScratchPool.shared.withBuffer(count: ci * hp * wp + 16 * 8) { scratch in
        let pad = scratch
        let spill = scratch + ci * hp * wp
        for gn in range {
          let g = gn / n, s = gn % n
          // Zero-bordered copy of the group's input planes.
          pad.update(repeating: 0, count: ci * hp * wp)
          for c in 0..<ci {
            let plane = src.value + ((g * ci + c) * n + s) * h * w
            for yy in 0..<h { (pad + (c * hp + yy + 1) * wp + 1).update(from: plane + yy * w, count: w) }
          }
          let wg = wts.value + g * ci * 9 * co
          var o0 = 0
          while o0 < co {
            let nb = Swift.min(8, co - o0)
            for oy in 0..<h {
              var ox = 0
              while ox < w {
                var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
                for c in 0..<ci {
                  for ky in 0..<3 {
                    let row = UnsafeRawPointer(pad + (c * hp + oy + ky) * wp + ox)
                    let wt = wg + (c * 9 + ky * 3) * co + o0
                    for kx in 0..<3 {
                      let v = row.loadUnaligned(fromByteOffset: kx * 4, as: SIMD16<Float>.self)
                      let wk = wt + kx * co
                      a0 += v * wk[0]
                      if nb > 1 { a1 += v * wk[1] }
                      if nb > 2 { a2 += v * wk[2] }
                      if nb > 3 { a3 += v * wk[3] }
                      if nb > 4 { a4 += v * wk[4] }
                      if nb > 5 { a5 += v * wk[5] }
                      if nb > 6 { a6 += v * wk[6] }
                      if nb > 7 { a7 += v * wk[7] }
                    }
                  }
                }
                let count = Swift.min(16, w - ox)
                func store(_ acc: SIMD16<Float>, _ j: Int) {
                  let o = g * co + o0 + j
                  let out = dst.value + ((o * n + s) * h + oy) * w + ox
                  var acc = acc
                  if let bp = b.value { acc += bp[o] }
                  if count == 16 {
                    UnsafeMutableRawPointer(out).storeBytes(of: acc, as: SIMD16<Float>.self)
                  } else {
                    UnsafeMutableRawPointer(spill).storeBytes(of: acc, as: SIMD16<Float>.self)
                    out.update(from: spill, count: count)
                  }
                }
                store(a0, 0)
                if nb > 1 { store(a1, 1) }
                if nb > 2 { store(a2, 2) }
                if nb > 3 { store(a3, 3) }
                if nb > 4 { store(a4, 4) }
                if nb > 5 { store(a5, 5) }
                if nb > 6 { store(a6, 6) }
                if nb > 7 { store(a7, 7) }
                ox += 16
              }
            }
            o0 += 8
          }
        }
      }
    }
  }
}
