import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One thread that runs submitted jobs in order, at a lower CPU priority, while the caller goes
/// on: the city pipeline's blending and writing, overlapped with the model.
///
/// Lower priority (nice +5) because the model keeps both cores nearly busy: the writer should
/// mostly fill the gaps the model leaves rather than take cores from it. Not idle priority
/// (Linux SCHED_IDLE, measured no faster on the demo scene): when the caller waits for the writer
/// (a full queue, `drain`) while other programs load the machine, an idle-class thread would get
/// almost no CPU and stall the run. At most `limit` bounded jobs (those holding tiles) wait, so a
/// writer that falls behind holds back the caller rather than piling up tiles in memory. The
/// first job that throws stops the queue: later jobs are dropped and `submit` and `drain`
/// rethrow its error.
final class BackgroundQueue: @unchecked Sendable {
  private let condition = NSCondition()
  private var jobs: [(run: () throws -> Void, bounded: Bool)] = []
  /// Queued jobs that count against `limit`.
  private var boundedCount = 0
  private var busy = false
  private var closed = false
  private var failure: (any Error)?
  private var exited = false
  private let limit: Int
  private var thread: Thread?

  /// Starts the thread; at most `limit` bounded jobs wait (see `submit`). `lowPriority`: run it
  /// at nice +5.
  init(limit: Int = 1, lowPriority: Bool = true) {
    self.limit = max(1, limit)
    // The thread holds the queue until `close()` lets it exit.
    let t = Thread {
      if lowPriority { BackgroundQueue.lowerPriority() }
      self.loop()
    }
    t.name = "geocam-writer"
    t.stackSize = 8 << 20
    thread = t
    t.start()
  }

  /// Queues `job`; a `bounded` job (one that holds memory, such as a computed tile) first waits
  /// while `limit` bounded jobs are already waiting. Unbounded jobs (bookkeeping, or work that
  /// loads its data when it runs) never wait: holding them back would stall the caller behind a
  /// long job for nothing. Throws the error of an earlier job (the queue has stopped).
  func submit(bounded: Bool = true, _ job: @escaping () throws -> Void) throws {
    condition.lock()
    defer { condition.unlock() }
    while failure == nil && bounded && boundedCount >= limit { condition.wait() }
    if let failure { throw failure }
    jobs.append((job, bounded))
    if bounded { boundedCount += 1 }
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
    if discardQueued {
      jobs.removeAll()
      boundedCount = 0
    }
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
        boundedCount = 0
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
      if job.bounded { boundedCount -= 1 }
      busy = true
      condition.broadcast()
      condition.unlock()
      var error: (any Error)? = nil
      do { try job.run() } catch let e { error = e }
      condition.lock()
      busy = false
      if let error, failure == nil { failure = error }
      condition.broadcast()
      condition.unlock()
    }
  }

  /// Nice +5 for the calling thread (Linux gives each thread its own nice value).
  private static func lowerPriority() {
    #if os(Linux)
      _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
    #else
      // Elsewhere the nice value is per process; leave it.
    #endif
  }
}
