import Foundation

/// Loads any supported checkpoint into a ``LoadedCheckpoint``, never executing code from the file.
///
/// The format is taken from the bytes, not the extension: `PK\u{3}\u{4}` (or an end-of-central-
/// directory record after leading bytes) is a `torch.save` zip; an 8-byte length followed by `{` is
/// safetensors; the legacy torch magic or a tar header gives a "re-save with torch.save" error.
public enum CheckpointLoader {
  /// Top-level entries that may hold the model's state dict, in the order they are tried.
  public static let stateDictEntryNames = ["state_dict", "model_state_dict", "model"]
  /// Wrapper prefixes removed from model keys (repeatedly, e.g. `model.module.`).
  public static let wrapperPrefixes = ["model.", "module.", "net."]

  /// Loads the checkpoint at `path`.
  /// - Throws: ``CheckpointError``; its `description` is one line naming the file.
  public static func load(path: String) throws -> LoadedCheckpoint {
    let file = try MappedFile(path: path)
    let name = file.name
    guard file.count > 0 else { throw CheckpointError.notAZip(file: name, reason: "the file is empty") }

    enum Kind { case zip, safetensors, legacy(String), barePickle, unknown }
    let isSafetensorsName = name.lowercased().hasSuffix(".safetensors")
    let kind: Kind = file.withBytes { bytes in
      if bytes.u32(0) == 0x0403_4b50 { return .zip }
      if isSafetensorsName || SafetensorsReader.looksLikeSafetensors(bytes) { return .safetensors }
      if bytes.starts(with: TorchZipReader.legacyMagic) {
        return .legacy("a legacy (non-zip) torch.save file")
      }
      if bytes.count > 262, Array(bytes[257..<262]) == Array("ustar".utf8) {
        return .legacy("a pre-1.0 torch tar archive")
      }
      if bytes[0] == 0x80 { return .barePickle }
      return .unknown
    }
    switch kind {
    case .safetensors:
      return try loadSafetensors(file)
    case .legacy(let reason):
      throw CheckpointError.legacyFormat(file: name, reason: reason)
    case .barePickle where ZipArchive.findEOCD(file.bytes) == nil:
      throw CheckpointError.notAZip(
        file: name, reason: "it is a bare pickle stream; only torch.save zip archives and safetensors are read")
    case .zip, .barePickle, .unknown:
      return try loadTorch(file)
    }
  }

  // MARK: torch.save zip

  static func loadTorch(_ file: MappedFile) throws -> LoadedCheckpoint {
    let name = file.name
    let archive = try ZipArchive(file: file)
    let root = try TorchZipReader.read(archive)
    guard let top = root.dictEntries else {
      throw CheckpointError.noStateDict(
        file: name, reason: "the saved object is \(kindName(root)), not a dict of tensors")
    }
    let topLevelKeys = top.map { $0.key.stringValue ?? $0.key.rendered(maxLength: 120) }

    // Find the model: a state_dict-like entry holding tensors, or the top level itself.
    var container: [(key: PickleValue, value: PickleValue)]?
    var containerKey: String?
    for key in stateDictEntryNames {
      if let entries = root[key]?.dictEntries, entries.contains(where: { $0.value.tensorValue != nil }) {
        container = entries
        containerKey = key
        break
      }
    }
    if container == nil, !top.isEmpty, top.allSatisfy({ $0.value.tensorValue != nil }) {
      container = top
    }
    guard let container else {
      let shown = topLevelKeys.prefix(12).joined(separator: ", ") + (topLevelKeys.count > 12 ? ", …" : "")
      throw CheckpointError.noStateDict(
        file: name,
        reason: top.isEmpty
          ? "the saved dict is empty"
          : "no 'state_dict', 'model_state_dict' or 'model' entry holds tensors, and not every top-level value is a tensor (keys: \(shown))"
      )
    }

    var tensors: [(key: String, tensor: CheckpointTensor)] = []
    var unused: [String] = []
    for pair in container {
      let key = pair.key.stringValue ?? pair.key.rendered(maxLength: 120)
      if let tensor = pair.value.tensorValue, pair.key.stringValue != nil {
        tensors.append((key, tensor))
      } else {
        unused.append(key)  // _extra_state objects, non-string keys, …
      }
    }

    let lightning = LightningInfo(root: root)
    var warnings: [String] = []
    var stated = ModelMetadata()
    if let lightning, !lightning.hyperParameters.isEmpty {
      let (meta, problems) = ModelMetadata.fromHyperParameters(
        lightning.hyperParameters.map { ($0.key, $0.value) })
      stated = meta
      warnings += problems
    }
    return assemble(
      file: file, format: .torchZip, tensors: tensors, nonTensorKeys: unused, stateDictKey: containerKey,
      stated: stated, lightning: lightning, topLevelKeys: topLevelKeys, safetensorsMetadata: [:], root: root,
      warnings: warnings)
  }

  // MARK: safetensors

  static func loadSafetensors(_ file: MappedFile) throws -> LoadedCheckpoint {
    let contents = try SafetensorsReader.read(file)
    var warnings: [String] = []
    var stated = ModelMetadata()
    if let json = contents.metadata["geocam"] {
      let (meta, problems) = ModelMetadata.fromGeoCAMJSON(json)
      stated = meta
      warnings += problems
    }
    return assemble(
      file: file, format: .safetensors, tensors: contents.tensors.map { ($0.name, $0.tensor) }, nonTensorKeys: [],
      stateDictKey: nil, stated: stated, lightning: nil, topLevelKeys: [], safetensorsMetadata: contents.metadata,
      root: nil, warnings: warnings)
  }

