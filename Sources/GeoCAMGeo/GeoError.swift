import GeoCAMCore
/// An error from GeoCAMGeo: what it concerns (usually a file path) and the problem, on one line.
public struct GeoError: OneLineError, Sendable, Hashable {
  /// The file (or object, such as "tile grid") the problem concerns.
  public let subject: String
  /// What went wrong, including GDAL's own message where there was one.
  public let problem: String

  /// Creates an error about `subject`.
  public init(_ subject: String, _ problem: String) {
    self.subject = subject
    self.problem = problem
  }

}
