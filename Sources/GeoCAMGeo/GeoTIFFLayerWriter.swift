import CGDAL

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes one georeferenced output layer (heatmap, class map, …) as a tiled, compressed GeoTIFF
/// that opens in QGIS.
///
/// The file is created under a temporary name next to `path` and renamed by `finish(…)`, so an
/// unfinished or failed run never leaves something that looks finished. Dropping an unfinished
/// writer deletes the temporary file. Not `Sendable`: one thread writes a given layer.
///
/// Write each output block once where possible (accumulate/blend overlapping tiles in memory and
/// write block-aligned strips): GDAL re-compresses and re-appends a compressed block that is
/// evicted from its cache and written again, which grew a test file 2.17× (geo_anchors.md §1).
/// Blocks never written cost nothing (SPARSE_OK) and read back as nodata.
public final class GeoTIFFLayerWriter {
  /// Sample storage of the layer.
  public enum SampleType: String, Sendable, Hashable, CaseIterable {
    /// 8-bit unsigned (class maps, can carry a colour table).
    case byte
    /// 32-bit float.
    case float32
    /// Half float: a Float32 band stored with NBITS=16 (GDAL 3.6 has no Float16 data type;
    /// GTiff stores IEEE half floats and reads them back as Float32, error ≤ 4.9e-4 on [0, 1]).
    case float16

    var gdal: GDALDataType { self == .byte ? GDT_Byte : GDT_Float32 }
  }

  /// TIFF compression.
  public enum Compression: String, Sendable, Hashable, CaseIterable {
    /// zlib/libdeflate: readable by every GDAL and QGIS build.
    case deflate = "DEFLATE"
    /// Used only when the driver lists it; otherwise DEFLATE.
    case zstd = "ZSTD"
    /// LZW.
    case lzw = "LZW"
    /// Uncompressed.
    case none = "NONE"
  }

  /// Overview resampling.
  public enum OverviewResampling: String, Sendable, Hashable, CaseIterable {
    /// Continuous layers (heatmaps).
    case average = "AVERAGE"
    /// Class layers: never invent classes.
    case nearest = "NEAREST"
  }

  /// Creation settings.
  public struct Options: Sendable, Hashable {
    /// Internal tile edge (BLOCKXSIZE = BLOCKYSIZE): 256 or 512.
    public var blockSize: Int
    /// Compression.
    public var compression: Compression
    /// BIGTIFF creation option; IF_SAFER because IF_NEEDED cannot judge compressed sizes.
    public var bigTIFF: String
    /// Compression effort (ZSTD_LEVEL or ZLEVEL); nil = GDAL's default (ZSTD 9, DEFLATE 6).
    public var level: Int?
    /// TIFF predictor when compressed: 1 none, 2 horizontal differencing, 3 floating point;
    /// nil = 2 for bytes, 3 for floats. (libtiff's floating-point predictor shuffles bytes one
    /// at a time: it cost more CPU than ZSTD level 1 itself in our measurements, for files
    /// no smaller than with 2.)
    public var predictor: Int?

    /// Defaults: 256-pixel tiles, DEFLATE, BIGTIFF=IF_SAFER.
    public init(
      blockSize: Int = 256, compression: Compression = .deflate, bigTIFF: String = "IF_SAFER", level: Int? = nil,
      predictor: Int? = nil
    ) {
      self.blockSize = blockSize
      self.compression = compression
      self.bigTIFF = bigTIFF
      self.level = level
      self.predictor = predictor
    }
  }

  /// The final path (exists only after `finish`).
  public let path: String
  /// Where the file is written until `finish` renames it.
  public let temporaryPath: String
  /// Width in pixels.
  public let width: Int
  /// Height in pixels.
  public let height: Int
  /// Number of bands.
  public let bandCount: Int
  /// Sample storage.
  public let sampleType: SampleType
  /// The compression actually used (ZSTD falls back to DEFLATE when the driver lacks it).
  public let compression: Compression

