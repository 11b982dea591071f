import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The default progress presentation: on a terminal, one redrawn line on stderr
/// (`[#####.....] 1234/5678 tiles  3.2 tiles/s  ETA 0:12:34`); otherwise (logs, pipes, batch
/// jobs) a plain line every `interval` seconds; nothing but warnings… and not even those when quiet.
public final class StderrProgress: @unchecked Sendable {
  private let quiet: Bool
  private let isTerminal: Bool
  private let interval: Double
  private let unit: String
  private var lastPrint = Date.distantPast
  private var barShown = false
  private let lock = NSLock()

  /// `quiet` silences everything; `interval` spaces the plain log lines (default 30 s); `unit`
  /// names what the bar counts (tiles, items, …).
  public init(quiet: Bool, interval: Double = 30, unit: String = "tiles") {
    self.quiet = quiet
    self.unit = unit
    self.isTerminal = isatty(STDERR_FILENO) != 0
    self.interval = interval
  }

  // A run that throws mid-bar still leaves the terminal on a fresh line.
  deinit { endBar() }

  /// Presents one event.
  public func handle(_ event: PipelineEvent) {
    guard !quiet else { return }
    lock.lock()
    defer { lock.unlock() }
    switch event {
    case .started(let tiles, let reused, let blocks):
      line("geocam: \(tiles) tiles to compute in \(blocks) blocks" + (reused > 0 ? ", \(reused) reused from an earlier run" : ""))
    case .tiles(let done, let total, let rate, let eta):
      let now = Date()
      let final = done == total
      if isTerminal {
        guard final || now.timeIntervalSince(lastPrint) >= 0.2 else { return }
        lastPrint = now
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        write("\r[\(bar)] \(done)/\(total) \(unit)  \(String(format: rate < 1 ? "%.2f" : "%.1f", rate)) \(unit)/s  ETA \(StderrProgress.clock(eta))\u{1B}[K")
        barShown = true
        if final { endBar() }
      } else {
        guard final || now.timeIntervalSince(lastPrint) >= interval else { return }
        lastPrint = now
        let pct = total > 0 ? 100 * Double(done) / Double(total) : 100
        line(String(format: "geocam: %d/%d %@ (%.1f%%), %.3f %@/s, ETA %@", done, total, unit, pct, rate, unit, StderrProgress.clock(eta)))
      }
    case .phase(let text):
      line("geocam: \(text)")
    case .warning(let text):
      line("geocam: warning: \(text)")
    case .finished(let seconds):
      line(String(format: "geocam: done in %.1f s", seconds))
    }
  }

  private func endBar() {
    if barShown {
      write("\n")
      barShown = false
    }
  }

  private func line(_ s: String) {
    endBar()
    write(s + "\n")
  }

  private func write(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
  }

  /// `h:mm:ss`, or `--:--` when unknown.
  static func clock(_ seconds: Double?) -> String {
    guard let s = seconds, s.isFinite, s >= 0 else { return "--:--" }
    let t = Int(s.rounded())
    return String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
  }
}
