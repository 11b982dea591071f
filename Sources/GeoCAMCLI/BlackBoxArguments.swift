import ArgumentParser
import GeoCAMExplain

/// `--seed`, `--rise-masks`, `--lime-samples`: what makes RISE and LIME reproducible and how
/// much they sample.
struct BlackBoxArguments: ParsableArguments {
  @Option(name: .long, help: "Seed of RISE's masks and LIME's samples.")
  var seed: UInt64 = 0

  @Option(name: .long, help: "RISE masks N (default 4000 for classifiers, 500 for segmentation tiles).")
  var riseMasks: Int?

  @Option(name: .long, help: "LIME samples (row 0 is the image itself).")
  var limeSamples = 1000

  func validate() throws {
    if let n = riseMasks, n < 1 { throw ValidationError("--rise-masks must be at least 1") }
    if limeSamples < 2 { throw ValidationError("--lime-samples must be at least 2") }
  }

  var settings: BlackBoxSettings {
    var s = BlackBoxSettings()
    s.seed = seed
    s.riseMasks = riseMasks
    s.limeSamples = limeSamples
    return s
  }
}
