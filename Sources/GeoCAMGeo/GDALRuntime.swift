import CGDAL

/// Process-wide GDAL setup, plus (internal) helpers turning GDAL failures into `GeoError`s.
public enum GDALRuntime {
  /// Registers the drivers and installs a quiet error handler, once per process.
  /// A Swift global is initialised lazily and exactly once (thread-safe), which GDALAllRegister needs:
  /// it must not run concurrently with itself.
  private static let setup: Void = {
    GDALAllRegister()
    // Errors are still recorded for CPLGetLastErrorMsg (per thread); they just are not printed.
    CPLSetErrorHandler(CPLQuietErrorHandler)
  }()

  /// Registers GDAL's drivers and silences its stderr printing, once per process. Every GeoCAMGeo
  /// entry point calls it; call it yourself before using the GDAL C API directly.
  public static func ensureInitialized() {
    _ = setup
  }

  /// GDAL's last error message on this thread, or "" if none.
  static func lastErrorMessage() -> String {
    guard let msg = CPLGetLastErrorMsg() else { return "" }
    return String(cString: msg)
  }

  /// A `GeoError` for `subject` that appends GDAL's last message when it has one.
  static func failure(_ subject: String, _ what: String) -> GeoError {
    let msg = lastErrorMessage()
    if msg.isEmpty || what.contains(msg) { return GeoError(subject, what) }
    return GeoError(subject, "\(what): \(msg)")
  }

  /// Throws when `err` is a failure (warnings and debug messages pass).
  static func check(_ err: CPLErr, _ subject: String, _ what: @autoclosure () -> String) throws {
    if err.rawValue >= CE_Failure.rawValue { throw failure(subject, what()) }
  }

  /// The GDAL driver called `name`, or an error naming the file that needed it.
  static func driver(_ name: String, for subject: String) throws -> GDALDriverH {
    ensureInitialized()
    guard let driver = GDALGetDriverByName(name) else {
      throw GeoError(subject, "GDAL driver \(name) is not available in this GDAL build")
    }
    return driver
  }

  /// Whether a driver's creation option list mentions `value` (e.g. "ZSTD" among the COMPRESS values).
  static func driver(_ driver: GDALDriverH, listsCreationValue value: String) -> Bool {
    guard let list = GDALGetMetadataItem(driver, GDAL_DMD_CREATIONOPTIONLIST, nil) else { return false }
    return String(cString: list).contains("<Value>\(value)</Value>")
  }

  /// Runs `body` with a NULL-terminated `KEY=VALUE` string list built from `pairs`, freed afterwards.
  static func withOptions<T>(
    _ pairs: [(String, String)], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws -> T
  ) rethrows -> T {
    var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
    for (key, value) in pairs { list = CSLSetNameValue(list, key, value) }
    defer { CSLDestroy(list) }
    return try body(list)
  }

  /// Turns a NULL-terminated C string list into Swift strings (nil list → []).
  static func strings(_ list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
    guard let list else { return [] }
    var out: [String] = []
    var i = 0
    while let item = list[i] {
      out.append(String(cString: item))
      i += 1
    }
    return out
  }
}