  private var handle: GDALDatasetH?
  private let driver: GDALDriverH

  /// Creates the layer file (under `temporaryPath`) with `georeferencing` copied verbatim:
  /// the geotransform coefficients and the CRS WKT string as given.
  public init(
    path: String, width: Int, height: Int, bandCount: Int, sampleType: SampleType,
    georeferencing: Georeferencing, options: Options = Options()
  ) throws {
    guard width > 0, height > 0, bandCount > 0,
      width <= Int(Int32.max), height <= Int(Int32.max), bandCount <= Int(Int32.max)
    else {
      throw GeoError(path, "invalid layer size \(width)x\(height) with \(bandCount) bands")
    }
    guard options.blockSize == 256 || options.blockSize == 512 else {
      throw GeoError(path, "block size must be 256 or 512, got \(options.blockSize)")
    }
    let driver = try GDALRuntime.driver("GTiff", for: path)
    self.driver = driver
    self.path = path
    // Same folder (rename stays on one file system), a name no `*.tif` glob picks up.
    temporaryPath = path + ".partial-\(getpid())"
    self.width = width
    self.height = height
    self.bandCount = bandCount
    self.sampleType = sampleType
    let compression: Compression =
      options.compression == .zstd && !GDALRuntime.driver(driver, listsCreationValue: "ZSTD")
      ? .deflate : options.compression
    self.compression = compression

    var creation: [(String, String)] = [
      ("TILED", "YES"),
      ("BLOCKXSIZE", String(options.blockSize)),
      ("BLOCKYSIZE", String(options.blockSize)),
      ("COMPRESS", compression.rawValue),
      ("BIGTIFF", options.bigTIFF),
      // Blocks never written (e.g. skipped empty tiles) stay unallocated and read as nodata.
      ("SPARSE_OK", "TRUE"),
    ]
    if compression != .none {
      let predictor = options.predictor.map { min(max($0, 1), 3) } ?? (sampleType == .byte ? 2 : 3)
      creation.append(("PREDICTOR", String(predictor)))
    }
    if let level = options.level {
      switch compression {
      case .zstd: creation.append(("ZSTD_LEVEL", String(level)))
      case .deflate: creation.append(("ZLEVEL", String(level)))
      default: break
      }
    }
    if sampleType == .float16 { creation.append(("NBITS", "16")) }
    if bandCount > 1 { creation.append(("INTERLEAVE", "BAND")) }

    // A stale partial file from a crashed run with the same pid would otherwise be appended to.
    VSIUnlink(temporaryPath)
    CPLErrorReset()
    let created = GDALRuntime.withOptions(creation) { opts in
      GDALCreate(
        driver, temporaryPath, Int32(width), Int32(height), Int32(bandCount), sampleType.gdal, opts)
    }
    guard let created else { throw GDALRuntime.failure(path, "cannot create GeoTIFF") }
    handle = created

    do {
      if let gt = georeferencing.geoTransform {
        var c = gt.coefficients
        try GDALRuntime.check(GDALSetGeoTransform(created, &c), path, "cannot set the geotransform")
      }
      if !georeferencing.crsWKT.isEmpty {
        try GDALRuntime.check(
          GDALSetProjection(created, georeferencing.crsWKT), path, "cannot set the CRS")
      }
    } catch {
      abandon()
      throw error
    }
  }

  deinit { abandon() }

  /// Closes and deletes the temporary file if the layer was not finished (idempotent).
  public func abandon() {
    guard let h = handle else { return }
    handle = nil
    GDALClose(h)
    // Deletes the TIFF and any sidecar (.aux.xml) it gathered.
    if GDALDeleteDataset(driver, temporaryPath) != CE_None { VSIUnlink(temporaryPath) }
  }

  private func openHandle() throws -> GDALDatasetH {
    guard let h = handle else { throw GeoError(path, "layer is already finished or abandoned") }
    return h
  }

