import CGDAL

/// A raster opened read-only with GDAL (GeoTIFF, COG, VRT, `/vsicurl/…`: any path GDAL opens).
///
/// Not `Sendable`: a GDAL dataset must never be used from two threads at once
/// (gdal.org/user/multithreading.html). Give each worker its own handle with `reopen()`.
public final class GeoRaster {
  /// How `resampled(toPixelSize:resampling:)` interpolates.
  public enum Resampling: String, Sendable, Hashable, CaseIterable {
    /// Nearest neighbour (classes), bilinear (default), cubic, or average (area mean).
    case nearest, bilinear, cubic, average

    var gdal: GDALResampleAlg {
      switch self {
      case .nearest: return GRA_NearestNeighbour
      case .bilinear: return GRA_Bilinear
      case .cubic: return GRA_Cubic
      case .average: return GRA_Average
      }
    }
  }

  /// How this raster was opened, so `reopen()` can repeat it.
  private enum Source {
    case path(String)
    case warped(path: String, pixelSize: Double, resampling: Resampling)
  }

  /// The path as given (passed to GDAL untouched, so `/vsicurl/` and other virtual paths work).
  public let path: String
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// Number of bands.
  public let bandCount: Int
  /// Sample type per band (index 0 = band 1).
  public let dataTypes: [RasterDataType]
  /// Nodata value per band, nil where none is set.
  public let noDataValues: [Double?]
  /// GDAL mask flags per band (`GDALGetMaskFlags`).
  public let maskFlags: [MaskFlags]
  /// Natural block size per band (`GDALGetBlockSize`): tile size for tiled files, strips otherwise.
  public let blockSizes: [BlockSize]
  /// Geotransform and CRS WKT, exactly as GDAL reports them.
  public let georeferencing: Georeferencing
  /// The GDAL driver's short name, e.g. "GTiff", "VRT".
  public let driverName: String

  let handle: GDALDatasetH
  private let source: Source
  /// A dataset this one depends on and must outlive (the source of a warped VRT when GDAL did not
  /// take ownership of it).
  private let dependency: GDALDatasetH?

