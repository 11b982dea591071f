import Foundation

/// Class names given by a user (`--class-names`): a comma-separated list
/// (`background,solar_panel,water_heater,pool_heater`) or the path of a text file with one name
/// per line (like torchvision's ImageNet list). Names are trimmed; blank lines are ignored.
public enum ClassNameList {
  /// Parses `spec`: a file when a file of that name exists, a comma-separated list otherwise.
  public static func parse(_ spec: String) throws -> [String] {
    var isDirectory: ObjCBool = false
    let names: [String]
    if FileManager.default.fileExists(atPath: spec, isDirectory: &isDirectory), !isDirectory.boolValue {
      guard let data = FileManager.default.contents(atPath: spec) else {
        throw ModelError.invalidArgument("--class-names: cannot read \(spec)")
      }
      guard let text = String(data: data, encoding: .utf8) else {
        throw ModelError.invalidArgument("--class-names: \(spec) is not UTF-8 text")
      }
      names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    } else {
      names = spec.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      if let i = names.firstIndex(of: "") {
        throw ModelError.invalidArgument("--class-names: name \(i) is empty in '\(spec)' (give a comma-separated list or a file)")
      }
    }
    guard !names.isEmpty else { throw ModelError.invalidArgument("--class-names: no names in '\(spec)'") }
    var seen = Set<String>()
    for n in names where !seen.insert(n).inserted {
      throw ModelError.invalidArgument("--class-names: '\(n)' is given twice")
    }
    return names
  }
}
