import CFloatEnv
import COpenBLAS
import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs numeric work on all cores with flush-to-zero on, and owns the thread policy.
///
/// GeoCAM parallelises with its own workers and keeps OpenBLAS single-threaded: two pools
/// fighting over 2 cores slows both, and only our own workers can be given FTZ/DAZ (an
/// OpenBLAS pool created at load time keeps the MXCSR it was born with).
public enum Parallel {
  /// Number of workers used for kernels on the calling thread: the innermost `withWorkers`
  /// override, else the process-wide count (the active processor count unless set).
  public static var workers: Int {
    get {
      let local = Int(bitPattern: pthread_getspecific(threadWorkers))
      return local > 0 ? local : _workers.value
    }
    set { _workers.value = Swift.max(1, newValue) }
  }

  /// Runs `body` with `count` workers for the kernels it calls on this thread only (e.g. one
  /// each for tiles run side by side), leaving other threads and the process-wide count alone.
  public static func withWorkers<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
    let previous = pthread_getspecific(threadWorkers)
    pthread_setspecific(threadWorkers, UnsafeRawPointer(bitPattern: Swift.max(1, count)))
    defer { pthread_setspecific(threadWorkers, previous) }
    return try body()
  }

  /// The per-thread override read by `workers` (0, unset, means none).
  private static let threadWorkers: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
  }()
  nonisolated(unsafe) private static var _workers = Box(ProcessInfoCores.count)
  nonisolated(unsafe) private static var configured = false

  /// Puts the calling thread and OpenBLAS in the state kernels expect: FTZ/DAZ on,
  /// OpenBLAS at one thread. Idempotent; every public entry point calls it.
  public static func configure() {
    geocam_enable_flush_denormals()
    if !configured {
      openblas_set_num_threads(1)
      configured = true
    }
  }

  /// Whether FTZ/DAZ is on for the calling thread.
  public static var flushesDenormals: Bool { geocam_flush_denormals_enabled() != 0 }

  /// Calls `body(chunk)` for `chunk` in `0..<chunks`, spread over the workers, each with
  /// FTZ/DAZ on. Runs inline when there is one chunk.
  @inlinable
  public static func forEach(chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 1 {
      geocam_enable_flush_denormals()
      if chunks == 1 { body(0) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      let unchecked = UncheckedSendable(escapable)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        geocam_enable_flush_denormals()
        unchecked.value(chunk)
      }
    }
  }

  /// Splits `0..<count` into one contiguous range per worker (fewer when `count` is small)
  /// and runs `body` on each range in parallel.
  @inlinable
  public static func forRanges(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(workers, count / Swift.max(1, minimumPerChunk)))
    forEach(chunks: chunks) { chunk in
      let lo = count * chunk / chunks
      let hi = count * (chunk + 1) / chunks
      if lo < hi { body(lo..<hi) }
    }
  }
}

/// A value the compiler cannot prove Sendable, handed to workers that touch disjoint memory.
public struct UncheckedSendable<T>: @unchecked Sendable {
  /// The wrapped value.
  public let value: T
  /// Wraps `value`.
  @inlinable public init(_ value: T) { self.value = value }
}

/// A mutable box for process-wide settings.
final class Box<T>: @unchecked Sendable {
  var value: T
  init(_ value: T) { self.value = value }
}

/// Active processor count, read once.
enum ProcessInfoCores {
  static let count: Int = {
    #if canImport(Glibc)
      let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
      return n > 0 ? n : 1
    #else
      return 1
    #endif
  }()
}

#if canImport(Glibc)
  import Glibc
#endif
