import Foundation

/// Where a ``ModelMetadata`` field came from.
public enum MetadataSource: String, Sendable, Hashable, CaseIterable {
  /// The JSON object in safetensors `__metadata__["geocam"]`.
  case safetensorsMetadata
  /// Lightning's `hyper_parameters` (from `save_hyperparameters()`).
  case lightningHyperParameters
  /// Tensors saved with the model, e.g. PVModel's `mean` / `std` buffers.
  case checkpointBuffers
  /// Deduced, not stated (e.g. pixel range 255 because PVModel-style buffers are present).
  case inferred
  /// Given by the user (command-line flags, a sidecar file).
  case override
  /// A fallback chosen by the caller (e.g. ImageNet statistics).
  case `default`
}

/// What a checkpoint says about how to use its model; one schema for every format.
///
/// Fields (all optional: a checkpoint may say nothing):
/// - `classNames`: output class names, in channel order.
/// - `mean`, `std`: per-channel normalisation, applied as `(x - mean) / std`.
/// - `pixelRange`: the scale of `x` above. `255` means raw 0–255 pixels are normalised directly
///   (the seed's PVModel does this: its buffers hold ImageNet statistics in 0–1 units but it is fed
///   uint8 images); `1` means pixels are divided by 255 first (torchvision / smp style).
/// - `channelOrder`: band order the model expects, e.g. `"RGB"`.
/// - `gsdM`: ground sample distance the model was trained at, metres per pixel.
/// - `architecture`: e.g. `"FPN"`; `encoder`: e.g. `"resnext50_32x4d"` (as stated by the file;
///   detection from keys and shapes is done by the models module).
///
/// Where each comes from is recorded in `sources`. Readers look at, in order of precedence:
/// 1. safetensors `__metadata__["geocam"]`: a JSON object string with keys `class_names`, `mean`,
///    `std`, `pixel_range`, `channel_order`, `gsd_m`, `architecture`, `encoder`;
/// 2. Lightning `hyper_parameters`: `class_names`, `mean`, `std`, `pixel_range`, `channel_order`,
///    `gsd_m`, `arch` / `architecture`, `encoder_name` / `encoder`;
/// 3. `mean` / `std` buffers in the state dict (they are what `forward` actually uses, so they win
///    over stated values for mean/std); with them and no stated range, `pixelRange` 255 is inferred.
public struct ModelMetadata: Sendable, Equatable {
  /// The fields, for ``sources`` and for messages.
  public enum Field: String, Sendable, Hashable, CaseIterable {
    case classNames, mean, std, pixelRange, channelOrder, gsdM, architecture, encoder
  }

  /// Output class names.
  public var classNames: [String]?
  /// Per-channel mean.
  public var mean: [Float]?
  /// Per-channel standard deviation.
  public var std: [Float]?
  /// 255 = raw 0–255 pixels are normalised; 1 = pixels divided by 255 first.
  public var pixelRange: Float?
  /// Band order, e.g. "RGB".
  public var channelOrder: String?
  /// Ground sample distance in metres per pixel.
  public var gsdM: Double?
  /// Architecture name as stated, e.g. "FPN".
  public var architecture: String?
  /// Encoder name as stated, e.g. "resnext50_32x4d".
  public var encoder: String?
  /// Where each non-nil field came from.
  public var sources: [Field: MetadataSource]

  /// Metadata with the given fields; fields passed without a source entry get `defaultSource`.
  public init(
    classNames: [String]? = nil, mean: [Float]? = nil, std: [Float]? = nil, pixelRange: Float? = nil,
    channelOrder: String? = nil, gsdM: Double? = nil, architecture: String? = nil, encoder: String? = nil,
    sources: [Field: MetadataSource] = [:], defaultSource: MetadataSource = .override
  ) {
    self.classNames = classNames
    self.mean = mean
    self.std = std
    self.pixelRange = pixelRange
    self.channelOrder = channelOrder
    self.gsdM = gsdM
    self.architecture = architecture
    self.encoder = encoder
    self.sources = sources
    for field in Field.allCases where hasValue(field) && self.sources[field] == nil {
      self.sources[field] = defaultSource
    }
  }

  /// ImageNet statistics on 0–1 pixels, RGB: the smp / torchvision convention, marked `.default`.
  public static let imagenetDefaults = ModelMetadata(
    mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pixelRange: 1, channelOrder: "RGB",
    defaultSource: .default)

  /// Whether `field` has a value.
  public func hasValue(_ field: Field) -> Bool {
    switch field {
    case .classNames: return classNames != nil
    case .mean: return mean != nil
    case .std: return std != nil
    case .pixelRange: return pixelRange != nil
    case .channelOrder: return channelOrder != nil
    case .gsdM: return gsdM != nil
    case .architecture: return architecture != nil
    case .encoder: return encoder != nil
    }
  }

  /// Where `field` came from (nil when it has no value).
  public func source(of field: Field) -> MetadataSource? { hasValue(field) ? sources[field] : nil }

  /// Copies `field`'s value from `other` and records `source` for it.
  mutating func take(_ field: Field, from other: ModelMetadata, as source: MetadataSource) {
    switch field {
    case .classNames: classNames = other.classNames
    case .mean: mean = other.mean
    case .std: std = other.std
    case .pixelRange: pixelRange = other.pixelRange
    case .channelOrder: channelOrder = other.channelOrder
    case .gsdM: gsdM = other.gsdM
    case .architecture: architecture = other.architecture
    case .encoder: encoder = other.encoder
    }
    sources[field] = source
  }

  /// This metadata with every field that `overrides` sets replaced, marked `.override`.
  public func applying(overrides: ModelMetadata) -> ModelMetadata {
    var result = self
    for field in Field.allCases where overrides.hasValue(field) {
      result.take(field, from: overrides, as: .override)
    }
    return result
  }

