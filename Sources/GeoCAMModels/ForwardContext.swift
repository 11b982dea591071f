import GeoCAMTensor

/// What one forward pass records: the tape and the module outputs ("taps") asked for by path.
public final class ForwardContext {
  /// The tape ops record on.
  public let tape: Tape
  /// Paths whose outputs must be kept; `nil` keeps every module output.
  public let requested: Set<String>?
  /// Module outputs by PyTorch path (e.g. `encoder.layer4.2.conv3`).
  public private(set) var taps: [String: Traced] = [:]

  /// Whether conv + batch-norm pairs run as one folded convolution (faster, but rounds
  /// differently from PyTorch, which runs them as two modules).
  public let foldBatchNorm: Bool

  /// Creates a context; `requested == nil` keeps every module output.
  public init(tape: Tape, requested: Set<String>? = [], foldBatchNorm: Bool = false) {
    self.tape = tape
    self.requested = requested
    self.foldBatchNorm = foldBatchNorm
  }

  /// Whether the output at `path` is wanted.
  public func wants(_ path: String) -> Bool { requested.map { $0.contains(path) } ?? true }

  /// Records a module output.
  @discardableResult
  public func tap(_ path: String, _ value: Traced) -> Traced {
    if wants(path) { taps[path] = value }
    return value
  }
}
