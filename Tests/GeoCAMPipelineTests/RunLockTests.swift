import Foundation
import GeoCAMGeo
import GeoCAMPipeline
import Testing

/// Two runs writing one output: the second refuses at once naming the first; a lock left by a
/// killed run on this host is taken over; a lock from another host needs `--break-lock`.
@Suite struct RunLockTests {
  let dir: URL
  let scene: String

  init() throws {
    dir = try PipelineTestRasters.makeTempDir()
    scene = try PipelineTestRasters.makeScene(
      at: dir.appendingPathComponent("scene.tif").path, width: 128, height: 128, withHole: false)
  }

  func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

  func options(breakLock: Bool = false, shard: Shard? = nil) -> PipelineOptions {
    var o = PipelineOptions()
    o.tileSize = 64
    o.overlap = 16
    o.blockSize = 256
    o.quiet = true
    o.explainWhere = .all
    o.breakLock = breakLock
    o.shard = shard
    return o
  }

  func writeLock(_ path: String, host: String, pid: Int32) throws {
    let holder = RunLock.Holder(host: host, pid: pid, started: "2026-12-01T07:00:00Z", command: "explain")
    try JSONEncoder().encode(holder).write(to: URL(fileURLWithPath: path))
  }

  /// The pid of a process that has exited.
  func deadPid() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
  }

  @Test func liveHolderOnThisHostIsRefusedAndNamed() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = path("city.tif")
    try writeLock(path("city.lock"), host: RunLock.hostName, pid: getpid())
    var caught: PipelineError?
    do { _ = try CityPipeline.run(input: scene, output: out, model: FakeTileModel(), options: options(), progress: { _ in }) }
    catch let e as PipelineError { caught = e }
    let message = try #require(caught).description
    #expect(message.contains("another GeoCAM run holds this output"))
    #expect(message.contains("pid \(getpid()) on \(RunLock.hostName)"))
    #expect(message.contains("--break-lock"))
    // Nothing was written and the holder's lock is untouched.
    #expect(!FileManager.default.fileExists(atPath: path("city.geocam")))
    #expect(FileManager.default.fileExists(atPath: path("city.lock")))
  }

  @Test func staleLockOnThisHostIsTakenOverWithANote() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    try writeLock(path("city.lock"), host: RunLock.hostName, pid: try deadPid())
    var warnings: [String] = []
    let s = try CityPipeline.run(
      input: scene, output: path("city.tif"), model: FakeTileModel(), options: options(),
      progress: { if case .warning(let w) = $0 { warnings.append(w) } })
    #expect(s.status == .finished)
    #expect(warnings.contains { $0.contains("took over the lock") })
    #expect(s.warnings.contains { $0.contains("took over the lock") })
    // Released at the end.
    #expect(!FileManager.default.fileExists(atPath: path("city.lock")))
  }

  @Test func otherHostNeedsBreakLock() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    try writeLock(path("city.lock"), host: "node-17.cluster", pid: 4242)
    #expect(throws: PipelineError.self) {
      _ = try CityPipeline.run(input: self.scene, output: self.path("city.tif"), model: FakeTileModel(), options: self.options(), progress: { _ in })
    }
    var warnings: [String] = []
    let s = try CityPipeline.run(
      input: scene, output: path("city.tif"), model: FakeTileModel(), options: options(breakLock: true),
      progress: { if case .warning(let w) = $0 { warnings.append(w) } })
    #expect(s.status == .finished)
    #expect(warnings.contains { $0.contains("broke the lock of pid 4242 on node-17.cluster") })
  }

  @Test func sharesLockSeparatelyAndMergeLocksTheOutput() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = path("city.tif")
    // Share 0 is held elsewhere; share 1 still runs.
    try writeLock(path("city.part-0-of-2.lock"), host: "node-3", pid: 99)
    let s1 = try CityPipeline.run(
      input: scene, output: out, model: FakeTileModel(), options: options(shard: try Shard(index: 1, count: 2)),
      progress: { _ in })
    #expect(s1.status == .partFinished)
    #expect(throws: PipelineError.self) {
      _ = try CityPipeline.run(
        input: self.scene, output: out, model: FakeTileModel(), options: self.options(shard: try Shard(index: 0, count: 2)),
        progress: { _ in })
    }
    try FileManager.default.removeItem(atPath: path("city.part-0-of-2.lock"))
    _ = try CityPipeline.run(
      input: scene, output: out, model: FakeTileModel(), options: options(shard: try Shard(index: 0, count: 2)),
      progress: { _ in })
    try writeLock(path("city.lock"), host: "node-3", pid: 99)
    #expect(throws: PipelineError.self) { _ = try CityPipeline.merge(output: out, quiet: true, progress: { _ in }) }
    let merged = try CityPipeline.merge(output: out, quiet: true, breakLock: true, progress: { _ in })
    #expect(merged.status == .finished)
  }

  /// A folder that cannot be created reads as one line naming it, not Foundation's dump.
  @Test func blockedStateFolderIsOneClearLine() throws {
    defer { try? FileManager.default.removeItem(at: dir) }
    // A plain file where the resume state folder must go.
    try Data("x".utf8).write(to: URL(fileURLWithPath: path("city.geocam")))
    var caught: PipelineError?
    do { _ = try CityPipeline.run(input: scene, output: path("city.tif"), model: FakeTileModel(), options: options(), progress: { _ in }) }
    catch let e as PipelineError { caught = e }
    let message = try #require(caught).description
    #expect(message.contains("city.geocam"))
    #expect(message.contains("cannot create the folder"))
    #expect(!message.contains("Error Domain"))
    #expect(!message.contains("NSCocoaErrorDomain"))
    // The lock is released on the error path too.
    #expect(!FileManager.default.fileExists(atPath: path("city.lock")))
  }

  @Test func foundationErrorsReadAsTheSystemsReason() {
    let denied = CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/data/out"])
    #expect(PipelineError("/data/out", cannot: "write", denied).description == "/data/out: cannot write: permission denied")
    let posix = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
    #expect(PipelineError.reason(posix) == "no space left on device")
    #expect(PipelineError.reason(PipelineError("a", "b")) == "a: b")
  }
}
