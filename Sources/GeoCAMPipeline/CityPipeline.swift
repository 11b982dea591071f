import GeoCAMCore
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import GeoCAMGeo
import GeoCAMImaging

/// City-scale runs: tiles a georeferenced raster, runs the model on each tile, blends
/// probabilities and explanation maps into seamless scene layers and writes them as
/// georeferenced GeoTIFFs (see `OutputPaths`), streaming block by block so that memory does not
/// grow with the raster; resumable after a kill and shardable over a job scheduler.
public enum CityPipeline {
  /// Nodata of the Float layers (explanations, probabilities): "not computed" or "not valid".
  /// −10000 is exact in Float16 too (−9999 is not: it reads back as −9992 from NBITS=16).
  public static let noData: Float = -10000

  /// Runs the model over `input` (any GDAL raster path) and writes `output` (`OUT.tif`) with
  /// its companions (`OUT.probs.tif`, `OUT.classes.tif`, `OUT.quicklook.png`, `OUT.json`), or a
  /// share's parts when `options.shard` is set. Resumes an interrupted run of the same command
  /// from `OUT.geocam/`; returns at once (status `alreadyFinished`) when the outputs of the
  /// same command are already there. `progress` receives events; nil prints them to stderr
  /// (`StderrProgress`, silent with `options.quiet`). Errors are one line, naming the file.
  public static func run(
    input: String, output: String, model: any TileModel, options: PipelineOptions = PipelineOptions(),
    progress: ((PipelineEvent) -> Void)? = nil
  ) throws -> RunSummary {
    let started = Date()
    let report = progress ?? StderrProgress(quiet: options.quiet).handle
    limitGDALCache(options.gdalCacheMegabytes)
    var warnings: [String] = []
    let (plan, raster) = try makePlan(input: input, model: model, options: options) { text in
      warnings.append(text)
      report(.warning(text))
    }
    let shard = options.shard
    let paths = shard.map { OutputPaths(output: output, shard: $0) } ?? OutputPaths(output: output)
    try checkOutputFolder(output)
    let lock = try RunLock.acquire(
      path: OutputPaths.lock(of: output, shard: shard), command: options.command, breakLock: options.breakLock
    ) { text in
      warnings.append(text)
      report(.warning(text))
    }
    defer { lock.release() }
    let inputPath = URL(fileURLWithPath: input).standardizedFileURL.path
    for p in paths.all where URL(fileURLWithPath: p).standardizedFileURL.path == inputPath {
      throw PipelineError(p, "is the input raster; choose another output name")
    }

    if let finished = try finishedSummary(at: paths.summary, plan: plan, shard: shard, restart: options.restart) {
      report(.phase("\(paths.explanations) is already finished (\(paths.summary)); nothing to do"))
      var s = finished
      s.status = .alreadyFinished
      s.seconds = Date().timeIntervalSince(started)
      return s
    }
    if options.restart { removeOutputs(paths) }

    var stateURL = URL(fileURLWithPath: OutputPaths.stateDirectory(of: output))
    if let shard { stateURL.appendPathComponent("part-\(shard.index)-of-\(shard.count)") }
    let state = RunState(directory: stateURL)
    if try state.prepare(plan: plan, shard: shard, restart: options.restart, output: output) {
      report(.phase("resuming the interrupted run in \(stateURL.path)"))
    }

    let grid = try plan.grid()
    let owned = shard?.range(of: plan.blockCount) ?? 0..<plan.blockCount
    let staging = state.directory.appendingPathComponent("staging")
    try? FileManager.default.removeItem(at: staging)
    try Folder.create(staging)
    let staged = paths.staged(in: staging)
    // Without scene normalisation every block's final values are known once it is blended, so
    // the layers are written while the model computes; scene normalisation needs the whole
    // scene's percentile first, so it writes them all at the end.
    let divisorsNeeded = shard == nil && plan.normalization == .scene && plan.layerCount > 0
    let layers = divisorsNeeded ? nil : try SceneLayerFiles(plan: plan, part: shard != nil, paths: staged, divisors: nil)
    var (counts, quicklook) = try computeBlocks(
      plan: plan, grid: grid, owned: owned, raster: raster, model: model, state: state, layers: layers, report: report)
    counts.total = grid.count
    // The outputs are written with the model idle: what it kept for the next tile would only
    // add to the peak (with scene normalisation, the layers are all written now).
    model.releaseCaches()

    report(.phase("writing \(shard == nil ? "outputs" : "parts") of \(paths.explanations)"))
    for i in owned {
      let block = plan.block(i)
      place(try state.loadImagery(block), of: block, plan: plan, into: &quicklook)
    }
    var divisors: [Float]? = nil
    if let layers {
      try layers.finish()
    } else {
      let writer = SceneWriter(
        plan: plan, blocks: Array(owned), part: shard != nil, readBlock: { try state.loadBlock($0, plan: plan) })
      divisors = try sceneDivisors(writer)
      try writer.write(to: staged, divisors: divisors, quicklook: &quicklook)
    }
    if shard == nil {
      try PNGImage(try quicklook.render(palette: SeedPalette.palette(for: plan.classNames))).write(to: staged.quicklook)
    } else {
      try PNGImage(width: quicklook.width, height: quicklook.height, format: .rgba, pixels: quicklook.imagery)
        .write(to: staged.quicklook)
    }
    let summary = makeSummary(
      plan: plan, status: shard == nil ? .finished : .partFinished, paths: paths, tiles: counts,
      blocks: ["total": plan.blockCount, "run": owned.count, "reused": counts.blocksReused],
      seconds: Date().timeIntervalSince(started), shard: shard, mergedParts: nil, divisors: divisors,
      warnings: warnings)
    try install(summary, staged: staged, final: paths)
    try? FileManager.default.removeItem(at: staging)
    if !options.keepState {
      try state.remove()
      // The shared OUT.geocam/ goes once its last share's state is gone.
      let root = URL(fileURLWithPath: OutputPaths.stateDirectory(of: output))
      if shard != nil, (try? FileManager.default.contentsOfDirectory(atPath: root.path))?.isEmpty == true {
        try? FileManager.default.removeItem(at: root)
      }
    }
    report(.finished(seconds: summary.seconds))
    return summary
  }

