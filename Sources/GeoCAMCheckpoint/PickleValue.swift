import Foundation

/// A value read from a pickle by ``RestrictedUnpickler``: plain data only, never a live object.
///
/// Allowed classes are "rebuilt" as these values instead of being called: `OrderedDict` and
/// `AttributeDict` become `.dict`, `torch.Size` a `.tuple`, `_rebuild_tensor_v2` a `.tensor`, numpy
/// scalars `.int`/`.float`/`.bool`, `_codecs.encode` `.bytes`, and inert classes (`torch.device`,
/// `argparse.Namespace`, `pathlib.PosixPath`, `numpy.ndarray`, …) an `.object` holding their
/// arguments and state.
public indirect enum PickleValue: Sendable, CustomStringConvertible {
  /// Python `None`.
  case none
  /// `True` / `False`.
  case bool(Bool)
  /// An integer that fits in Int64.
  case int(Int64)
  /// An integer too large for Int64, as its decimal text.
  case bigInt(String)
  /// A float (Python floats are doubles).
  case float(Double)
  /// A `str`.
  case string(String)
  /// `bytes` / `bytearray` (also Python 2 byte strings that are not valid UTF-8).
  case bytes([UInt8])
  /// A `list`.
  case list([PickleValue])
  /// A `tuple` (also `torch.Size`).
  case tuple([PickleValue])
  /// A `dict`, `OrderedDict` or `AttributeDict`: pairs in insertion order; keys may be any value.
  case dict([(key: PickleValue, value: PickleValue)])
  /// A `set` or `frozenset` (in pickle order).
  case set([PickleValue])
  /// A tensor rebuilt from `_rebuild_tensor_v2` and friends (a lazy view, nothing copied).
  case tensor(CheckpointTensor)
  /// A bare storage that was not wrapped in a tensor.
  case storage(CheckpointStorage)
  /// A global that was only referenced, never called (e.g. a class used as a dict key).
  case global(module: String, name: String)
  /// An instance of an allowed inert class: its constructor arguments and `BUILD` state.
  case object(className: String, args: [PickleValue], state: PickleValue?)

  // MARK: Accessors

  /// The string, if this is `.string`.
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The integer, if this is `.int` (or `.bool`, as Python treats bools as ints).
  public var intValue: Int64? {
    switch self {
    case .int(let v): return v
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }

  /// The number as a Double, if this is `.float`, `.int` or `.bool`.
  public var doubleValue: Double? {
    switch self {
    case .float(let v): return v
    case .int(let v): return Double(v)
    case .bool(let b): return b ? 1 : 0
    default: return nil
    }
  }

  /// The flag, if this is `.bool`.
  public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  /// Elements of a list, tuple or set.
  public var arrayValue: [PickleValue]? {
    switch self {
    case .list(let a), .tuple(let a), .set(let a): return a
    default: return nil
    }
  }

  /// Key/value pairs of a dict.
  public var dictEntries: [(key: PickleValue, value: PickleValue)]? {
    if case .dict(let d) = self { return d }
    return nil
  }

  /// The tensor, if this is `.tensor`.
  public var tensorValue: CheckpointTensor? {
    if case .tensor(let t) = self { return t }
    return nil
  }

  /// Looks up a string key in a dict (the last matching pair, as Python keeps the last write).
  public subscript(key: String) -> PickleValue? {
    guard case .dict(let pairs) = self else { return nil }
    return pairs.last(where: { $0.key.stringValue == key })?.value
  }

  /// Python-like rendering, e.g. `{'lr': 0.001, 'betas': (0.9, 0.999)}`.
  public var description: String { rendered(maxLength: 100_000) }

  /// Python-like rendering cut at about `maxLength` characters (ending in `…` when cut), so that
  /// huge or deeply shared structures print in bounded time.
  public func rendered(maxLength: Int) -> String {
    var out = ""
    var budget = maxLength
    render(into: &out, budget: &budget)
    return out
  }

  private func render(into out: inout String, budget: inout Int) {
    if budget <= 0 { return }
    func emit(_ s: String) {
      if budget <= 0 { return }
      if s.count > budget {
        out += s.prefix(budget) + "…"
        budget = 0
      } else {
        out += s
        budget -= s.count
      }
    }
    func sequence(_ items: [PickleValue], _ open: String, _ close: String, trailingComma: Bool = false) {
      emit(open)
      for (i, item) in items.enumerated() {
        if budget <= 0 { return }
        if i > 0 { emit(", ") }
        item.render(into: &out, budget: &budget)
      }
      if trailingComma && items.count == 1 { emit(",") }
      emit(close)
    }
    switch self {
    case .none: emit("None")
    case .bool(let b): emit(b ? "True" : "False")
    case .int(let v): emit(String(v))
    case .bigInt(let s): emit(s)
    case .float(let v): emit(PickleValue.pythonFloat(v))
    case .string(let s): emit(PickleValue.pythonQuoted(s))
    case .bytes(let b):
      emit("b'" + b.prefix(64).map { String(format: "\\x%02x", $0) }.joined() + (b.count > 64 ? "…" : "") + "'")
    case .list(let a): sequence(a, "[", "]")
    case .tuple(let a): sequence(a, "(", ")", trailingComma: true)
    case .set(let a): a.isEmpty ? emit("set()") : sequence(a, "{", "}")
    case .dict(let pairs):
      emit("{")
      for (i, pair) in pairs.enumerated() {
        if budget <= 0 { return }
        if i > 0 { emit(", ") }
        pair.key.render(into: &out, budget: &budget)
        emit(": ")
        pair.value.render(into: &out, budget: &budget)
      }
      emit("}")
    case .tensor(let t): emit("tensor(\(t.dtype), \(t.shape))")
    case .storage(let s): emit("storage(\(s.record))")
    case .global(let m, let n): emit("<\(m).\(n)>")
    case .object(let name, let args, let state):
      emit(name)
      sequence(args, "(", ")")
      if let state {
        emit(" state=")
        state.render(into: &out, budget: &budget)
      }
    }
  }

  /// Python's `repr` of a float: shortest round-trip digits, `inf`/`nan`, and `.0` on integers.
  static func pythonFloat(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    let s = "\(v)"
    return s
  }

  static func pythonQuoted(_ s: String) -> String {
    var out = "'"
    for c in s.unicodeScalars {
      switch c {
      case "'": out += "\\'"
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if c.value < 0x20 || c.value == 0x7F {
          out += String(format: "\\x%02x", c.value)
        } else {
          out.unicodeScalars.append(c)
        }
      }
    }
    return out + "'"
  }
}
