import ArgumentParser
import Foundation
import GeoCAMCheckpoint
import GeoCAMModels

/// Options shared by every command that opens a model.
struct ModelOptions: ParsableArguments {
  @Option(name: .long, help: "Checkpoint: Lightning .ckpt, torch .pth/.pt, or .safetensors.")
  var checkpoint: String

  @Option(name: .long, help: "Override the pixel range: 255 = raw 0-255 pixels are normalised, 1 = pixels are divided by 255 first.")
  var pixelRange: Float?

  @Option(name: .long, parsing: .singleValue, help: "Override the per-channel mean (repeat or comma-separate: --mean 0.485,0.456,0.406).")
  var mean: [String] = []

  @Option(name: .long, parsing: .singleValue, help: "Override the per-channel std.")
  var std: [String] = []

  @Option(name: .long, help: "Class names in channel order, class 0 first: comma-separated (background,solar_panel,…) or a file with one name per line.")
  var classNames: String?

  func validate() throws {
    if let r = pixelRange, r != 1 && r != 255 { throw ValidationError("--pixel-range must be 1 or 255") }
    for (name, list) in [("--mean", mean), ("--std", std)] where !list.isEmpty {
      let values = try Self.floats(list, name: name)
      if values.count != 3 { throw ValidationError("\(name) needs 3 values, got \(values.count)") }
      if name == "--std" && values.contains(where: { $0 <= 0 }) { throw ValidationError("--std values must be positive") }
    }
  }

  static func floats(_ list: [String], name: String) throws -> [Float] {
    try list.flatMap { $0.split(separator: ",") }.map {
      guard let v = Float($0.trimmingCharacters(in: .whitespaces)) else {
        throw ValidationError("\(name): '\($0)' is not a number")
      }
      return v
    }
  }

  /// Metadata fields set on the command line.
  func overrides() throws -> ModelMetadata {
    var m = ModelMetadata()
    m.classNames = try classNames.map { try ClassNameList.parse($0) }
    m.pixelRange = pixelRange
    m.mean = mean.isEmpty ? nil : try? Self.floats(mean, name: "--mean")
    m.std = std.isEmpty ? nil : try? Self.floats(std, name: "--std")
    return m
  }
}
