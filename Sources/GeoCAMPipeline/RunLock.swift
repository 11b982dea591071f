import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The lock that keeps two processes from writing the same output (or the same share of it):
/// `OUT.lock`, or `OUT.part-I-of-N.lock` for a share, beside the output.
///
/// Shares of one output may run on several hosts over a shared file system, so the lock is a
/// file that names its holder (host, pid, start time) rather than a kernel lock. It is stale
/// only when it was taken on this host by a process that no longer runs (a killed run): then it
/// is taken over with a warning. A lock held on another host cannot be checked from here and is
/// never taken over silently; `--break-lock` overrides any lock.
public final class RunLock {
  /// Who holds a lock, as written in the lock file (JSON).
  public struct Holder: Codable, Sendable, Equatable {
    /// Host name of the holding process.
    public var host: String
    /// Its process id on that host.
    public var pid: Int32
    /// When it took the lock (ISO 8601, UTC).
    public var started: String
    /// What it runs (e.g. `explain`, `merge`).
    public var command: String

    /// Creates an entry.
    public init(host: String, pid: Int32, started: String, command: String) {
      self.host = host
      self.pid = pid
      self.started = started
      self.command = command
    }

    /// The holder as one phrase: `pid 123 on host-a (explain, since 2026-12-01T07:00:00Z)`.
    public var phrase: String { "pid \(pid) on \(host) (\(command), since \(started))" }
  }

  /// The lock file.
  public let path: String
  /// This process's entry.
  public let holder: Holder
  private var released = false

  private init(path: String, holder: Holder) {
    self.path = path
    self.holder = holder
  }

  deinit { release() }

  /// This machine's host name.
  public static var hostName: String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Whether a process with `pid` runs on this host (EPERM: it runs under another user).
  static func isRunning(_ pid: Int32) -> Bool {
    guard pid > 0 else { return false }
    return kill(pid, 0) == 0 || errno == EPERM
  }

  /// Takes the lock at `path` for `command`, or throws naming the live holder. A stale lock
  /// (this host, dead pid) is taken over and `warn` is told; `breakLock` takes over any lock.
  public static func acquire(
    path: String, command: String, breakLock: Bool = false, warn: (String) -> Void = { _ in }
  ) throws -> RunLock {
    let formatter = ISO8601DateFormatter()
    let me = Holder(host: hostName, pid: getpid(), started: formatter.string(from: Date()), command: command)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = (try? encoder.encode(me)) ?? Data()
    // The entry is written whole under a private name, then linked into place: link() fails
    // if the lock exists, so taking it is atomic and its content is never half-written.
    let temporary = path + ".tmp-\(getpid())"
    try writeFile(data + Data("\n".utf8), to: temporary, subject: path)
    defer { unlink(temporary) }
    for _ in 0..<3 {
      if link(temporary, path) == 0 { return RunLock(path: path, holder: me) }
      let err = errno
      guard err == EEXIST else {
        throw PipelineError(path, "cannot create the run lock: \(String(cString: strerror(err)))")
      }
      let existing = FileManager.default.contents(atPath: path)
      let other = existing.flatMap { try? JSONDecoder().decode(Holder.self, from: $0) }
      if breakLock {
        warn("\(path): broke the lock of \(other?.phrase ?? "an unreadable holder") (--break-lock)")
      } else if let other {
        if other.host == me.host && !isRunning(other.pid) {
          warn("\(path): took over the lock of \(other.phrase), which no longer runs (an interrupted run)")
        } else {
          let where_ = other.host == me.host ? "" : " (another host: it cannot be checked from here)"
          throw PipelineError(
            path,
            "another GeoCAM run holds this output: \(other.phrase)\(where_); wait for it, or add --break-lock if it is dead")
        }
      } else {
        throw PipelineError(path, "run lock exists but is unreadable; remove it or add --break-lock if no run is writing this output")
      }
      guard unlink(path) == 0 || errno == ENOENT else {
        throw PipelineError(path, "cannot remove the stale run lock: \(String(cString: strerror(errno)))")
      }
    }
    throw PipelineError(path, "could not take the run lock: other runs keep taking it")
  }

  /// Removes the lock if it is still this process's (idempotent).
  public func release() {
    guard !released else { return }
    released = true
    guard let data = FileManager.default.contents(atPath: path),
      let current = try? JSONDecoder().decode(Holder.self, from: data), current == holder
    else { return }
    unlink(path)
  }

  private static func writeFile(_ data: Data, to path: String, subject: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
      throw PipelineError(subject, "cannot create the run lock: \(String(cString: strerror(errno)))")
    }
    let ok = data.withUnsafeBytes { buf in
      guard let base = buf.baseAddress else { return true }
      #if canImport(Glibc)
        return Glibc.write(fd, base, buf.count) == buf.count
      #else
        return Darwin.write(fd, base, buf.count) == buf.count
      #endif
    }
    let reason = String(cString: strerror(errno))
    guard close(fd) == 0, ok else {
      unlink(path)
      throw PipelineError(subject, "cannot write the run lock: \(reason)")
    }
  }
}