  /// Sets `GDAL_CACHEMAX` unless the environment has it (effective before GDAL's first block I/O).
  static func limitGDALCache(_ megabytes: Int?) {
    guard let megabytes, megabytes > 0, getenv("GDAL_CACHEMAX") == nil else { return }
    setenv("GDAL_CACHEMAX", String(megabytes), 0)
  }

  // MARK: - Plan

  /// Opens the input and fixes everything the results depend on.
  static func makePlan(
    input: String, model: any TileModel, options o: PipelineOptions, warn: (String) -> Void
  ) throws -> (ScenePlan, GeoRaster) {
    var raster = try GeoRaster(path: input)
    let tile = o.tileSize ?? model.tileSize
    guard tile > 0 else { throw PipelineError("--tile", "tile size must be positive, got \(tile)") }
    guard (0..<tile).contains(o.overlap) else {
      throw PipelineError("--overlap", "must be in 0..<\(tile) (the tile size), got \(o.overlap)")
    }
    guard o.blockSize >= 256, o.blockSize % 256 == 0 else {
      throw PipelineError("block size", "must be a positive multiple of 256, got \(o.blockSize)")
    }
    guard o.minPixels >= 0 else { throw PipelineError("--min-pixels", "must be ≥ 0, got \(o.minPixels)") }
    guard o.scenePercentile > 0, o.scenePercentile <= 100 else {
      throw PipelineError("scene percentile", "must be in (0, 100], got \(o.scenePercentile)")
    }
    guard o.quicklookSize >= 1 else { throw PipelineError("quicklook size", "must be ≥ 1, got \(o.quicklookSize)") }
    let classNames = model.classNames
    guard (1...255).contains(classNames.count) else {
      throw PipelineError("model", "needs 1…255 classes for a Byte class layer, has \(classNames.count)")
    }
    guard Set(model.methods).count == model.methods.count else {
      throw PipelineError("model", "method ids must be unique, got \(model.methods)")
    }
    guard !o.bands.isEmpty, o.bands.allSatisfy({ (1...raster.bandCount).contains($0) }) else {
      throw PipelineError(input, "--bands \(o.bands.map(String.init).joined(separator: ",")) not within 1…\(raster.bandCount)")
    }
    var layerClasses = o.classes ?? Array(1..<classNames.count)
    for k in layerClasses where !classNames.indices.contains(k) {
      throw PipelineError("--classes", "class index \(k) is not within 0..<\(classNames.count)")
    }
    layerClasses = Array(Set(layerClasses)).sorted()
    let predictOnly = o.predictOnly || model.methods.isEmpty || layerClasses.isEmpty

    // Pixel size against the model's GSD.
    var resamplePixelSize: Double? = nil
    let geographic = raster.crsWKT.hasPrefix("GEOGCS") || raster.crsWKT.hasPrefix("GEOGCRS")
    if o.resample {
      guard let gsd = model.gsdMeters, gsd > 0 else {
        throw PipelineError("--resample", "the model records no gsd_m to resample to")
      }
      guard !geographic else {
        throw PipelineError(input, "CRS is geographic (degrees); --resample needs a projected CRS in metres")
      }
      raster = try raster.resampled(toPixelSize: gsd, resampling: o.resampling)
      resamplePixelSize = gsd
    } else if let gsd = model.gsdMeters, gsd > 0, let px = raster.pixelSize, !geographic {
      let size = (px.x + px.y) / 2
      if abs(size / gsd - 1) > 0.25 {
        warn(
          "\(input): pixel size \(String(format: "%.3g", size)) m differs from the model's \(String(format: "%.3g", gsd)) m by more than 25 %; consider --resample")
      }
    }

    // Input scaling.
    var scaleLow: Float? = nil
    var scaleHigh: Float? = nil
    switch o.scaling {
    case .none: break
    case .linear(let lo, let hi):
      guard hi > lo else { throw PipelineError("--scale", "needs low < high, got \(lo),\(hi)") }
      scaleLow = lo
      scaleHigh = hi
    case .automatic:
      for b in o.bands {
        let t = raster.dataTypes[b - 1]
        if t != .byte && !t.isFloatingPoint {
          throw PipelineError(
            input,
            "band \(b) is \(t.rawValue); the model takes 0…255: give --scale LOW,HIGH (e.g. 0,4095 for 12-bit data, 0,65535 for the full 16-bit range) or --scale none")
        }
      }
    }

    // Area.
    var area = raster.bounds
    if let w = o.window {
      guard let a = w.intersection(area) else {
        throw PipelineError(input, "--window \(w) lies outside the \(raster.width)x\(raster.height) raster")
      }
      if a != w { warn("\(input): --window \(w) clipped to the raster: \(a)") }
      area = a
    }
    if let box = o.bbox {
      let w = try raster.pixelWindow(forBBox: box)
      guard let a = w.intersection(area) else {
        throw PipelineError(input, "--bbox \(box) does not meet --window \(area)")
      }
      area = a
    }
    let georef = raster.georeferencing.offset(x: area.x, y: area.y)

    // Explanation-layer resolution and block size.
    var camCell = 1
    var blockSize = o.blockSize
    if o.camResolution == .native && !predictOnly {
      guard let n = model.camMapSize, n > 0 else {
        throw PipelineError("--cam-resolution", "native needs the model's map size, which it does not report")
      }
      guard tile % n == 0 else {
        throw PipelineError("--cam-resolution", "native needs the tile (\(tile)) to be a multiple of the map size (\(n))")
      }
      camCell = tile / n
      // Blocks must hold whole cells and stay aligned to the 256-pixel GeoTIFF tiles.
      func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
      let unit = 256 / gcd(256, camCell) * camCell
      blockSize = (blockSize + unit - 1) / unit * unit
    }

    let agnostic = model.methods.filter { model.classAgnosticMethods.contains($0) }
    let descriptions =
      predictOnly
      ? [] : ScenePlan.describe(ScenePlan.layerBands(methods: model.methods, classAgnostic: agnostic, classes: layerClasses), classNames: classNames)
    var quicklookBand: Int? = descriptions.isEmpty ? nil : 0
    if let name = o.quicklookLayer, !predictOnly {
      guard let i = descriptions.firstIndex(of: name) else {
        throw PipelineError("--quicklook-layer", "'\(name)' is not a band (bands: \(descriptions.joined(separator: ", ")))")
      }
      quicklookBand = i
    }
    let longer = max(area.width, area.height)

    var identity = ""
    if let attrs = try? FileManager.default.attributesOfItem(atPath: input) {
      let size = (attrs[.size] as? NSNumber)?.int64Value ?? -1
      let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      identity = "bytes=\(size);mtime=\(String(format: "%.3f", mtime))"
    }
    var provenance = model.provenance
    for (k, v) in o.provenance { provenance[k] = v }

    let plan = ScenePlan(
      inputPath: input, inputWidth: raster.width, inputHeight: raster.height, inputBandCount: raster.bandCount,
      inputDataTypes: raster.dataTypes.map(\.rawValue), inputIdentity: identity,
      resamplePixelSize: resamplePixelSize, bands: o.bands, scaleLow: scaleLow, scaleHigh: scaleHigh,
      areaX: area.x, areaY: area.y, width: area.width, height: area.height,
      geoTransform: georef.geoTransform?.coefficients, crsWKT: georef.crsWKT,
      tileSize: tile, overlap: o.overlap, blockSize: blockSize,
      classNames: classNames, methods: predictOnly ? [] : model.methods,
      layerClasses: predictOnly ? [] : layerClasses, predictOnly: predictOnly,
      explainWhere: o.explainWhere, minPixels: o.minPixels, normalization: o.normalization,
      scenePercentile: o.scenePercentile, camResolution: camCell > 1 ? .native : .full, camCell: camCell,
      camMapSize: camCell > 1 ? model.camMapSize : nil, half: o.half, cog: o.cog,
      compression: o.compression.rawValue,
      quicklookStep: max(1, (longer + o.quicklookSize - 1) / o.quicklookSize), quicklookBand: quicklookBand,
      provenance: provenance, classAgnosticMethods: agnostic.isEmpty || predictOnly ? nil : agnostic)
    return (plan, raster)
  }

