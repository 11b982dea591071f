import ArgumentParser
import Foundation
import GeoCAMAudit
import GeoCAMExplain
import GeoCAMKit
import GeoCAMStudies

extension GeoCAM {
  /// `geocam study …`: studies on the same core.
  struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Studies of what a model looks at.", subcommands: [ForegroundBackground.self])
  }
}

extension GeoCAM.Study {
  /// `geocam study fgbg --checkpoint C --raster R --labels L --classes solar_panel --output DIR`.
  struct ForegroundBackground: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "fgbg",
      abstract: "Does the model look at the object or at its surroundings? Paired statistics of the map inside vs around each labelled object.",
      discussion: """
        For a labelled raster and a segmentation model: one unit per truth object of --classes; \
        the map of the object's own region target, min-max normalised over its window; inside = \
        the object, outside = a ring of one object-diameter around it. Writes study.json, \
        per_image.csv, report.md and figures to --output.
        """)

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Raster readable by GDAL.")
    var raster: String

    @Option(name: .long, help: "Truth: a label raster on the same grid or a vector file, PATH[:layer], with a 'class' field.")
    var labels: String

    @Option(name: .long, help: "Classes studied, by name or index, comma-separated.")
    var classes: String

    @Option(name: .long, help: "Comma-separated method ids.")
    var methods = "gradcam"

    @Option(name: .long, help: "Target layer (default encoder.layer3.5.conv3).")
    var layer: String?

    @Option(name: .shortAndLong, help: "Output folder.")
    var output: String

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func run() throws {
      let checkpoint = try OpenedCheckpoint(path: model.checkpoint, overrides: try model.overrides())
      var o = ForegroundBackgroundStudy.Options()
      o.classes = try checkpoint.classIndices(classes.split(separator: ",").map(String.init))
      o.methods = try ExplanationMethod.parse(methods)
      o.layer = layer
      o.quiet = quiet
      let source = AuditOptions.Source.parse(labels) { FileManager.default.fileExists(atPath: $0) }
      let report = try ForegroundBackgroundStudy.run(
        raster: raster, labels: source, checkpoint: checkpoint, options: o, output: output)
      for t in report.tests {
        let s = t.statistics
        let line = String(
          format: "%@ %@: n %d, mean in − out %@, t %@, p (Holm) %@, d_z %@",
          t.method, t.className, s.n, s.meanDifference.map { String(format: "%.3f", $0) } ?? "–",
          s.t.map { String(format: "%.2f", $0) } ?? "–", t.pHolm.map { String(format: "%.2g", $0) } ?? "–",
          s.cohenDz.map { String(format: "%.2f", $0) } ?? "–")
        print(line)
      }
      print("  \(URL(fileURLWithPath: output).appendingPathComponent("report.md").path)")
    }
  }
}
