import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One thread that runs submitted jobs in order, at idle CPU priority, while the caller goes on:
/// the city pipeline's blending and writing, overlapped with the model.
///
/// Idle priority (Linux SCHED_IDLE) because the model keeps both cores nearly busy: the writer
/// should fill the gaps the model leaves, not take cores from it. When the caller waits (a full
/// queue, `drain`), its core frees up and the writer runs at full speed. At most `limit` jobs
/// wait, so a writer that falls behind holds back the caller rather than piling up tiles in
/// memory. The first job that throws stops the queue: later jobs are dropped and `submit` and
/// `drain` rethrow its error.
final class BackgroundQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var jobs: [() throws -> Void] = []
  private var busy = false
  private var closed = false
  private var failure: (any Error)?
  private var exited = false
  private let limit: Int
  private var thread: Thread?

  /// Starts the thread. `idle`: run at idle priority where the system has one.
  init(limit: Int = 1, idle: Bool = true) {
    self.limit = max(1, limit)
    // The thread holds the queue until `close()` lets it exit.
    let t = Thread {
      if idle { BackgroundQueue.lowerPriority() }
      self.loop()
    }
    t.name = "geocam-writer"
    t.stackSize = 8 << 20
    thread = t
    t.start()
  }

  /// Queues `job`; waits while `limit` jobs are already waiting. Throws the error of an earlier
  /// job (the queue has stopped).
  func submit(_ job: @escaping () throws -> Void) throws {
    condition.lock()
    defer { condition.unlock() }
    while failure == nil && jobs.count >= limit { condition.wait() }
    if let failure { throw failure }
    jobs.append(job)
    condition.broadcast()
  }

  /// Waits until every queued job has run; rethrows the first error.
  func drain() throws {
    condition.lock()
    defer { condition.unlock() }
    while failure == nil && (busy || !jobs.isEmpty) { condition.wait() }
    if let failure { throw failure }
  }

  /// Stops the thread and waits until it has exited, so nothing runs behind the caller's back
  /// afterwards: with `discardQueued` (the caller is failing) jobs not yet started are dropped,
  /// otherwise they run first. Call it once done with the queue (idempotent).
  func close(discardQueued: Bool = false) {
    condition.lock()
    closed = true
    if discardQueued { jobs.removeAll() }
    condition.broadcast()
    while !exited { condition.wait() }
    condition.unlock()
  }

  private func loop() {
    while true {
      condition.lock()
      while jobs.isEmpty && !closed { condition.wait() }
      if jobs.isEmpty || failure != nil {
        jobs.removeAll()
        condition.broadcast()
        if closed {
          exited = true
          condition.broadcast()
          condition.unlock()
          return
        }
        condition.unlock()
        continue
      }
      let job = jobs.removeFirst()
      busy = true
      condition.broadcast()
      condition.unlock()
      var error: (any Error)? = nil
      do { try job() } catch let e { error = e }
      condition.lock()
      busy = false
      if let error, failure == nil { failure = error }
      condition.broadcast()
      condition.unlock()
    }
  }

  /// SCHED_IDLE for the calling thread (Linux); elsewhere the lowest nice value of the thread.
  private static func lowerPriority() {
    #if os(Linux)
      var param = sched_param()
      param.sched_priority = 0
      // SCHED_IDLE = 5 (linux/sched.h); Glibc's module does not export the constant.
      if sched_setscheduler(0, 5, &param) != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19) }
    #else
      _ = setpriority(PRIO_PROCESS, 0, 19)
    #endif
  }
}
