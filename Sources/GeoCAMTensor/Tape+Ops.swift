import Dispatch

/// Traced versions of the ops: each computes the forward value and records its pullback.
extension Tape {
  /// Convolution; `name` (its module path) labels it in the per-convolution profile.
  public func conv2d(_ x: Traced, _ conv: Conv2d, name: String = "conv") -> Traced {
    recordConvolution(x, conv, name: name, then: { $0 }, pullbackWith: conv)
  }

  /// A convolution followed by a per-channel affine map (inference batch norm) as one node: the
  /// forward runs both as separate ops (PyTorch's rounding), the pullback is one transposed
  /// convolution with `backward`'s weights (the convolution's, each output channel scaled by the
  /// affine's scale), so no batch-norm pullback pass over the gradients is needed.
  public func conv2dAffine(_ x: Traced, _ conv: Conv2d, _ affine: ChannelAffine, backward: Conv2d, name: String = "conv") -> Traced {
    // The convolution's output is fresh and held by nothing else: the norm can overwrite it.
    recordConvolution(x, conv, name: name, then: { affine.applyInPlace($0) }, pullbackWith: backward)
  }

  /// Convolution, per-channel affine map and rectifier as one node: the norm and the ReLU run in
  /// one pass over the convolution's fresh output (same arithmetic as the separate ops, one
  /// memory pass instead of two); the pullback applies the ReLU rule to the gradient, then the
  /// transposed convolution with `backward`'s weights.
  public func conv2dAffineReLU(
    _ x: Traced, _ conv: Conv2d, _ affine: ChannelAffine, backward: Conv2d, name: String = "conv"
  ) -> Traced {
    recordConvolution(x, conv, name: name, then: { affine.applyReLUInPlace($0) }, pullbackWith: backward, rectified: true)
  }

  /// Runs `conv` (timed when profiling), applies `then` to its output, and records one node whose
  /// pullback is `pullbackWith`'s transposed convolution (after the ReLU rule when `rectified`).
  private func recordConvolution(
    _ x: Traced, _ conv: Conv2d, name: String, then: (Tensor) -> Tensor, pullbackWith backward: Conv2d,
    rectified: Bool = false
  ) -> Traced {
    let started = profilesConvolutions ? DispatchTime.now().uptimeNanoseconds : 0
    let z = conv.forward(x.value)
    let h = x.value.height, w = x.value.width
    let macs = conv.macsPerOutputPixel * z.planeSize
    if profilesConvolutions {
      convolutionProfile.append(
        ConvolutionTiming(
          name: name, forward: true, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
          flops: 2 * Double(macs) * Double(x.value.batch)))
    }
    let label: StaticString =
      conv.groups > 1 ? "conv grouped" : (conv.kernel == (1, 1) ? "conv 1x1" : (conv.kernel == (3, 3) ? "conv 3x3" : "conv 7x7/other"))
    let y = then(z)
    guard rectified else {
      return record(y, inputs: [x], label: label, convolution: (name, macs)) { g, _ in
        [backward.inputGradient(g, height: h, width: w)]
      }
    }
    return record(y, inputs: [x], label: label, convolution: (name, macs)) { g, rule in
      [backward.inputGradient(ReLU.inputGradient(g, output: y, rule: rule), height: h, width: w)]
    }
  }

  /// Per-channel affine map (batch norm in inference mode).
  public func affine(_ x: Traced, _ op: ChannelAffine) -> Traced {
    record(op.forward(x.value), inputs: [x], label: "batchnorm/affine") { g, _ in [op.inputGradient(g)] }
  }

  /// Rectifier; its pullback follows the rule passed to `gradients`.
  public func relu(_ x: Traced) -> Traced {
    let y = ReLU.forward(x.value)
    guard isRecording else { return record(y, inputs: [x], label: "relu") { _, _ in [] } }
    return record(y, inputs: [x], label: "relu") { g, rule in [ReLU.inputGradient(g, output: y, rule: rule)] }
  }

  /// Max pooling.
  public func maxPool(_ x: Traced, _ op: MaxPool2d) -> Traced {
    guard isRecording else { return record(op.forwardValues(x.value), inputs: [x], label: "maxpool") { _, _ in [] } }
    let (y, indices) = op.forward(x.value)
    return record(y, inputs: [x], label: "maxpool") { g, _ in [op.inputGradient(g, indices: indices)] }
  }

