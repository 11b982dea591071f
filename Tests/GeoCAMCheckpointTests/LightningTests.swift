import Foundation
import Testing

@testable import GeoCAMCheckpoint

@Suite("PyTorch Lightning checkpoints written by Trainer")
struct LightningTests {
  @Test("epoch, global_step, version and hyper-parameters match what Lightning wrote")
  func facts() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("lightning.ckpt"))
    let expected = Fixtures.lightning("lightning.ckpt")
    let info = try #require(ckpt.lightning)
    #expect(info.epoch == expected["epoch"] as? Int)
    #expect(info.globalStep == expected["global_step"] as? Int)
    #expect(info.version == expected["version"] as? String)
    #expect(info.version == "2.6.6")
    #expect(ckpt.topLevelKeys == expected["top_level_keys"] as? [String])
    #expect(info.hyperParametersName == "kwargs")
    #expect(info.optimizerCount == expected["optimizer_states"] as? Int)
    #expect(info.schedulerCount == 1)
    #expect(info.callbackKeys == expected["callbacks"] as? [String])

    let hp = try #require(expected["hyper_parameters"] as? [String: Any])
    #expect(info.hyperParameters.map(\.key) == ["with_hparams", "class_names", "gsd_m", "pixel_range",
      "channel_order", "arch", "encoder_name", "lr"])
    #expect(Set(info.hyperParameters.map(\.key)) == Set(hp.keys))
    #expect(info.hyperParameter("gsd_m")?.doubleValue == hp["gsd_m"] as? Double)
    #expect(info.hyperParameter("lr")?.doubleValue == 0.001)
    #expect(info.hyperParameter("class_names")?.arrayValue?.compactMap(\.stringValue) == hp["class_names"] as? [String])
    #expect(info.hyperParametersDescription.contains("class_names: ('background', 'building', 'road')"))
    #expect(info.hyperParametersDescription.contains("arch: 'FPN'"))
  }

  @Test("state dict: 'model.' stripped, values equal torch's, buffers and ce_loss.weight set aside")
  func stateDict() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("lightning.ckpt"))
    #expect(ckpt.stateDictKey == "state_dict")
    #expect(ckpt.strippedPrefix == "model.")
    let keys = try #require(Fixtures.lightning("lightning.ckpt")["state_dict_keys"] as? [String])
    #expect(ckpt.stateDict.keys == keys.filter { $0.hasPrefix("model.") }.map { String($0.dropFirst(6)) })
    #expect(ckpt.extraTensors.keys == ["std", "mean", "ce_loss.weight"])
    #expect(ckpt.unusedKeys == ["ce_loss.weight"])
    for (key, value) in Fixtures.tensors("lightning.ckpt") {
      let tensor = key.hasPrefix("model.") ? ckpt.stateDict[String(key.dropFirst(6))] : ckpt.extraTensors[key]
      try expectMatches(tensor, value as? [String: Any], "lightning.ckpt \(key)")
    }
    #expect(ckpt.stateDict["bn.num_batches_tracked"]?.dtype == .int64)
    #expect(try ckpt.stateDict["bn.num_batches_tracked"]?.int64s() == [6])
    #expect(try ckpt.extraTensors["ce_loss.weight"]?.floats() == [1.0, 2.0, 0.5])
  }

  @Test("metadata: hyper-parameters for classes/range/gsd, buffers for mean/std, sources recorded")
  func metadata() throws {
    let m = try CheckpointLoader.load(path: Fixtures.path("lightning.ckpt")).metadata
    #expect(m.classNames == ["background", "building", "road"])
    #expect(m.source(of: .classNames) == .lightningHyperParameters)
    #expect(m.mean == [0.485, 0.456, 0.406] && m.std == [0.229, 0.224, 0.225])
    #expect(m.source(of: .mean) == .checkpointBuffers && m.source(of: .std) == .checkpointBuffers)
    #expect(m.pixelRange == 255 && m.source(of: .pixelRange) == .lightningHyperParameters)
    #expect(m.channelOrder == "RGB" && m.gsdM == 0.3)
    #expect(m.architecture == "FPN" && m.source(of: .architecture) == .lightningHyperParameters)
    #expect(m.encoder == "resnext50_32x4d")
  }

  @Test("optimizer state, schedulers and callbacks are real and readable")
  func trainingState() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("lightning.ckpt"))
    let root = try #require(ckpt.root)
    let optimizer = try #require(root["optimizer_states"]?.arrayValue?.first)
    let state = try #require(optimizer["state"]?.dictEntries)
    #expect(state.count == 5)  // conv1.weight, bn.weight, bn.bias, head.weight, head.bias
    #expect(state.first?.key.intValue == 0)
    #expect(state.first?.value["exp_avg"]?.tensorValue?.shape == [4, 3, 3, 3])
    #expect(state.first?.value["step"]?.tensorValue?.shape == [])
    #expect(try state.first?.value["step"]?.tensorValue?.floats() == [6])
    let group = try #require(optimizer["param_groups"]?.arrayValue?.first)
    #expect(group["betas"].map(canon) == canon(.tuple([.float(0.9), .float(0.999)])))
    #expect(group["weight_decay"]?.doubleValue == 0.01)
    #expect(group["params"]?.arrayValue?.count == 5)
    let scheduler = try #require(root["lr_schedulers"]?.arrayValue?.first)
    #expect(scheduler["T_max"]?.intValue == 10)
    let callbacks = try #require(root["callbacks"]?.dictEntries)
    let checkpoint = try #require(callbacks.first { $0.key.stringValue?.hasPrefix("ModelCheckpoint") == true })
    #expect(checkpoint.value["best_model_score"]?.tensorValue?.shape == [])
    #expect(root["loops"]?["fit_loop"] != nil)
  }

  @Test("without save_hyperparameters: metadata from buffers only, pixel range inferred")
  func noHyperParameters() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("lightning_nohparams.ckpt"))
    let info = try #require(ckpt.lightning)
    #expect(info.hyperParameters.isEmpty && info.hyperParametersName == nil)
    #expect(info.epoch == 2 && info.globalStep == 6)
    #expect(ckpt.topLevelKeys == Fixtures.lightning("lightning_nohparams.ckpt")["top_level_keys"] as? [String])
    #expect(ckpt.unusedKeys.isEmpty)
    #expect(ckpt.extraTensors.keys == ["std", "mean"])
    let m = ckpt.metadata
    #expect(m.classNames == nil && m.gsdM == nil && m.architecture == nil)
    #expect(m.mean == [0.485, 0.456, 0.406] && m.source(of: .mean) == .checkpointBuffers)
    #expect(m.pixelRange == 255 && m.source(of: .pixelRange) == .inferred)
    for (key, value) in Fixtures.tensors("lightning_nohparams.ckpt") where key.hasPrefix("model.") {
      try expectMatches(ckpt.stateDict[String(key.dropFirst(6))], value as? [String: Any], key)
    }
  }

  @Test("tensors stay views into the mapped file (loading copies no tensor bytes)")
  func tensorsAreViewsIntoTheMap() throws {
    let ckpt = try CheckpointLoader.load(path: Fixtures.path("lightning.ckpt"))
    let archive = try ZipArchive(path: Fixtures.path("lightning.ckpt"))
    for entry in ckpt.stateDict.entries {
      let storage = entry.tensor.storage
      let record = try #require(archive.entry(named: "archive/" + storage.record))
      #expect(try archive.dataRange(of: record).lowerBound == storage.byteOffset)
      #expect(storage.file.path == Fixtures.path("lightning.ckpt"))
    }
  }
}
