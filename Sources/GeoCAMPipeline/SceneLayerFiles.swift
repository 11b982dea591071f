import Foundation
import GeoCAMCore
import GeoCAMGeo
import GeoCAMImaging
import Synchronization

/// The open output layers of one run (explanations, probabilities, classes; a share's parts
/// when `part`), written block by block in any order, then finished together.
///
/// With `flushEachBlock` every block is compressed onto disk as soon as it is written, so a run
/// that writes blocks while the model computes (see `CityPipeline.computeBlocks`) has only its
/// last block and the overviews left to do at the end; the whole-scene pass (`SceneWriter`)
/// leaves the flushing to GDAL's cache.
final class SceneLayerFiles {
  let plan: ScenePlan
  let part: Bool
  let divisors: [Float]?
  let paths: OutputPaths
  private let cam: GeoTIFFLayerWriter?
  private let probs: GeoTIFFLayerWriter
  private let classes: GeoTIFFLayerWriter
  private let camLevels: OverviewLevels
  private let probsLevels: OverviewLevels
  private let classesLevels: OverviewLevels
  private let cog: Bool
  private let compression: GeoTIFFLayerWriter.Compression

  /// Creates the layer files at `paths` (usually staged names). `divisors` (one per explanation
  /// band) scale the bands (scene normalisation), nil = none.
  init(plan: ScenePlan, part: Bool, paths: OutputPaths, divisors: [Float]?) throws {
    self.plan = plan
    self.part = part
    self.paths = paths
    self.divisors = divisors
    let c = plan.classCount
    let l = plan.layerCount
    let floatType: GeoTIFFLayerWriter.SampleType = plan.half && !part ? .float16 : .float32
    // DEFLATE at level 1: at level 6 writing the layers took about 7 % of a demo run for files
    // a few per cent smaller (ZSTD's default level, 9, likewise).
    let compression = GeoTIFFLayerWriter.Compression(rawValue: plan.compression) ?? .deflate
    self.compression = compression
    // Level 1 for DEFLATE and ZSTD: the layers are written while the model computes, and
    // higher levels cost CPU the model needs for files a few per cent smaller.
    let options = GeoTIFFLayerWriter.Options(
      blockSize: 256, compression: compression, level: compression == .deflate || compression == .zstd ? 1 : nil)
    // Explanations with horizontal differencing: on the demo scene 2 % smaller and about 10 %
    // less CPU than the floating-point predictor (libtiff shuffles its bytes one at a time).
    // Probabilities keep the floating-point predictor, which made them 11 % smaller.
    var camOptions = options
    camOptions.predictor = 2
    let cog = plan.cog && !part
    self.cog = cog
    func target(_ path: String) -> String { cog ? path + ".gtiff" : path }
    let metadata = plan.provenanceItems
    let nodata = Double(CityPipeline.noData)

    var cam: GeoTIFFLayerWriter? = nil
    if l > 0 {
      let w = try GeoTIFFLayerWriter(
        path: target(paths.explanations), width: plan.layerWidth, height: plan.layerHeight, bandCount: l,
        sampleType: floatType, georeferencing: plan.layerGeoreferencing, options: camOptions)
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
    self.cam = cam
    probs = try GeoTIFFLayerWriter(
      path: target(paths.probabilities), width: plan.width, height: plan.height, bandCount: c,
      sampleType: floatType, georeferencing: plan.georeferencing, options: options)
    try probs.setProvenance(metadata)
    for k in 0..<c {
      try probs.setDescription(plan.classNames[k], band: k + 1)
      try probs.setNoData(nodata, band: k + 1)
    }
    classes = try GeoTIFFLayerWriter(
      path: target(paths.classes), width: plan.width, height: plan.height, bandCount: 1,
      sampleType: .byte, georeferencing: plan.georeferencing, options: options)
    try classes.setProvenance(metadata)
    try classes.setClasses(SeedPalette.palette(for: plan.classNames), band: 1)
    try classes.setDescription("class", band: 1)
    // Background is the nodata value: transparent in QGIS over the imagery (invalid pixels are
    // 0 too; OUT.probs.tif tells them apart).
    try classes.setNoData(0, band: 1)

    let half = floatType == .float16
    camLevels = try cam.map { try OverviewLevels($0, blockSize: plan.blockSize / plan.camCell, part: part, half: half) } ?? .none
    probsLevels = try OverviewLevels(probs, blockSize: plan.blockSize, part: part, half: half)
    classesLevels = try OverviewLevels(classes, blockSize: plan.blockSize, part: part, half: false)
  }

  /// How one layer's overviews are made and when its blocks are flushed.
  private struct OverviewLevels {
    /// Factors written from memory as blocks arrive (empty: GDAL builds the overviews at finish).
    var factors: [Int] = []
    /// Whether each output block covers whole file blocks of the layer (256 pixels).
    var flushBase = false
    /// Overview levels whose file blocks each output block completes.
    var flushLevels: [Int] = []

    static let none = OverviewLevels()

    init() {}

    /// Creates the layer's overviews empty when memory can make them exactly as GDAL would (a
    /// share's parts have none; Float16 layers are rounded on disk, so GDAL reads back other
    /// values than the ones in memory).
    init(_ writer: GeoTIFFLayerWriter, blockSize: Int, part: Bool, half: Bool) throws {
      let file = 256
      flushBase = blockSize % file == 0
      guard !part, !half else { return }
      let all = GeoTIFFLayerWriter.overviewFactors(width: writer.width, height: writer.height)
      guard OverviewDownsampler.applies(width: writer.width, height: writer.height, factors: all, blockSize: blockSize)
      else { return }
      try writer.createOverviews(all)
      factors = all
      flushLevels = all.indices.filter { blockSize % (all[$0] * file) == 0 }
    }
  }

  /// Writes one finished block and its quicklook samples; with `flush`, compresses it onto disk
  /// now. (The explanation layer is flushed only at full resolution: at native resolution one
  /// of its file blocks spans several output blocks.)
  func write(_ block: OutputBlock, data blockData: BlockData, quicklook: inout Quicklook, flush: Bool = false) throws {
    let c = plan.classCount
    let l = plan.layerCount
    var data = blockData
    let n = block.output.pixelCount
    let nl = block.layer.pixelCount
    guard data.probabilities.count == c * n, data.layers.count == l * nl else {
      throw PipelineError(paths.explanations, "block \(block.name) has the wrong number of values")
    }
    let noDataValue = CityPipeline.noData
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
      try write(
        Array(data.probabilities[(k * n)..<((k + 1) * n)]), band: k + 1, window: o, to: probs, levels: probsLevels)
    }
    try classes.write(band: 1, x: o.x, y: o.y, width: o.width, height: o.height, values: argmax)
    var level = argmax
    var (w, h) = (o.width, o.height)
    for (i, f) in classesLevels.factors.enumerated() {
      level = OverviewDownsampler.nearest(level, width: w, height: h)
      w /= 2
      h /= 2
      try classes.writeOverview(level: i, band: 1, x: o.x / f, y: o.y / f, width: w, height: h, values: level)
    }
    if let cam {
      for b in 0..<l {
        try write(Array(data.layers[(b * nl)..<((b + 1) * nl)]), band: b + 1, window: block.layer, to: cam, levels: camLevels)
      }
    }
    if flush {
      for (writer, levels) in [(probs, probsLevels), (classes, classesLevels)] + (cam.map { [($0, camLevels)] } ?? [])
      where levels.flushBase {
        try writer.flush(overviewLevels: levels.flushLevels)
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

  /// Writes one band's window and, when made in memory, its overview windows (AVERAGE).
  private func write(_ values: [Float], band: Int, window o: PixelWindow, to writer: GeoTIFFLayerWriter, levels: OverviewLevels) throws {
    try writer.write(band: band, x: o.x, y: o.y, width: o.width, height: o.height, values: values)
    var level = values
    var (w, h) = (o.width, o.height)
    for (i, f) in levels.factors.enumerated() {
      level = OverviewDownsampler.average(level, width: w, height: h, noData: CityPipeline.noData)
      w /= 2
      h /= 2
      try writer.writeOverview(level: i, band: band, x: o.x / f, y: o.y / f, width: w, height: h, values: level)
    }
  }

  /// Builds the overviews (the layers side by side: each reads its own file back), closes the
  /// files, converts them to COG when asked, and returns the paths written.
  @discardableResult
  func finish() throws -> [String] {
    let overviews: [Int]? = part ? [] : nil
    let jobs: [(GeoTIFFLayerWriter, GeoTIFFLayerWriter.OverviewResampling)] =
      (cam.map { [($0, .average)] } ?? []) + [(probs, .average), (classes, .nearest)]
    // One thread per file: separate GDAL datasets are independent.
    let failure = Mutex<(any Error)?>(nil)
    let shared = UncheckedBox(jobs)
    DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
      let (writer, resampling) = shared.value[i]
      do { try writer.finish(overviews: overviews, resampling: resampling) } catch {
        failure.withLock { $0 = $0 ?? error }
      }
    }
    if let error = failure.withLock({ $0 }) { throw error }
    var written = [paths.probabilities, paths.classes]
    if cam != nil { written.insert(paths.explanations, at: 0) }
    if cog {
      func target(_ path: String) -> String { path + ".gtiff" }
      for (path, resampling) in [
        (paths.probabilities, GeoTIFFLayerWriter.OverviewResampling.average), (paths.classes, .nearest),
      ] + (cam != nil ? [(paths.explanations, .average)] : []) {
        try GeoTIFFLayerWriter.writeCOG(
          from: target(path), to: path, compression: compression, overviewResampling: resampling)
        try? FileManager.default.removeItem(atPath: target(path))
        try? FileManager.default.removeItem(atPath: target(path) + ".aux.xml")
      }
    }
    return written
  }
}
