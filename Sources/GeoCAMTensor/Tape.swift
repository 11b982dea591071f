import Dispatch

/// A tensor produced during a traced forward pass, with its position on the tape.
public struct Traced: @unchecked Sendable {
  /// Position on the tape (`-1` when the tape is not recording).
  public let id: Int
  /// The forward value.
  public let value: Tensor

  /// Pairs a value with a tape position (perturbation methods substitute values this way).
  public init(id: Int, value: Tensor) {
    self.id = id
    self.value = value
  }
}

/// Records a forward pass so gradients of any outputs can be pulled back to any recorded
/// tensors, for several cotangent seeds at once.
///
/// Weights are frozen: only gradients with respect to activations and inputs exist. A forward
/// with batch 1 can be pulled back with K seeds (one per class): every pullback broadcasts what
/// it kept from the forward pass over the seeds, so the forward runs once per tile.
public final class Tape {
  /// Whether ops record pullbacks (false for plain inference, which then keeps nothing alive).
  public let isRecording: Bool

  /// Maps the gradient of a node's output to the gradients of its inputs.
  public typealias Pullback = (_ gradient: Tensor, _ rule: ReLURule) -> [Tensor?]

  private struct Node {
    let output: Int
    let inputs: [Int]
    let label: StaticString
    let pullback: Pullback
    /// A convolution's module path and multiply-accumulates per sample (for the profile).
    var convolution: (name: String, macs: Int)? = nil
  }

  /// Whether `gradients` times each pullback by op kind (see `backwardProfile`).
  public var profilesBackward = false
  /// Seconds per op kind spent in pullbacks by the last `gradients` call (when profiling).
  public private(set) var backwardProfile: [(op: String, seconds: Double)] = []

  /// One convolution's time in one pass.
  public struct ConvolutionTiming: Sendable {
    /// The module path (`encoder.layer1.0.conv2`).
    public var name: String
    /// True for the forward pass, false for a pullback.
    public var forward: Bool
    public var seconds: Double
    /// Floating-point operations done (2 per multiply-accumulate, over the batch or the seeds).
    public var flops: Double
  }

  /// Whether convolutions are timed one by one, forward and backward (`convolutionProfile`).
  public var profilesConvolutions = false
  /// Per-convolution timings, in execution order, while `profilesConvolutions` is set.
  public internal(set) var convolutionProfile: [ConvolutionTiming] = []

  private var nodes: [Node] = []
  private var nextID = 0

  /// Creates an empty tape.
  public init(recording: Bool = true) { isRecording = recording }

  /// Number of recorded ops.
  public var count: Int { nodes.count }

  /// Registers an input (a leaf whose gradient may be requested).
  public func input(_ tensor: Tensor) -> Traced {
    guard isRecording else { return Traced(id: -1, value: tensor) }
    defer { nextID += 1 }
    return Traced(id: nextID, value: tensor)
  }

  /// Records an op's output and its pullback (`convolution` names a convolution and its
  /// multiply-accumulates per sample for the per-convolution profile).
  public func record(
    _ output: Tensor, inputs: [Traced], label: StaticString = "op", convolution: (name: String, macs: Int)? = nil,
    pullback: @escaping Pullback
  ) -> Traced {
    guard isRecording else { return Traced(id: -1, value: output) }
    let id = nextID
    nextID += 1
    nodes.append(Node(output: id, inputs: inputs.map(\.id), label: label, pullback: pullback, convolution: convolution))
    return Traced(id: id, value: output)
  }

