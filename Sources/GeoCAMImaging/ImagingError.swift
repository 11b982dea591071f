import GeoCAMCore
/// An error from GeoCAMImaging: what it concerns (a file path or an operation) and the problem.
public struct ImagingError: OneLineError, Sendable, Hashable {
  /// The file or operation the problem concerns.
  public let subject: String
  /// What went wrong (libpng's message where there was one).
  public let problem: String

  /// Creates an error about `subject`.
  public init(_ subject: String, _ problem: String) {
    self.subject = subject
    self.problem = problem
  }

}
