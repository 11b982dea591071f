/// The one error shape of GeoCAM's modules: what the problem concerns (a file, an option, a
/// tile) and what went wrong, described on one line as `subject: problem` (newlines from
/// libraries such as GDAL are folded), so the CLI prints every failure as one clear line.
public protocol OneLineError: Error, CustomStringConvertible {
  /// The file, option or object the problem concerns.
  var subject: String { get }
  /// What went wrong.
  var problem: String { get }
}

extension OneLineError {
  /// `subject: problem`, on one line.
  public var description: String {
    "\(subject): \(problem)".split(whereSeparator: \.isNewline).joined(separator: " ")
  }
}
