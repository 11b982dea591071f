import Foundation
import Testing

@testable import GeoCAMTensor

/// Kernel checks that need no reference framework: direct definitions, adjoint identities
/// (⟨A x, y⟩ = ⟨x, Aᵀ y⟩ for every linear op and its pullback) and finite differences.
@Suite("Tensor kernels")
struct KernelTests {
  /// Deterministic values in [-1, 1).
  static func random(_ t: Tensor, seed: UInt32) {
    var s = seed
    for i in 0..<t.count {
      s = s &* 1_664_525 &+ 1_013_904_223
      t.pointer[i] = Float(s >> 8) / 8_388_608 - 1
    }
  }

  static func dot(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in 0..<a.count { s += Double(a.pointer[i]) * Double(b.pointer[i]) }
    return s
  }

  /// Direct (loop) convolution in NCHW semantics on the channel-major layout.
  static func directConv(_ x: Tensor, _ conv: Conv2d) -> Tensor {
    let oh = conv.outputHeight(x.height), ow = conv.outputWidth(x.width)
    let y = Tensor(channels: conv.outChannels, batch: x.batch, height: oh, width: ow)
    let cinG = conv.inChannels / conv.groups, coutG = conv.outChannels / conv.groups
    for n in 0..<x.batch {
      for o in 0..<conv.outChannels {
        let g = o / coutG
        for oy in 0..<oh {
          for ox in 0..<ow {
            var s = Double(conv.bias?.pointer[o] ?? 0)
            for ci in 0..<cinG {
              for ky in 0..<conv.kernel.h {
                for kx in 0..<conv.kernel.w {
                  let iy = oy * conv.stride.h - conv.padding.h + ky * conv.dilation.h
                  let ix = ox * conv.stride.w - conv.padding.w + kx * conv.dilation.w
                  guard iy >= 0, iy < x.height, ix >= 0, ix < x.width else { continue }
                  let w = conv.weight.pointer[((o * cinG + ci) * conv.kernel.h + ky) * conv.kernel.w + kx]
                  s += Double(w) * Double(x[g * cinG + ci, n, iy, ix])
                }
              }
            }
            y[o, n, oy, ox] = Float(s)
          }
        }
      }
    }
    return y
  }

  static let convCases: [(cin: Int, cout: Int, k: Int, stride: Int, pad: Int, dil: Int, groups: Int)] = [
    (3, 8, 7, 2, 3, 1, 1), (8, 8, 3, 1, 1, 1, 4), (8, 16, 3, 2, 1, 1, 8), (6, 4, 1, 1, 0, 1, 1),
    (6, 4, 1, 2, 0, 1, 2), (4, 4, 3, 1, 2, 2, 1),
    // Ungrouped 3×3, stride 1, padding 1: the Winograd F(2×2, 3×3) path, odd sizes included.
    (5, 6, 3, 1, 1, 1, 1), (16, 12, 3, 1, 1, 1, 1),
  ]

  @Test("im2col + GEMM in blocks of output rows (blocks crossing samples) equals the direct definition; the per-sample input gradient is its adjoint")
  func convolutionInRowBlocks() {
    // 35 output rows of 25 per sample: blocks of 25 rows (640 columns / 25) span both samples.
    let w = Tensor(channels: 8 * 3 * 7 * 7)
    Self.random(w, seed: 11)
    let conv = Conv2d(
      weight: w.values, outChannels: 8, inChannels: 3, kernel: (7, 7), stride: (2, 2), padding: (3, 3))
    let x = Tensor(channels: 3, batch: 2, height: 70, width: 50)
    Self.random(x, seed: 12)
    let y = conv.forward(x)
    let ref = Self.directConv(x, conv)
    #expect(y.shape == ref.shape && y.height == 35 && y.width == 25)
    var maxDiff: Float = 0
    for i in 0..<y.count { maxDiff = max(maxDiff, abs(y.pointer[i] - ref.pointer[i])) }
    #expect(maxDiff < 1e-4)
    // The input gradient, one sample at a time over bands of rows: ⟨conv(x), dy⟩ = ⟨x, convᵀ dy⟩.
    let dy = Tensor(channels: 8, batch: 2, height: 35, width: 25)
    Self.random(dy, seed: 13)
    let dx = conv.inputGradient(dy, height: 70, width: 50)
    let lhs = Self.dot(y, dy), rhs = Self.dot(x, dx)
    #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(lhs)))
  }

