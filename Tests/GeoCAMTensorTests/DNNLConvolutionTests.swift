import Dispatch
import GeoCAMCore
import Testing

@testable import GeoCAMTensor

/// oneDNN's convolutions against the built-in kernels on the shapes of FPN(resnext50_32x4d):
/// forward with bias, and the input gradient for several seeds at once.
@Suite("oneDNN convolutions", .serialized, .enabled(if: ConvolutionEngine.dnnlAvailable))
struct DNNLConvolutionTests {
  struct Shape: CustomStringConvertible, Sendable {
    var cin: Int, cout: Int, k: Int, stride: Int, groups: Int, size: Int, batch: Int
    var description: String { "\(cin)→\(cout) \(k)×\(k)/\(stride) g\(groups) \(size)² ×\(batch)" }
  }

  static let shapes: [Shape] = [
    Shape(cin: 3, cout: 64, k: 7, stride: 2, groups: 1, size: 64, batch: 1),  // stem
    Shape(cin: 64, cout: 128, k: 1, stride: 1, groups: 1, size: 20, batch: 3),  // pointwise
    Shape(cin: 2048, cout: 256, k: 1, stride: 1, groups: 1, size: 10, batch: 4),  // decoder.p5
    Shape(cin: 256, cout: 512, k: 1, stride: 2, groups: 1, size: 20, batch: 2),  // downsample
    Shape(cin: 128, cout: 128, k: 3, stride: 1, groups: 32, size: 20, batch: 3),  // grouped
    Shape(cin: 256, cout: 256, k: 3, stride: 2, groups: 32, size: 21, batch: 3),  // grouped, strided, odd
    Shape(cin: 256, cout: 128, k: 3, stride: 1, groups: 1, size: 10, batch: 4),  // seg block
    Shape(cin: 128, cout: 128, k: 3, stride: 1, groups: 1, size: 40, batch: 1),  // seg block
    Shape(cin: 128, cout: 4, k: 1, stride: 1, groups: 1, size: 16, batch: 4),  // head
  ]

  /// Runs `body` with the engine set to `engine`, restoring the previous setting.
  static func with<R>(_ engine: ConvolutionEngine, _ body: () -> R) -> R {
    let saved = ConvolutionEngine.current
    ConvolutionEngine.current = engine
    defer { ConvolutionEngine.current = saved }
    return body()
  }

  static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    var diff: Float = 0, scale: Float = 0
    for i in 0..<a.count {
      diff = max(diff, abs(a.pointer[i] - b.pointer[i]))
      scale = max(scale, abs(b.pointer[i]))
    }
    return diff / max(scale, 1e-30)
  }

  @Test("forward and input gradient equal the built-in kernels", arguments: shapes)
  func matchesBuiltIn(_ s: Shape) {
    var rng = SeededRandom(seed: UInt64(s.cin * 31 + s.cout * 7 + s.k + s.size))
    let perOut = (s.cin / s.groups) * s.k * s.k
    let bound = 1 / Float(perOut).squareRoot()
    let weight = (0..<(s.cout * perOut)).map { _ in Float.random(in: -bound..<bound, using: &rng) }
    let bias = (0..<s.cout).map { _ in Float.random(in: -0.5..<0.5, using: &rng) }
    let conv = Conv2d(
      weight: weight, bias: bias, outChannels: s.cout, inChannels: s.cin, kernel: (s.k, s.k),
      stride: (s.stride, s.stride), padding: (s.k / 2, s.k / 2), groups: s.groups)
    let x = Tensor(
      channels: s.cin, batch: s.batch, height: s.size, width: s.size,
      values: (0..<(s.cin * s.batch * s.size * s.size)).map { _ in Float.random(in: -1..<1, using: &rng) })
    let reference = Self.with(.native) { conv.forward(x) }
    let fast = Self.with(.dnnl) { conv.forward(x) }
    #expect(fast.shape == reference.shape)
    #expect(Self.relativeError(fast, reference) <= 1e-5, "forward \(s)")

    let oh = conv.outputHeight(s.size), ow = conv.outputWidth(s.size)
    let dy = Tensor(
      channels: s.cout, batch: s.batch, height: oh, width: ow,
      values: (0..<(s.cout * s.batch * oh * ow)).map { _ in Float.random(in: -1..<1, using: &rng) })
    let dxReference = Self.with(.native) { conv.inputGradient(dy, height: s.size, width: s.size) }
    let dxFast = Self.with(.dnnl) { conv.inputGradient(dy, height: s.size, width: s.size) }
    #expect(Self.relativeError(dxFast, dxReference) <= 1e-5, "input gradient \(s)")
  }
}

extension DNNLConvolutionTests {
  /// Two tiles in flight run the same convolutions at once on two threads (`bench --in-flight`,
  /// the pipeline's workers): each call must own its scratch space.
  @Test("the same convolutions from two threads at once give each thread its own result")
  func concurrentCalls() {
    var rng = SeededRandom(seed: 7)
    let convs = [(256, 128, 3, 1), (128, 128, 3, 32), (128, 256, 1, 1)].map { cin, cout, k, g in
      let perOut = (cin / g) * k * k
      return Conv2d(
        weight: (0..<(cout * perOut)).map { _ in Float.random(in: -0.1..<0.1, using: &rng) }, outChannels: cout, inChannels: cin,
        kernel: (k, k), padding: (k / 2, k / 2), groups: g)
    }
    let inputs = (0..<2).map { _ in
      (
        Tensor(channels: 256, height: 24, width: 24, values: (0..<(256 * 576)).map { _ in Float.random(in: -1..<1, using: &rng) }),
        Tensor(channels: 128, height: 24, width: 24, values: (0..<(128 * 576)).map { _ in Float.random(in: -1..<1, using: &rng) })
      )
    }
    @Sendable func chain(_ x: (Tensor, Tensor)) -> [Float] {
      let a = convs[0].forward(x.0)
      let b = convs[1].forward(x.1)
      let c = convs[2].forward(b)
      let d = convs[1].inputGradient(Tensor(channels: 128, batch: 1, height: 24, width: 24, values: a.values), height: 24, width: 24)
      return a.values + c.values + d.values
    }
    let expected = Self.with(.dnnl) { inputs.map(chain) }
    let saved = Parallel.workers
    Parallel.workers = 1
    defer { Parallel.workers = saved }
    final class Results: @unchecked Sendable { var values = [[Float]](repeating: [], count: 2) }
    let results = Results()
    Self.with(.dnnl) {
      for _ in 0..<5 {
        DispatchQueue.concurrentPerform(iterations: 2) { i in
          results.values[i] = chain(inputs[i])
        }
        #expect(results.values == expected)
      }
    }
  }
}
