/// An error from the pipeline: the file (or option) it concerns and the problem, on one line.
public struct PipelineError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The file, option or object the problem concerns.
  public let subject: String
  /// What went wrong.
  public let problem: String

  /// Creates an error about `subject`.
  public init(_ subject: String, _ problem: String) {
    self.subject = subject
    self.problem = problem
  }

  /// `subject: problem`, on one line.
  public var description: String {
    "\(subject): \(problem)".split(whereSeparator: \.isNewline).joined(separator: " ")
  }
}
