import GeoCAMCore
import Foundation
import GeoCAMGeo
import GeoCAMImaging

/// Writes the GeoTIFF layers (and the quicklook) from finished blocks, one block at a time.
/// The single-process run (blocks from its resume state), a share (its own blocks, as parts)
/// and the merge (blocks read back from the parts) all write through here, so they produce the
/// same files from the same block values.
struct SceneWriter {
  let plan: ScenePlan
  /// Block indices to write, ascending.
  let blocks: [Int]
  /// True for a share's parts: raw Float32, no overviews, no normalisation, no COG.
  let part: Bool
  let readBlock: (OutputBlock) throws -> BlockData

  /// Per explanation band, the scene percentile of its explained valid values (two streamed
  /// passes over the blocks); nil for a band with no such value.
  func scenePercentiles() throws -> [Float?] {
    let l = plan.layerCount
    guard l > 0 else { return [] }
    var stats = (0..<l).map { _ in ScenePercentile(percentile: plan.scenePercentile) }
    let nodata = CityPipeline.noData
    for i in blocks {
      let block = plan.block(i)
      let data = try readBlock(block)
      let nl = block.layer.pixelCount
      for b in 0..<l {
        for p in 0..<nl where data.layers[b * nl + p] != nodata { stats[b].firstPass(data.layers[b * nl + p]) }
      }
    }
    let needed = (0..<l).map { stats[$0].endFirstPass() }
    if needed.contains(true) {
      for i in blocks {
        let block = plan.block(i)
        let data = try readBlock(block)
        let nl = block.layer.pixelCount
        for b in 0..<l where needed[b] {
          for p in 0..<nl where data.layers[b * nl + p] != nodata { stats[b].secondPass(data.layers[b * nl + p]) }
        }
      }
    }
    return stats.map { $0.result() }
  }

  /// Writes the layers to `paths` (usually staged names) and returns the quicklook samples.
  /// `divisors` (one per explanation band) scale the bands (scene normalisation), nil = none.
  @discardableResult
  func write(to paths: OutputPaths, divisors: [Float]?, quicklook: inout Quicklook) throws -> [String] {
    let files = try SceneLayerFiles(plan: plan, part: part, paths: paths, divisors: divisors)
    for i in blocks {
      let block = plan.block(i)
      try files.write(block, data: try readBlock(block), quicklook: &quicklook)
    }
    return try files.finish()
  }
}
