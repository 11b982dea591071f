import Dispatch
import GeoCAMTensor

/// Switches that change how a forward pass runs, not what it computes.
public struct ForwardOptions: Sendable {
  /// Record the wall time between consecutive module outputs.
  public var profile: Bool
  /// Replaces a module's output (perturbation methods ablate channels this way); the
  /// replacement may carry a larger batch, which later ops broadcast against batch-1 branches.
  /// Only module outputs that are taps of the pass can be replaced: request the path in `taps`.
  public var override: (@Sendable (_ path: String, _ value: Traced) -> Traced?)?

  /// Creates options (all off by default).
  public init(
    profile: Bool = false,
    override: (@Sendable (_ path: String, _ value: Traced) -> Traced?)? = nil
  ) {
    self.profile = profile
    self.override = override
  }
}

/// What one forward pass records: the tape and the module outputs ("taps") asked for by path.
public final class ForwardContext {
  /// The tape ops record on.
  public let tape: Tape
  /// Paths whose outputs must be kept; `nil` keeps every module output.
  public let requested: Set<String>?
  /// Module outputs by PyTorch path (e.g. `encoder.layer4.2.conv3`).
  public private(set) var taps: [String: Traced] = [:]

  /// How the pass runs.
  public let options: ForwardOptions
  /// Seconds spent since the previous module output, per module output (when profiling).
  public private(set) var timings: [(path: String, seconds: Double)] = []
  private var lastTick = DispatchTime.now().uptimeNanoseconds

  /// Creates a context; `requested == nil` keeps every module output.
  public init(tape: Tape, requested: Set<String>? = [], options: ForwardOptions = ForwardOptions()) {
    self.tape = tape
    self.requested = requested
    self.options = options
  }

  /// Whether the output at `path` is wanted.
  public func wants(_ path: String) -> Bool { requested.map { $0.contains(path) } ?? true }

  /// Records a module output and returns it (or its override): callers continue from the
  /// returned value.
  @discardableResult
  public func tap(_ path: String, _ value: Traced) -> Traced {
    var value = value
    if let override = options.override, let replaced = override(path, value) { value = replaced }
    if wants(path) { taps[path] = value }
    if options.profile {
      let now = DispatchTime.now().uptimeNanoseconds
      timings.append((path, Double(now - lastTick) / 1e9))
      lastTick = now
    }
    return value
  }
}
