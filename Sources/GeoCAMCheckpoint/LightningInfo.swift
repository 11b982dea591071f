/// Facts from a PyTorch Lightning `.ckpt` (the dict written by `Trainer.save_checkpoint`).
public struct LightningInfo: Sendable {
  /// `epoch` (the number of finished epochs).
  public var epoch: Int?
  /// `global_step` (optimizer steps taken).
  public var globalStep: Int?
  /// `pytorch-lightning_version`, e.g. `"2.6.6"`.
  public var version: String?
  /// `hparams_name` (e.g. `"kwargs"`), when hyper-parameters were saved.
  public var hyperParametersName: String?
  /// `hyper_parameters` in order; keys that are not strings are rendered Python-style.
  public var hyperParameters: [(key: String, value: PickleValue)]
  /// Keys of `callbacks` (state keys such as `ModelCheckpoint{'monitor': …}`; class names in PL 1.x).
  public var callbackKeys: [String]
  /// Number of entries in `optimizer_states`.
  public var optimizerCount: Int
  /// Number of entries in `lr_schedulers`.
  public var schedulerCount: Int

  /// The hyper-parameter named `key`, if saved.
  public func hyperParameter(_ key: String) -> PickleValue? {
    hyperParameters.last(where: { $0.key == key })?.value
  }

  /// One `key: value` line per hyper-parameter, values rendered Python-style (each cut at 200
  /// characters).
  public var hyperParametersDescription: [String] {
    hyperParameters.map { "\($0.key): \($0.value.rendered(maxLength: 200))" }
  }

  /// Reads the Lightning keys of a top-level checkpoint dict; nil when it is not a Lightning file
  /// (no `pytorch-lightning_version`, `epoch` or `global_step` next to `state_dict`).
  init?(root: PickleValue) {
    guard root.dictEntries != nil, root["state_dict"] != nil,
      root["pytorch-lightning_version"] != nil || root["epoch"] != nil || root["global_step"] != nil
    else { return nil }
    epoch = root["epoch"]?.intValue.flatMap { Int(exactly: $0) }
    globalStep = root["global_step"]?.intValue.flatMap { Int(exactly: $0) }
    version = root["pytorch-lightning_version"]?.stringValue
    hyperParametersName = root["hparams_name"]?.stringValue
    var hparams = root["hyper_parameters"]
    // Very old Lightning saved an argparse.Namespace; its BUILD state holds the values.
    if case .object(_, _, let state?) = hparams { hparams = state }
    hyperParameters = (hparams?.dictEntries ?? []).map { pair in
      (pair.key.stringValue ?? pair.key.rendered(maxLength: 200), pair.value)
    }
    callbackKeys = (root["callbacks"]?.dictEntries ?? []).map { pair in
      if case .global(let m, let n) = pair.key { return "\(m).\(n)" }
      return pair.key.stringValue ?? pair.key.rendered(maxLength: 200)
    }
    optimizerCount = root["optimizer_states"]?.arrayValue?.count ?? 0
    schedulerCount = root["lr_schedulers"]?.arrayValue?.count ?? 0
  }
}
