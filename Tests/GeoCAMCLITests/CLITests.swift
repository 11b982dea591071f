import ArgumentParser
import Foundation
import Testing

@testable import GeoCAMCLI
import GeoCAMKit

/// The command line in the style of swift-argument-parser's own tests: parsing into options,
/// validation messages and exit codes, and the built tool's behaviour on bad input (one
/// `Error:` line, a non-zero status).
@Suite struct CLITests {
  @Test func explainParsesIntoPipelineOptions() throws {
    let command = try GeoCAM.parseAsRoot([
      "explain", "city.tif", "--checkpoint", "m.ckpt", "--output", "out/c.tif", "--tile", "256", "--overlap", "32",
      "--normalize", "minmax", "--break-lock", "--class-names", "bg,pv,wh,ph", "--shard", "1/4", "--compression", "zstd",
    ])
    let explain = try #require(command as? GeoCAM.Explain)
    #expect(explain.input == "city.tif" && explain.model.checkpoint == "m.ckpt")
    let o = try explain.pipeline.pipelineOptions()
    #expect(o.tileSize == 256 && o.overlap == 32 && o.breakLock && o.shard?.index == 1 && o.shard?.count == 4)
    #expect(o.compression == .zstd)
    let plain = try #require(try GeoCAM.parseAsRoot(["explain", "a.tif", "--checkpoint", "c", "--output", "o.tif"]) as? GeoCAM.Explain)
    #expect(try plain.pipeline.pipelineOptions().compression == .deflate)
    #expect(throws: (any Error).self) {
      try GeoCAM.parseAsRoot(["explain", "a.tif", "--checkpoint", "c", "--output", "o.tif", "--compression", "jpeg"])
    }
    #expect(explain.normalize.layers == .minmax && explain.normalize.pictures == .minmax)
    #expect(try explain.model.overrides().classNames == ["bg", "pv", "wh", "ph"])
  }

  @Test func validationErrorsAndTheirExitCodes() {
    for (args, message) in [
      (["explain", "a.tif", "--checkpoint", "c", "--output", "o.tif", "--tile", "33"], "--tile must be a positive multiple of 32"),
      (["explain", "a.tif", "--output", "o.tif"], "Missing expected argument '--checkpoint <checkpoint>'"),
      (["audit", "a.tif", "--checkpoint", "c", "--output", "d", "--overlap", "400"], "--overlap must be in 0..<tile"),
      (["explain", "a.tif", "--checkpoint", "c", "--output", "o.tif", "--pixel-range", "3"], "--pixel-range must be 1 or 255"),
    ] {
      do {
        _ = try GeoCAM.parseAsRoot(args)
        Issue.record("\(args) parsed")
      } catch {
        #expect(GeoCAM.message(for: error).contains(message), "\(GeoCAM.message(for: error))")
        #expect(GeoCAM.exitCode(for: error) == .validationFailure)
      }
    }
  }

  @Test func auditOptionsMapToTheLibrary() throws {
    let command = try GeoCAM.parseAsRoot([
      "audit", "s.tif", "--checkpoint", "c", "--output", "d", "--labels", "t.gpkg:objects", "--min-area-m2", "1.5",
      "--match-iou", "0.4", "--methods", "gradcam",
    ])
    let audit = try #require(command as? GeoCAM.Audit)
    #expect(audit.labels == "t.gpkg:objects" && audit.minAreaM2 == 1.5 && audit.matchIou == 0.4)
  }

  /// Foundation errors reaching the top become one line; our own errors pass unchanged.
  @Test func foundationErrorsBecomeOneLine() {
    let wrapped = OneLineError.wrapping(CocoaError(.fileWriteNoPermission))
    #expect("\(wrapped)" == "permission denied")
    #expect(GeoCAM.message(for: wrapped) == "permission denied")
  }

  /// The built tool (next to the test bundle), run as a user would.
  static var tool: URL? {
    let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
      + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
    return candidates.map { $0.appendingPathComponent("geocam") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }

  static func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = try #require(tool)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
  }

  @Test func badInputIsOneErrorLineAndAFailureStatus() throws {
    guard Self.tool != nil else {
      Issue.record("geocam is not built next to the tests")
      return
    }
    let version = try Self.run(["--version"])
    #expect(version.status == 0 && version.out.trimmingCharacters(in: .whitespacesAndNewlines) == GeoCAMKit.GeoCAMVersion.string)
    let missing = try Self.run(["inspect", "/nonexistent/model.ckpt"])
    #expect(missing.status == 1)
    #expect(missing.err.split(separator: "\n").count == 1 && missing.err.hasPrefix("Error: "), "\(missing.err)")
    let usage = try Self.run(["explain", "a.tif", "--output", "o.tif", "--checkpoint", "c", "--tile", "33"])
    #expect(usage.status == 64)
    let unknown = try Self.run(["explane"])
    #expect(unknown.status == 64)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-cli-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let garbage = dir.appendingPathComponent("garbage.tif")
    try Data((0..<4096).map { UInt8($0 % 251) }).write(to: garbage)
    let bad = try Self.run(["predict", garbage.path, "--checkpoint", garbage.path])
    #expect(bad.status == 1 && bad.err.split(separator: "\n").count == 1, "\(bad.err)")
  }
}