  private func band(_ band: Int) throws -> GDALRasterBandH {
    let h = try openHandle()
    guard (1...bandCount).contains(band), let b = GDALGetRasterBand(h, Int32(band)) else {
      throw GeoError(path, "band \(band) is not within 1...\(bandCount)")
    }
    return b
  }

  // MARK: - Descriptions and metadata

  /// Sets a band's description (the name QGIS shows), e.g. `gradcam:solar_panel`.
  public func setDescription(_ description: String, band: Int) throws {
    GDALSetDescription(try self.band(band), description)
  }

  /// Sets a band's nodata value.
  public func setNoData(_ value: Double, band: Int) throws {
    let b = try self.band(band)
    CPLErrorReset()
    try GDALRuntime.check(GDALSetRasterNoDataValue(b, value), path, "cannot set nodata on band \(band)")
  }

  /// Sets dataset metadata items in `domain` ("" = default domain), in key order.
  public func setMetadata(_ items: [String: String], domain: String = "") throws {
    let h = try openHandle()
    for key in items.keys.sorted() {
      CPLErrorReset()
      try GDALRuntime.check(
        GDALSetMetadataItem(h, key, items[key], domain.isEmpty ? nil : domain), path,
        "cannot set metadata item \(key)")
    }
  }

  /// Sets band metadata items in `domain` ("" = default domain).
  public func setMetadata(_ items: [String: String], band: Int, domain: String = "") throws {
    let b = try self.band(band)
    for key in items.keys.sorted() {
      CPLErrorReset()
      try GDALRuntime.check(
        GDALSetMetadataItem(b, key, items[key], domain.isEmpty ? nil : domain), path,
        "cannot set metadata item \(key) on band \(band)")
    }
  }

  /// Provenance (model, checkpoint hash, method, command line…): written both to the default
  /// domain (QGIS shows it) and to the `GEOCAM` domain (machine-readable, kept together).
  public func setProvenance(_ items: [String: String]) throws {
    try setMetadata(items)
    try setMetadata(items, domain: GeoTIFFLayerWriter.provenanceDomain)
  }

  /// The metadata domain holding provenance.
  public static let provenanceDomain = "GEOCAM"

  /// Gives a Byte band a colour table (stored in the TIFF) and category names (stored in the
  /// `.aux.xml` sidecar, which `finish` renames along). Call before writing pixels.
  public func setClasses(_ palette: ClassPalette, band: Int) throws {
    guard sampleType == .byte else {
      throw GeoError(path, "a colour table needs a Byte layer (GTiff limitation), this one is \(sampleType)")
    }
    guard palette.names.count == palette.colors.count, (1...256).contains(palette.colors.count) else {
      throw GeoError(
        path, "class palette needs 1...256 classes with one colour each (\(palette.names.count) names, \(palette.colors.count) colours)")
    }
    let b = try self.band(band)
    guard let table = GDALCreateColorTable(GPI_RGB) else {
      throw GDALRuntime.failure(path, "cannot create a colour table")
    }
    defer { GDALDestroyColorTable(table) }
    for (i, c) in palette.colors.enumerated() {
      var entry = GDALColorEntry(c1: Int16(c.red), c2: Int16(c.green), c3: Int16(c.blue), c4: Int16(c.alpha))
      GDALSetColorEntry(table, Int32(i), &entry)
    }
    CPLErrorReset()
    try GDALRuntime.check(GDALSetRasterColorTable(b, table), path, "cannot set the colour table")
    _ = GDALSetRasterColorInterpretation(b, GCI_PaletteIndex)
    // CSL list of names, NULL-terminated.
    var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
    for name in palette.names { list = CSLAddString(list, name) }
    defer { CSLDestroy(list) }
    CPLErrorReset()
    try GDALRuntime.check(GDALSetRasterCategoryNames(b, list), path, "cannot set category names")
  }

  // MARK: - Pixels

  /// Writes `values` (row-major, `width × height`) to a window of band `band`.
  public func write(band: Int, x: Int, y: Int, width: Int, height: Int, values: [Float]) throws {
    try writeWindow(band: band, x: x, y: y, width: width, height: height, values: values, type: GDT_Float32)
  }