  // MARK: - Computing blocks

  struct Counts {
    var total = 0
    var needed = 0
    var read = 0
    var skipped = 0
    var explained = 0
    var reused = 0
    var blocksReused = 0
    /// Per class index, tiles where the class was asked for but could not be explained.
    var notComputed: [Int: Int] = [:]
  }

  /// Computes every owned block not finished yet, persisting tiles and blocks as it goes, and
  /// returns the counts and the quicklook's classes and heat (filled when `layers` is given).
  ///
  /// This thread reads the input and runs the model; a writer thread (`BackgroundQueue`, nice +5)
  /// blends, persists blocks and writes `layers` behind it. Each tile is saved to the
  /// resume state here, before it is handed over, so a kill loses no finished tile.
  static func computeBlocks(
    plan: ScenePlan, grid: TileGrid, owned: Range<Int>, raster: GeoRaster, model: any TileModel,
    state: RunState, layers: SceneLayerFiles?, report: (PipelineEvent) -> Void
  ) throws -> (Counts, Quicklook) {
    var counts = Counts()
    let xw = BlendWindow(origins: grid.xOrigins, tileSize: plan.tileSize, hard: plan.overlap == 0)
    let yw = BlendWindow(origins: grid.yOrigins, tileSize: plan.tileSize, hard: plan.overlap == 0)
    let done = owned.map { state.isDone(plan.block($0)) }
    counts.blocksReused = done.filter { $0 }.count
    func isDone(_ b: Int) -> Bool { done[b - owned.lowerBound] }

    // What is left to compute: tiles needed by an unfinished block and not already on disk.
    let existing = state.tileNames()
    var toCompute = 0
    if !owned.isEmpty {
      let first = plan.block(owned.lowerBound).rect
      let last = plan.block(owned.upperBound - 1).rect
      for r in 0..<grid.rows where grid.yOrigins[r] < last.maxY && grid.yOrigins[r] + plan.tileSize > first.y {
        for c in 0..<grid.columns {
          guard let tile = grid.tile(row: r, column: c) else { continue }
          let consumers = plan.consumers(of: tile).filter { owned.contains($0) }
          guard !consumers.isEmpty else { continue }
          counts.needed += 1
          if consumers.contains(where: { !isDone($0) }) && !existing.contains(RunState.tileName(tile)) {
            toCompute += 1
          }
        }
      }
    }
    counts.reused = counts.needed - toCompute
    report(.started(tiles: toCompute, reused: counts.reused, blocks: owned.count))

    let sink = BlockSink(
      plan: plan, owned: owned, state: state, xWeights: xw, yWeights: yw, done: done, layers: layers,
      quicklook: Quicklook(width: plan.quicklookWidth, height: plan.quicklookHeight))
    // A few tiles of slack: the writer catches up while the next tile computes.
    let writer = BackgroundQueue(limit: 4)
    var drained = false
    // On an error the writer drops what it has not started and stops before this returns.
    defer { writer.close(discardQueued: !drained) }
    let clock = Date()
    let runner = TileRunner(plan: plan, model: model)
    for i in owned {
      let block = plan.block(i)
      if isDone(i) {
        try writer.submit(bounded: false) { try sink.writeStored(block) }
        continue
      }
      let tiles = plan.tiles(for: block, in: grid)
      let missing = Set(tiles.filter { !state.hasTile($0) })
      // One read for every tile this block still needs (GDAL decodes each file block once).
      var source: RasterWindow? = nil
      if let firstMissing = tiles.first(where: { missing.contains($0) }) {
        let union = missing.reduce(firstMissing.window) { $0.union($1.window) }
        source = try raster.readWindow(union, bands: plan.bands)
      }
      try writer.submit(bounded: false) { sink.begin(block) }
      // The model may run several tiles at once (one core each), and results computed ahead
      // wait here, already saved, for their turn.
      let group = max(1, plan.predictOnly ? model.predictGroupSize : model.explainGroupSize)
      let missingInOrder = tiles.filter { missing.contains($0) }
      var ready: [Tile: TileResult] = [:]
      for tile in tiles {
        var computed: TileResult? = nil
        if missing.contains(tile), let source {
          let result: TileResult
          if let early = ready.removeValue(forKey: tile) {
            result = early
          } else {
            let start = missingInOrder.firstIndex(of: tile) ?? 0
            let batch = group > 1 ? Array(missingInOrder[start..<min(start + group, missingInOrder.count)]) : [tile]
            let outcomes =
              plan.predictOnly
              ? try runner.predict(batch, source: source).map { Result<TileResult, any Error>.success($0) }
              : try runner.run(batch, source: source)
            // Every tile of the group that finished is saved before a failure of another is
            // reported, so a resumed run reuses it.
            var failure: (any Error)? = nil
            for (t, outcome) in zip(batch, outcomes) {
              switch outcome {
              case .success(let r):
                try state.saveTile(r, tile: t)
                if t != tile { ready[t] = r }
              case .failure(let error):
                if failure == nil { failure = error }
              }
            }
            if let failure { throw failure }
            guard let first = outcomes.first else { throw PipelineError("model", "returned no result for tile \(tile)") }
            result = try first.get()
          }
          computed = result
          counts.read += 1
          if result.skipped { counts.skipped += 1 }
          if !result.explained.isEmpty { counts.explained += 1 }
          for k in result.notComputed { counts.notComputed[k, default: 0] += 1 }
          let elapsed = Date().timeIntervalSince(clock)
          let rate = elapsed > 0 ? Double(counts.read) / elapsed : 0
          report(.tiles(
            done: counts.read, total: toCompute, tilesPerSecond: rate,
            eta: rate > 0 ? Double(toCompute - counts.read) / rate : nil))
        }
        // Only a computed tile holds memory; a stored one is loaded by the writer. Making the
        // model's thread wait behind a block's write for stored tiles cost ~1 s per demo run.
        try writer.submit(bounded: computed != nil) { [computed] in try sink.add(tile, result: computed) }
      }
      let imagery = try readImagery(block, plan: plan, raster: raster)
      try writer.submit(bounded: false) { try sink.end(block, tiles: tiles, imagery: imagery) }
    }
    try writer.drain()
    drained = true
    return (counts, sink.quicklook)
  }

