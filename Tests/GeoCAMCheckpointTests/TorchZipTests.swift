import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("torch.save zip archives")
struct TorchZipTests {
  @Test("zip structure: prefix from the basename, zip64 records, 64-byte aligned stored entries")
  func archiveStructure() throws {
    let archive = try ZipArchive(path: Fixtures.path("plain.pth"))
    #expect(archive.prefix == "plain")
    #expect(archive.leadingBytes == 0)
    #expect(archive.entry(named: "plain/data.pkl") != nil)
    #expect(archive.entry(named: "plain/byteorder") != nil)
    for entry in archive.entries where entry.name.hasPrefix("plain/data/") {
      let range = try archive.dataRange(of: entry)
      #expect(range.lowerBound % 64 == 0, "\(entry.name) data is 64-byte aligned")
      #expect(entry.method == 0)
    }
    #expect(try archive.read(#require(archive.entry(named: "plain/version"))) == Array("3\n".utf8))
    let lightning = try ZipArchive(path: Fixtures.path("lightning.ckpt"))
    #expect(lightning.prefix == "archive")
  }

  @Test("every dtype, f16/bf16 special values and views equal what torch saw")
  func viewsAndDTypes() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("views.pth"))
    #expect(ckpt.format == .torchZip)
    #expect(ckpt.stateDictKey == nil)
    #expect(ckpt.strippedPrefix == "")
    let expected = Fixtures.tensors("views.pth")
    #expect(expected.count == 17)
    for key in expected.keys.sorted() {
      try expectMatches(ckpt.stateDict[key], expected[key] as? [String: Any], "views.pth \(key)")
    }
    #expect(ckpt.stateDict.keys.first == "half")
    #expect(ckpt.stateDict.keys.last == "conv")
  }

  @Test("a transposed view, its base, a slice and a column share one storage")
  func sharedStorage() throws {
    let sd = try CheckpointLoader.load(path: Fixtures.path("views.pth")).stateDict
    let base = try #require(sd["base"])
    let transposed = try #require(sd["transposed"])
    let slice = try #require(sd["slice"])
    let column = try #require(sd["column"])
    #expect(base.storage === transposed.storage)
    #expect(base.sharesStorage(with: slice) && base.sharesStorage(with: column))
    #expect(!base.sharesStorage(with: try #require(sd["half"])))
    #expect(base.isContiguous && !transposed.isContiguous && !slice.isContiguous)
    #expect(transposed.shape == [6, 4] && transposed.strides == [1, 6])
    #expect(slice.shape == [2, 3] && slice.strides == [6, 1] && slice.storageOffset == 8)
    #expect(column.shape == [4] && column.strides == [6] && column.storageOffset == 4)
    // Same record, so the bytes are not duplicated in the file either.
    #expect(base.storage.record == transposed.storage.record)
    #expect(try transposed.floats()[1] == base.floats()[6])
  }

  @Test("0-d tensors, empty tensors and int64 num_batches_tracked")
  func scalarsAndEmpty() throws {
    let sd = try CheckpointLoader.load(path: Fixtures.path("views.pth")).stateDict
    let scalar = try #require(sd["scalar"])
    #expect(scalar.shape == [] && scalar.strides == [] && scalar.count == 1)
    #expect(try scalar.floats() == [3.5])
    let nbt = try #require(sd["num_batches_tracked"])
    #expect(nbt.dtype == .int64 && nbt.shape == [])
    #expect(try nbt.int64s() == [7])
    let empty = try #require(sd["empty"])
    #expect(empty.shape == [0, 3] && empty.count == 0)
    #expect(try empty.floats().isEmpty)
    #expect(throws: CheckpointError.self) { try #require(sd["half"]).int64s() }
  }

  @Test("plain state dict: OrderedDict with _metadata BUILD, keys in order")
  func plainStateDict() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("plain.pth"))
    #expect(ckpt.stateDict.keys == [
      "conv1.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked",
      "head.weight", "head.bias",
    ])
    for (key, value) in Fixtures.tensors("plain.pth") {
      try expectMatches(ckpt.stateDict[key], value as? [String: Any], "plain.pth \(key)")
    }
    #expect(ckpt.unusedKeys.isEmpty && ckpt.extraTensors.isEmpty)
    #expect(ckpt.metadata.mean == nil && ckpt.metadata.pixelRange == nil)
    #expect(ckpt.stateDict.parameterCount == 108 + 4 + 4 + 12 + 3)
    #expect(ckpt.dtypeSummary.map(\.dtype) == [.float32, .int64])
    #expect(ckpt.dtypeSummary.first?.tensorCount == 7)
  }

  @Test("DataParallel 'module.' prefix is stripped")
  func modulePrefix() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("module_prefix.pth"))
    #expect(ckpt.strippedPrefix == "module.")
    #expect(ckpt.stateDict.keys.first == "conv1.weight")
    for (key, value) in Fixtures.tensors("module_prefix.pth") {
      let short = String(key.dropFirst("module.".count))
      try expectMatches(ckpt.stateDict[short], value as? [String: Any], "module_prefix.pth \(key)")
    }
  }

  @Test("'model.module.' is stripped repeatedly; wrapper tensors become extras")
  func doublePrefix() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("double_prefix.pth"))
    #expect(ckpt.strippedPrefix == "model.module.")
    #expect(ckpt.stateDict.count == 8)
    #expect(ckpt.stateDict["conv1.weight"] != nil)
    #expect(ckpt.extraTensors.keys == ["mean", "std", "ce_loss.weight"])
    #expect(ckpt.unusedKeys == ["ce_loss.weight"])
    #expect(ckpt.metadata.mean == [0.5, 0.5, 0.5] && ckpt.metadata.std == [0.25, 0.25, 0.25])
    #expect(ckpt.metadata.source(of: .mean) == .checkpointBuffers)
    #expect(ckpt.metadata.pixelRange == 255 && ckpt.metadata.source(of: .pixelRange) == .inferred)
  }

  @Test("model_state_dict entry, pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE)")
  func wrappedProtocol4() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("wrapped_proto4.pt"))
    #expect(ckpt.stateDictKey == "model_state_dict")
    #expect(ckpt.topLevelKeys == ["epoch", "model_state_dict", "optimizer_state_dict", "note"])
    #expect(ckpt.lightning == nil)
    for (key, value) in Fixtures.tensors("wrapped_proto4.pt") {
      try expectMatches(ckpt.stateDict[key], value as? [String: Any], "wrapped_proto4.pt \(key)")
    }
    let momentum = ckpt.root?["optimizer_state_dict"]?["state"]?.dictEntries?.first?.value["momentum_buffer"]
    #expect(momentum?.tensorValue?.shape == [4, 3, 3, 3])
  }

  @Test("bytes before the archive are tolerated")
  func leadingBytes() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("prefixed.pth"))
    let plain = try CheckpointLoader.load(path: Fixtures.path("plain.pth"))
    #expect(ckpt.stateDict.keys == plain.stateDict.keys)
    #expect(try ckpt.stateDict["head.weight"]?.floats() == plain.stateDict["head.weight"]?.floats())
    #expect(try ZipArchive(path: Fixtures.path("prefixed.pth")).leadingBytes == 66)
  }

  @Test("Parameters, tensors with attributes and inert objects are rebuilt as plain values")
  func objects() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("objects.pth"))
    for (key, value) in Fixtures.tensors("objects.pth") {
      try expectMatches(ckpt.stateDict[key], value as? [String: Any], "objects.pth \(key)")
    }
    let extras = try #require(ckpt.root?["extras"])
    #expect(extras["size"]?.arrayValue?.compactMap(\.intValue) == [2, 3])
    #expect(extras["np_float"]?.doubleValue == 0.5)
    #expect(extras["np_float32"]?.doubleValue == -2.25)
    #expect(extras["np_int"]?.intValue == -3)
    #expect(extras["np_bool"]?.boolValue == true)
    #expect(extras["bytes"].map(canon) == "b:7879")
    #expect(extras["set"].map(canon) == "set{i:1,i:2}")
    #expect(extras["frozen"].map(canon) == "set{s:61}")
    guard case .global("torch", "float16")? = extras["dtype"] else {
      Issue.record("dtype: \(String(describing: extras["dtype"]))")
      return
    }
    guard case .object("torch.device", let args, _)? = extras["device"] else {
      Issue.record("device: \(String(describing: extras["device"]))")
      return
    }
    #expect(args.first?.stringValue == "cuda" && args.last?.intValue == 0)
    guard case .object("argparse.Namespace", _, let state?)? = extras["ns"] else {
      Issue.record("ns: \(String(describing: extras["ns"]))")
      return
    }
    #expect(state["lr"]?.doubleValue == 0.1 && state["name"]?.stringValue == "x")
    guard case .object("numpy.ndarray", _, .some)? = extras["np_array"] else {
      Issue.record("np_array: \(String(describing: extras["np_array"]))")
      return
    }
    guard case .global("torch.nn.modules.conv", "Conv2d")? = extras["cls"] else {
      Issue.record("cls: \(String(describing: extras["cls"]))")
      return
    }
    #expect(extras["path"]?.description.contains("pathlib.PurePosixPath") == true)
  }

  @Test("_rebuild_tensor_v3 over an UntypedStorage on cuda:0 maps to CPU")
  func rebuildV3() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("rebuild_v3.pth"))
    let t = try #require(ckpt.stateDict["weight"])
    #expect(t.dtype == .float32 && t.shape == [2, 1] && t.storageOffset == 1)
    #expect(try t.floats() == [-1.0, 2.0])
  }

  @Test("a torch.uint16 tensor is a clear unsupported-dtype error")
  func uint16() throws {
    let error = expectCheckpointError("uint16.pth") { _ = try CheckpointLoader.load(path: Fixtures.path("uint16.pth")) }
    guard case .unsupportedDType(let file, let dtype, _)? = error else {
      Issue.record("\(String(describing: error))")
      return
    }
    #expect(file == "uint16.pth" && dtype == "torch.uint16")
  }

  @Test("a view bigger than its storage is refused with both sizes")
  func viewTooBig() throws {
    let error = expectCheckpointError("view_too_big.pth") {
      _ = try CheckpointLoader.load(path: Fixtures.path("view_too_big.pth"))
    }
    #expect(error?.description == "view_too_big.pth: storage 'data/0' holds 16 bytes but the view needs 32")
    // The same check guards views built by hand.
    let storage = try #require(CheckpointLoader.load(path: Fixtures.path("benign_reduce.pth")).stateDict["weight"]).storage
    #expect(throws: CheckpointError.self) {
      try CheckpointTensor(dtype: .float32, shape: [2, 2], strides: [3, 1], storageOffset: 0, storage: storage)
    }
    #expect(throws: CheckpointError.self) {
      try CheckpointTensor(dtype: .float32, shape: [Int.max, 2], strides: [2, 1], storageOffset: 0, storage: storage)
    }
    #expect(throws: CheckpointError.self) {
      try CheckpointTensor(dtype: .float32, shape: [-1], strides: [1], storageOffset: 0, storage: storage)
    }
    let fits = try CheckpointTensor(dtype: .float16, shape: [8], strides: [1], storageOffset: 0, storage: storage)
    #expect(fits.count == 8)
  }
}