  /// Writes `values` (row-major, `width × height`) to a window of band `band`; for Float layers
  /// the bytes are converted to Float32.
  public func write(band: Int, x: Int, y: Int, width: Int, height: Int, values: [UInt8]) throws {
    try writeWindow(band: band, x: x, y: y, width: width, height: height, values: values, type: GDT_Byte)
  }

  // MARK: - Overviews written by the caller

  /// Overview factors created empty by `createOverviews`, in order.
  public private(set) var createdOverviews: [Int] = []

  /// Creates the overview levels `factors` (ascending) empty, for the caller to fill with
  /// `writeOverview` as its data arrives (see `OverviewDownsampler`), instead of `finish`
  /// building them by reading the whole layer back. `finish` then leaves them as written.
  public func createOverviews(_ factors: [Int]) throws {
    let h = try openHandle()
    guard !factors.isEmpty else { return }
    guard createdOverviews.isEmpty, zip(factors, factors.dropFirst()).allSatisfy({ $0 < $1 }), factors[0] >= 2 else {
      throw GeoError(path, "overview factors \(factors) must be ascending, ≥ 2, and created once")
    }
    var lv = factors.map { Int32($0) }
    CPLErrorReset()
    // "NONE": the levels get their directories but no computed pixels.
    try GDALRuntime.check(
      GDALBuildOverviews(h, "NONE", Int32(lv.count), &lv, 0, nil, nil, nil), path, "cannot create overviews \(factors)")
    createdOverviews = factors
  }

  /// Overview size of `factor` for a `width × height` layer, as GDAL makes it (rounded up).
  public static func overviewSize(width: Int, height: Int, factor: Int) -> (width: Int, height: Int) {
    ((width + factor - 1) / factor, (height + factor - 1) / factor)
  }

  /// Writes a window of overview level `level` (index into `createdOverviews`) of band `band`.
  public func writeOverview(level: Int, band: Int, x: Int, y: Int, width w: Int, height h: Int, values: [Float]) throws {
    try writeOverviewWindow(level: level, band: band, x: x, y: y, width: w, height: h, values: values, type: GDT_Float32)
  }

  /// Writes a window of overview level `level` of band `band` (Byte layers).
  public func writeOverview(level: Int, band: Int, x: Int, y: Int, width w: Int, height h: Int, values: [UInt8]) throws {
    try writeOverviewWindow(level: level, band: band, x: x, y: y, width: w, height: h, values: values, type: GDT_Byte)
  }

  private func writeOverviewWindow<T>(
    level: Int, band: Int, x: Int, y: Int, width w: Int, height h: Int, values: [T], type: GDALDataType
  ) throws {
    guard createdOverviews.indices.contains(level) else {
      throw GeoError(path, "overview level \(level) was not created (levels: \(createdOverviews))")
    }
    let size = Self.overviewSize(width: width, height: height, factor: createdOverviews[level])
    guard w > 0, h > 0, x >= 0, y >= 0, x + w <= size.width, y + h <= size.height, values.count == w * h else {
      throw GeoError(path, "overview window \(x),\(y) \(w)x\(h) does not fit the \(size.width)x\(size.height) overview")
    }
    guard let b = GDALGetOverview(try self.band(band), Int32(level)) else {
      throw GeoError(path, "band \(band) has no overview \(level)")
    }
    try writeWindow(to: b, x: x, y: y, width: w, height: h, values: values, type: type, what: "overview \(level) of band \(band)")
  }

  /// Both `write`s: `type` is the GDAL type of `T`; GDAL converts to the band's type.
  private func writeWindow<T>(
    band: Int, x: Int, y: Int, width: Int, height: Int, values: [T], type: GDALDataType
  ) throws {
    try checkWindow(band: band, x: x, y: y, width: width, height: height, count: values.count)
    try writeWindow(to: try self.band(band), x: x, y: y, width: width, height: height, values: values, type: type, what: "band \(band)")
  }