  @Test("convolution equals the direct definition and its pullback is its adjoint", arguments: 0..<8)
  func convolution(_ index: Int) {
    let c = Self.convCases[index]
    let w = Tensor(channels: c.cout * (c.cin / c.groups) * c.k * c.k)
    Self.random(w, seed: 7 + UInt32(index))
    let bias = (0..<c.cout).map { Float($0) * 0.1 }
    let conv = Conv2d(
      weight: w.values, bias: bias, outChannels: c.cout, inChannels: c.cin, kernel: (c.k, c.k),
      stride: (c.stride, c.stride), padding: (c.pad, c.pad), dilation: (c.dil, c.dil), groups: c.groups)
    #expect((conv.winograd != nil) == (index >= 6))
    let x = Tensor(channels: c.cin, batch: 2, height: 11, width: 9)
    Self.random(x, seed: 99)
    let y = conv.forward(x)
    let ref = Self.directConv(x, conv)
    #expect(y.shape == ref.shape)
    var maxDiff: Float = 0
    for i in 0..<y.count { maxDiff = max(maxDiff, abs(y.pointer[i] - ref.pointer[i])) }
    #expect(maxDiff < 1e-4)

    let dy = Tensor(channels: y.channels, batch: 2, height: y.height, width: y.width)
    Self.random(dy, seed: 5)
    let dx = conv.inputGradient(dy, height: x.height, width: x.width)
    // ⟨conv(x) − b, dy⟩ = ⟨x, convᵀ dy⟩
    var lhs = 0.0
    for o in 0..<y.channels {
      for n in 0..<2 {
        for i in 0..<y.planeSize { lhs += Double(y.plane(o, n)[i] - bias[o]) * Double(dy.plane(o, n)[i]) }
      }
    }
    let rhs = Self.dot(x, dx)
    #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(lhs)))
  }

  @Test("resampling pullbacks are adjoints (nearest ×2, bilinear with and without align_corners)")
  func resamplingAdjoints() {
    let x = Tensor(channels: 3, batch: 2, height: 5, width: 7)
    Self.random(x, seed: 3)
    let up = Upsample.nearest(x, factor: 2)
    let dy = Tensor(channels: 3, batch: 2, height: 10, width: 14)
    Self.random(dy, seed: 4)
    #expect(abs(Self.dot(up, dy) - Self.dot(x, Upsample.nearestInputGradient(dy, factor: 2))) < 1e-4)
    for align in [true, false] {
      let y = Upsample.bilinear(x, height: 13, width: 10, alignCorners: align)
      let g = Tensor(channels: 3, batch: 2, height: 13, width: 10)
      Self.random(g, seed: 8)
      let dx = Upsample.bilinearInputGradient(g, height: 5, width: 7, alignCorners: align)
      #expect(abs(Self.dot(y, g) - Self.dot(x, dx)) < 1e-4)
    }
  }

  @Test("bilinear with align_corners=True keeps corners and averages midpoints")
  func bilinearValues() {
    let x = Tensor(channels: 1, batch: 1, height: 2, width: 2, values: [0, 1, 2, 3])
    let y = Upsample.bilinear(x, height: 3, width: 3, alignCorners: true)
    #expect(y.values == [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3])
  }

  @Test("max pooling routes each gradient to its window's first maximum")
  func maxPool() {
    let x = Tensor(channels: 2, batch: 1, height: 6, width: 6)
    Self.random(x, seed: 11)
    x[0, 0, 0, 0] = 5
    x[0, 0, 0, 1] = 5  // a tie: the first in scan order wins
    let pool = MaxPool2d(kernel: 3, stride: 2, padding: 1)
    let (y, idx) = pool.forward(x)
    #expect(y.shape == [2, 1, 3, 3])
    #expect(y[0, 0, 0, 0] == 5 && idx.values[0] == 0)
    let dy = Tensor(channels: 2, batch: 3, height: 3, width: 3)
    Self.random(dy, seed: 12)
    let dx = pool.inputGradient(dy, indices: idx)
    // Broadcast over 3 seeds: each seed's gradient sums to its dy's sum.
    for n in 0..<3 {
      var a = 0.0, b = 0.0
      for c in 0..<2 {
        for i in 0..<36 { a += Double(dx.plane(c, n)[i]) }
        for i in 0..<9 { b += Double(dy.plane(c, n)[i]) }
      }
      #expect(abs(a - b) < 1e-5)
    }
  }

