import CDNNL
import Synchronization

/// A frozen 2-D convolution (cross-correlation, as PyTorch's `nn.Conv2d`) with groups, stride,
/// padding and dilation. Forward and input gradient run on oneDNN when it is installed
/// (``ConvolutionEngine``), otherwise as im2col + sgemm, Winograd F(2×2, 3×3) or a direct
/// grouped kernel.
///
/// Weight layout is PyTorch's `[outChannels][inChannels / groups][kernelH][kernelW]`.
public struct Conv2d: Sendable {
  /// Output channels.
  public let outChannels: Int
  /// Input channels (all groups together).
  public let inChannels: Int
  /// Kernel height and width.
  public let kernel: (h: Int, w: Int)
  /// Stride along height and width.
  public let stride: (h: Int, w: Int)
  /// Zero padding on each side.
  public let padding: (h: Int, w: Int)
  /// Kernel dilation.
  public let dilation: (h: Int, w: Int)
  /// Number of channel groups (32 in ResNeXt-50 32x4d's 3×3 convs).
  public let groups: Int
  /// Weights, `[Cout][Cin/groups][kh][kw]`.
  public let weight: TensorBuffer
  /// Optional per-output-channel bias.
  public let bias: TensorBuffer?
  /// Repacked weights for the direct grouped kernel (forward, input gradient), when it applies.
  var directWeights: (forward: TensorBuffer, backward: TensorBuffer)? { native.weights.direct }
  /// Winograd-transformed weights for ungrouped 3×3 stride-1 convolutions, when it applies.
  var winograd: Winograd3x3? { native.weights.winograd }
  /// The built-in kernels' prepared weights.
  let native: NativeConvWeights
  /// oneDNN's primitives for this convolution, when the library loads and oneDNN runs this
  /// kind of convolution (``runsOnDNNL``).
  let dnnl: DNNLConvolution?