  private func writeWindow<T>(
    to b: GDALRasterBandH, x: Int, y: Int, width: Int, height: Int, values: [T], type: GDALDataType, what: String
  ) throws {
    CPLErrorReset()
    // GF_Write only reads the buffer; GDAL's signature is just not const.
    let err = values.withUnsafeBytes { buf in
      GDALRasterIOEx(
        b, GF_Write, Int32(x), Int32(y), Int32(width), Int32(height),
        UnsafeMutableRawPointer(mutating: buf.baseAddress), Int32(width), Int32(height), type, 0, 0, nil)
    }
    try GDALRuntime.check(err, path, "cannot write window \(x),\(y) \(width)x\(height) of \(what)")
  }

  private func checkWindow(band: Int, x: Int, y: Int, width w: Int, height h: Int, count: Int) throws {
    guard w > 0, h > 0, x >= 0, y >= 0, x + w <= width, y + h <= height else {
      throw GeoError(path, "write window \(x),\(y) \(w)x\(h) is outside the \(width)x\(height) layer")
    }
    guard count == w * h else {
      throw GeoError(path, "write window \(w)x\(h) needs \(w * h) values, got \(count)")
    }
  }

  // MARK: - Finishing

  /// Overview factors 2, 4, 8, … until the coarsest overview's longer side is at most `minSize`
  /// pixels (like gdaladdo's automatic levels); [] for a layer already that small.
  public static func overviewFactors(width: Int, height: Int, minSize: Int = 256) -> [Int] {
    var out: [Int] = []
    var f = 2
    while max(width, height) / (f / 2) > minSize {
      out.append(f)
      f *= 2
    }
    return out
  }

  /// Compresses and writes the blocks written so far of every band (GDALFlushRasterCache), and
  /// of the created overview levels `overviewLevels` (indices into `createdOverviews`). Call it
  /// once whole file blocks are complete: a partial block flushed now is compressed again, and
  /// appended to the file again, when the rest of it arrives.
  public func flush(overviewLevels: [Int] = []) throws {
    CPLErrorReset()
    for b in 1...bandCount {
      let band = try self.band(b)
      GDALFlushRasterCache(band)
      for level in overviewLevels where createdOverviews.indices.contains(level) {
        if let o = GDALGetOverview(band, Int32(level)) { GDALFlushRasterCache(o) }
      }
    }
    guard CPLGetLastErrorType().rawValue < CE_Failure.rawValue else {
      throw GeoError(path, "cannot write the layer to disk: \(GDALRuntime.lastErrorMessage())")
    }
  }

