import ArgumentParser

/// `geocam`: explain what a segmentation model sees in georeferenced imagery.
@main
struct GeoCAM: ParsableCommand {
  static func main() {
    BLASCore.ensureFastKernels()
    Self.main(nil)
  }

  static let configuration = CommandConfiguration(
    commandName: "geocam",
    abstract: "Explain segmentation and classification models on georeferenced rasters.",
    version: GeoCAMVersion.string,
    subcommands: [Inspect.self, Predict.self, Explain.self, Merge.self, Bench.self])
}

/// The tool's version, recorded in every output's provenance.
enum GeoCAMVersion {
  static let string = "0.1.0"
}
