/// Named tensors a model is built from (a checkpoint's state dict, or generated weights).
///
/// Models read weights through this protocol so they know nothing of file formats.
public protocol WeightSource {
  /// All tensor names, in checkpoint order.
  var keys: [String] { get }
  /// The shape of `key` (PyTorch order), or nil if absent.
  func shape(of key: String) -> [Int]?
  /// The values of `key` as contiguous row-major Float32.
  func floats(_ key: String) throws -> [Float]
}

/// Why a model could not be built or run.
public enum ModelError: Error, CustomStringConvertible, Equatable {
  /// A tensor the architecture needs is absent.
  case missingKey(String)
  /// A tensor has a shape the architecture cannot use.
  case shapeMismatch(key: String, expected: String, found: [Int])
  /// The keys match no supported architecture.
  case unknownArchitecture(String)
  /// An input the model cannot take.
  case badInput(String)
  /// A layer path that is not a module output of this model.
  case unknownLayer(String, available: [String])
  /// A tensor holds NaN or infinite values.
  case nonFiniteWeights(key: String, count: Int, of: Int)
  /// A setting given for the model that does not fit it (class names, class indices).
  case invalidArgument(String)
  /// Any of the above, about the checkpoint file named.
  indirect case inFile(String, ModelError)

  public var description: String {
    switch self {
    case .missingKey(let k): return "missing tensor '\(k)'"
    case .shapeMismatch(let k, let e, let f): return "tensor '\(k)' has shape \(f), expected \(e)"
    case .unknownArchitecture(let why): return "unknown architecture: \(why)"
    case .badInput(let why), .invalidArgument(let why): return why
    case .inFile(let file, let error): return "\(file): \(error)"
    case .nonFiniteWeights(let k, let n, let total):
      return "tensor '\(k)' holds \(n) NaN or infinite value\(n == 1 ? "" : "s") (of \(total)); the checkpoint is damaged or diverged"
    case .unknownLayer(let p, let available):
      let near = available.filter { $0.hasPrefix(p.split(separator: ".").first.map(String.init) ?? "") }.prefix(12)
      return "unknown layer '\(p)'" + (near.isEmpty ? "" : "; e.g. \(near.joined(separator: ", "))")
    }
  }
}

extension WeightSource {
  /// Values of `key`, checking its shape.
  func tensor(_ key: String, shape expected: [Int]) throws -> [Float] {
    guard let s = shape(of: key) else { throw ModelError.missingKey(key) }
    guard s == expected else { throw ModelError.shapeMismatch(key: key, expected: "\(expected)", found: s) }
    return try floats(key)
  }

  /// Shape of `key`, or a missing-key error.
  func requireShape(_ key: String) throws -> [Int] {
    guard let s = shape(of: key) else { throw ModelError.missingKey(key) }
    return s
  }

  /// Whether `key` exists.
  func has(_ key: String) -> Bool { shape(of: key) != nil }
}
