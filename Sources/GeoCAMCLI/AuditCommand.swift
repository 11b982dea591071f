import ArgumentParser
import Foundation
import GeoCAMAudit
import GeoCAMCheckpoint
import GeoCAMExplain
import GeoCAMKit
import GeoCAMPipeline
import GeoCAMStudies

extension GeoCAM {
  /// `geocam audit INPUT --checkpoint CKPT --output DIR`: every detection, explained and reviewed.
  struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Audit every detection: polygons with their own explanations, matched to labels, ranked for review.",
      discussion: """
        Writes DIR/detections.gpkg (layers detections, missed, orphaned_reviews; the review field \
        has a drop-down in QGIS), DIR/detections.csv, DIR/summary.json, DIR/report.html with DIR/chips/, \
        and the run's class map DIR/scene.*. Re-running into the same folder resumes, and keeps the \
        reviewers' verdicts.
        """)

    @Argument(help: "Raster readable by GDAL.")
    var input: String

    @OptionGroup var model: ModelOptions

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @Option(name: .long, help: "Labels: a label raster on the same grid (0 background, k = class index) or a vector file, PATH[:layer], with a 'class' field (index or name).")
    var labels: String?

    @Option(name: .long, help: "Typed look-alikes: PATH[:layer] with a 'type' field (e.g. Tiles/demo-main-truth.gpkg:confounders).")
    var confounders: String?

    @Option(name: .long, help: "Comma-separated method ids.")
    var methods = "gradcam,gradcam++,guided-gradcam"

    @Option(name: .long, help: "Target layer (default encoder.layer3.5.conv3: 16-px cells).")
    var layer: String?

    @Option(name: .long, help: "Drop detections smaller than this many m².")
    var minAreaM2 = 0.5

    @Option(name: .long, help: "IoU a detection needs to match a label (counts at 0.25 are reported too).")
    var matchIou = 0.5

    @Option(name: .long, help: "Tile size of the run's grid.")
    var tile = 320

    @Option(name: .long, help: "Pixels shared by neighbouring tiles.")
    var overlap = 64

    @Option(name: .long, help: "Bands to read, 1-based.")
    var bands = "1,2,3"

    @Option(name: .long, help: "Gallery cards per page.")
    var pageSize = 200

    @Flag(name: .long, help: "Discard an earlier audit of a different command in DIR.")
    var restart = false

    @Flag(name: .long, help: "Take over DIR's lock even if its holder may still run.")
    var breakLock = false

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func validate() throws {
      if tile <= 0 || tile % 32 != 0 { throw ValidationError("--tile must be a positive multiple of 32") }
      if overlap < 0 || overlap >= tile { throw ValidationError("--overlap must be in 0..<tile") }
      if pageSize < 1 { throw ValidationError("--page-size must be ≥ 1") }
    }

    @OptionGroup var blackBox: BlackBoxArguments

    @Option(name: .long, help: "A sanity.json from `geocam study evaluate --sanity` for this checkpoint: its verdicts go into the provenance.")
    var sanity: String?

    func run() throws {
      var o = AuditOptions()
      o.blackBox = blackBox.settings
      o.methods = try ExplanationMethod.parse(methods)
      o.layer = layer
      o.minAreaM2 = minAreaM2
      o.matchIoU = matchIou
      o.tileSize = tile
      o.overlap = overlap
      o.bands = try parseBandList(bands)
      o.pageSize = pageSize
      o.restart = restart
      o.breakLock = breakLock
      o.quiet = quiet
      let exists = { FileManager.default.fileExists(atPath: $0) }
      o.labels = labels.map { AuditOptions.Source.parse($0, fileExists: exists) }
      o.confounders = confounders.map { AuditOptions.Source.parse($0, fileExists: exists) }
      let checkpoint = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides())
      if let sanity {
        let report = try SaliencyEvaluation.SanityReport.load(sanity, checkpointSHA256: checkpoint.sha256)
        o.provenance["sanity"] = report.provenanceLine
        o.provenance["sanity_layer"] = report.layer
      }
      let summary = try GeoCAMAudit.Audit.run(input: input, output: output, checkpoint: checkpoint, options: o)
      print(summary.humanReadable(output: output))
    }
  }
}

extension AuditSummary {
  /// A few lines for the terminal (the full summary is summary.json).
  func humanReadable(output: String) -> String {
    var lines = ["\(detections) detections (\(detectionsPerClass.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")))"]
    if let s = secondsPerDetection { lines.append(String(format: "explained in %.1f s (%.2f s per detection)", secondsExplaining, s)) }
    for (name, c) in (classes ?? [:]).sorted(by: { $0.key < $1.key }) {
      lines.append(
        "  \(name): tp \(c.tp), fp \(c.fp), wrong class \(c.wrongClass), missed \(c.fn); precision \(c.precision.map { String(format: "%.3f", $0) } ?? "–"), recall \(c.recall.map { String(format: "%.3f", $0) } ?? "–")")
    }
    for (type, row) in (confounders ?? [:]).sorted(by: { $0.key < $1.key }) {
      let taken = row.filter { $0.key != "count" }.sorted { $0.key < $1.key }.map { "\($0.value) as \($0.key)" }
      lines.append("  confounder \(type): \(row["count"] ?? 0), taken \(taken.isEmpty ? "for nothing" : taken.joined(separator: ", "))")
    }
    if let a = suspicionAUC {
      lines.append(String(format: "suspicion AUC fp vs tp %.3f (1 − prob_mean: %@)", a, baselineAUC.map { String(format: "%.3f", $0) } ?? "–"))
    }
    for name in ["detections.gpkg", "detections.csv", "summary.json", "report.html"] {
      lines.append("  " + URL(fileURLWithPath: output).appendingPathComponent(name).path)
    }
    return lines.joined(separator: "\n")
  }
}
