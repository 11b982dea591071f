/// An ordered collection of named tensors (a model's `state_dict()`), with O(1) lookup by key.
public struct StateDict: Sendable, Sequence {
  /// Key/tensor pairs in checkpoint order.
  public private(set) var entries: [(key: String, tensor: CheckpointTensor)] = []
  private var index: [String: Int] = [:]

  /// An empty state dict.
  public init() {}

  /// A state dict from pairs in order; a repeated key keeps its first position and the last tensor.
  public init(_ pairs: [(key: String, tensor: CheckpointTensor)]) {
    for pair in pairs { self[pair.key] = pair.tensor }
  }

  /// Keys in order.
  public var keys: [String] { entries.map(\.key) }

  /// Number of tensors.
  public var count: Int { entries.count }

  /// Whether there are no tensors.
  public var isEmpty: Bool { entries.isEmpty }

  /// The tensor stored under `key`; setting appends a new key at the end or replaces in place.
  public subscript(key: String) -> CheckpointTensor? {
    get { index[key].map { entries[$0].tensor } }
    set {
      if let i = index[key] {
        if let newValue {
          entries[i].tensor = newValue
        } else {
          entries.remove(at: i)
          index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
        }
      } else if let newValue {
        index[key] = entries.count
        entries.append((key, newValue))
      }
    }
  }

  /// Whether `key` is present.
  public func contains(_ key: String) -> Bool { index[key] != nil }

  /// Iterates over pairs in order.
  public func makeIterator() -> IndexingIterator<[(key: String, tensor: CheckpointTensor)]> {
    entries.makeIterator()
  }

  /// Total number of elements over all tensors.
  public var elementCount: Int { entries.reduce(0) { $0 + $1.tensor.count } }

  /// Elements of learnable parameters: every floating-point tensor except batch-norm running
  /// statistics (`running_mean`, `running_var`); integer buffers such as `num_batches_tracked` are
  /// skipped too. A state dict does not mark buffers, so this is the usual heuristic.
  public var parameterCount: Int {
    entries.reduce(0) { total, entry in
      guard entry.tensor.dtype.isFloatingPoint, !entry.key.hasSuffix("running_mean"),
        !entry.key.hasSuffix("running_var")
      else { return total }
      return total + entry.tensor.count
    }
  }

  /// Per dtype: how many tensors and elements, in ``CheckpointDType`` declaration order.
  public var dtypeSummary: [DTypeCount] {
    var tensors: [CheckpointDType: Int] = [:]
    var elements: [CheckpointDType: Int] = [:]
    for entry in entries {
      tensors[entry.tensor.dtype, default: 0] += 1
      elements[entry.tensor.dtype, default: 0] += entry.tensor.count
    }
    return CheckpointDType.allCases.compactMap { d in
      tensors[d].map { DTypeCount(dtype: d, tensorCount: $0, elementCount: elements[d] ?? 0) }
    }
  }
}

/// How many tensors and elements of one dtype a state dict holds.
public struct DTypeCount: Sendable, Hashable, CustomStringConvertible {
  /// The dtype.
  public let dtype: CheckpointDType
  /// Number of tensors with this dtype.
  public let tensorCount: Int
  /// Number of elements over those tensors.
  public let elementCount: Int

  /// `float32: 10 tensors, 1234 elements`.
  public var description: String {
    "\(dtype): \(tensorCount) tensor\(tensorCount == 1 ? "" : "s"), \(elementCount) elements"
  }
}
