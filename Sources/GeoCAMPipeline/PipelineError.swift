import GeoCAMCore
import Foundation

/// An error from the pipeline: the file (or option) it concerns and the problem, on one line.
public struct PipelineError: OneLineError, Sendable, Hashable {
  /// The file, option or object the problem concerns.
  public let subject: String
  /// What went wrong.
  public let problem: String

  /// Creates an error about `subject`.
  public init(_ subject: String, _ problem: String) {
    self.subject = subject
    self.problem = problem
  }

}

extension PipelineError {
  /// An error from Foundation or the system about `subject`, as one clear line: `cannot
  /// <action>: permission denied` instead of `Error Domain=NSCocoaErrorDomain Code=513 …`.
  public init(_ subject: String, cannot action: String, _ error: Error) {
    self.init(subject, "cannot \(action): \(PipelineError.reason(error))")
  }

  /// The system's short reason for a Foundation / POSIX error ("permission denied", "no space
  /// left on device"); our own one-line errors pass through unchanged.
  public static func reason(_ error: Error) -> String {
    let ns: NSError
    if let e = error as? CocoaError {
      ns = e as NSError
    } else if let e = error as? POSIXError {
      return lowercasedFirst(String(cString: strerror(e.code.rawValue)))
    } else if type(of: error) is NSError.Type {
      ns = error as NSError
    } else {
      return "\(error)".split(whereSeparator: \.isNewline).joined(separator: " ")
    }
    if ns.domain == NSPOSIXErrorDomain { return lowercasedFirst(String(cString: strerror(Int32(ns.code)))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      return lowercasedFirst(String(cString: strerror(Int32(underlying.code))))
    }
    if ns.domain == NSCocoaErrorDomain {
      switch CocoaError.Code(rawValue: ns.code) {
      case .fileWriteNoPermission, .fileReadNoPermission: return "permission denied"
      case .fileWriteOutOfSpace: return "no space left on device"
      case .fileWriteVolumeReadOnly: return "read-only file system"
      case .fileWriteFileExists: return "a file of that name is in the way"
      case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or directory"
      case .fileWriteInvalidFileName, .fileReadInvalidFileName: return "invalid file name"
      default: break
      }
    }
    return ns.localizedDescription.split(whereSeparator: \.isNewline).joined(separator: " ")
  }

  private static func lowercasedFirst(_ s: String) -> String { s.prefix(1).lowercased() + s.dropFirst() }
}

/// Folder creation with one-line errors.
public enum Folder {
  /// Creates `url` and its missing parents with mkdir(2), so a failure names the exact folder
  /// and the system's reason ("not a directory", "permission denied", "no space left on device").
  public static func create(_ url: URL) throws {
    let path = url.standardizedFileURL.path
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else { throw PipelineError(path, "cannot create the folder: a file of that name is in the way") }
      return
    }
    let parent = (path as NSString).deletingLastPathComponent
    if !parent.isEmpty && parent != path { try create(URL(fileURLWithPath: parent)) }
    guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
      throw PipelineError(path, "cannot create the folder: \(String(cString: strerror(errno)).lowercased())")
    }
  }
}
