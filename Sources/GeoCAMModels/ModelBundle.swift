import GeoCAMCheckpoint

/// A checkpoint opened as a runnable model: the network built from its keys and shapes, the
/// preprocessing and class names from its metadata (with overrides applied).
public struct ModelBundle {
  /// The opened checkpoint (format, metadata with sources, Lightning facts, unused keys); nil
  /// for a model built in memory.
  public let checkpoint: LoadedCheckpoint?
  /// The network.
  public let model: any ExplainableModel
  /// Pixel normalisation.
  public let preprocessing: Preprocessing
  /// Metadata after defaults and overrides, with where each value came from.
  public let metadata: ModelMetadata
  /// One name per class (`class_0`… when the checkpoint names none).
  public let classNames: [String]

  /// A bundle around a model built in memory (tests, benchmarks).
  public init(model: any ExplainableModel, preprocessing: Preprocessing, classNames: [String], metadata: ModelMetadata = ModelMetadata()) {
    self.checkpoint = nil
    self.model = model
    self.preprocessing = preprocessing
    self.metadata = metadata
    self.classNames = classNames.count == model.classCount ? classNames : (0..<model.classCount).map { "class_\($0)" }
  }

  private init(
    checkpoint: LoadedCheckpoint, model: any ExplainableModel, preprocessing: Preprocessing, metadata: ModelMetadata,
    classNames: [String]
  ) {
    self.checkpoint = checkpoint
    self.model = model
    self.preprocessing = preprocessing
    self.metadata = metadata
    self.classNames = classNames
  }

  /// Opens `path` and builds its model. `overrides` (e.g. from CLI flags) win over the file.
  public static func load(path: String, overrides: ModelMetadata? = nil, foldBatchNorm: Bool = false) throws
    -> ModelBundle
  {
    let checkpoint = try CheckpointLoader.load(path: path)
    let model: any ExplainableModel
    do {
      model = try ModelLoader.load(checkpoint.stateDict, foldBatchNorm: foldBatchNorm)
    } catch let error as ModelError {
      throw ModelError.inFile(path.split(separator: "/").last.map(String.init) ?? path, error)
    }
    var metadata = checkpoint.metadata
    if let overrides { metadata = metadata.applying(overrides: overrides) }
    let preprocessing = Preprocessing(metadata: metadata, task: model.task)
    if let given = overrides?.classNames, given.count != model.classCount {
      throw ModelError.invalidArgument("--class-names gives \(given.count) names, but the model has \(model.classCount) classes (class 0 included)")
    }
    var names = metadata.classNames ?? []
    if names.count != model.classCount {
      names = (0..<model.classCount).map { "class_\($0)" }
    }
    return ModelBundle(
      checkpoint: checkpoint, model: model, preprocessing: preprocessing, metadata: metadata, classNames: names)
  }

  /// Resolves class arguments given by index or by name.
  public func classIndices(_ specs: [String]) throws -> [Int] {
    try specs.map { spec in
      if let i = Int(spec) {
        guard i >= 0 && i < model.classCount else {
          throw ModelError.invalidArgument("class \(i) is out of range 0..<\(model.classCount)")
        }
        return i
      }
      guard let i = classNames.firstIndex(of: spec) else {
        throw ModelError.invalidArgument("unknown class '\(spec)'; classes: \(classNames.joined(separator: ", "))")
      }
      return i
    }
  }
}
