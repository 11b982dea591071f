import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("safetensors")
struct SafetensorsTests {
  @Test("weights and the geocam __metadata__ key")
  func weightsAndMetadata() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("weights.safetensors"))
    #expect(ckpt.format == .safetensors)
    #expect(ckpt.safetensorsMetadata["format"] == "pt")
    #expect(ckpt.lightning == nil && ckpt.root == nil && ckpt.topLevelKeys.isEmpty)
    // safetensors writes by descending alignment, then name: the int64 buffer comes first.
    #expect(ckpt.stateDict.keys.first == "bn.num_batches_tracked")
    #expect(Set(ckpt.stateDict.keys) == Set(Fixtures.tensors("weights.safetensors").keys))
    for (key, value) in Fixtures.tensors("weights.safetensors") {
      try expectMatches(ckpt.stateDict[key], value as? [String: Any], "weights.safetensors \(key)")
    }
    let m = ckpt.metadata
    #expect(m.classNames == ["background", "solar_panel"])
    #expect(m.mean == [0.485, 0.456, 0.406] && m.std == [0.229, 0.224, 0.225])
    #expect(m.pixelRange == 1 && m.channelOrder == "RGB" && m.gsdM == 0.5)
    #expect(m.architecture == "FPN" && m.encoder == "resnext50_32x4d")
    for field in ModelMetadata.Field.allCases {
      #expect(m.source(of: field) == .safetensorsMetadata, "\(field)")
    }
    #expect(ckpt.warnings.isEmpty)
  }

  @Test("all supported dtypes convert like torch")
  func dtypes() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("dtypes.safetensors"))
    let expected = Fixtures.tensors("dtypes.safetensors")
    #expect(expected.count == 12 && ckpt.stateDict.count == 12)
    for (key, value) in expected {
      try expectMatches(ckpt.stateDict[key], value as? [String: Any], "dtypes.safetensors \(key)")
    }
    #expect(ckpt.stateDict["scalar"]?.shape == [])
    #expect(Set(ckpt.dtypeSummary.map(\.dtype)) == Set(CheckpointDType.allCases))
  }

  @Test("invalid headers are clear errors")
  func badHeaders() throws {
    let cases: [(String, String)] = [
      ("bad_offsets.safetensors", "hole"),
      ("bad_size.safetensors", "needs 12"),
      ("bad_bounds.safetensors", "file holds 8"),
      ("bad_header.safetensors", "runs past the end"),
    ]
    for (file, phrase) in cases {
      let error = expectCheckpointError(file) { _ = try CheckpointLoader.load(path: Fixtures.path(file)) }
      guard case .badSafetensors(let name, _)? = error else {
        Issue.record("\(file): \(String(describing: error))")
        continue
      }
      #expect(name == file)
      #expect(error?.description.hasPrefix("\(file): bad safetensors header") == true)
      #expect(error?.description.contains(phrase) == true, "\(file): \(error?.description ?? "")")
    }
    let error = expectCheckpointError("bad_dtype") {
      _ = try CheckpointLoader.load(path: Fixtures.path("bad_dtype.safetensors"))
    }
    #expect(error == .unsupportedDType(file: "bad_dtype.safetensors", dtype: "F8_E4M3", context: "safetensors tensor 'a'"))
  }

  @Test("prefix stripping and mean/std buffers also apply to safetensors")
  func wrappedSafetensors() throws {
    // Build a Lightning-style safetensors file by hand: mean/std buffers + model.* keys.
    let floats: [Float] = [0.5, 0.5, 0.5, 0.2, 0.2, 0.2, 1, 2]
    let header = """
      {"__metadata__":{"geocam":"{\\"class_names\\": 5}"},\
      "mean":{"dtype":"F32","shape":[1,3,1,1],"data_offsets":[0,12]},\
      "std":{"dtype":"F32","shape":[1,3,1,1],"data_offsets":[12,24]},\
      "model.head.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}}
      """
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-wrapped-\(UUID()).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    var data = Data()
    var length = UInt64(header.utf8.count).littleEndian
    withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
    data.append(contentsOf: Array(header.utf8))
    floats.forEach { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    try data.write(to: url)
    let ckpt = try CheckpointLoader.load(path: url.path)
    #expect(ckpt.stateDict.keys == ["head.bias"] && ckpt.strippedPrefix == "model.")
    #expect(ckpt.metadata.mean == [0.5, 0.5, 0.5] && ckpt.metadata.pixelRange == 255)
    #expect(ckpt.metadata.classNames == nil)
    #expect(ckpt.warnings.contains { $0.contains("class_names") })
  }
}