  /// Creates a convolution from PyTorch-layout weights.
  public init(
    weight: [Float], bias: [Float]? = nil, outChannels: Int, inChannels: Int,
    kernel: (h: Int, w: Int), stride: (h: Int, w: Int) = (1, 1), padding: (h: Int, w: Int) = (0, 0),
    dilation: (h: Int, w: Int) = (1, 1), groups: Int = 1
  ) {
    precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0, "bad groups")
    precondition(weight.count == outChannels * (inChannels / groups) * kernel.h * kernel.w, "bad weight size")
    self.outChannels = outChannels
    self.inChannels = inChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
    let w = TensorBuffer(count: weight.count)
    weight.withUnsafeBufferPointer { if let b = $0.baseAddress { w.pointer.update(from: b, count: weight.count) } }
    self.weight = w
    if let bias {
      precondition(bias.count == outChannels, "bad bias size")
      let b = TensorBuffer(count: outChannels)
      bias.withUnsafeBufferPointer { if let p = $0.baseAddress { b.pointer.update(from: p, count: outChannels) } }
      self.bias = b
    } else {
      self.bias = nil
    }
    dnnl =
      Self.runsOnDNNL(inChannels: inChannels, kernel: kernel, stride: stride, padding: padding)
      ? DNNLConvolution(
        weight: w, bias: self.bias, outChannels: outChannels, inChannels: inChannels, groups: groups, kernel: kernel,
        stride: stride, padding: padding, dilation: dilation,
        mode: Self.dnnlMode(groups: groups, kernel: kernel, stride: stride, padding: padding, dilation: dilation))
      : nil
    let winogradApplies = Winograd3x3.applies(
      groups: groups, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    let directApplies = GroupedConvKernel.applies(
      groups: groups, inChannels: inChannels, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    native = NativeConvWeights { [outChannels, inChannels, groups] in
      let winograd =
        winogradApplies ? Winograd3x3(weight: UnsafePointer(w.pointer), outChannels: outChannels, inChannels: inChannels) : nil
      guard directApplies else { return (nil, winograd) }
      let (co, ci) = (outChannels / groups, inChannels / groups)
      let direct = (
        GroupedConvKernel.pack(UnsafePointer(w.pointer), groups: groups, outPerGroup: co, inPerGroup: ci),
        GroupedConvKernel.backwardWeights(UnsafePointer(w.pointer), groups: groups, outPerGroup: co, inPerGroup: ci)
      )
      return (direct, winograd)
    }
    // With oneDNN running this convolution the built-in kernels are a fallback
    // (GEOCAM_CONV_ENGINE=native, a failed oneDNN call): their weights wait for first use, which
    // saves loading time and memory.
    if dnnl == nil { _ = native.weights }
  }

  /// Output height for an input of height `h`.
  public func outputHeight(_ h: Int) -> Int { (h + 2 * padding.h - dilation.h * (kernel.h - 1) - 1) / stride.h + 1 }
  /// Output width for an input of width `w`.
  public func outputWidth(_ w: Int) -> Int { (w + 2 * padding.w - dilation.w * (kernel.w - 1) - 1) / stride.w + 1 }

  /// Multiply-accumulates per output pixel and sample (for GFLOP/s reporting).
  public var macsPerOutputPixel: Int { outChannels * (inChannels / groups) * kernel.h * kernel.w }

  /// True for a 1×1, stride-1, unpadded convolution, whose im2col is the input itself.
  @usableFromInline var isPointwise: Bool {
    kernel == (1, 1) && stride == (1, 1) && padding == (0, 0)
  }

  /// Runs the convolution on `x` (`[Cin][N][H][W]`).
  public func forward(_ x: Tensor) -> Tensor {
    precondition(x.channels == inChannels, "conv expects \(inChannels) channels, got \(x.channels)")
    Parallel.configure()
    let oh = outputHeight(x.height), ow = outputWidth(x.width)
    // Every path below writes each output element.
    let y = Tensor(uninitializedChannels: outChannels, batch: x.batch, height: oh, width: ow)
    if let dnnl, ConvolutionEngine.current == .dnnl,
      dnnl.run(backward: false, batch: x.batch, height: x.height, width: x.width, input: x, output: y, pointwise: isPointwise)
    {
      return y
    }
    if let direct = directWeights {
      GroupedConvKernel.run(
        x, packed: direct.forward.pointer, bias: bias.map { UnsafePointer($0.pointer) }, groups: groups,
        outPerGroup: outChannels / groups, into: y)
      return y
    }
    let columns = x.batch * oh * ow
    let kPerGroup = (inChannels / groups) * kernel.h * kernel.w
    let mPerGroup = outChannels / groups
    if let winograd {
      Winograd3x3.run(x, u: UnsafePointer(winograd.forward.pointer), cin: inChannels, cout: outChannels, into: y)
    } else if isPointwise {
      multiplyGroups(m: mPerGroup, k: kPerGroup, n: columns, columns: x.pointer, into: y.pointer)
    } else {
      forwardInRowBlocks(x, oh: oh, ow: ow, into: y)
    }
    if let bias {
      let plane = columns
      Parallel.forRanges(outChannels, minimumPerChunk: 8) { range in
        for c in range {
          let b = bias.pointer[c]
          let p = y.pointer + c * plane
          for i in 0..<plane { p[i] += b }
        }
      }
    }
    return y
  }

  /// Gradient with respect to the input: the transposed convolution of `dy` (`[Cout][K][oh][ow]`,
  /// one sample per cotangent seed) back to an input of `height × width`.
  public func inputGradient(_ dy: Tensor, height: Int, width: Int) -> Tensor {
    precondition(dy.channels == outChannels, "conv pullback expects \(outChannels) channels")
    Parallel.configure()
    let columns = dy.batch * dy.height * dy.width
    let kPerGroup = (inChannels / groups) * kernel.h * kernel.w
    let mPerGroup = outChannels / groups
    // Every path writes each element except col2im, which zeroes first and accumulates.
    let dx = Tensor(uninitializedChannels: inChannels, batch: dy.batch, height: height, width: width)
    if let dnnl, ConvolutionEngine.current == .dnnl, outputHeight(height) == dy.height, outputWidth(width) == dy.width,
      dnnl.run(backward: true, batch: dy.batch, height: height, width: width, input: dy, output: dx, pointwise: isPointwise)
    {
      return dx
    }
    if let direct = directWeights {
      GroupedConvKernel.run(dy, packed: direct.backward.pointer, bias: nil, groups: groups, outPerGroup: inChannels / groups, into: dx)
      return dx
    }
    if let winograd, height == dy.height, width == dy.width {
      Winograd3x3.run(dy, u: UnsafePointer(winograd.backward.pointer), cin: outChannels, cout: inChannels, into: dx)
    } else if isPointwise {
      multiplyGroupsTransposed(m: mPerGroup, k: kPerGroup, n: columns, dy: dy.pointer, into: dx.pointer)
    } else {
      inputGradientPerSample(dy, into: dx)
    }
    return dx
  }

  /// Pointwise convolutions keep GeoCAM's layout (oneDNN's GEMM kernels need no reorder);
  /// ungrouped 3×3 stride-1 ones use Winograd F(4×4, 3×3) (2–4× the direct kernels here;
  /// maps and logits stay within the parity tolerances); the rest run direct on blocked layouts.
  static func dnnlMode(
    groups: Int, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int),
    dilation: (h: Int, w: Int)
  ) -> geocam_dnnl_mode {
    if kernel == (1, 1) && stride == (1, 1) && padding == (0, 0) { return geocam_dnnl_plain }
    if Winograd3x3.applies(groups: groups, kernel: kernel, stride: stride, padding: padding, dilation: dilation) {
      return ConvolutionEngine.winograd ? geocam_dnnl_winograd : geocam_dnnl_blocked
    }
    return geocam_dnnl_blocked
  }

