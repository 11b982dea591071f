import ArgumentParser
import COpenBLAS
import Foundation
import Synchronization
import GeoCAMModels
import GeoCAMTensor

extension GeoCAM {
  /// `geocam bench`: forward and explanation-backward speed per tile, with GFLOP/s and where
  /// the time goes.
  struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Measure seconds per tile and GFLOP/s of the forward pass and of the batched backward.")

    @Option(name: .long, help: "Checkpoint to time (default: synthetic FPN weights of --encoder).")
    var checkpoint: String?

    @Option(name: .long, help: "Encoder of the synthetic FPN when no checkpoint is given.")
    var encoder = "resnext50_32x4d"

    @Option(name: .long, help: "Tile size (a multiple of 32).")
    var tile = 320

    @Option(name: .long, help: "Timed repetitions (the best is reported, after one warm-up).")
    var iterations = 3

    @Option(name: .long, help: "Classes in the batched backward (the explain workload).")
    var classes = 3

    @Flag(name: .long, help: "Fold batch norms into convolutions (faster; rounds differently from PyTorch).")
    var foldBN = false

    @Flag(name: .long, help: "Skip the per-layer breakdown.")
    var noLayers = false

    @Option(name: .long, help: "Tiles in flight for the throughput figure (each on its share of the workers; 0 skips it).")
    var inFlight = 2

