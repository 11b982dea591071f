import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("model metadata")
struct MetadataTests {
  @Test("overrides replace fields and are marked .override")
  func overrides() throws {
    let loaded = try CheckpointLoader.load(path: Fixtures.path("lightning_nohparams.ckpt")).metadata
    let result = loaded.applying(overrides: ModelMetadata(classNames: ["a", "b", "c"], pixelRange: 1))
    #expect(result.classNames == ["a", "b", "c"] && result.source(of: .classNames) == .override)
    #expect(result.pixelRange == 1 && result.source(of: .pixelRange) == .override)
    #expect(result.mean == loaded.mean && result.source(of: .mean) == .checkpointBuffers)
    #expect(result.source(of: .gsdM) == nil)
  }

  @Test("defaults fill only missing fields")
  func defaults() throws {
    let loaded = try CheckpointLoader.load(path: Fixtures.path("lightning_nohparams.ckpt")).metadata
    let filled = loaded.fillingMissing(from: .imagenetDefaults)
    #expect(filled.pixelRange == 255 && filled.source(of: .pixelRange) == .inferred)
    #expect(filled.channelOrder == "RGB" && filled.source(of: .channelOrder) == .default)
    let empty = ModelMetadata().fillingMissing(from: .imagenetDefaults)
    #expect(empty.pixelRange == 1 && empty.source(of: .mean) == .default)
    #expect(empty.summary.first == "mean: [0.485, 0.456, 0.406] (default)")
  }

  @Test("geocam JSON with wrong types is skipped with warnings")
  func badJSON() {
    let (meta, warnings) = ModelMetadata.fromGeoCAMJSON(#"{"mean": "x", "gsd_m": 0.25, "arch": "Unet"}"#)
    #expect(meta.mean == nil && meta.gsdM == 0.25 && meta.architecture == "Unet")
    #expect(meta.source(of: .architecture) == .safetensorsMetadata)
    #expect(warnings.count == 1)
    let (_, notJSON) = ModelMetadata.fromGeoCAMJSON("not json")
    #expect(notJSON.count == 1)
  }
}