  /// Where oneDNN beat the built-in kernels in place in the model (`geocam bench`'s per-layer
  /// profile, both engines alternated): ResNeXt's grouped 3×3 convolutions (1.5–1.8×), the
  /// pointwise 1×1 convolutions on its GEMM kernels (about 10 %) and the decoder's 3×3.
  /// Strided 1×1 downsamples were slower there and stay on the built-in kernels, as does the stem.
  static func runsOnDNNL(
    inChannels: Int, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int)
  ) -> Bool {
    if kernel == (1, 1) { return stride == (1, 1) && padding == (0, 0) }
    // The stem: oneDNN's forward was 2× faster, but its rounding of the first layer moved enough
    // ReLU decisions downstream to put layer4's gradients 0.8 % off PyTorch's (the parity
    // test's bound is 0.1 %); its input gradient to 3 channels was slower.
    if inChannels < 16 { return false }
    return true
  }

  // MARK: - GEMM per group

  /// `out[g·m..<(g+1)·m][n] = W_g[m×k] · columns[g·k..<(g+1)·k][n]` for every group.
  private func multiplyGroups(m: Int, k: Int, n: Int, columns: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    let w = UnsafePointer(weight.pointer)
    if groups == 1 {
      Gemm.sgemm(m: m, n: n, k: k, a: w, lda: k, b: columns, ldb: n, c: out, ldc: n)
      return
    }
    // Many small GEMMs: give each worker whole groups, each GEMM single-threaded.
    Parallel.forRanges(groups) { range in
      for g in range {
        Gemm.sgemm(
          m: m, n: n, k: k, a: w + g * m * k, lda: k, b: columns + g * k * n, ldb: n,
          c: out + g * m * n, ldc: n, parallel: false)
      }
    }
  }

  /// `out[g·k..<(g+1)·k][n] = W_gᵀ[k×m] · dy[g·m..<(g+1)·m][n]` for every group.
  private func multiplyGroupsTransposed(m: Int, k: Int, n: Int, dy: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    let w = UnsafePointer(weight.pointer)
    if groups == 1 {
      Gemm.sgemm(transA: true, m: k, n: n, k: m, a: w, lda: k, b: dy, ldb: n, c: out, ldc: n)
      return
    }
    Parallel.forRanges(groups) { range in
      for g in range {
        Gemm.sgemm(
          transA: true, m: k, n: n, k: m, a: w + g * m * k, lda: k, b: dy + g * m * n, ldb: n,
          c: out + g * k * n, ldc: n, parallel: false)
      }
    }
  }

  // MARK: - im2col / col2im on the channel-major layout

  /// im2col + GEMM (one per group) over blocks of a few output rows, each worker taking whole
  /// blocks: a block's columns (about 640 for the stem: 376 KB) stay in cache from im2col to
  /// the GEMM, where the whole image's (15 MB for the stem) went through memory twice. Every
  /// output is the same dot product over the same `k` order as one large GEMM.
  private func forwardInRowBlocks(_ x: Tensor, oh: Int, ow: Int, into y: Tensor) {
    let k = inChannels * kernel.h * kernel.w
    let kPerGroup = k / groups, mPerGroup = outChannels / groups
    let totalRows = x.batch * oh
    let rowsPerBlock = Swift.max(1, 640 / Swift.max(ow, 1))
    let blocks = (totalRows + rowsPerBlock - 1) / rowsPerBlock
    let columns = totalRows * ow
    let w = UncheckedSendable(UnsafePointer(weight.pointer))
    let out = UncheckedSendable(y.pointer)
    Parallel.forRanges(blocks) { range in
      ScratchPool.shared.withBuffer(count: k * rowsPerBlock * ow) { col in
        for b in range {
          let rows = (b * rowsPerBlock)..<Swift.min(totalRows, (b + 1) * rowsPerBlock)
          let n = rows.count * ow
          im2colRows(x, oh: oh, ow: ow, rows: rows, into: col)
          for g in 0..<groups {
            Gemm.sgemm(
              m: mPerGroup, n: n, k: kPerGroup, a: w.value + g * mPerGroup * kPerGroup, lda: kPerGroup,
              b: col + g * kPerGroup * n, ldb: n, c: out.value + g * mPerGroup * columns + rows.lowerBound * ow,
              ldc: columns, parallel: false)
          }
        }
      }
    }
  }

  /// im2col of output rows `rows` (global rows: sample · oh + oy) into `col` `[K][rows.count·ow]`:
  /// row `(c, ky, kx)` holds the input pixel each tap sees (0 in padding).
  private func im2colRows(_ x: Tensor, oh: Int, ow: Int, rows: Range<Int>, into col: UnsafeMutablePointer<Float>) {
    let (kh, kw) = kernel
    let (sh, sw) = stride
    let (ph, pw) = padding
    let (dh, dw) = dilation
    let n = x.batch, h = x.height, w = x.width
    let width = rows.count * ow
    for row in 0..<(inChannels * kh * kw) {
      let c = row / (kh * kw)
      let ky = (row / kw) % kh
      let kx = row % kw
      var out = col + row * width
      let x0 = kx * dw - pw
      let inside = Self.insideColumns(x0: x0, stride: sw, width: w, outWidth: ow)
      let lo = inside.lowerBound, hi = inside.upperBound
      for r in rows {
        let s = r / oh, oy = r % oh
        let iy = oy * sh - ph + ky * dh
        if iy < 0 || iy >= h {
          out.update(repeating: 0, count: ow)
        } else {
          let line = x.pointer + ((c * n + s) * h + iy) * w
          if lo > 0 { out.update(repeating: 0, count: lo) }
          if sw == 1 {
            (out + lo).update(from: line + x0 + lo, count: hi - lo)
          } else {
            var ix = lo * sw + x0
            for ox in lo..<hi {
              out[ox] = line[ix]
              ix += sw
            }
          }
          if hi < ow { (out + hi).update(repeating: 0, count: ow - hi) }
        }
        out += ow
      }
    }
  }

  /// The input gradient one sample (seed) at a time: `Wᵀ · dy` of the sample (one GEMM per
  /// group) into a third of the columns the whole batch needed (15 MB instead of 45 MB for the
  /// stem with 3 seeds), then col2im, the adjoint of im2col, split over channels and bands of
  /// rows, which balances 2 workers over the stem's 3 input channels. Each element gets its
  /// terms in the order of the taps, as the batch-wide col2im this replaces did.
  private func inputGradientPerSample(_ dy: Tensor, into dx: Tensor) {
    dx.pointer.update(repeating: 0, count: dx.count)
    let (kh, kw) = kernel
    let (sh, sw) = stride
    let (ph, pw) = padding
    let (dh, dw) = dilation
    let n = dy.batch, oh = dy.height, ow = dy.width, h = dx.height, w = dx.width
    let k = inChannels * kh * kw
    let kPerGroup = k / groups, mPerGroup = outChannels / groups
    let plane = oh * ow
    let bands = Swift.min(h, 8)
    ScratchPool.shared.withBuffer(count: k * plane) { col in
      // dy's sample s is the column block s of each of its channel rows: [Cout][N·oh·ow].
      for s in 0..<n {
        for g in 0..<groups {
          Gemm.sgemm(
            transA: true, m: kPerGroup, n: plane, k: mPerGroup, a: UnsafePointer(weight.pointer) + g * mPerGroup * kPerGroup,
            lda: kPerGroup, b: UnsafePointer(dy.pointer) + (g * mPerGroup * n + s) * plane, ldb: n * plane,
            c: col + g * kPerGroup * plane, ldc: plane)
        }
        let src = UncheckedSendable(UnsafePointer(col))
        let dst = UncheckedSendable(dx.pointer)
        Parallel.forRanges(inChannels * bands) { items in
          for item in items {
            let c = item / bands, band = item % bands
            let r0 = band * h / bands, r1 = (band + 1) * h / bands
            let out = dst.value + (c * n + s) * h * w
            for ky in 0..<kh {
              // Output rows whose input row lies in this band: r0 ≤ oy·sh − ph + ky·dh < r1.
              let base = ky * dh - ph
              let oy0 = Swift.max(0, Self.ceilDiv(r0 - base, sh))
              let oy1 = Swift.min(oh, Self.ceilDiv(r1 - base, sh))
              guard oy1 > oy0 else { continue }
              for kx in 0..<kw {
                let x0 = kx * dw - pw
                let inside = Self.insideColumns(x0: x0, stride: sw, width: w, outWidth: ow)
                let lo = inside.lowerBound, hi = inside.upperBound
                let row = src.value + ((c * kh + ky) * kw + kx) * plane
                for oy in oy0..<oy1 {
                  let line = out + (oy * sh + base) * w
                  let inp = row + oy * ow
                  var ix = lo * sw + x0
                  for ox in lo..<hi {
                    line[ix] += inp[ox]
                    ix += sw
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// ⌈a / b⌉ for b > 0 and any sign of a.
  private static func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }

  /// The output columns `ox` of a tap whose input column `ox · stride + x0` lies in `0..<width`.
  private static func insideColumns(x0: Int, stride: Int, width: Int, outWidth: Int) -> Range<Int> {
    let lo = Swift.min(outWidth, Swift.max(0, ceilDiv(-x0, stride)))
    return lo..<Swift.max(lo, Swift.min(outWidth, ceilDiv(width - x0, stride)))
  }
}

/// The weights the built-in kernels prepare from a convolution's weights (repacked for the
/// grouped kernel, Winograd-transformed), made once, on first use, by whichever thread needs them.
final class NativeConvWeights: @unchecked Sendable {
  typealias Weights = (direct: (forward: TensorBuffer, backward: TensorBuffer)?, winograd: Winograd3x3?)
  private let make: () -> Weights
  private let state = Mutex<Weights?>(nil)

  init(_ make: @escaping () -> Weights) { self.make = make }

  var weights: Weights {
    state.withLock { value in
      if let value { return value }
      let made = make()
      value = made
      return made
    }
  }
}
