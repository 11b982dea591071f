import Foundation
import Synchronization
import Testing

@testable import GeoCAMPipeline

@Suite struct BackgroundQueueTests {
  struct Failure: Error, Equatable { let n: Int }

  @Test func runsJobsInOrderAndDrains() throws {
    let queue = BackgroundQueue(limit: 2)
    defer { queue.close() }
    let seen = Mutex<[Int]>([])
    for i in 0..<50 {
      try queue.submit {
        // Slow jobs make the caller wait on the limit now and then.
        if i % 10 == 0 { usleep(2000) }
        seen.withLock { $0.append(i) }
      }
    }
    try queue.drain()
    #expect(seen.withLock { $0 } == Array(0..<50))
  }

  @Test func firstErrorStopsTheQueueAndIsRethrown() throws {
    let queue = BackgroundQueue(limit: 1)
    defer { queue.close() }
    let ran = Mutex<[Int]>([])
    try queue.submit { ran.withLock { $0.append(0) } }
    try queue.submit { throw Failure(n: 1) }
    // Later jobs are dropped: submit or drain reports the failure.
    var reported: (any Error)? = nil
    do {
      for i in 2..<20 { try queue.submit { ran.withLock { $0.append(i) } } }
      try queue.drain()
    } catch {
      reported = error
    }
    #expect(reported as? Failure == Failure(n: 1))
    #expect(throws: Failure.self) { try queue.drain() }
    #expect(throws: Failure.self) { try queue.submit {} }
    // Jobs run in order, so none queued after the failing one ever ran.
    #expect(ran.withLock { $0 } == [0])
  }

  @Test func closeLetsQueuedJobsFinish() throws {
    let queue = BackgroundQueue(limit: 4)
    let count = Mutex(0)
    for _ in 0..<4 { try queue.submit { usleep(1000); count.withLock { $0 += 1 } } }
    try queue.drain()
    queue.close()
    #expect(count.withLock { $0 } == 4)
  }

  @Test func closeDiscardingWaitsForTheRunningJobAndDropsTheRest() throws {
    let queue = BackgroundQueue(limit: 8)
    let started = DispatchSemaphore(value: 0)
    let ran = Mutex<[Int]>([])
    try queue.submit {
      started.signal()
      usleep(200_000)
      ran.withLock { $0.append(0) }
    }
    for i in 1..<6 { try queue.submit { ran.withLock { $0.append(i) } } }
    started.wait()
    queue.close(discardQueued: true)
    // The job under way finished before close returned; the queued ones never ran.
    #expect(ran.withLock { $0 } == [0])
    queue.close()
  }

  @Test func unboundedJobsNeverWaitAndKeepTheirOrder() throws {
    let queue = BackgroundQueue(limit: 1)
    defer { queue.close() }
    let gate = DispatchSemaphore(value: 0)
    let ran = Mutex<[Int]>([])
    // The running job holds the thread; one bounded job fills the limit.
    try queue.submit(bounded: false) { gate.wait(); ran.withLock { $0.append(0) } }
    try queue.submit { ran.withLock { $0.append(1) } }
    // A bounded submit would block here; unbounded ones return at once.
    for i in 2..<10 { try queue.submit(bounded: false) { ran.withLock { $0.append(i) } } }
    #expect(ran.withLock { $0 }.isEmpty)
    gate.signal()
    try queue.drain()
    #expect(ran.withLock { $0 } == Array(0..<10))
  }
}