    func validate() throws {
      if tile <= 0 || tile % 32 != 0 { throw ValidationError("--tile must be a positive multiple of 32") }
      if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
      Parallel.configure()
      let model: any ExplainableModel
      let pre: Preprocessing
      if let checkpoint {
        let b = try ModelBundle.load(path: checkpoint, foldBatchNorm: foldBN)
        (model, pre) = (b.model, b.preprocessing)
      } else {
        model = try FPNModel(try SyntheticWeights.fpn(encoder: encoder, classes: 4), foldBatchNorm: foldBN)
        pre = Preprocessing(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 255)
      }
      let a = model.architecture
      let corename = openblas_get_corename().map { String(cString: $0) } ?? "?"
      print("model      \(a.name) + \(a.encoder), \(a.classes) classes")
      print("machine    \(Parallel.workers) workers, OpenBLAS \(corename) single-threaded per worker, FTZ/DAZ \(Parallel.flushesDenormals ? "on" : "off")")
      let engineNote =
        !ConvolutionEngine.dnnlAvailable
        ? "libdnnl.so.2 not found; apt install libdnnl2 for faster convolutions"
        : ConvolutionEngine.current == .dnnl ? "GEOCAM_CONV_ENGINE=native for the built-in kernels only" : "GEOCAM_CONV_ENGINE=native"
      print("convs      \(ConvolutionEngine.description) (\(engineNote))")
      let size = model.task == .segmentation ? tile : 224
      let pixels = Tensor(channels: 3, batch: 1, height: size, width: size)
      var rng: UInt32 = 12345
      for i in 0..<pixels.count {
        rng = rng &* 1_664_525 &+ 1_013_904_223
        pixels.pointer[i] = Float(rng >> 24)
      }
      let options = ForwardOptions()
      let flops = 2 * Double(model.forwardMACs(height: size, width: size))

      // Forward only.
      var best = Double.infinity
      for i in 0...iterations {
        let t0 = Date()
        _ = try model.forward(pixels: pixels, preprocessing: pre, tape: Tape(recording: false), taps: [], options: options)
        if i > 0 { best = min(best, Date().timeIntervalSince(t0)) }
      }
      print(String(format: "forward    %.3f s per %d×%d tile, %.1f GFLOP, %.1f GFLOP/s", best, size, size, flops / 1e9, flops / best / 1e9))

      // Explain workload: one recorded forward, one batched backward for `classes` class-mean
      // targets to the default layer, one guided backward to the pixels.
      let k = min(classes, model.classCount)
      var bestExplain = Double.infinity
      var profiles: [[(op: String, seconds: Double)]] = []
      for i in 0...min(iterations, 2) {
        let t0 = Date()
        let tape = Tape()
        tape.profilesBackward = i == 1
        let out = try model.forward(pixels: pixels, preprocessing: pre, tape: tape, taps: [model.defaultLayer], options: options)
        let logits = out.logits.value
        let seeds = Bench.classMeanSeeds(logits, classes: k)
        if let layer = out.taps[model.defaultLayer] {
          _ = tape.gradients(seeds: [(out.logits, seeds)], wrt: [layer])
          if i == 1 { profiles.append(tape.backwardProfile) }
        }
        _ = tape.gradients(seeds: [(out.logits, seeds)], wrt: [out.pixels], rule: .guided)
        if i == 1 { profiles.append(tape.backwardProfile) }
        if i > 0 { bestExplain = min(bestExplain, Date().timeIntervalSince(t0)) }
      }
      print(String(format: "explain    %.3f s per tile: forward + backward to %@ + guided backward to pixels, %d classes batched", bestExplain, model.defaultLayer as NSString, k))
      if inFlight > 1 {
        let rates = try throughput(model: model, pixels: pixels, preprocessing: pre, classes: k, tiles: inFlight, rounds: max(2, iterations))
        print(String(format: "throughput %.2f tiles/s forward, %.2f tiles/s explain (%d tiles in flight, %d worker%@ each)", rates.forward, rates.explain, inFlight, max(1, rates.workers), rates.workers == 1 ? "" : "s"))
      }

      guard !noLayers else { return }
      for (title, profile) in zip(["backward to the layer", "guided backward to the pixels"], profiles) {
        let total = profile.reduce(0) { $0 + $1.seconds }
        print(String(format: "where the %@ time goes (%.0f ms):", title as NSString, total * 1000))
        for (op, s) in profile.sorted(by: { $0.seconds > $1.seconds }) {
          print("  " + op.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.1f ms  %5.1f%%", s * 1000, 100 * s / total))
        }
      }
      let profiled = try model.forward(
        pixels: pixels, preprocessing: pre, tape: Tape(recording: false), taps: [],
        options: ForwardOptions(profile: true))
      var groups: [(String, Double)] = []
      for (path, seconds) in profiled.timings {
        let key = Bench.group(path)
        if let i = groups.firstIndex(where: { $0.0 == key }) { groups[i].1 += seconds } else { groups.append((key, seconds)) }
      }
      let total = groups.reduce(0) { $0 + $1.1 }
      print("where the forward time goes:")
      for (key, s) in groups {
        print("  " + key.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.1f ms  %5.1f%%", s * 1000, 100 * s / total))
      }
      try convolutionProfile(model: model, pixels: pixels, preprocessing: pre, classes: k)
    }

    /// Tiles per second with `tiles` tiles in flight, each on `workers / tiles` workers (a city
    /// run is throughput-bound): `rounds` tiles per slot after one warm-up each.
    func throughput(
      model: any ExplainableModel, pixels: Tensor, preprocessing pre: Preprocessing, classes k: Int, tiles: Int, rounds: Int
    ) throws -> (forward: Double, explain: Double, workers: Int) {
      let saved = Parallel.workers
      defer { Parallel.workers = saved }
      let perTile = max(1, saved / tiles)
      Parallel.workers = perTile
      // The model is immutable after loading and every tile gets its own tape, so the slots share it.
      let shared = UncheckedSendable((model: model, pixels: pixels, pre: pre))
      func run(explain: Bool) throws -> Double {
        let failure = Mutex<(any Error)?>(nil)
        var started = Date()
        for pass in 0..<2 {  // pass 0 warms every slot up
          if pass == 1 { started = Date() }
          DispatchQueue.concurrentPerform(iterations: tiles) { _ in
            do {
              for _ in 0..<(pass == 0 ? 1 : rounds) {
                let (model, pixels, pre) = shared.value
                let tape = Tape(recording: explain)
                let out = try model.forward(pixels: pixels, preprocessing: pre, tape: tape, taps: explain ? [model.defaultLayer] : [])
                guard explain else { continue }
                let logits = out.logits.value
                let seeds = Bench.classMeanSeeds(logits, classes: k)
                if let layer = out.taps[model.defaultLayer] { _ = tape.gradients(seeds: [(out.logits, seeds)], wrt: [layer]) }
                _ = tape.gradients(seeds: [(out.logits, seeds)], wrt: [out.pixels], rule: .guided)
              }
            } catch {
              failure.withLock { $0 = error }
            }
          }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return Double(tiles * rounds) / Date().timeIntervalSince(started)
      }
      return (try run(explain: false), try run(explain: true), perTile)
    }

    /// One more explain pass with every convolution timed: per convolution, milliseconds and
    /// GFLOP/s of its forward, of its pullback in the backward to the layer and in the guided
    /// backward (K seeds each), in forward order.
    func convolutionProfile(model: any ExplainableModel, pixels: Tensor, preprocessing pre: Preprocessing, classes k: Int) throws {
      let tape = Tape()
      tape.profilesConvolutions = true
      let out = try model.forward(pixels: pixels, preprocessing: pre, tape: tape, taps: [model.defaultLayer], options: ForwardOptions())
      let logits = out.logits.value
      let seeds = Bench.classMeanSeeds(logits, classes: k)
      let forwardCount = tape.convolutionProfile.count
      if let layer = out.taps[model.defaultLayer] { _ = tape.gradients(seeds: [(out.logits, seeds)], wrt: [layer]) }
      let layerCount = tape.convolutionProfile.count
      _ = tape.gradients(seeds: [(out.logits, seeds)], wrt: [out.pixels], rule: .guided)
      let all = tape.convolutionProfile
      let forward = all[..<forwardCount], layer = all[forwardCount..<layerCount], guided = all[layerCount...]
      func cell(_ t: Tape.ConvolutionTiming?) -> String {
        guard let t else { return "           –          " }
        return String(format: "%7.2f ms %6.1f GF/s", t.seconds * 1000, t.seconds > 0 ? t.flops / t.seconds / 1e9 : 0)
      }
      print("per convolution (forward | backward to the layer | guided backward, \(k) seeds):")
      for f in forward {
        let name = f.name.count > 40 ? String(f.name.suffix(40)) : f.name
        print(
          "  " + name.padding(toLength: 40, withPad: " ", startingAt: 0) + " " + cell(f) + " | "
            + cell(layer.first { $0.name == f.name }) + " | " + cell(guided.first { $0.name == f.name }))
      }
      func sum(_ s: ArraySlice<Tape.ConvolutionTiming>) -> String {
        let seconds = s.reduce(0) { $0 + $1.seconds }, flops = s.reduce(0) { $0 + $1.flops }
        return String(format: "%7.1f ms %6.1f GF/s", seconds * 1000, seconds > 0 ? flops / seconds / 1e9 : 0)
      }
      print("  " + "all convolutions".padding(toLength: 40, withPad: " ", startingAt: 0) + " " + sum(forward) + " | " + sum(layer) + " | " + sum(guided))
    }

    /// The explain workload's seeds: class-mean targets of the last `k` classes, one per sample.
    static func classMeanSeeds(_ logits: Tensor, classes k: Int) -> Tensor {
      let seeds = Tensor(channels: logits.channels, batch: k, height: logits.height, width: logits.width)
      for j in 0..<k {
        seeds.plane(logits.channels - k + j, j).update(repeating: 1 / Float(logits.planeSize), count: logits.planeSize)
      }
      return seeds
    }

    /// Coarse layer groups for the breakdown (`encoder.layer2`, `decoder.seg_blocks`, …).
    static func group(_ path: String) -> String {
      let parts = path.split(separator: ".").map(String.init)
      if parts.first == "encoder", parts.count > 1, parts[1].hasPrefix("layer") { return "encoder.\(parts[1])" }
      if parts.first == "encoder" { return "encoder.stem" }
      if parts.first == "decoder", parts.count > 1, parts[1] == "seg_blocks", parts.count > 2 { return "decoder.seg_blocks.\(parts[2])" }
      if parts.first == "decoder" { return "decoder.pyramid" }
      if parts.first?.hasPrefix("layer") == true { return parts[0] }
      return parts.first ?? path
    }
  }
}
