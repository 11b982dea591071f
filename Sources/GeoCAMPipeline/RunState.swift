import Foundation
import GeoCAMGeo

/// The resume state of one run (or one share) beside its output, e.g. `OUT.geocam/`:
///
///     manifest.json          the plan (fingerprint) the state belongs to
///     tiles/r<R>c<C>.tile    tile results still needed by an unwritten block
///     blocks/b<R>_<C>.*      finished blocks: probs.tif, cam.tif, ql (quicklook imagery), done
///
/// Every file appears atomically (written under a temporary name, then renamed), and a block
/// counts as finished only once its `done` marker exists, which is written last.
final class RunState {
  let directory: URL
  var tilesDirectory: URL { directory.appendingPathComponent("tiles") }
  var blocksDirectory: URL { directory.appendingPathComponent("blocks") }
  var manifestURL: URL { directory.appendingPathComponent("manifest.json") }
  private let fm = FileManager.default

  init(directory: URL) { self.directory = directory }

  /// The recorded manifest, decoded.
  struct Manifest: Codable {
    var plan: ScenePlan
    var shard: Shard?
  }

  /// Makes the state ready for `plan`: resumes a matching state (returns true), creates a fresh
  /// one, or refuses a state left by a different command unless `restart`.
  func prepare(plan: ScenePlan, shard: Shard?, restart: Bool, output: String) throws -> Bool {
    if fm.fileExists(atPath: manifestURL.path) {
      let recorded: Manifest
      do {
        recorded = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: manifestURL))
      } catch {
        if !restart {
          throw PipelineError(
            directory.path, "resume state is unreadable (\(PipelineError.reason(error))); rerun with --restart to start over")
        }
        try remove()
        return try prepare(plan: plan, shard: shard, restart: restart, output: output)
      }
      if recorded.plan == plan && recorded.shard == shard && !restart { return true }
      if !restart {
        let diff = try plan.differences(from: recorded.plan)
        let shardDiff = recorded.shard == shard ? "" : "shard \(recorded.shard?.description ?? "none") → \(shard?.description ?? "none")"
        throw PipelineError(
          output,
          "an unfinished run of a different command is resumable here (\(directory.lastPathComponent)); differs in: \([diff, shardDiff].filter { !$0.isEmpty }.joined(separator: "; ")). Rerun the same command to resume, or add --restart to discard it")
      }
      try remove()
    } else if fm.fileExists(atPath: directory.path), restart {
      try remove()
    }
    try Folder.create(tilesDirectory)
    try Folder.create(blocksDirectory)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(Manifest(plan: plan, shard: shard)), to: manifestURL)
    return false
  }

  func remove() throws {
    guard fm.fileExists(atPath: directory.path) else { return }
    do { try fm.removeItem(at: directory) } catch {
      throw PipelineError(directory.path, cannot: "remove the resume state", error)
    }
  }

  // MARK: - Tiles

  static func tileName(_ tile: Tile) -> String { "r\(tile.row)c\(tile.column).tile" }

  func tileURL(_ tile: Tile) -> URL { tilesDirectory.appendingPathComponent(RunState.tileName(tile)) }

  /// Names of the tile files present (a bounded set: only tiles awaiting an unwritten block).
  func tileNames() -> Set<String> {
    Set((try? fm.contentsOfDirectory(atPath: tilesDirectory.path)) ?? []).filter { $0.hasSuffix(".tile") }
  }

  func hasTile(_ tile: Tile) -> Bool { fm.fileExists(atPath: tileURL(tile).path) }

  func saveTile(_ result: TileResult, tile: Tile) throws {
    try AtomicFile.write(result.encoded(), to: tileURL(tile))
  }

  func loadTile(_ tile: Tile) throws -> TileResult {
    let url = tileURL(tile)
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
      throw PipelineError(url.path, cannot: "read the tile result", error)
    }
    let r = try TileResult(decoding: data, subject: url.path)
    guard r.row == tile.row, r.column == tile.column else {
      throw PipelineError(url.path, "holds tile r\(r.row)c\(r.column), expected \(tile)")
    }
    return r
  }

  func removeTile(_ tile: Tile) { try? fm.removeItem(at: tileURL(tile)) }

  // MARK: - Blocks

  func blockURL(_ block: OutputBlock, _ suffix: String) -> URL {
    blocksDirectory.appendingPathComponent("\(block.name).\(suffix)")
  }

  func isDone(_ block: OutputBlock) -> Bool { fm.fileExists(atPath: blockURL(block, "done").path) }

  /// Writes a finished block: probabilities and layers as compressed GeoTIFFs (georeferenced,
  /// so they can be inspected), the quicklook imagery samples, then the `done` marker.
  func saveBlock(_ block: OutputBlock, data: BlockData, imagery: [UInt8], plan: ScenePlan) throws {
    let georef = plan.georeferencing.offset(x: block.output.x, y: block.output.y)
    try RunState.writeRaster(
      path: blockURL(block, "probs.tif").path, values: data.probabilities, bands: plan.classCount,
      width: block.output.width, height: block.output.height, georeferencing: georef)
    if plan.layerCount > 0 {
      try RunState.writeRaster(
        path: blockURL(block, "cam.tif").path, values: data.layers, bands: plan.layerCount,
        width: block.layer.width, height: block.layer.height,
        georeferencing: plan.layerGeoreferencing.offset(x: block.layer.x, y: block.layer.y))
    }
    try AtomicFile.write(Data(imagery), to: blockURL(block, "ql"))
    // Last: from here on the block counts as finished.
    try AtomicFile.write(Data("{\"block\": \(block.index)}\n".utf8), to: blockURL(block, "done"))
  }

  /// Reads a finished block back.
  func loadBlock(_ block: OutputBlock, plan: ScenePlan) throws -> BlockData {
    let probs = try GeoRaster(path: blockURL(block, "probs.tif").path).readWindow(
      x: 0, y: 0, width: block.output.width, height: block.output.height)
    var layers: [Float] = []
    if plan.layerCount > 0 {
      layers = try GeoRaster(path: blockURL(block, "cam.tif").path).readWindow(
        x: 0, y: 0, width: block.layer.width, height: block.layer.height
      ).data
    }
    return BlockData(probabilities: probs.data, layers: layers)
  }

  func loadImagery(_ block: OutputBlock) throws -> [UInt8] {
    let url = blockURL(block, "ql")
    do { return [UInt8](try Data(contentsOf: url)) } catch {
      throw PipelineError(url.path, cannot: "read the block state", error)
    }
  }

  /// A Float32 block raster with nodata, ZSTD (or DEFLATE) + horizontal differencing, no overviews.
  static func writeRaster(
    path: String, values: [Float], bands: Int, width: Int, height: Int, georeferencing: Georeferencing
  ) throws {
    let w = try GeoTIFFLayerWriter(
      path: path, width: width, height: height, bandCount: bands, sampleType: .float32,
      // Level 1 and horizontal differencing: state blocks live until the outputs are written,
      // and are written while the model computes. GDAL's default ZSTD level (9) cost about 3 % of
      // a demo run's CPU time; the floating-point predictor doubled the cost of level 1.
      georeferencing: georeferencing, options: .init(blockSize: 256, compression: .zstd, level: 1, predictor: 2))
    let plane = width * height
    for b in 0..<bands {
      try w.setNoData(Double(CityPipeline.noData), band: b + 1)
      try w.write(
        band: b + 1, x: 0, y: 0, width: width, height: height,
        values: Array(values[(b * plane)..<((b + 1) * plane)]))
    }
    try w.finish(overviews: [])
  }
}