  /// The quicklook imagery samples of a block (RGBA, row-major over the block's quicklook
  /// pixels), read one sample row at a time.
  static func readImagery(_ block: OutputBlock, plan: ScenePlan, raster: GeoRaster) throws -> [UInt8] {
    let (cols, rows) = plan.quicklookIndices(in: block.output)
    guard let c0 = cols.first, let c1 = cols.last, !rows.isEmpty else { return [] }
    let bands = Array(plan.bands.prefix(3))
    let x0 = plan.quicklookSample(c0, length: plan.width)
    let x1 = plan.quicklookSample(c1, length: plan.width)
    var out = [UInt8](repeating: 0, count: cols.count * rows.count * 4)
    let width = x1 - x0 + 1
    for (ri, qy) in rows.enumerated() {
      let sy = plan.quicklookSample(qy, length: plan.height)
      let row = try raster.readWindow(x: plan.areaX + x0, y: plan.areaY + sy, width: width, height: 1, bands: bands)
      for (ci, qx) in cols.enumerated() {
        let sx = plan.quicklookSample(qx, length: plan.width) - x0
        let o = (ri * cols.count + ci) * 4
        guard row.mask[sx] != 0 else { continue }
        for ch in 0..<3 {
          let v = TileRunner.scale(row.data[min(ch, bands.count - 1) * width + sx], plan: plan)
          out[o + ch] = UInt8(min(max(v, 0), 255).rounded())
        }
        out[o + 3] = 255
      }
    }
    return out
  }

