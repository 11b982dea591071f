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
      // Input transform, V[ξ][ci][tile] = (Bᵀ·d·B)[ξ], d the 4×4 patch at (2ty − 1, 2tx − 1).
      Parallel.forRanges(cin, minimumPerChunk: 1) { range in
        // Per-chunk scratch (no allocation per tile).
        var d = [Float](repeating: 0, count: 16)
        var t = [Float](repeating: 0, count: 16)
        for ci in range {
          for b in 0..<n {
            let plane = src.value + (ci * n + b) * h * w
            for ty in 0..<th {
              for tx in 0..<tw {
                let y0 = 2 * ty - 1, x0 = 2 * tx - 1
                if y0 >= 0 && x0 >= 0 && y0 + 4 <= h && x0 + 4 <= w {
                  for r in 0..<4 { for c in 0..<4 { d[r * 4 + c] = plane[(y0 + r) * w + x0 + c] } }
                } else {
                  for r in 0..<4 {
                    let yy = y0 + r
                    for c in 0..<4 {
                      let xx = x0 + c
                      d[r * 4 + c] = yy >= 0 && yy < h && xx >= 0 && xx < w ? plane[yy * w + xx] : 0
                    }
                  }
                }
                // Bᵀ·d (rows), then ·B (columns).
                for c in 0..<4 {
                  t[c] = d[c] - d[8 + c]
                  t[4 + c] = d[4 + c] + d[8 + c]
                  t[8 + c] = d[8 + c] - d[4 + c]
                  t[12 + c] = d[4 + c] - d[12 + c]
                }
                let tile = (b * th + ty) * tw + tx
                for r in 0..<4 {
                  let a = t[r * 4], bb = t[r * 4 + 1], cc = t[r * 4 + 2], dd = t[r * 4 + 3]
                  v.value[((r * 4 + 0) * cin + ci) * tiles + tile] = a - cc
                  v.value[((r * 4 + 1) * cin + ci) * tiles + tile] = bb + cc
                  v.value[((r * 4 + 2) * cin + ci) * tiles + tile] = cc - bb
                  v.value[((r * 4 + 3) * cin + ci) * tiles + tile] = bb - dd
                }
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
        var q = [Float](repeating: 0, count: 16)
        var s = [Float](repeating: 0, count: 8)
        for co in range {
          for b in 0..<n {
            let plane = dst.value + (co * n + b) * h * w
            for ty in 0..<th {
              for tx in 0..<tw {
                let tile = (b * th + ty) * tw + tx
                for xi in 0..<16 { q[xi] = m.value[(xi * cout + co) * tiles + tile] }
                // Aᵀ·q: 2 rows of 4.
                for c in 0..<4 {
                  s[c] = q[c] + q[4 + c] + q[8 + c]
                  s[4 + c] = q[4 + c] - q[8 + c] - q[12 + c]
                }
                let oy = 2 * ty, ox = 2 * tx
                for r in 0..<2 where oy + r < h {
                  let row = plane + (oy + r) * w
                  row[ox] = s[r * 4] + s[r * 4 + 1] + s[r * 4 + 2]
                  if ox + 1 < w { row[ox + 1] = s[r * 4 + 1] - s[r * 4 + 2] - s[r * 4 + 3] }
                }
              }
            }
          }
        }
      }
    }
  }
}