  /// A block's width × height in pixels.
  public struct BlockSize: Sendable, Hashable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Creates a size.
    public init(width: Int, height: Int) {
      self.width = width
      self.height = height
    }
  }

  /// Opens `path` read-only; throws a `GeoError` naming the path and GDAL's reason.
  public convenience init(path: String) throws {
    let handle = try GeoRaster.openHandle(path)
    try self.init(handle: handle, path: path, source: .path(path), dependency: nil)
  }

  private init(handle: GDALDatasetH, path: String, source: Source, dependency: GDALDatasetH?) throws {
    self.handle = handle
    self.path = path
    self.source = source
    self.dependency = dependency
    width = Int(GDALGetRasterXSize(handle))
    height = Int(GDALGetRasterYSize(handle))
    bandCount = Int(GDALGetRasterCount(handle))
    driverName = GDALGetDatasetDriver(handle).flatMap { GDALGetDriverShortName($0) }
      .map { String(cString: $0) } ?? ""

    var types: [RasterDataType] = []
    var nodata: [Double?] = []
    var flags: [MaskFlags] = []
    var blocks: [BlockSize] = []
    for b in 0..<bandCount {
      guard let band = GDALGetRasterBand(handle, Int32(b + 1)) else { continue }
      types.append(RasterDataType(GDALGetRasterDataType(band)))
      var has: Int32 = 0
      let value = GDALGetRasterNoDataValue(band, &has)
      nodata.append(has != 0 ? value : nil)
      flags.append(MaskFlags(rawValue: GDALGetMaskFlags(band)))
      var bx: Int32 = 0
      var by: Int32 = 0
      GDALGetBlockSize(band, &bx, &by)
      blocks.append(BlockSize(width: Int(bx), height: Int(by)))
    }
    dataTypes = types
    noDataValues = nodata
    maskFlags = flags
    blockSizes = blocks

    var gt = [Double](repeating: 0, count: 6)
    let hasGT = GDALGetGeoTransform(handle, &gt) == CE_None
    let wkt = GDALGetProjectionRef(handle).map { String(cString: $0) } ?? ""
    georeferencing = Georeferencing(geoTransform: hasGT ? GeoTransform(gt) : nil, crsWKT: wkt)

    // Close here too: deinit does not run when an initializer throws.
    guard width > 0, height > 0, bandCount > 0, types.count == bandCount else {
      GDALClose(handle)
      if let dependency { GDALClose(dependency) }
      throw GeoError(path, "raster has no pixels or no bands (\(width)x\(height), \(bandCount) bands)")
    }
  }

  deinit {
    GDALClose(handle)
    // Closed after the warped VRT that reads from it.
    if let dependency { GDALClose(dependency) }
  }

  private static func openHandle(_ path: String) throws -> GDALDatasetH {
    GDALRuntime.ensureInitialized()
    CPLErrorReset()
    // VERBOSE_ERROR: without it a failed open leaves CPLGetLastErrorMsg empty (geo_anchors.md §1).
    let flags = UInt32(GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR)
    guard let handle = GDALOpenEx(path, flags, nil, nil, nil) else {
      throw GDALRuntime.failure(path, "cannot open as a raster")
    }
    return handle
  }

  // MARK: - Georeferencing

  /// The geotransform, nil when the raster has none.
  public var geoTransform: GeoTransform? { georeferencing.geoTransform }
  /// The CRS as WKT, exactly as stored ("" when none).
  public var crsWKT: String { georeferencing.crsWKT }
  /// Pixel size (|gt[1]|, |gt[5]|) in CRS units, nil without a geotransform.
  public var pixelSize: (x: Double, y: Double)? { geoTransform?.pixelSize }
  /// Block size of band 1.
  public var blockSize: BlockSize { blockSizes[0] }
  /// The whole raster as a window.
  public var bounds: PixelWindow { PixelWindow(x: 0, y: 0, width: width, height: height) }

  /// The pixel window covering `bbox` (CRS units), clamped to the raster: every pixel the box
  /// touches is included. Throws for rasters without a geotransform, rotated geotransforms,
  /// and boxes that miss the raster.
  public func pixelWindow(forBBox bbox: BoundingBox) throws -> PixelWindow {
    guard let gt = geoTransform else { throw GeoError(path, "raster has no geotransform") }
    guard gt.isAxisAligned, gt.pixelWidth != 0, gt.pixelHeight != 0 else {
      throw GeoError(path, "geotransform is rotated; a bbox cannot map to a pixel window (use --resample)")
    }
    let cx0 = (bbox.minX - gt.originX) / gt.pixelWidth
    let cx1 = (bbox.maxX - gt.originX) / gt.pixelWidth
    let ry0 = (bbox.maxY - gt.originY) / gt.pixelHeight
    let ry1 = (bbox.minY - gt.originY) / gt.pixelHeight
    // A bbox edge lying on a pixel edge up to float noise must not pull in a neighbouring pixel.
    let eps = 1e-6
    let x0 = Int((min(cx0, cx1) + eps).rounded(.down))
    let x1 = Int((max(cx0, cx1) - eps).rounded(.up))
    let y0 = Int((min(ry0, ry1) + eps).rounded(.down))
    let y1 = Int((max(ry0, ry1) - eps).rounded(.up))
    let window = PixelWindow(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    guard !window.isEmpty, let clamped = window.intersection(bounds) else {
      throw GeoError(path, "bbox \(bbox) does not overlap the raster")
    }
    return clamped
  }

  // MARK: - Reading

  /// Reads `bands` (1-based; all bands when nil) of the window as band-sequential Float32 plus a
  /// validity mask. The window may extend past the raster: the outside part reads 0, invalid.
  ///
  /// A pixel is valid when at least one requested band is valid under GDAL's mask
  /// (`GDALGetMaskBand`: nodata, alpha or per-dataset mask), as rasterio's dataset mask does,
  /// so a real black pixel of an RGB image with nodata 0 stays valid. Non-finite samples are
  /// set to 0 and make their pixel invalid. Nodata samples keep their stored value.
  public func readWindow(x: Int, y: Int, width: Int, height: Int, bands: [Int]? = nil) throws
    -> RasterWindow
  {
    let window = PixelWindow(x: x, y: y, width: width, height: height)
    guard width > 0, height > 0 else { throw GeoError(path, "empty read window \(window)") }
    let bands = bands ?? Array(1...bandCount)
    guard !bands.isEmpty, bands.allSatisfy({ (1...bandCount).contains($0) }) else {
      throw GeoError(path, "band list \(bands) is not within 1...\(bandCount)")
    }
    let plane = width * height
    var data = [Float](repeating: 0, count: bands.count * plane)
    var mask = [UInt8](repeating: 0, count: plane)
    guard let inside = window.intersection(bounds) else {
      return RasterWindow(window: window, bands: bands, data: data, mask: mask)
    }
    // Where the inside part starts in the (padded) buffer.
    let offset = (inside.y - y) * width + (inside.x - x)

    var bandMap = bands.map { Int32($0) }
    CPLErrorReset()
    let err = data.withUnsafeMutableBufferPointer { buf -> CPLErr in
      guard let base = buf.baseAddress else { return CE_Failure }
      return GDALDatasetRasterIOEx(
        handle, GF_Read, Int32(inside.x), Int32(inside.y), Int32(inside.width), Int32(inside.height),
        base + offset, Int32(inside.width), Int32(inside.height), GDT_Float32,
        Int32(bands.count), &bandMap, GSpacing(4), GSpacing(4 * width), GSpacing(4 * plane), nil)
    }
    try GDALRuntime.check(err, path, "cannot read window \(inside) of bands \(bands)")

    try fillMask(&mask, inside: inside, offset: offset, rowStride: width, bands: bands)

    // Non-finite samples (NaN without a declared nodata) would poison a model: zero and mask them.
    if bands.contains(where: { dataTypes[$0 - 1].isFloatingPoint }) {
      for b in 0..<bands.count {
        for row in 0..<inside.height {
          let start = b * plane + offset + row * width
          for i in 0..<inside.width where !data[start + i].isFinite {
            data[start + i] = 0
            mask[offset + row * width + i] = 0
          }
        }
      }
    }
    return RasterWindow(window: window, bands: bands, data: data, mask: mask)
  }

  /// Reads a window given as a `PixelWindow`; see `readWindow(x:y:width:height:bands:)`.
  public func readWindow(_ window: PixelWindow, bands: [Int]? = nil) throws -> RasterWindow {
    try readWindow(x: window.x, y: window.y, width: window.width, height: window.height, bands: bands)
  }

  /// Sets `mask` to 1 inside `inside` where any requested band is valid under GDAL's mask band.
  private func fillMask(
    _ mask: inout [UInt8], inside: PixelWindow, offset: Int, rowStride: Int, bands: [Int]
  ) throws {
    func markAll() {
      for row in 0..<inside.height {
        let start = offset + row * rowStride
        for i in start..<(start + inside.width) { mask[i] = 1 }
      }
    }
    if bands.contains(where: { maskFlags[$0 - 1].contains(.allValid) }) {
      markAll()
      return
    }
    var scratch = [UInt8](repeating: 0, count: inside.width * inside.height)
    var readPerDataset = false
    for b in bands {
      // A per-dataset mask (alpha or mask band) is the same for every band: read it once.
      if maskFlags[b - 1].contains(.perDataset) {
        if readPerDataset { continue }
        readPerDataset = true
      }
      guard let band = GDALGetRasterBand(handle, Int32(b)), let maskBand = GDALGetMaskBand(band) else {
        throw GDALRuntime.failure(path, "band \(b) has no mask band")
      }
      CPLErrorReset()
      let err = scratch.withUnsafeMutableBytes { buf in
        GDALRasterIOEx(
          maskBand, GF_Read, Int32(inside.x), Int32(inside.y), Int32(inside.width),
          Int32(inside.height), buf.baseAddress, Int32(inside.width), Int32(inside.height), GDT_Byte,
          GSpacing(1), GSpacing(inside.width), nil)
      }
      try GDALRuntime.check(err, path, "cannot read the mask of band \(b) in window \(inside)")
      for row in 0..<inside.height {
        let dst = offset + row * rowStride
        let src = row * inside.width
        for i in 0..<inside.width where scratch[src + i] != 0 { mask[dst + i] = 1 }
      }
    }
  }

  // MARK: - Metadata read-back

  /// The description of band `band` (1-based), e.g. `gradcam:solar_panel`; "" when unset.
  public func bandDescription(_ band: Int) -> String {
    guard let h = bandHandle(band), let d = GDALGetDescription(h) else { return "" }
    return String(cString: d)
  }

  /// A dataset metadata item, nil when absent (`domain` "" is the default domain).
  public func metadataItem(_ key: String, domain: String = "") -> String? {
    GDALGetMetadataItem(handle, key, domain.isEmpty ? nil : domain).map { String(cString: $0) }
  }

  /// All dataset metadata items of `domain` as key → value.
  public func metadata(domain: String = "") -> [String: String] {
    GeoRaster.keyValues(GDALGetMetadata(handle, domain.isEmpty ? nil : domain))
  }

  /// The metadata domains the dataset reports (`GDALGetMetadataDomainList`).
  public var metadataDomains: [String] {
    let list = GDALGetMetadataDomainList(handle)
    defer { CSLDestroy(list) }
    return GDALRuntime.strings(list)
  }

  /// A band metadata item, nil when absent.
  public func bandMetadataItem(_ key: String, band: Int, domain: String = "") -> String? {
    guard let h = bandHandle(band) else { return nil }
    return GDALGetMetadataItem(h, key, domain.isEmpty ? nil : domain).map { String(cString: $0) }
  }

  /// The band's colour table entries, [] when it has none.
  public func colorTable(band: Int) -> [ColorEntry] {
    guard let h = bandHandle(band), let table = GDALGetRasterColorTable(h) else { return [] }
    let n = GDALGetColorEntryCount(table)
    var out: [ColorEntry] = []
    for i in 0..<max(n, 0) {
      guard let e = GDALGetColorEntry(table, i)?.pointee else { continue }
      func c(_ v: Int16) -> UInt8 { UInt8(clamping: v) }
      out.append(ColorEntry(red: c(e.c1), green: c(e.c2), blue: c(e.c3), alpha: c(e.c4)))
    }
    return out
  }

  /// The band's category (class) names, [] when none.
  public func categoryNames(band: Int) -> [String] {
    guard let h = bandHandle(band) else { return [] }
    return GDALRuntime.strings(GDALGetRasterCategoryNames(h))
  }

  /// Number of overview levels of the band.
  public func overviewCount(band: Int = 1) -> Int {
    guard let h = bandHandle(band) else { return 0 }
    return Int(GDALGetOverviewCount(h))
  }

  /// Files GDAL associates with the dataset (the raster plus sidecars such as `.aux.xml`).
  public var fileList: [String] {
    let list = GDALGetFileList(handle)
    defer { CSLDestroy(list) }
    return GDALRuntime.strings(list)
  }

  func bandHandle(_ band: Int) -> GDALRasterBandH? {
    guard (1...bandCount).contains(band) else { return nil }
    return GDALGetRasterBand(handle, Int32(band))
  }

  static func keyValues(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
    var out: [String: String] = [:]
    for item in GDALRuntime.strings(list) {
      guard let eq = item.firstIndex(of: "=") else { continue }
      out[String(item[..<eq])] = String(item[item.index(after: eq)...])
    }
    return out
  }

  // MARK: - Other handles

  /// A fresh, independent handle on the same raster (same path, same resampling), for another thread.
  public func reopen() throws -> GeoRaster {
    switch source {
    case .path(let p): return try GeoRaster(path: p)
    case .warped(let p, let size, let resampling):
      return try GeoRaster(path: p).resampled(toPixelSize: size, resampling: resampling)
    }
  }

  /// A virtual, on-the-fly resampled view of this raster at `pixelSize` CRS units per pixel
  /// (a GDAL warped VRT in the same CRS, north-up, covering the same extent), for `--resample`.
  ///
  /// Masks carry over: an alpha band stays the last band, nodata stays nodata; a per-dataset mask
  /// or a rotated source adds an alpha band at the end (so `bandCount` grows by one).
  /// The VRT reads through its own handle on `path`, independent of this one.
  public func resampled(toPixelSize pixelSize: Double, resampling: Resampling = .bilinear) throws
    -> GeoRaster
  {
    guard pixelSize.isFinite, pixelSize > 0 else {
      throw GeoError(path, "resample pixel size must be positive, got \(pixelSize)")
    }
    guard geoTransform != nil else {
      throw GeoError(path, "raster has no geotransform; cannot resample to a pixel size")
    }
    let src = try GeoRaster.openHandle(path)
    var transferred = false
    defer { if !transferred { GDALClose(src) } }

    guard let options = GDALCreateWarpOptions() else {
      throw GDALRuntime.failure(path, "cannot allocate warp options")
    }
    defer { GDALDestroyWarpOptions(options) }
    let n = Int(GDALGetRasterCount(src))
    let alphaBand = (1...n).first { b in
      GDALGetRasterBand(src, Int32(b)).map { GDALGetRasterColorInterpretation($0) == GCI_AlphaBand }
        ?? false
    }
    let dataBands = (1...n).filter { $0 != alphaBand }
    guard !dataBands.isEmpty else { throw GeoError(path, "raster has only an alpha band") }
    options.pointee.hSrcDS = src
    options.pointee.eResampleAlg = resampling.gdal
    GDALWarpInitDefaultBandMapping(options, Int32(dataBands.count))
    for (i, b) in dataBands.enumerated() {
      options.pointee.panSrcBands[i] = Int32(b)
      options.pointee.panDstBands[i] = Int32(i + 1)
    }
    let hasNodata = dataBands.contains { noDataValues[$0 - 1] != nil }
    let perDatasetMask = maskFlags.contains { $0.contains(.perDataset) }
    if let alphaBand {
      options.pointee.nSrcAlphaBand = Int32(alphaBand)
      options.pointee.nDstAlphaBand = Int32(dataBands.count + 1)
    } else if hasNodata {
      // Same as GDALAutoCreateWarpedVRT: bands without nodata get an unlikely sentinel.
      GDALWarpInitNoDataReal(options, -1e10)
      for (i, b) in dataBands.enumerated() {
        if let v = noDataValues[b - 1] {
          options.pointee.padfSrcNoDataReal[i] = v
          options.pointee.padfDstNoDataReal[i] = v
        }
      }
      options.pointee.papszWarpOptions = CSLSetNameValue(
        options.pointee.papszWarpOptions, "INIT_DEST", "NO_DATA")
    } else if perDatasetMask || !(geoTransform?.isAxisAligned ?? true) {
      options.pointee.nDstAlphaBand = Int32(dataBands.count + 1)
    }

    CPLErrorReset()
    guard let transformer = GDALCreateGenImgProjTransformer2(src, nil, nil) else {
      throw GDALRuntime.failure(path, "cannot create a warp transformer")
    }
    var suggested = [Double](repeating: 0, count: 6)
    var extent = [Double](repeating: 0, count: 4)
    var sx: Int32 = 0
    var sy: Int32 = 0
    guard
      GDALSuggestedWarpOutput2(
        src, GDALGenImgProjTransform, transformer, &suggested, &sx, &sy, &extent, 0) == CE_None
    else {
      GDALDestroyGenImgProjTransformer(transformer)
      throw GDALRuntime.failure(path, "cannot compute the resampled extent")
    }
    // Same rounding as gdalwarp -tr: pixels = (int)(extent / res + 0.5).
    let outW = max(1, Int(((extent[2] - extent[0]) / pixelSize + 0.5).rounded(.down)))
    let outH = max(1, Int(((extent[3] - extent[1]) / pixelSize + 0.5).rounded(.down)))
    guard outW <= Int(Int32.max), outH <= Int(Int32.max) else {
      GDALDestroyGenImgProjTransformer(transformer)
      throw GeoError(path, "resampling to \(pixelSize) gives \(outW)x\(outH) pixels, too large")
    }
    var gt = [extent[0], pixelSize, 0, extent[3], 0, -pixelSize]
    GDALSetGenImgProjTransformerDstGeoTransform(transformer, &gt)
    options.pointee.pfnTransformer = GDALGenImgProjTransform
    options.pointee.pTransformerArg = transformer

    // The VRT owns the transformer from here (destroyed when it closes; on failure GDAL's cleanup
    // may already have freed it, so it is not destroyed here: a leak beats a double free).
    guard let vrt = GDALCreateWarpedVRT(src, Int32(outW), Int32(outH), &gt, options) else {
      throw GDALRuntime.failure(path, "cannot create a warped VRT at pixel size \(pixelSize)")
    }
    _ = GDALSetSpatialRef(vrt, GDALGetSpatialRef(src))
    // The VRT is documented to take its own reference on the source. Hand ours over when it did;
    // otherwise keep the source open ourselves until after the VRT closes.
    var dependency: GDALDatasetH? = nil
    if GDALDereferenceDataset(src) < 1 {
      GDALReferenceDataset(src)
      dependency = src
    }
    transferred = true
    return try GeoRaster(
      handle: vrt, path: path,
      source: .warped(path: path, pixelSize: pixelSize, resampling: resampling),
      dependency: dependency)
  }
}