  /// Pulls cotangents back through the tape.
  ///
  /// - Parameters:
  ///   - seeds: outputs with their cotangents; all cotangents share one batch size K.
  ///   - targets: recorded tensors whose gradients are wanted.
  ///   - rule: how ReLUs pass gradients (standard or guided).
  /// - Returns: one gradient per target (`[C][K][H][W]`), `nil` where no seed reaches it.
  ///
  /// Only the part of the tape after the earliest target is replayed, only the ops with an input
  /// computed from a target (an FPN's lateral convolutions carry nothing back to a deeper
  /// encoder layer, so their pullbacks are skipped), and intermediate gradients are released as
  /// soon as they are consumed.
  public func gradients(seeds: [(of: Traced, cotangent: Tensor)], wrt targets: [Traced], rule: ReLURule = .standard)
    -> [Tensor?]
  {
    precondition(isRecording, "gradients need a recording tape")
    var grads: [Int: Tensor] = [:]
    // How many holders each gradient buffer has: entries of `grads`, plus one for a buffer the
    // caller owns (a seed). Pullbacks never write into their inputs, so one buffer may serve
    // several inputs (add and sum pass g through; a fused add + ReLU hands out its one result)
    // without a copy; only accumulation writes, and it works in place on a buffer with a single
    // holder and out of place otherwise. (Copying shared buffers instead cost a serial memory
    // pass over every residual gradient, ~2 % of an explain.)
    var holders: [ObjectIdentifier: Int] = [:]
    func hold(_ t: Tensor) { holders[ObjectIdentifier(t.buffer), default: 0] += 1 }
    func release(_ t: Tensor) {
      let key = ObjectIdentifier(t.buffer)
      if let n = holders[key], n > 1 { holders[key] = n - 1 } else { holders[key] = nil }
    }
    func store(_ t: Tensor, at id: Int) {
      if let existing = grads[id] {
        if holders[ObjectIdentifier(existing.buffer)] == 1 && existing.buffer !== t.buffer {
          Elementwise.accumulate(existing, t)
        } else {
          let sum = Elementwise.add(existing, t)
          release(existing)
          grads[id] = sum
          hold(sum)
        }
      } else {
        grads[id] = t
        hold(t)
      }
    }
    func drop(_ id: Int) {
      if let t = grads.removeValue(forKey: id) { release(t) }
    }
    for (of, cotangent) in seeds {
      precondition(of.id >= 0, "seed is not on the tape")
      hold(cotangent)  // the caller's: never written
      store(cotangent, at: of.id)
    }
    var profile: [String: Double] = [:]
    var order: [String] = []
    defer {
      if profilesBackward { backwardProfile = order.map { ($0, profile[$0] ?? 0) } }
    }
    let wanted = Set(targets.map(\.id))
    let earliest = targets.map(\.id).min() ?? Int.max
    // dependsOnTarget[id - earliest]: whether tensor `id` is a target or computed from one. Ids
    // are in forward order, so one pass over the nodes settles it.
    var dependsOnTarget = [Bool](repeating: false, count: Swift.max(0, nextID - Swift.max(earliest, 0)))
    func depends(_ id: Int) -> Bool { id >= earliest && id - earliest < dependsOnTarget.count && dependsOnTarget[id - earliest] }
    if earliest < Int.max {
      for id in wanted where id >= earliest && id - earliest < dependsOnTarget.count { dependsOnTarget[id - earliest] = true }
      for node in nodes where node.output > earliest && node.inputs.contains(where: depends) {
        dependsOnTarget[node.output - earliest] = true
      }
    }
    for node in nodes.reversed() {
      if node.output <= earliest { break }
      guard let g = grads[node.output] else { continue }
      // No input leads back to a target: nothing this pullback computes would be used.
      guard node.inputs.contains(where: depends) else {
        if !wanted.contains(node.output) { drop(node.output) }
        continue
      }
      let keepOutput = wanted.contains(node.output)
      if !keepOutput { drop(node.output) }
      let started = profilesBackward || profilesConvolutions ? DispatchTime.now().uptimeNanoseconds : 0
      let inputGrads = node.pullback(g, rule)
      if profilesConvolutions, let conv = node.convolution {
        convolutionProfile.append(
          ConvolutionTiming(
            name: conv.name, forward: false, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
            flops: 2 * Double(conv.macs) * Double(g.batch)))
      }
      if profilesBackward {
        let key = "\(node.label)"
        if profile[key] == nil { order.append(key) }
        profile[key, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
      }
      for (input, ig) in zip(node.inputs, inputGrads) {
        guard input >= 0, depends(input), let ig else { continue }
        store(ig, at: input)
      }
    }
    return targets.map { grads[$0.id] }
  }
}
