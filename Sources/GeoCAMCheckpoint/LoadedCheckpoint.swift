/// The container format of a checkpoint file.
public enum CheckpointFormat: String, Sendable, Hashable {
  /// `torch.save` zip archive (`.pt`, `.pth`, Lightning `.ckpt`).
  case torchZip
  /// Hugging Face safetensors.
  case safetensors
}

/// Everything ``CheckpointLoader/load(path:)`` found in a checkpoint.
///
/// Tensors are lazy views into the memory-mapped file; holding this value keeps the map open.
public struct LoadedCheckpoint: Sendable {
  /// The path that was loaded.
  public let path: String
  /// Size of the file in bytes.
  public let fileSize: Int
  /// The container format.
  public let format: CheckpointFormat
  /// The model's tensors, wrapper prefix (`model.`, `module.`, …) removed.
  public let stateDict: StateDict
  /// Tensors next to the model but outside it, under their original keys (PVModel's `mean` and
  /// `std` buffers, `ce_loss.weight`, …).
  public let extraTensors: StateDict
  /// Keys that are not used: extra tensors other than the `mean`/`std` that feed the metadata, and
  /// state-dict entries that are not tensors.
  public let unusedKeys: [String]
  /// The prefix removed from model keys (`""`, `"model."`, `"model.module."`, …).
  public let strippedPrefix: String
  /// Which top-level entry held the state dict (`state_dict`, `model_state_dict`, `model`), or nil
  /// when the top level itself was the state dict (and for safetensors).
  public let stateDictKey: String?
  /// Normalisation, classes and the like, with where each came from.
  public let metadata: ModelMetadata
  /// Lightning facts when the file is a Lightning checkpoint.
  public let lightning: LightningInfo?
  /// Keys of the top-level dict of a torch file, in order (rendered when not strings); empty for
  /// safetensors.
  public let topLevelKeys: [String]
  /// The safetensors `__metadata__` map (empty for torch files).
  public let safetensorsMetadata: [String: String]
  /// The whole unpickled object of a torch file (plain values; tensors are lazy), nil for safetensors.
  public let root: PickleValue?
  /// Non-fatal findings, e.g. metadata with the wrong type or stated mean differing from buffers.
  public let warnings: [String]

  /// Tensors and elements per dtype in ``stateDict``.
  public var dtypeSummary: [DTypeCount] { stateDict.dtypeSummary }
}
