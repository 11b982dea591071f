import Foundation
import GeoCAMGeo
import GeoCAMImaging

extension CityPipeline {
  /// `geocam merge OUT.tif`: joins the parts `OUT.part-I-of-N.*` that the N shares of a sharded
  /// run wrote into the same files a single-process run writes (scene normalisation, quicklook
  /// and summary included). Refuses, naming the file, when a part is missing or unfinished, or
  /// when the parts come from different commands or shard counts. The parts are left in place.
  public static func merge(
    output: String, restart: Bool = false, quiet: Bool = false, breakLock: Bool = false,
    progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> RunSummary {
    let started = Date()
    let report = progress ?? StderrProgress(quiet: quiet).handle
    try checkOutputFolder(output)
    let lock = try RunLock.acquire(path: OutputPaths.lock(of: output, shard: nil), command: "merge", breakLock: breakLock) {
      report(.warning($0))
    }
    defer { lock.release() }
    limitGDALCache(256)
    let fm = FileManager.default
    let base = OutputPaths.base(of: output)
    let folder = (base as NSString).deletingLastPathComponent
    let stem = (base as NSString).lastPathComponent + ".part-"
    let entries = (try? fm.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
    // OUT.part-I-of-N.json (and the parts' .tif, in case a share died before its summary)
    var counts = Set<Int>()
    for name in entries where name.hasPrefix(stem) {
      let rest = name.dropFirst(stem.count)
      let fields = rest.split(separator: ".").first?.split(separator: "-") ?? []
      if fields.count == 3, fields[1] == "of", Int(fields[0]) != nil, let n = Int(fields[2]) { counts.insert(n) }
    }
    guard let n = counts.first else {
      throw PipelineError(output, "no parts to merge (expected \(base).part-I-of-N.json from a --shard run)")
    }
    guard counts.count == 1 else {
      throw PipelineError(output, "parts from different shard counts lie here (N = \(counts.sorted().map(String.init).joined(separator: ", "))); remove the stale ones")
    }
    var parts: [RunSummary] = []
    for i in 0..<n {
      let shard = try Shard(index: i, count: n)
      let paths = OutputPaths(output: output, shard: shard)
      guard fm.fileExists(atPath: paths.summary) else {
        throw PipelineError(paths.summary, "missing: share \(i) of \(n) has not finished (rerun it with --shard \(i)/\(n))")
      }
      guard let data = fm.contents(atPath: paths.summary),
        let s = try? JSONDecoder().decode(RunSummary.self, from: data)
      else { throw PipelineError(paths.summary, "is not a GeoCAM part summary") }
      guard s.status == .partFinished, s.shard == shard else {
        throw PipelineError(paths.summary, "is not the finished part \(i) of \(n)")
      }
      if let first = parts.first, first.plan != s.plan {
        throw PipelineError(
          paths.summary, "comes from a different command than part 0 (differs in: \(try s.plan.differences(from: first.plan)))")
      }
      for p in [paths.probabilities, paths.classes, paths.quicklook] + (s.plan.layerCount > 0 ? [paths.explanations] : [])
      where !fm.fileExists(atPath: p) {
        throw PipelineError(p, "missing: part \(i) of \(n) is incomplete (rerun it with --shard \(i)/\(n) --restart)")
      }
      parts.append(s)
    }
    let plan = parts[0].plan
    let finalPaths = OutputPaths(output: output)
    if let finished = try finishedSummary(at: finalPaths.summary, plan: plan, shard: nil, restart: restart) {
      report(.phase("\(output) is already merged (\(finalPaths.summary)); nothing to do"))
      var s = finished
      s.status = .alreadyFinished
      s.seconds = Date().timeIntervalSince(started)
      return s
    }
    if restart { removeOutputs(finalPaths) }
    report(.phase("merging \(n) parts into \(output)"))

    // Blocks are read back from the part that owns them; one part's files are open at a time.
    var openShard = -1
    var probsRaster: GeoRaster? = nil
    var camRaster: GeoRaster? = nil
    func owner(_ block: Int) -> Int {
      (0..<n).first { (try? Shard(index: $0, count: n).range(of: plan.blockCount).contains(block)) == true } ?? 0
    }
    let readBlock: (OutputBlock) throws -> BlockData = { block in
      let s = owner(block.index)
      if s != openShard {
        let paths = OutputPaths(output: output, shard: try Shard(index: s, count: n))
        probsRaster = try GeoRaster(path: paths.probabilities)
        camRaster = plan.layerCount > 0 ? try GeoRaster(path: paths.explanations) : nil
        openShard = s
      }
      guard let probsRaster else { throw PipelineError(output, "part \(s) is not open") }
      let probs = try probsRaster.readWindow(block.output).data
      let layers = try camRaster?.readWindow(block.layer).data ?? []
      return BlockData(probabilities: probs, layers: layers)
    }

    var quicklook = Quicklook(width: plan.quicklookWidth, height: plan.quicklookHeight)
    for i in 0..<n {
      let shard = try Shard(index: i, count: n)
      let path = OutputPaths(output: output, shard: shard).quicklook
      let png = try PNGImage(contentsOf: path, as: .rgba)
      guard png.width == quicklook.width, png.height == quicklook.height else {
        throw PipelineError(path, "is \(png.width)x\(png.height), expected \(quicklook.width)x\(quicklook.height)")
      }
      for b in shard.range(of: plan.blockCount) {
        copyImagery(from: png.pixels, block: plan.block(b), plan: plan, into: &quicklook)
      }
    }

    let stateRoot = URL(fileURLWithPath: OutputPaths.stateDirectory(of: output))
    let staging = stateRoot.appendingPathComponent("merge")
    try? fm.removeItem(at: staging)
    try Folder.create(staging)
    let staged = finalPaths.staged(in: staging)
    let writer = SceneWriter(plan: plan, blocks: Array(0..<plan.blockCount), part: false, readBlock: readBlock)
    let divisors = try sceneDivisors(writer)
    try writer.write(to: staged, divisors: divisors, quicklook: &quicklook)
    probsRaster = nil
    camRaster = nil
    try PNGImage(try quicklook.render(palette: SeedPalette.palette(for: plan.classNames))).write(to: staged.quicklook)

    var total = Counts()
    for p in parts {
      total.needed += p.tiles.needed
      total.read += p.tiles.read
      total.skipped += p.tiles.skipped
      total.explained += p.tiles.explained
      total.reused += p.tiles.reused
      for (name, n) in p.tiles.notComputed ?? [:] {
        if let k = plan.classNames.firstIndex(of: name) { total.notComputed[k, default: 0] += n }
      }
    }
    total.total = parts[0].tiles.total
    let summary = makeSummary(
      plan: plan, status: .finished, paths: finalPaths, tiles: total,
      blocks: ["total": plan.blockCount, "run": plan.blockCount, "reused": 0],
      seconds: Date().timeIntervalSince(started), shard: nil, mergedParts: n, divisors: divisors,
      warnings: parts.flatMap(\.warnings))
    try install(summary, staged: staged, final: finalPaths)
    try? fm.removeItem(at: staging)
    if (try? fm.contentsOfDirectory(atPath: stateRoot.path))?.isEmpty == true { try? fm.removeItem(at: stateRoot) }
    report(.finished(seconds: summary.seconds))
    return summary
  }
}