  /// Puts a block's imagery samples into the quicklook.
  static func place(_ samples: [UInt8], of block: OutputBlock, plan: ScenePlan, into ql: inout Quicklook) {
    let (cols, rows) = plan.quicklookIndices(in: block.output)
    guard samples.count == cols.count * rows.count * 4 else { return }
    for (ri, qy) in rows.enumerated() {
      for (ci, qx) in cols.enumerated() {
        let s = (ri * cols.count + ci) * 4
        let d = (qy * ql.width + qx) * 4
        for ch in 0..<4 { ql.imagery[d + ch] = samples[s + ch] }
      }
    }
  }

  /// Copies the quicklook imagery samples of `block` from another quicklook (a part's).
  static func copyImagery(from source: [UInt8], block: OutputBlock, plan: ScenePlan, into ql: inout Quicklook) {
    let (cols, rows) = plan.quicklookIndices(in: block.output)
    for qy in rows {
      for qx in cols {
        let d = (qy * ql.width + qx) * 4
        for ch in 0..<4 { ql.imagery[d + ch] = source[d + ch] }
      }
    }
  }

  /// Scene-normalisation divisors (nil unless `normalization` is `scene`); a band with no
  /// explained value, or a percentile ≤ 0, divides by 1.
  static func sceneDivisors(_ writer: SceneWriter) throws -> [Float]? {
    guard writer.plan.normalization == .scene, writer.plan.layerCount > 0 else { return nil }
    return try writer.scenePercentiles().map { v in
      guard let v, v > 0, v.isFinite else { return 1 }
      return v
    }
  }

