import CDNNL
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Which convolutions run on oneDNN (when `libdnnl.so.2` is installed) rather than on GeoCAM's
/// own im2col + sgemm, Winograd and grouped kernels.
///
/// oneDNN's JIT kernels on its blocked layout run ResNeXt's grouped 3×3 convolutions about 4×
/// faster than GeoCAM's kernels and the stem and 1×1 convolutions 15–60 % faster
/// (`Benchmarks/README.md`); the activations are reordered into and out of that layout around
/// each call. Without the library every convolution runs on the built-in kernels, with the same
/// results to float rounding (`DNNLConvolutionTests`).
public enum ConvolutionEngine: String, Sendable, CaseIterable {
  /// oneDNN for every convolution it can run.
  case dnnl
  /// GeoCAM's own kernels only.
  case native

  /// The engine convolutions use now: `dnnl` when the library loads, unless the environment
  /// variable `GEOCAM_CONV_ENGINE=native` (or a later assignment) says otherwise.
  public static var current: ConvolutionEngine {
    get { setting.withLock { $0 } }
    set { setting.withLock { $0 = newValue } }
  }

  /// Whether oneDNN could be loaded (`libdnnl.so.2`, the 2.x API).
  public static var dnnlAvailable: Bool { geocam_dnnl_available() != 0 }

  /// A short description for provenance and `geocam bench`: "oneDNN 2.6.3" or "built-in kernels".
  public static var description: String {
    current == .dnnl && dnnlAvailable ? "oneDNN \(String(cString: geocam_dnnl_version()))" : "built-in kernels"
  }

  /// Whether ungrouped 3×3 convolutions use oneDNN's Winograd kernels (`GEOCAM_DNNL_WINOGRAD=0`
  /// keeps them direct).
  static let winograd: Bool = getenv("GEOCAM_DNNL_WINOGRAD").map { String(cString: $0) != "0" } ?? true

  private static let setting: Mutex<ConvolutionEngine> = {
    var chosen = ConvolutionEngine.dnnl
    if let raw = getenv("GEOCAM_CONV_ENGINE"), let named = ConvolutionEngine(rawValue: String(cString: raw)) {
      chosen = named
    }
    return Mutex(chosen)
  }()
}

/// One convolution's oneDNN handle: primitives per input shape and direction, created on first
/// use, with the weights reordered once into the layout each primitive wants.
final class DNNLConvolution: @unchecked Sendable {
  private let handle: OpaquePointer
  // The C side holds raw pointers into these; keeping them here keeps them alive.
  private let weight: TensorBuffer
  private let bias: TensorBuffer?

  /// Nil when oneDNN is not available.
  init?(
    weight: TensorBuffer, bias: TensorBuffer?, outChannels: Int, inChannels: Int, groups: Int,
    kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int), dilation: (h: Int, w: Int),
    mode: geocam_dnnl_mode
  ) {
    guard
      let h = geocam_dnnl_conv_create(
        Int32(inChannels), Int32(outChannels), Int32(groups), Int32(kernel.h), Int32(kernel.w), Int32(stride.h),
        Int32(stride.w), Int32(padding.h), Int32(padding.w), Int32(dilation.h), Int32(dilation.w),
        UnsafePointer(weight.pointer), bias.map { UnsafePointer($0.pointer) }, mode)
    else { return nil }
    handle = h
    self.weight = weight
    self.bias = bias
  }

  deinit { geocam_dnnl_conv_destroy(handle) }

  /// Runs the forward (`backward == false`: `input` is x, `output` y) or the input gradient
  /// (`input` is dy, `output` dx) for `batch` samples of a `height × width` convolution input.
  /// False when oneDNN cannot run this shape; the caller then uses its own kernels.
  /// A pointwise (1×1, stride 1) convolution sees `[C][N·H·W]` as one image of one row: the
  /// batch folds into the GEMM's columns as in the built-in kernel.
  func run(backward: Bool, batch: Int, height: Int, width: Int, input: Tensor, output: Tensor, pointwise: Bool) -> Bool {
    let (batch, height, width) = pointwise ? (1, 1, batch * height * width) : (batch, height, width)
    let direction: Int32 = backward ? 1 : 0
    var outFloats = 0, padFloats = 0
    let inFloats = geocam_dnnl_conv_prepare(
      handle, direction, Int32(batch), Int32(height), Int32(width), &outFloats, &padFloats)
    guard inFloats >= 0 else { return false }
    // Blocked copies of the input and output, and oneDNN's scratchpad, come from the shared
    // scratch pool as one buffer (each part 64-byte aligned): each call owns its buffer (two
    // tiles may run one convolution at once), the hot path allocates nothing once every shape
    // has been seen, and a pointwise convolution, which needs none, takes none (tiny requests
    // would otherwise hold on to large pooled buffers and make the pool grow more).
    func rounded(_ n: Int) -> Int { (n + 15) & ~15 }
    let total = rounded(inFloats) + rounded(outFloats) + rounded(padFloats)
    func run(_ base: UnsafeMutablePointer<Float>?) -> Bool {
      let scratchIn = inFloats > 0 ? base : nil
      let scratchOut = outFloats > 0 ? base.map { $0 + rounded(inFloats) } : nil
      let pad = padFloats > 0 ? base.map { $0 + rounded(inFloats) + rounded(outFloats) } : nil
      return geocam_dnnl_conv_run(
        handle, direction, Int32(batch), Int32(height), Int32(width), UnsafePointer(input.pointer),
        output.pointer, scratchIn, scratchOut, pad, Int32(Parallel.workers)) == 0
    }
    if total == 0 { return run(nil) }
    return ScratchPool.shared.withBuffer(count: total) { run($0) }
  }
}
