import Foundation
import GeoCAMGeo

/// The writing half of a run's compute phase, fed tile by tile from the model's thread and run
/// on the writer thread (`BackgroundQueue`): blends each block's tiles, persists the finished
/// block in the resume state, removes tiles no unfinished block needs, and (when the layers can
/// be written before the whole scene is known) writes the block into the output layers.
///
/// Every method runs on the writer thread, in submission order; nothing here is touched by the
/// model's thread once submitted.
final class BlockSink: @unchecked Sendable {
  let plan: ScenePlan
  let owned: Range<Int>
  let state: RunState
  let xWeights: BlendWindow
  let yWeights: BlendWindow
  /// The output layers written block by block, nil when they are written at the end.
  let layers: SceneLayerFiles?
  /// Quicklook classes and heat, filled by `layers`.
  var quicklook: Quicklook
  /// Whether each owned block is finished (resume state written).
  private var done: [Bool]
  private var accumulator: BlockAccumulator?

  init(
    plan: ScenePlan, owned: Range<Int>, state: RunState, xWeights: BlendWindow, yWeights: BlendWindow,
    done: [Bool], layers: SceneLayerFiles?, quicklook: Quicklook
  ) {
    self.plan = plan
    self.owned = owned
    self.state = state
    self.xWeights = xWeights
    self.yWeights = yWeights
    self.done = done
    self.layers = layers
    self.quicklook = quicklook
  }

  func isDone(_ block: Int) -> Bool { done[block - owned.lowerBound] }

  /// Starts blending `block`.
  func begin(_ block: OutputBlock) {
    accumulator = BlockAccumulator(plan: plan, block: block, xWeights: xWeights, yWeights: yWeights)
  }

  /// Adds the next tile of the current block: `result`, or the tile as stored in the resume
  /// state when nil (computed for an earlier block, or by an earlier run).
  func add(_ tile: Tile, result: TileResult?) throws {
    guard accumulator != nil else { return }
    let r = try result ?? state.loadTile(tile)
    try accumulator?.add(r, tile: tile)
  }

  /// Finishes the current block: resume state, tiles no longer needed, output layers.
  func end(_ block: OutputBlock, tiles: [Tile], imagery: [UInt8]) throws {
    guard let acc = accumulator else { return }
    accumulator = nil
    let data = acc.finish()
    try state.saveBlock(block, data: data, imagery: imagery, plan: plan)
    done[block.index - owned.lowerBound] = true
    // A tile goes once every block of this share that needs it is written.
    for tile in tiles where plan.consumers(of: tile).filter({ owned.contains($0) }).allSatisfy(isDone) {
      state.removeTile(tile)
    }
    try layers?.write(block, data: data, quicklook: &quicklook, flush: true)
  }

  /// Writes a block finished by an earlier run into the output layers.
  func writeStored(_ block: OutputBlock) throws {
    guard let layers else { return }
    try layers.write(block, data: try state.loadBlock(block, plan: plan), quicklook: &quicklook, flush: true)
  }
}