  // MARK: Common part

  /// Splits model tensors from wrapper extras, strips the wrapper prefix and settles the metadata.
  static func assemble(
    file: MappedFile, format: CheckpointFormat, tensors: [(key: String, tensor: CheckpointTensor)],
    nonTensorKeys: [String], stateDictKey: String?, stated: ModelMetadata, lightning: LightningInfo?,
    topLevelKeys: [String], safetensorsMetadata: [String: String], root: PickleValue?, warnings: [String]
  ) -> LoadedCheckpoint {
    var warnings = warnings
    let split = stripWrapperPrefix(tensors)
    let extras = StateDict(split.outside)
    var model = StateDict(split.inside)

    // PVModel-style normalisation buffers: outside the wrapper, or at the top of an unwrapped dict.
    var bufferSource = extras
    if split.prefix.isEmpty {
      bufferSource = model
    }
    var metadata = stated
    var usedBuffers: Set<String> = []
    if let mean = bufferSource["mean"], let std = bufferSource["std"], mean.count == std.count,
      (1...64).contains(mean.count), mean.dtype.isFloatingPoint, std.dtype.isFloatingPoint,
      let meanValues = try? mean.floats(), let stdValues = try? std.floats()
    {
      usedBuffers = ["mean", "std"]
      if let statedMean = stated.mean, !approximatelyEqual(statedMean, meanValues) {
        warnings.append("stated mean \(statedMean) differs from the mean buffer \(meanValues); using the buffer")
      }
      if let statedStd = stated.std, !approximatelyEqual(statedStd, stdValues) {
        warnings.append("stated std \(statedStd) differs from the std buffer \(stdValues); using the buffer")
      }
      metadata.mean = meanValues
      metadata.std = stdValues
      metadata.sources[.mean] = .checkpointBuffers
      metadata.sources[.std] = .checkpointBuffers
      if metadata.pixelRange == nil {
        // PVModel normalises raw 0–255 pixels with these buffers (see the README).
        metadata.pixelRange = 255
        metadata.sources[.pixelRange] = .inferred
      }
    }
    var extraTensors = extras
    if split.prefix.isEmpty && !usedBuffers.isEmpty {
      // An unwrapped dict: the buffers are not model weights either.
      for key in usedBuffers {
        if let t = model[key] { extraTensors[key] = t }
        model[key] = nil
      }
    }
    let unused = extraTensors.keys.filter { !usedBuffers.contains($0) } + nonTensorKeys

    return LoadedCheckpoint(
      path: file.path, fileSize: file.count, format: format, stateDict: model, extraTensors: extraTensors,
      unusedKeys: unused, strippedPrefix: split.prefix, stateDictKey: stateDictKey, metadata: metadata,
      lightning: lightning, topLevelKeys: topLevelKeys, safetensorsMetadata: safetensorsMetadata, root: root,
      warnings: warnings)
  }

  /// Removes a wrapper prefix. The candidate is the prefix from ``wrapperPrefixes`` that most keys
  /// start with; it is stripped only if every other key looks like the wrapper's own buffer: a
  /// top-level name without a dot (`mean`, `std`) or a loss module's tensor (`ce_loss.weight`,
  /// `criterion.pos_weight`). A plain model that merely has a `net.` submodule next to an `fc.` head
  /// is therefore left alone. Then any further prefix that *every* remaining key starts with is
  /// stripped too (`model.module.`).
  static func stripWrapperPrefix(_ tensors: [(key: String, tensor: CheckpointTensor)]) -> (
    inside: [(key: String, tensor: CheckpointTensor)], outside: [(key: String, tensor: CheckpointTensor)],
    prefix: String
  ) {
    let counts = wrapperPrefixes.map { p in (p, tensors.filter { $0.key.hasPrefix(p) }.count) }
    guard let best = counts.max(by: { $0.1 < $1.1 }), best.1 > 0,
      tensors.allSatisfy({ $0.key.hasPrefix(best.0) || isWrapperBuffer($0.key) })
    else {
      return (tensors, [], "")
    }
    var prefix = best.0
    var inside: [(key: String, tensor: CheckpointTensor)] = tensors.filter { $0.key.hasPrefix(prefix) }.map {
      (key: String($0.key.dropFirst(prefix.count)), tensor: $0.tensor)
    }
    let outside = tensors.filter { !$0.key.hasPrefix(prefix) }
    while !inside.isEmpty, let next = wrapperPrefixes.first(where: { p in inside.allSatisfy { $0.key.hasPrefix(p) } }) {
      inside = inside.map { (key: String($0.key.dropFirst(next.count)), tensor: $0.tensor) }
      prefix += next
    }
    return (inside, outside, prefix)
  }

  /// `mean`, `std`, `ce_loss.weight`, `criterion.pos_weight`: tensors a training wrapper owns.
  static func isWrapperBuffer(_ key: String) -> Bool {
    guard let dot = key.firstIndex(of: ".") else { return true }
    let module = key[..<dot].lowercased()
    return module.contains("loss") || module.contains("criterion")
  }

  private static func approximatelyEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) }
  }

  private static func kindName(_ value: PickleValue) -> String {
    switch value {
    case .list: return "a list"
    case .tuple: return "a tuple"
    case .tensor: return "a single tensor"
    case .object(let c, _, _): return "a \(c)"
    case .none: return "None"
    default: return "a \(String(describing: value).prefix(40))"
    }
  }
}