  /// Sum of two tensors of one shape (a batch-1 operand broadcasts over the other's batch).
  public func add(_ a: Traced, _ b: Traced) -> Traced {
    let aBatch = a.value.batch, bBatch = b.value.batch
    return record(Elementwise.add(a.value, b.value), inputs: [a, b], label: "add") { g, _ in
      // Without broadcasting in the forward pass, g passes through whatever its seed batch;
      // a broadcast operand receives the sum over the samples it was repeated for.
      if aBatch == bBatch { return [g, g] }
      return [aBatch == 1 ? Elementwise.sumOverBatch(g) : g, bBatch == 1 ? Elementwise.sumOverBatch(g) : g]
    }
  }

  /// `relu(a + b)` as one node and one pass (ResNet's residual join); operands of different
  /// batch sizes (a broadcast) take the separate ops.
  public func addReLU(_ a: Traced, _ b: Traced) -> Traced {
    guard a.value.batch == b.value.batch else { return relu(add(a, b)) }
    let y = Elementwise.addReLU(a.value, b.value)
    guard isRecording else { return record(y, inputs: [a, b], label: "add") { _, _ in [] } }
    return record(y, inputs: [a, b], label: "relu") { g, rule in
      // One buffer for both inputs: the tape copies it for the second owner only if it must.
      let d = ReLU.inputGradient(g, output: y, rule: rule)
      return [d, d]
    }
  }

  /// Nearest-neighbour upsampling by an integer factor.
  public func upsampleNearest(_ x: Traced, factor: Int) -> Traced {
    record(Upsample.nearest(x.value, factor: factor), inputs: [x], label: "upsample nearest") { g, _ in
      [Upsample.nearestInputGradient(g, factor: factor)]
    }
  }

  /// Bilinear resampling to a size.
  public func upsampleBilinear(_ x: Traced, height: Int, width: Int, alignCorners: Bool) -> Traced {
    let h = x.value.height, w = x.value.width
    let y = Upsample.bilinear(x.value, height: height, width: width, alignCorners: alignCorners)
    return record(y, inputs: [x], label: "upsample bilinear") { g, _ in
      [Upsample.bilinearInputGradient(g, height: h, width: w, alignCorners: alignCorners)]
    }
  }

  /// Group normalisation.
  public func groupNorm(_ x: Traced, _ op: GroupNorm) -> Traced {
    let (y, stats) = op.forward(x.value)
    let input = x.value
    return record(y, inputs: [x], label: "groupnorm") { g, _ in [op.inputGradient(g, input: input, statistics: stats)] }
  }

  /// Fully connected layer.
  public func linear(_ x: Traced, _ op: Linear) -> Traced {
    record(op.forward(x.value), inputs: [x], label: "linear") { g, _ in [op.inputGradient(g)] }
  }

  /// Global average pooling.
  public func globalAveragePool(_ x: Traced) -> Traced {
    let h = x.value.height, w = x.value.width
    return record(GlobalAveragePool.forward(x.value), inputs: [x], label: "avgpool") { g, _ in
      [GlobalAveragePool.inputGradient(g, height: h, width: w)]
    }
  }

  /// Sum of several tensors of one shape (smp FPN's `add` merge).
  public func sum(_ xs: [Traced]) -> Traced {
    precondition(!xs.isEmpty, "sum of nothing")
    var acc = xs[0].value.copy()
    for x in xs.dropFirst() { acc = Elementwise.add(acc, x.value) }
    let batches = xs.map(\.value.batch)
    let broadcast = Set(batches).count > 1
    return record(acc, inputs: xs, label: "sum") { g, _ in
      batches.map { broadcast && $0 == 1 ? Elementwise.sumOverBatch(g) : g }
    }
  }

  /// Channel concatenation (smp FPN's `cat` merge); batch and size must agree.
  public func concatChannels(_ xs: [Traced]) -> Traced {
    let first = xs[0].value
    let total = xs.reduce(0) { $0 + $1.value.channels }
    let y = Tensor(channels: total, batch: first.batch, height: first.height, width: first.width)
    var offset = 0
    for x in xs {
      (y.pointer + offset).update(from: x.value.pointer, count: x.value.count)
      offset += x.value.count
    }
    let sizes = xs.map(\.value.channels)
    return record(y, inputs: xs, label: "concat") { g, _ in
      var start = 0
      return sizes.map { c in
        defer { start += c }
        return g.channelSlice(start..<(start + c))
      }
    }
  }
}