  // MARK: - Finished outputs

  /// The summary of a finished output of the same command, nil when there is none (or when
  /// restarting); refuses to overwrite a different command's finished output without `restart`.
  static func finishedSummary(at path: String, plan: ScenePlan, shard: Shard?, restart: Bool) throws -> RunSummary? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path),
      let old = try? JSONDecoder().decode(RunSummary.self, from: data)
    else {
      if restart { return nil }
      throw PipelineError(path, "exists but is not a GeoCAM summary; move it away or add --restart to overwrite")
    }
    if old.plan == plan && old.shard == shard && !restart { return old }
    if restart { return nil }
    throw PipelineError(
      path,
      "is a finished output of a different command (differs in: \(try plan.differences(from: old.plan))); add --restart to overwrite it")
  }

  static func checkOutputFolder(_ output: String) throws {
    let folder = (output as NSString).deletingLastPathComponent
    var isDir: ObjCBool = false
    let f = folder.isEmpty ? "." : folder
    guard FileManager.default.fileExists(atPath: f, isDirectory: &isDir), isDir.boolValue else {
      throw PipelineError(output, "output folder \(f) does not exist")
    }
    // Checked up front: otherwise the first failing write would surface deep in the run.
    guard access(f, W_OK | X_OK) == 0 else {
      throw PipelineError(output, "output folder \(f) is not writable (\(String(cString: strerror(errno))))")
    }
  }

  static func removeOutputs(_ paths: OutputPaths) {
    // The summary first: from then on nothing here looks finished.
    for p in [paths.summary, paths.explanations, paths.probabilities, paths.classes, paths.quicklook] {
      try? FileManager.default.removeItem(atPath: p)
      try? FileManager.default.removeItem(atPath: p + ".aux.xml")
    }
  }

  /// Moves the staged files into place, the summary last (its presence marks the output finished).
  static func install(_ summary: RunSummary, staged: OutputPaths, final: OutputPaths) throws {
    let fm = FileManager.default
    try? fm.removeItem(atPath: final.summary)
    let pairs = [
      (staged.explanations, final.explanations), (staged.probabilities, final.probabilities),
      (staged.classes, final.classes), (staged.quicklook, final.quicklook),
    ]
    for (from, to) in pairs where fm.fileExists(atPath: from) {
      for suffix in ["", ".aux.xml"] {
        try? fm.removeItem(atPath: to + suffix)
        guard fm.fileExists(atPath: from + suffix) else { continue }
        do { try fm.moveItem(atPath: from + suffix, toPath: to + suffix) } catch {
          throw PipelineError(to + suffix, cannot: "move the finished file into place", error)
        }
      }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(summary), to: URL(fileURLWithPath: final.summary))
  }

  static func makeSummary(
    plan: ScenePlan, status: RunSummary.Status, paths: OutputPaths, tiles c: Counts, blocks: [String: Int],
    seconds: Double, shard: Shard?, mergedParts: Int?, divisors: [Float]?, warnings: [String]
  ) -> RunSummary {
    var outputs = [
      "probabilities": paths.probabilities, "classes": paths.classes, "summary": paths.summary,
    ]
    outputs[shard == nil ? "quicklook" : "imagery"] = paths.quicklook
    if plan.layerCount > 0 { outputs["explanations"] = paths.explanations }
    let layers = plan.layerDescriptions.enumerated().map { i, d in
      RunSummary.Layer(band: i + 1, description: d, sceneDivisor: divisors?[i])
    }
    return RunSummary(
      status: status, outputs: outputs,
      tiles: .init(
        total: c.total, needed: c.needed, read: c.read, skipped: c.skipped, explained: c.explained, reused: c.reused,
        notComputed: c.notComputed.isEmpty
          ? nil : Dictionary(uniqueKeysWithValues: c.notComputed.map { (plan.classNames[$0.key], $0.value) })),
      blocks: blocks, seconds: seconds, shard: shard, mergedParts: mergedParts, input: plan.inputPath,
      inputSize: [plan.inputWidth, plan.inputHeight], window: [plan.areaX, plan.areaY, plan.width, plan.height],
      layers: layers, normalization: plan.predictOnly ? "none" : plan.normalization.rawValue,
      provenance: plan.provenanceItems, warnings: warnings, plan: plan)
  }
}
