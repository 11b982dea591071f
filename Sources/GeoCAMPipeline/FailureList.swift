import Foundation

/// The errors of concurrent jobs, first one first.
final class FailureList: @unchecked Sendable {
  private let lock = NSLock()
  private var errors: [any Error] = []

  func add(_ error: any Error) {
    lock.lock()
    errors.append(error)
    lock.unlock()
  }

  var first: (any Error)? {
    lock.lock()
    defer { lock.unlock() }
    return errors.first
  }
}