  /// This metadata with fields it lacks filled from `fallback`, keeping `fallback`'s sources
  /// (e.g. `loaded.metadata.fillingMissing(from: .imagenetDefaults)`).
  public func fillingMissing(from fallback: ModelMetadata) -> ModelMetadata {
    var result = self
    for field in Field.allCases where !hasValue(field) && fallback.hasValue(field) {
      result.take(field, from: fallback, as: fallback.sources[field] ?? .default)
    }
    return result
  }

  /// One line per field with a value: `mean: [0.485, 0.456, 0.406] (checkpointBuffers)`.
  public var summary: [String] {
    Field.allCases.compactMap { field in
      guard hasValue(field) else { return nil }
      let value: String
      switch field {
      case .classNames: value = "\(classNames ?? [])"
      case .mean: value = "\(mean ?? [])"
      case .std: value = "\(std ?? [])"
      case .pixelRange: value = pixelRange.map { "\($0)" } ?? ""
      case .channelOrder: value = channelOrder ?? ""
      case .gsdM: value = gsdM.map { "\($0)" } ?? ""
      case .architecture: value = architecture ?? ""
      case .encoder: value = encoder ?? ""
      }
      return "\(field.rawValue): \(value) (\(sources[field]?.rawValue ?? "unknown"))"
    }
  }

  // MARK: Reading the sources

  /// Parses the `geocam` JSON object of safetensors metadata. Returns the metadata and a list of
  /// problems (wrong types are skipped with a warning rather than failing the load).
  static func fromGeoCAMJSON(_ text: String) -> (ModelMetadata, [String]) {
    var warnings: [String] = []
    guard let data = text.data(using: .utf8),
      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else { return (ModelMetadata(), ["__metadata__['geocam'] is not a JSON object; ignored"]) }
    var values: [String: MetadataValue] = [:]
    for (key, value) in object { values[key] = MetadataValue(json: value) }
    let meta = fromKeyedValues(values, source: .safetensorsMetadata, what: "__metadata__['geocam']", warnings: &warnings)
    return (meta, warnings)
  }

  /// Reads the metadata keys from Lightning's `hyper_parameters`.
  static func fromHyperParameters(_ pairs: [(String, PickleValue)]) -> (ModelMetadata, [String]) {
    var warnings: [String] = []
    var values: [String: MetadataValue] = [:]
    for (key, value) in pairs { values[key] = MetadataValue(pickle: value) }
    let meta = fromKeyedValues(values, source: .lightningHyperParameters, what: "hyper_parameters", warnings: &warnings)
    return (meta, warnings)
  }

  private static func fromKeyedValues(
    _ values: [String: MetadataValue], source: MetadataSource, what: String, warnings: inout [String]
  ) -> ModelMetadata {
    var meta = ModelMetadata()
    func get<T>(_ keys: [String], _ field: Field, _ convert: (MetadataValue) -> T?) -> T? {
      for key in keys {
        guard let raw = values[key] else { continue }
        if case .null = raw { continue }
        if let v = convert(raw) {
          meta.sources[field] = source
          return v
        }
        warnings.append("\(what)['\(key)'] has an unexpected type; ignored")
      }
      return nil
    }
    meta.classNames = get(["class_names"], .classNames) { $0.strings }
    meta.mean = get(["mean"], .mean) { $0.numbers?.map(Float.init) }
    meta.std = get(["std"], .std) { $0.numbers?.map(Float.init) }
    meta.pixelRange = get(["pixel_range"], .pixelRange) { $0.number.map(Float.init) }
    meta.channelOrder = get(["channel_order"], .channelOrder) { $0.string }
    meta.gsdM = get(["gsd_m"], .gsdM) { $0.number }
    meta.architecture = get(["architecture", "arch"], .architecture) { $0.string }
    meta.encoder = get(["encoder", "encoder_name"], .encoder) { $0.string }
    return meta
  }
}

/// The few shapes a metadata value can take, from JSON or from a pickle.
enum MetadataValue {
  case null, number(Double), string(String), array([MetadataValue]), other

  init(json: Any) {
    if json is NSNull {
      self = .null
    } else if let s = json as? String {
      self = .string(s)
    } else if let a = json as? [Any] {
      self = .array(a.map { MetadataValue(json: $0) })
    } else if let n = json as? NSNumber {
      self = .number(n.doubleValue)
    } else {
      self = .other
    }
  }

  init(pickle: PickleValue) {
    switch pickle {
    case .none: self = .null
    case .string(let s): self = .string(s)
    case .int, .float: self = .number(pickle.doubleValue ?? 0)
    case .list(let a), .tuple(let a): self = .array(a.map { MetadataValue(pickle: $0) })
    case .tensor(let t):
      // A small tensor (e.g. torch.tensor(mean)) in hparams counts as a list of numbers.
      if t.count <= 64, let values = try? t.floats() {
        self = t.shape.isEmpty ? .number(Double(values[0])) : .array(values.map { .number(Double($0)) })
      } else {
        self = .other
      }
    case .object("pathlib.PosixPath", let args, _), .object("pathlib.Path", let args, _):
      self = .string(args.compactMap(\.stringValue).joined(separator: "/"))
    default: self = .other
    }
  }

  var number: Double? {
    if case .number(let d) = self { return d }
    return nil
  }

  var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  var numbers: [Double]? {
    guard case .array(let a) = self else { return nil }
    let n = a.compactMap(\.number)
    return n.count == a.count ? n : nil
  }

  var strings: [String]? {
    guard case .array(let a) = self else { return nil }
    let s = a.compactMap(\.string)
    return s.count == a.count ? s : nil
  }
}
