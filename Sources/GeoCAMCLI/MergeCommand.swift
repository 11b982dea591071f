import ArgumentParser
import Foundation
import GeoCAMPipeline

extension GeoCAM {
  /// `geocam merge OUT.tif`: joins the parts of a sharded `geocam explain --shard I/N` run.
  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Join the parts OUT.part-I-of-N.* of a sharded run into OUT.tif, OUT.probs.tif, OUT.classes.tif, OUT.quicklook.png and OUT.json.",
      discussion: """
        Checks that every part 0..N-1 is there, finished, and comes from the same command, then \
        writes the same files a single-process run writes (scene normalisation, quicklook and \
        summary included). The parts are left in place; delete them once the merge is done.
        """)

    @Argument(help: "The output the shares were given, e.g. city.tif.")
    var output: String

    @Flag(name: .long, help: "Overwrite a finished output of a different command.")
    var restart = false

    @Flag(name: .long, help: "Take over the output's run lock even if its holder may still run.")
    var breakLock = false

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    @Flag(name: .long, help: "Print the JSON summary on stdout.")
    var json = false

    func run() throws {
      let summary = try CityPipeline.merge(output: output, restart: restart, quiet: quiet, breakLock: breakLock)
      if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(summary), as: UTF8.self))
      } else if !quiet {
        let files = summary.outputs.keys.sorted().compactMap { summary.outputs[$0] }.joined(separator: ", ")
        print(summary.status == .alreadyFinished ? "already merged: \(files)" : "merged \(summary.mergedParts ?? 0) parts: \(files)")
      }
    }
  }
}
