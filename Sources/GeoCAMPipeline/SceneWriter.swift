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
    let c = plan.classCount
    let l = plan.layerCount
    let floatType: GeoTIFFLayerWriter.SampleType = plan.half && !part ? .float16 : .float32
    // DEFLATE at level 1: at level 6 writing the layers took about 7 % of a demo run for files
    // a few per cent smaller.
    let compression = GeoTIFFLayerWriter.Compression(rawValue: plan.compression) ?? .deflate
    let options = GeoTIFFLayerWriter.Options(
      blockSize: 256, compression: compression, level: compression == .deflate ? 1 : nil)
    let cog = plan.cog && !part
    func target(_ path: String) -> String { cog ? path + ".gtiff" : path }
    let metadata = plan.provenanceItems
    let nodata = Double(CityPipeline.noData)

    var cam: GeoTIFFLayerWriter? = nil
    if l > 0 {
      let w = try GeoTIFFLayerWriter(
        path: target(paths.explanations), width: plan.layerWidth, height: plan.layerHeight, bandCount: l,
        sampleType: floatType, georeferencing: plan.layerGeoreferencing, options: options)
      try w.setProvenance(metadata)
      let bands = plan.layerBands
      for (b, d) in plan.layerDescriptions.enumerated() {
        try w.setDescription(d, band: b + 1)
        try w.setNoData(nodata, band: b + 1)
        let cls = bands[b].classIndex
        var items = [
          "method": bands[b].method, "class": cls.map { plan.classNames[$0] } ?? LayerName.allClasses,
          "class_index": cls.map(String.init) ?? "",
        ]
        if let divisors { items["scene_divisor"] = String(divisors[b]) }
        try w.setMetadata(items, band: b + 1)
      }
      cam = w
    }
    let probs = try GeoTIFFLayerWriter(
      path: target(paths.probabilities), width: plan.width, height: plan.height, bandCount: c,
      sampleType: floatType, georeferencing: plan.georeferencing, options: options)
    try probs.setProvenance(metadata)
    for k in 0..<c {
      try probs.setDescription(plan.classNames[k], band: k + 1)
      try probs.setNoData(nodata, band: k + 1)
    }
    let classes = try GeoTIFFLayerWriter(
      path: target(paths.classes), width: plan.width, height: plan.height, bandCount: 1,
      sampleType: .byte, georeferencing: plan.georeferencing, options: options)
    try classes.setProvenance(metadata)
    try classes.setClasses(SeedPalette.palette(for: plan.classNames), band: 1)
    try classes.setDescription("class", band: 1)
    // Background is the nodata value: transparent in QGIS over the imagery (invalid pixels are
    // 0 too; OUT.probs.tif tells them apart).
    try classes.setNoData(0, band: 1)

    let noDataValue = CityPipeline.noData
    for i in blocks {
      let block = plan.block(i)
      var data = try readBlock(block)
      let n = block.output.pixelCount
      let nl = block.layer.pixelCount
      guard data.probabilities.count == c * n, data.layers.count == l * nl else {
        throw PipelineError(paths.explanations, "block \(block.name) has the wrong number of values")
      }
      var argmax = [UInt8](repeating: 0, count: n)
      for p in 0..<n where data.probabilities[p] != noDataValue {
        argmax[p] = UInt8(clamping: ChannelArgmax.at(p, in: data.probabilities, channels: c, plane: n))
      }
      if let divisors {
        for b in 0..<l {
          let d = divisors[b]
          for p in 0..<nl where data.layers[b * nl + p] != noDataValue { data.layers[b * nl + p] /= d }
        }
      }
      let o = block.output
      for k in 0..<c {
        try probs.write(
          band: k + 1, x: o.x, y: o.y, width: o.width, height: o.height,
          values: Array(data.probabilities[(k * n)..<((k + 1) * n)]))
      }
      try classes.write(band: 1, x: o.x, y: o.y, width: o.width, height: o.height, values: argmax)
      if let cam {
        let lw = block.layer
        for b in 0..<l {
          try cam.write(
            band: b + 1, x: lw.x, y: lw.y, width: lw.width, height: lw.height,
            values: Array(data.layers[(b * nl)..<((b + 1) * nl)]))
        }
      }
      // Quicklook samples of this block.
      let (qcols, qrows) = plan.quicklookIndices(in: o)
      for qy in qrows {
        let sy = plan.quicklookSample(qy, length: plan.height)
        for qx in qcols {
          let sx = plan.quicklookSample(qx, length: plan.width)
          let q = qy * quicklook.width + qx
          quicklook.classes[q] = argmax[(sy - o.y) * o.width + (sx - o.x)]
          if let qb = plan.quicklookBand, l > 0 {
            let lx = sx / plan.camCell - block.layer.x
            let ly = sy / plan.camCell - block.layer.y
            let v = data.layers[qb * nl + ly * block.layer.width + lx]
            quicklook.heat[q] = v == noDataValue ? nil : v
          }
        }
      }
    }

    let overviews: [Int]? = part ? [] : nil
    try cam?.finish(overviews: overviews, resampling: .average)
    try probs.finish(overviews: overviews, resampling: .average)
    try classes.finish(overviews: overviews, resampling: .nearest)
    var written = [paths.probabilities, paths.classes]
    if l > 0 { written.insert(paths.explanations, at: 0) }
    if cog {
      for (path, resampling) in [
        (paths.probabilities, GeoTIFFLayerWriter.OverviewResampling.average), (paths.classes, .nearest),
      ] + (l > 0 ? [(paths.explanations, .average)] : []) {
        try GeoTIFFLayerWriter.writeCOG(
          from: target(path), to: path, compression: options.compression, overviewResampling: resampling)
        try? FileManager.default.removeItem(atPath: target(path))
        try? FileManager.default.removeItem(atPath: target(path) + ".aux.xml")
      }
    }
    return written
  }
}
