/// Winograd F(2×2, 3×3) for ungrouped 3×3 convolutions with stride 1, padding 1 and no
/// dilation (the FPN decoder's segmentation blocks, ResNet's 3×3 convs): each 2×2 output tile
/// costs 16 multiplies per channel pair instead of 36, as 16 GEMMs of the transformed weights
/// `U_ξ [Cout×Cin]` with the transformed input tiles `V_ξ [Cin×tiles]`.
///
/// Transforms (Lavin & Gray 2016): `U = G·g·Gᵀ`, `V = Bᵀ·d·B`, `Y = Aᵀ·M·A` with
/// `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, `G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]`,
/// `Aᵀ = [1 1 1 0; 0 1 −1 −1]`. The input gradient is the same convolution with the weights
/// flipped and in and out swapped, so it runs through the same code with its own `U`.
struct Winograd3x3: Sendable {
  let inChannels: Int
  let outChannels: Int
  /// `16 × Cout × Cin` for the forward pass.
  let forward: TensorBuffer
  /// `16 × Cin × Cout` for the input gradient (flipped kernels, channels swapped).
  let backward: TensorBuffer

  /// Whether the fast path applies to a convolution.
  static func applies(groups: Int, kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int), dilation: (h: Int, w: Int)) -> Bool {
    groups == 1 && kernel == (3, 3) && stride == (1, 1) && padding == (1, 1) && dilation == (1, 1)
  }

  init(weight w: UnsafePointer<Float>, outChannels: Int, inChannels: Int) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    forward = TensorBuffer(count: 16 * outChannels * inChannels)
    backward = TensorBuffer(count: 16 * outChannels * inChannels)
    for o in 0..<outChannels {
      for i in 0..<inChannels {
        let g = w + (o * inChannels + i) * 9
        var k = [Float](repeating: 0, count: 9)
        var flipped = k
        for j in 0..<9 { k[j] = g[j]; flipped[j] = g[8 - j] }
        let u = Winograd3x3.transformKernel(k), uf = Winograd3x3.transformKernel(flipped)
        for xi in 0..<16 {
          forward.pointer[(xi * outChannels + o) * inChannels + i] = u[xi]
          backward.pointer[(xi * inChannels + i) * outChannels + o] = uf[xi]
        }
      }
    }
  }

  /// `G·g·Gᵀ` of one 3×3 kernel (row-major), computed in Double and rounded once.
  static func transformKernel(_ g: [Float]) -> [Float] {
    let G: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    var t = [[Double]](repeating: [0, 0, 0], count: 4)
    for r in 0..<4 { for c in 0..<3 { t[r][c] = (0..<3).reduce(0) { $0 + G[r][$1] * Double(g[$1 * 3 + c]) } } }
    var u = [Float](repeating: 0, count: 16)
    for r in 0..<4 { for c in 0..<4 { u[r * 4 + c] = Float((0..<3).reduce(0) { $0 + t[r][$1] * G[c][$1] }) } }
    return u
  }

  /// `y = conv3x3(x)` with transformed weights `u` (`16 × cout × cin`); `x` is
  /// `[cin][N][H][W]`, `y` `[cout][N][H][W]` (fully overwritten).
  static func run(_ x: Tensor, u: UnsafePointer<Float>, cin: Int, cout: Int, into y: Tensor) {
    let n = x.batch, h = x.height, w = x.width
    let th = (h + 1) / 2, tw = (w + 1) / 2
    let tiles = n * th * tw
    let vCount = 16 * cin * tiles, mCount = 16 * cout * tiles
    ScratchPool.shared.withBuffer(count: vCount + mCount) { scratch in
      let v = UncheckedSendable(scratch), m = UncheckedSendable(scratch + vCount)
      let src = UncheckedSendable(x.pointer)
      // Input transform, V[ξ][ci][tile] = (Bᵀ·d·B)[ξ], d the 4×4 patch at (2ty − 1, 2tx − 1);
      // rows held as SIMD4 (no per-tile memory traffic besides the patch and the 16 results).
      Parallel.forRanges(cin, minimumPerChunk: 1) { range in
        for ci in range {
          for b in 0..<n {
            let plane = src.value + (ci * n + b) * h * w
            @inline(__always) func row(_ yy: Int, _ x0: Int) -> SIMD4<Float> {
              guard yy >= 0 && yy < h else { return .zero }
              if x0 >= 0 && x0 + 4 <= w {
                let p = plane + yy * w + x0
                return SIMD4(p[0], p[1], p[2], p[3])
              }
              var r = SIMD4<Float>.zero
              for c in 0..<4 where x0 + c >= 0 && x0 + c < w { r[c] = plane[yy * w + x0 + c] }
              return r
            }
            for ty in 0..<th {
              let y0 = 2 * ty - 1
              for tx in 0..<tw {
                let x0 = 2 * tx - 1
                let d0 = row(y0, x0), d1 = row(y0 + 1, x0), d2 = row(y0 + 2, x0), d3 = row(y0 + 3, x0)
                // Bᵀ·d (rows), then ·B (columns).
                let t = (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                let tile = (b * th + ty) * tw + tx
                let base = v.value + ci * tiles + tile
                let stride = cin * tiles
                @inline(__always) func put(_ r: Int, _ tr: SIMD4<Float>) {
                  base[(r * 4 + 0) * stride] = tr[0] - tr[2]
                  base[(r * 4 + 1) * stride] = tr[1] + tr[2]
                  base[(r * 4 + 2) * stride] = tr[2] - tr[1]
                  base[(r * 4 + 3) * stride] = tr[1] - tr[3]
                }
                put(0, t.0)
                put(1, t.1)
                put(2, t.2)
                put(3, t.3)
              }
            }
          }
        }
      }
      // M_ξ = U_ξ · V_ξ, the 16 products shared out over the workers.
      Parallel.forRanges(16, minimumPerChunk: 1) { range in
        for xi in range {
          Gemm.sgemm(
            m: cout, n: tiles, k: cin, a: u + xi * cout * cin, lda: cin, b: v.value + xi * cin * tiles, ldb: tiles,
            c: m.value + xi * cout * tiles, ldc: tiles, parallel: false)
        }
      }
      // Output transform, Y = Aᵀ·M·A for each 2×2 tile, clipped at odd edges.
      let dst = UncheckedSendable(y.pointer)
      Parallel.forRanges(cout, minimumPerChunk: 1) { range in
        for co in range {
          let stride = cout * tiles
          for b in 0..<n {
            let plane = dst.value + (co * n + b) * h * w
            for ty in 0..<th {
              for tx in 0..<tw {
                let tile = (b * th + ty) * tw + tx
                let base = m.value + co * tiles + tile
                @inline(__always) func q(_ r: Int) -> SIMD4<Float> {
                  SIMD4(base[(r * 4) * stride], base[(r * 4 + 1) * stride], base[(r * 4 + 2) * stride], base[(r * 4 + 3) * stride])
                }
                let q0 = q(0), q1 = q(1), q2 = q(2), q3 = q(3)
                // Aᵀ·q: 2 rows of 4, then ·A.
                let s0 = q0 + q1 + q2, s1 = q1 - q2 - q3
                let oy = 2 * ty, ox = 2 * tx
                @inline(__always) func put(_ r: Int, _ sr: SIMD4<Float>) {
                  guard oy + r < h else { return }
                  let out = plane + (oy + r) * w
                  out[ox] = sr[0] + sr[1] + sr[2]
                  if ox + 1 < w { out[ox + 1] = sr[1] - sr[2] - sr[3] }
                }
                put(0, s0)
                put(1, s1)
              }
            }
          }
        }
      }
    }
  }
}