  /// Builds internal overviews (`nil` = automatic factors; [] = none; nothing when the caller
  /// created and wrote them), closes the file and renames it (with its sidecars) to `path`,
  /// replacing an existing file there.
  public func finish(overviews: [Int]? = nil, resampling: OverviewResampling = .average) throws {
    let h = try openHandle()
    // Overviews the caller created and wrote are kept as they are.
    let levels = (createdOverviews.isEmpty ? overviews ?? GeoTIFFLayerWriter.overviewFactors(width: width, height: height) : [])
      .filter { $0 >= 2 && width / $0 >= 1 && height / $0 >= 1 }
    do {
      if !levels.isEmpty {
        var lv = levels.map { Int32($0) }
        CPLErrorReset()
        try GDALRuntime.check(
          GDALBuildOverviews(h, resampling.rawValue, Int32(lv.count), &lv, 0, nil, nil, nil), path,
          "cannot build overviews \(levels)")
      }
      CPLErrorReset()
      GDALFlushCache(h)
      let flushMessage = GDALRuntime.lastErrorMessage()
      guard CPLGetLastErrorType().rawValue < CE_Failure.rawValue else {
        throw GeoError(path, "cannot flush the layer to disk: \(flushMessage)")
      }
    } catch {
      abandon()
      throw error
    }
    handle = nil
    CPLErrorReset()
    GDALClose(h)
    if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
      let msg = GDALRuntime.lastErrorMessage()
      _ = GDALDeleteDataset(driver, temporaryPath)
      throw GeoError(path, "cannot close the layer: \(msg)")
    }
    try GeoTIFFLayerWriter.replace(path, with: temporaryPath, driver: driver)
  }

  /// Renames `temporary` (and its `.aux.xml` sidecar) to `final`, deleting what was at `final`
  /// first. The sidecar moves first, so once `final` exists it is complete.
  /// (GDALRenameDataset refuses names that differ in more than the stem, such as `x.tif.partial-1`.)
  static func replace(_ final: String, with temporary: String, driver: GDALDriverH) throws {
    // Best effort: GDALDeleteDataset also removes an old file's .aux.xml, which would otherwise go
    // stale next to the new file. If the old file cannot go, the rename below reports it.
    if GDALDeleteDataset(driver, final) != CE_None { VSIUnlink(final) }
    for suffix in [".aux.xml", ""] where exists(temporary + suffix) {
      CPLErrorReset()
      guard VSIRename(temporary + suffix, final + suffix) == 0 else {
        let error = GDALRuntime.failure(final, "cannot rename \(temporary + suffix) into place")
        _ = GDALDeleteDataset(driver, temporary)
        VSIUnlink(temporary + ".aux.xml")
        throw error
      }
    }
  }

  /// Whether a (possibly virtual) file exists and can be opened.
  static func exists(_ path: String) -> Bool {
    guard let f = VSIFOpenL(path, "rb") else { return false }
    VSIFCloseL(f)
    return true
  }

  // MARK: - COG

  /// Copies a finished raster (e.g. a layer written by this class) to a Cloud-Optimized GeoTIFF
  /// with the COG driver: 512-pixel tiles, `compression` (ZSTD only if the driver lists it),
  /// PREDICTOR=YES (2 for integers, 3 for floats), BIGTIFF=IF_SAFER, OVERVIEWS=AUTO.
  /// Written under a temporary name and renamed on success. Band descriptions, nodata, colour
  /// tables and default-domain metadata are kept; other metadata domains (e.g. `GEOCAM`) are not:
  /// GDAL 3.6's COG driver copies only the default domain (SRC_MDD arrived in GDAL 3.8).
  public static func writeCOG(
    from source: String, to path: String, compression: Compression = .deflate,
    overviewResampling: OverviewResampling = .average, blockSize: Int = 512
  ) throws {
    let driver = try GDALRuntime.driver("COG", for: path)
    let src = try GeoRaster(path: source)
    let compression: Compression =
      compression == .zstd && !GDALRuntime.driver(driver, listsCreationValue: "ZSTD")
      ? .deflate : compression
    var options: [(String, String)] = [
      ("COMPRESS", compression.rawValue),
      ("BLOCKSIZE", String(blockSize)),
      ("BIGTIFF", "IF_SAFER"),
      ("OVERVIEWS", "AUTO"),
      ("OVERVIEW_RESAMPLING", overviewResampling.rawValue),
    ]
    if compression != .none { options.append(("PREDICTOR", "YES")) }
    let temporary = path + ".partial-\(getpid())"
    VSIUnlink(temporary)
    CPLErrorReset()
    let out = GDALRuntime.withOptions(options) { opts in
      GDALCreateCopy(driver, temporary, src.handle, 0, opts, nil, nil)
    }
    guard let out else {
      let error = GDALRuntime.failure(path, "cannot write a COG from \(source)")
      _ = GDALDeleteDataset(driver, temporary)
      VSIUnlink(temporary)
      throw error
    }
    CPLErrorReset()
    GDALClose(out)
    if CPLGetLastErrorType().rawValue >= CE_Failure.rawValue {
      let msg = GDALRuntime.lastErrorMessage()
      _ = GDALDeleteDataset(driver, temporary)
      throw GeoError(path, "cannot close the COG: \(msg)")
    }
    try replace(path, with: temporary, driver: driver)
  }
}