  @Test("inference max pooling gives the recorded pooling's values, NaN included")
  func maxPoolValues() {
    for (size, kernel, stride, padding) in [(7, 3, 2, 1), (6, 3, 2, 1), (9, 2, 2, 0), (5, 3, 1, 1)] {
      let x = Tensor(channels: 3, batch: 2, height: size, width: size + 1)
      Self.random(x, seed: UInt32(size * 10 + kernel))
      x[1, 0, 2, 3] = .nan
      x[2, 1, 0, 0] = -.infinity
      let pool = MaxPool2d(kernel: kernel, stride: stride, padding: padding)
      let (reference, _) = pool.forward(x)
      let values = pool.forwardValues(x)
      #expect(values.shape == reference.shape)
      #expect(zip(values.values, reference.values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) })
      #expect(values.values.contains { $0.isNaN })
    }
  }

  @Test("group norm pullback matches finite differences, per seed")
  func groupNorm() {
    let x = Tensor(channels: 4, batch: 1, height: 3, width: 3)
    Self.random(x, seed: 21)
    let gn = GroupNorm(groups: 2, gamma: [1, 0.5, -1, 2], beta: [0, 0.1, 0.2, 0.3])
    let dy = Tensor(channels: 4, batch: 2, height: 3, width: 3)
    Self.random(dy, seed: 22)
    let (_, stats) = gn.forward(x)
    let dx = gn.inputGradient(dy, input: x, statistics: stats)
    let eps: Float = 1e-2
    for n in 0..<2 {
      let seed = dy.samples(n..<(n + 1))
      for i in [0, 5, 13, 30] {
        let xp = x.copy(), xm = x.copy()
        xp.pointer[i] += eps
        xm.pointer[i] -= eps
        let yp = gn.forward(xp).output, ym = gn.forward(xm).output
        var fd = 0.0
        for j in 0..<yp.count {
          fd += Double(yp.pointer[j] - ym.pointer[j]) / Double(2 * eps) * Double(seed.pointer[j])
        }
        let c = i / 9, p = i % 9
        #expect(abs(fd - Double(dx.plane(c, n)[p])) < 2e-3, "seed \(n) element \(i)")
      }
    }
  }

  @Test("guided ReLU passes only positive gradients where the input was positive")
  func reluRules() {
    let y = ReLU.forward(Tensor(channels: 1, batch: 1, height: 1, width: 4, values: [-1, 2, 3, 0]))
    let dy = Tensor(channels: 1, batch: 2, height: 1, width: 4, values: [1, 1, -1, 1, -2, 2, 2, 2])
    #expect(ReLU.inputGradient(dy, output: y, rule: .standard).values == [0, 1, -1, 0, 0, 2, 2, 0])
    #expect(ReLU.inputGradient(dy, output: y, rule: .guided).values == [0, 1, 0, 0, 0, 2, 2, 0])
  }

  @Test("the tape accumulates branches without aliasing and stops at the earliest target")
  func tapeBranches() {
    let tape = Tape()
    let x = tape.input(Tensor(channels: 1, batch: 1, height: 1, width: 2, values: [1, -2]))
    let a = tape.add(x, x)  // 2x
    let b = tape.add(a, x)  // 3x
    let r = tape.relu(b)
    let seeds = Tensor(channels: 1, batch: 2, height: 1, width: 2, values: [1, 1, 10, 10])
    let grads = tape.gradients(seeds: [(r, seeds)], wrt: [x, a])
    #expect(grads[0]?.values == [3, 0, 30, 0])
    #expect(grads[1]?.values == [1, 0, 10, 0])
  }

  @Test("FTZ/DAZ is on in workers")
  func flushDenormals() {
    Parallel.configure()
    #expect(Parallel.flushesDenormals)
    let tiny = Tensor(channels: 1, batch: 1, height: 1, width: 1, values: [Float.leastNormalMagnitude])
    let half = ChannelAffine(scale: [0.5], shift: [0]).forward(tiny)
    #expect(half.values == [0])
  }

  @Test("NPY files round-trip")
  func npy() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-\(UUID().uuidString).npy")
    defer { try? FileManager.default.removeItem(at: url) }
    try NPYFile.write([1, 2.5, -3, 4, 5, 6], shape: [2, 3], to: url)
    let (v, s) = try NPYFile.read(url)
    #expect(v == [1, 2.5, -3, 4, 5, 6] && s == [2, 3])
    try Data("not npy".utf8).write(to: url)
    #expect(throws: NPYFile.FormatError.self) { try NPYFile.read(url) }
  }
}
