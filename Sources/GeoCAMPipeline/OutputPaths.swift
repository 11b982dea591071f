import Foundation

/// Where a run's files go, derived from the output path `OUT.tif` (`OUT` = the path without a
/// `.tif`/`.tiff` extension).
public struct OutputPaths: Sendable, Hashable, Codable {
  /// `OUT.tif`: Float32 (or Float16) explanation bands, one per (method, class).
  public var explanations: String
  /// `OUT.probs.tif`: softmax probability per class.
  public var probabilities: String
  /// `OUT.classes.tif`: Byte argmax with colour table and category names.
  public var classes: String
  /// `OUT.quicklook.png` (for a part: `OUT.part-I-of-N.imagery.png`, its quicklook imagery samples).
  public var quicklook: String
  /// `OUT.json`: the run summary, written last; its presence means the output is finished.
  public var summary: String

  /// The final outputs of `output`.
  public init(output: String) {
    let base = OutputPaths.base(of: output)
    explanations = output
    probabilities = base + ".probs.tif"
    classes = base + ".classes.tif"
    quicklook = base + ".quicklook.png"
    summary = base + ".json"
  }

  /// Share `shard`'s parts of `output`: `OUT.part-I-of-N.tif`, `.probs.tif`, `.classes.tif`,
  /// `.imagery.png`, `.json`.
  public init(output: String, shard: Shard) {
    let base = OutputPaths.base(of: output) + ".part-\(shard.index)-of-\(shard.count)"
    explanations = base + ".tif"
    probabilities = base + ".probs.tif"
    classes = base + ".classes.tif"
    quicklook = base + ".imagery.png"
    summary = base + ".json"
  }

  /// `OUT` for `OUT.tif` / `OUT.tiff` (any case), the path itself otherwise.
  public static func base(of output: String) -> String {
    let lower = output.lowercased()
    for ext in [".tiff", ".tif"] where lower.hasSuffix(ext) {
      return String(output.dropLast(ext.count))
    }
    return output
  }

  /// The run lock of `output` (`OUT.lock`) or of one share of it (`OUT.part-I-of-N.lock`).
  public static func lock(of output: String, shard: Shard?) -> String {
    base(of: output) + (shard.map { ".part-\($0.index)-of-\($0.count)" } ?? "") + ".lock"
  }

  /// The resume state folder, `OUT.geocam/`.
  public static func stateDirectory(of output: String) -> String { base(of: output) + ".geocam" }

  /// The same file names inside `directory` (for staging before the final renames).
  func staged(in directory: URL) -> OutputPaths {
    var s = self
    func move(_ p: String) -> String { directory.appendingPathComponent((p as NSString).lastPathComponent).path }
    s.explanations = move(explanations)
    s.probabilities = move(probabilities)
    s.classes = move(classes)
    s.quicklook = move(quicklook)
    s.summary = move(summary)
    return s
  }

  /// All paths, the summary last.
  var all: [String] { [explanations, probabilities, classes, quicklook, summary] }
}
