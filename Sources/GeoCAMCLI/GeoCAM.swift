import ArgumentParser
import Foundation
import GeoCAMKit
import GeoCAMPipeline

/// `geocam`: explain what a segmentation model sees in georeferenced imagery.
@main
struct GeoCAM: ParsableCommand {
  static func main() {
    BLASCore.ensureFastKernels()
    do {
      var command = try parseAsRoot(nil)
      try command.run()
    } catch {
      exit(withError: OneLineError.wrapping(error))
    }
  }

  static let configuration = CommandConfiguration(
    commandName: "geocam",
    abstract: "Explain segmentation and classification models on georeferenced rasters.",
    version: GeoCAMVersion.string,
    subcommands: [Inspect.self, Predict.self, Explain.self, Audit.self, Study.self, Merge.self, Bench.self])
}

/// A Foundation or system error that reached the top, as one line (`Error: permission denied`)
/// instead of NSError's `Error Domain=NSCocoaErrorDomain Code=513 …` dump. Our own errors and
/// ArgumentParser's pass through unchanged.
struct OneLineError: Error, CustomStringConvertible {
  let description: String

  static func wrapping(_ error: Error) -> Error {
    guard error is CocoaError || error is POSIXError || type(of: error) is NSError.Type else { return error }
    return OneLineError(description: PipelineError.reason(error))
  }
}
