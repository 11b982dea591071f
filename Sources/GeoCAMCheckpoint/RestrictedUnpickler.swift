import Foundation

/// A pickle reader that never executes anything.
///
/// It implements the pickle virtual machine for protocols 0–5 (everything `torch.save`, Lightning
/// and plain `pickle.dumps` write, minus the extension registry and out-of-band buffers), but every
/// "call" — `REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `INST`, `OBJ`, and `BUILD` on a class — is looked up in
/// an allow-list and *interpreted* as plain Swift data (see ``PickleValue``). Any other global that
/// is called is refused with its name (`os.system`, `builtins.eval`, `subprocess.Popen`, …).
/// Merely referencing a global (pushing it without calling it) is harmless and yields `.global`;
/// Lightning 1.x uses callback classes as dict keys that way.
///
/// Allowed calls (module.name; `__builtin__` is accepted for `builtins`):
/// - `collections.OrderedDict`, the `AttributeDict`s of `lightning_fabric.utilities.data`,
///   `lightning.fabric.utilities.data` and `pytorch_lightning.utilities.parsing` → `.dict`
/// - `torch._utils._rebuild_tensor`, `_rebuild_tensor_v2`, `_rebuild_tensor_v3`,
///   `_rebuild_parameter`, `_rebuild_parameter_with_state`, and `torch._tensor._rebuild_from_type_v2`
///   (only for `torch.Tensor` / `torch.nn.parameter.Parameter`) → `.tensor`
/// - `torch.Size` → `.tuple`; `torch.device` → `.object`
/// - `numpy.core.multiarray.scalar` / `numpy._core.multiarray.scalar` → a number;
///   `numpy.dtype` and `numpy(._)core.multiarray._reconstruct` → `.object`
/// - `_codecs.encode`, `builtins.bytearray` → `.bytes`; `builtins.set` / `frozenset` → `.set`;
///   `builtins.slice` → `.object`
/// - `pathlib.PosixPath` / `WindowsPath` / `PurePosixPath` / `PureWindowsPath`, `argparse.Namespace`
///   → `.object`
///
/// Storage classes (`torch.FloatStorage`, `torch.UntypedStorage`, …) and dtypes (`torch.float32`)
/// are only meaningful as members of persistent ids and rebuild arguments; calling them is refused.
public enum RestrictedUnpickler {
  /// Nesting limit for the resulting value (checkpoints nest about ten levels deep).
  public static let maxDepth = 200

  /// Unpickles plain data (no persistent ids) from `bytes`; `fileName` is used in error messages.
  public static func unpickle(_ bytes: [UInt8], fileName: String) throws -> PickleValue {
    try bytes.withUnsafeBytes { try unpickle($0, fileName: fileName, persistentLoad: nil) }
  }

  /// Unpickles from a raw buffer, resolving persistent ids with `persistentLoad`.
  static func unpickle(
    _ bytes: UnsafeRawBufferPointer, fileName: String,
    persistentLoad: ((PickleValue, Int) throws -> PickleValue)?
  ) throws -> PickleValue {
    let machine = PickleMachine(bytes: bytes, fileName: fileName, persistentLoad: persistentLoad)
    defer { machine.tearDown() }
    return try machine.run()
  }

  /// Globals that may be called (by `REDUCE`) or instantiated, as `module.name`.
  public static let allowedCalls: Set<String> = Set(PickleMachine.callTable.keys)
}

/// A mutable container while the pickle is being executed: pickle mutates objects after pushing
/// and memoizing them (EMPTY_DICT, BINPUT, …, SETITEMS), so containers must be references until the
/// end, when they are frozen into immutable ``PickleValue``s.
final class PickleNode {
  enum Kind {
    case list, tuple, dict, set
    case object(String)
  }

  var kind: Kind
  var items: [PickleItem]
  var pairs: [(key: PickleItem, value: PickleItem)] = []
  var state: PickleItem?
  /// Positions of hashable keys in `pairs` (dict) or `items` (set), for Python's replace-on-equal.
  var keyIndex: [PickleHashKey: Int] = [:]

  init(_ kind: Kind, items: [PickleItem] = []) {
    self.kind = kind
    self.items = items
  }
}

/// A stack slot: an immutable leaf value, or a reference to a mutable container.
enum PickleItem {
  case leaf(PickleValue)
  case node(PickleNode)

  var typeName: String {
    switch self {
    case .leaf(let v):
      switch v {
      case .none: return "None"
      case .bool: return "a bool"
      case .int, .bigInt: return "an int"
      case .float: return "a float"
      case .string: return "a str"
      case .bytes: return "bytes"
      case .tensor: return "a tensor"
      case .storage: return "a storage"
      case .global(let m, let n): return "the global \(m).\(n)"
      case .list: return "a list"
      case .tuple: return "a tuple"
      case .dict: return "a dict"
      case .set: return "a set"
      case .object(let c, _, _): return "a \(c)"
      }
    case .node(let n):
      switch n.kind {
      case .list: return "a list"
      case .tuple: return "a tuple"
      case .dict: return "a dict"
      case .set: return "a set"
      case .object(let c): return "a \(c)"
      }
    }
  }
}

/// Python's notion of equal hashable keys, for dict/set de-duplication (`1`, `1.0` and `True` are
/// one key in Python).
enum PickleHashKey: Hashable {
  case none
  case int(Int64)
  case bigInt(String)
  case float(UInt64)
  case string(String)
  case bytes([UInt8])
  case global(String)
  indirect case tuple([PickleHashKey])

  init?(_ item: PickleItem, depth: Int = 0) {
    guard depth < 32 else { return nil }
    switch item {
    case .leaf(let v):
      switch v {
      case .none: self = .none
      case .bool(let b): self = .int(b ? 1 : 0)
      case .int(let i): self = .int(i)
      case .bigInt(let s): self = .bigInt(s)
      case .float(let d):
        if d.isNaN { return nil }  // NaN is never equal to itself
        if d == d.rounded(), let i = Int64(exactly: d) {
          self = .int(i)
        } else {
          self = .float(d.bitPattern)
        }
      case .string(let s): self = .string(s)
      case .bytes(let b): self = .bytes(b)
      case .global(let m, let n): self = .global(m + "." + n)
      default: return nil
      }
    case .node(let n):
      guard case .tuple = n.kind else { return nil }
      var keys: [PickleHashKey] = []
      for i in n.items {
        guard let k = PickleHashKey(i, depth: depth + 1) else { return nil }
        keys.append(k)
      }
      self = .tuple(keys)
    }
  }
}

/// The pickle virtual machine (one run; not reusable).
final class PickleMachine {
  private let bytes: UnsafeRawBufferPointer
  private let fileName: String
  private let persistentLoad: ((PickleValue, Int) throws -> PickleValue)?
  private var pos = 0
  private var opStart = 0
  private var stack: [PickleItem] = []
  private var marks: [Int] = []
  private var memo: [Int: PickleItem] = [:]
  private var nodes: [PickleNode] = []

  init(
    bytes: UnsafeRawBufferPointer, fileName: String,
    persistentLoad: ((PickleValue, Int) throws -> PickleValue)?
  ) {
    self.bytes = bytes
    self.fileName = fileName
    self.persistentLoad = persistentLoad
  }

  /// Breaks every container link so that releasing deep or cyclic graphs neither recurses nor leaks.
  func tearDown() {
    for node in nodes {
      node.items = []
      node.pairs = []
      node.state = nil
      node.keyIndex = [:]
    }
    nodes = []
    stack = []
    memo = [:]
  }

  // MARK: Errors

  private func malformed(_ reason: String) -> CheckpointError {
    .malformedPickle(file: fileName, offset: opStart, reason: reason)
  }

  private func refused(_ name: String, _ opcode: String) -> CheckpointError {
    .refusedGlobal(file: fileName, name: name, opcode: opcode)
  }

  // MARK: Reading

  private func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
    guard n >= 0, n <= bytes.count - pos else {
      throw malformed("\(what) needs \(n) bytes but only \(bytes.count - pos) remain (pickle cut short)")
    }
    let slice = UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    pos += n
    return slice
  }

  private func byte() throws -> UInt8 { try take(1, "an opcode argument")[0] }

  private func le<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
    let raw = try take(MemoryLayout<T>.size, "an integer argument")
    return raw.readLE(0, as: T.self) ?? 0
  }

  private func length<T: FixedWidthInteger>(_ type: T.Type) throws -> Int {
    let v = try le(T.self)
    guard v >= 0, let n = Int(exactly: v) else { throw malformed("negative or huge length \(v)") }
    return n
  }

  /// A text argument up to (not including) the next newline.
  private func line() throws -> [UInt8] {
    let start = pos
    while pos < bytes.count {
      if bytes[pos] == 0x0A {
        let text = Array(bytes[start..<pos])
        pos += 1
        return text
      }
      pos += 1
    }
    throw malformed("text argument without a terminating newline (pickle cut short)")
  }

  private func utf8(_ raw: some Collection<UInt8>, _ what: String) throws -> String {
    guard let s = String(validating: raw, as: UTF8.self) else { throw malformed("\(what) is not valid UTF-8") }
    return s
  }

  // MARK: Stack

  private var floor: Int { marks.last ?? 0 }

  private func push(_ item: PickleItem) { stack.append(item) }

  private func push(_ value: PickleValue) { stack.append(.leaf(value)) }

  private func pop() throws -> PickleItem {
    guard stack.count > floor, let top = stack.popLast() else { throw malformed("stack underflow") }
    return top
  }

  private func top() throws -> PickleItem {
    guard stack.count > floor, let top = stack.last else { throw malformed("stack underflow") }
    return top
  }

  private func popMark() throws -> [PickleItem] {
    guard let mark = marks.popLast() else { throw malformed("MARK missing (no mark on the stack)") }
    let items = Array(stack[mark...])
    stack.removeSubrange(mark...)
    return items
  }

  private func newNode(_ kind: PickleNode.Kind, items: [PickleItem] = []) -> PickleNode {
    let node = PickleNode(kind, items: items)
    nodes.append(node)
    return node
  }

  private func memoKey<T: FixedWidthInteger>(_ v: T) -> Int { Int(truncatingIfNeeded: v) }

  private func textInt(_ raw: [UInt8], _ what: String) throws -> Int {
    guard let s = String(validating: raw, as: UTF8.self),
      let v = Int(s.trimmingCharacters(in: .whitespaces))
    else { throw malformed("\(what) '\(String(decoding: raw.prefix(40), as: UTF8.self))' is not an integer") }
    return v
  }

  // MARK: Dict / set helpers

  private func setItem(_ node: PickleNode, _ key: PickleItem, _ value: PickleItem) {
    if let hash = PickleHashKey(key) {
      if let i = node.keyIndex[hash] {
        node.pairs[i].value = value  // Python keeps the first key object and the last value
        return
      }
      node.keyIndex[hash] = node.pairs.count
    }
    node.pairs.append((key, value))
  }

  private func addToSet(_ node: PickleNode, _ item: PickleItem) {
    if let hash = PickleHashKey(item) {
      if node.keyIndex[hash] != nil { return }
      node.keyIndex[hash] = node.items.count
    }
    node.items.append(item)
  }

  private func dictTarget(_ op: String) throws -> PickleNode {
    let target = try top()
    guard case .node(let node) = target, case .dict = node.kind else {
      throw malformed("\(op) on \(target.typeName), which is not a dict")
    }
    return node
  }

  private func addPairs(_ items: [PickleItem], to node: PickleNode, _ op: String) throws {
    guard items.count % 2 == 0 else { throw malformed("\(op) with an odd number of items (\(items.count))") }
    var i = 0
    while i < items.count {
      setItem(node, items[i], items[i + 1])
      i += 2
    }
  }

  // MARK: Run

  func run() throws -> PickleValue {
    while true {
      opStart = pos
      guard pos < bytes.count else { throw malformed("the pickle ends without STOP (cut short)") }
      let op = bytes[pos]
      pos += 1
      switch op {
      case Op.proto:
        let version = try byte()
        guard version <= 5 else { throw malformed("pickle protocol \(version) is newer than 5") }
      case Op.frame:
        let n = try length(UInt64.self)
        guard n <= bytes.count - pos else { throw malformed("FRAME of \(n) bytes runs past the end") }
      case Op.stop:
        let result = try pop()
        return try freeze(result)
      case Op.mark:
        marks.append(stack.count)
      case Op.pop:
        if stack.count > floor { _ = stack.popLast() } else { _ = try popMark() }
      case Op.popMark:
        _ = try popMark()
      case Op.dup:
        push(try top())

      // Scalars
      case Op.none: push(.none)
      case Op.newTrue: push(.bool(true))
      case Op.newFalse: push(.bool(false))
      case Op.binInt: push(.int(Int64(try le(Int32.self))))
      case Op.binInt1: push(.int(Int64(try byte())))
      case Op.binInt2: push(.int(Int64(try le(UInt16.self))))
      case Op.int:
        let raw = try line()
        if raw == Array("00".utf8) {
          push(.bool(false))
        } else if raw == Array("01".utf8) {
          push(.bool(true))
        } else {
          push(try decimalInt(raw, "INT"))
        }
      case Op.long:
        var raw = try line()
        if raw.last == UInt8(ascii: "L") { raw.removeLast() }
        push(try decimalInt(raw, "LONG"))
      case Op.long1:
        let n = Int(try byte())
        push(try littleEndianInt(try take(n, "LONG1")))
      case Op.long4:
        let n = try length(Int32.self)
        guard n <= 1024 else { throw malformed("LONG4 integer of \(n) bytes is too large to convert") }
        push(try littleEndianInt(try take(n, "LONG4")))
      case Op.binFloat:
        let raw = try take(8, "BINFLOAT")
        let bits = UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))  // pickle floats are big-endian
        push(.float(Double(bitPattern: bits)))
      case Op.float:
        let raw = try line()
        guard let s = String(validating: raw, as: UTF8.self), let v = Double(s.trimmingCharacters(in: .whitespaces))
        else { throw malformed("FLOAT argument is not a number") }
        push(.float(v))

      // Strings and bytes
      case Op.binUnicode: push(.string(try utf8(try take(try length(UInt32.self), "BINUNICODE"), "BINUNICODE")))
      case Op.shortBinUnicode: push(.string(try utf8(try take(Int(try byte()), "SHORT_BINUNICODE"), "SHORT_BINUNICODE")))
      case Op.binUnicode8: push(.string(try utf8(try take(try length(UInt64.self), "BINUNICODE8"), "BINUNICODE8")))
      case Op.unicode: push(.string(try rawUnicodeEscape(try line())))
      case Op.binString: push(byteString(Array(try take(try length(Int32.self), "BINSTRING"))))
      case Op.shortBinString: push(byteString(Array(try take(Int(try byte()), "SHORT_BINSTRING"))))
      case Op.string: push(byteString(try quotedString(try line())))
      case Op.binBytes: push(.bytes(Array(try take(try length(UInt32.self), "BINBYTES"))))
      case Op.shortBinBytes: push(.bytes(Array(try take(Int(try byte()), "SHORT_BINBYTES"))))
      case Op.binBytes8: push(.bytes(Array(try take(try length(UInt64.self), "BINBYTES8"))))
      case Op.byteArray8: push(.bytes(Array(try take(try length(UInt64.self), "BYTEARRAY8"))))

      // Containers
      case Op.emptyTuple: push(.node(newNode(.tuple)))
      case Op.tuple: push(.node(newNode(.tuple, items: try popMark())))
      case Op.tuple1:
        let a = try pop()
        push(.node(newNode(.tuple, items: [a])))
      case Op.tuple2:
        let b = try pop()
        let a = try pop()
        push(.node(newNode(.tuple, items: [a, b])))
      case Op.tuple3:
        let c = try pop()
        let b = try pop()
        let a = try pop()
        push(.node(newNode(.tuple, items: [a, b, c])))
      case Op.emptyList: push(.node(newNode(.list)))
      case Op.list: push(.node(newNode(.list, items: try popMark())))
      case Op.emptyDict: push(.node(newNode(.dict)))
      case Op.dict:
        let items = try popMark()
        let node = newNode(.dict)
        try addPairs(items, to: node, "DICT")
        push(.node(node))
      case Op.emptySet: push(.node(newNode(.set)))
      case Op.frozenSet:
        let items = try popMark()
        let node = newNode(.set)
        for item in items { addToSet(node, item) }
        push(.node(node))
      case Op.append:
        let value = try pop()
        let target = try top()
        guard case .node(let node) = target, case .list = node.kind else {
          throw malformed("APPEND to \(target.typeName), which is not a list")
        }
        node.items.append(value)
      case Op.appends:
        let items = try popMark()
        let target = try top()
        guard case .node(let node) = target, case .list = node.kind else {
          throw malformed("APPENDS to \(target.typeName), which is not a list")
        }
        node.items.append(contentsOf: items)
      case Op.setItem:
        let value = try pop()
        let key = try pop()
        setItem(try dictTarget("SETITEM"), key, value)
      case Op.setItems:
        let items = try popMark()
        try addPairs(items, to: try dictTarget("SETITEMS"), "SETITEMS")
      case Op.addItems:
        let items = try popMark()
        let target = try top()
        guard case .node(let node) = target, case .set = node.kind else {
          throw malformed("ADDITEMS to \(target.typeName), which is not a set")
        }
        for item in items { addToSet(node, item) }

      // Memo
      case Op.binPut: memo[Int(try byte())] = try top()
      case Op.longBinPut: memo[memoKey(try le(UInt32.self))] = try top()
      case Op.put: memo[try textInt(try line(), "PUT index")] = try top()
      case Op.memoize: memo[memo.count] = try top()
      case Op.binGet: push(try memoGet(Int(try byte())))
      case Op.longBinGet: push(try memoGet(memoKey(try le(UInt32.self))))
      case Op.get: push(try memoGet(try textInt(try line(), "GET index")))

      // Globals and calls
      case Op.global:
        let module = try utf8(try line(), "GLOBAL module")
        let name = try utf8(try line(), "GLOBAL name")
        push(.global(module: module, name: name))
      case Op.stackGlobal:
        let name = try pop()
        let module = try pop()
        guard case .leaf(.string(let n)) = name, case .leaf(.string(let m)) = module else {
          throw malformed("STACK_GLOBAL needs two strings, got \(module.typeName) and \(name.typeName)")
        }
        push(.global(module: m, name: n))
      case Op.reduce:
        let args = try pop()
        let callable = try pop()
        guard case .leaf(.global(let m, let n)) = callable else {
          throw malformed("REDUCE calls \(callable.typeName), not a global")
        }
        push(try call(m, n, arguments(args, "REDUCE"), via: "REDUCE"))
      case Op.newObj:
        let args = try pop()
        let cls = try pop()
        push(try instantiate(cls, arguments(args, "NEWOBJ"), kwargs: nil, via: "NEWOBJ"))
      case Op.newObjEx:
        let kwargs = try pop()
        let args = try pop()
        let cls = try pop()
        push(try instantiate(cls, arguments(args, "NEWOBJ_EX"), kwargs: kwargs, via: "NEWOBJ_EX"))
      case Op.inst:
        let module = try utf8(try line(), "INST module")
        let name = try utf8(try line(), "INST name")
        let args = try popMark()
        push(try instantiate(.leaf(.global(module: module, name: name)), args, kwargs: nil, via: "INST"))
      case Op.obj:
        var items = try popMark()
        guard !items.isEmpty else { throw malformed("OBJ without a class") }
        let cls = items.removeFirst()
        push(try instantiate(cls, items, kwargs: nil, via: "OBJ"))
      case Op.build:
        let state = try pop()
        try build(try top(), state: state)

      // Persistent ids
      case Op.binPersID:
        let pid = try pop()
        push(try resolvePersistent(try freeze(pid)))
      case Op.persID:
        let pid = try utf8(try line(), "PERSID")
        push(try resolvePersistent(.string(pid)))

      case Op.ext1, Op.ext2, Op.ext4, Op.nextBuffer, Op.readonlyBuffer:
        throw CheckpointError.unsupportedOpcode(file: fileName, opcode: op, offset: opStart)
      default:
        throw CheckpointError.unsupportedOpcode(file: fileName, opcode: op, offset: opStart)
      }
    }
  }

  private func memoGet(_ key: Int) throws -> PickleItem {
    guard let item = memo[key] else { throw malformed("memo miss: nothing was stored under \(key)") }
    return item
  }

  private func arguments(_ item: PickleItem, _ op: String) throws -> [PickleItem] {
    guard case .node(let node) = item else { throw malformed("\(op) arguments are \(item.typeName), not a tuple") }
    switch node.kind {
    case .tuple, .list: return node.items
    default: throw malformed("\(op) arguments are \(item.typeName), not a tuple")
    }
  }

  private func resolvePersistent(_ pid: PickleValue) throws -> PickleItem {
    guard let persistentLoad else {
      throw malformed("the pickle refers to external data (a persistent id) but is not inside a torch archive")
    }
    return .leaf(try persistentLoad(pid, opStart))
  }

  // MARK: Numbers

  private func decimalInt(_ raw: [UInt8], _ op: String) throws -> PickleValue {
    guard let text = String(validating: raw, as: UTF8.self)?.trimmingCharacters(in: .whitespaces),
      !text.isEmpty
    else { throw malformed("\(op) argument is empty or not text") }
    if let v = Int64(text) { return .int(v) }
    var digits = Substring(text)
    var negative = false
    if digits.first == "-" || digits.first == "+" {
      negative = digits.first == "-"
      digits = digits.dropFirst()
    }
    guard !digits.isEmpty, digits.count <= 2500, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      throw malformed("\(op) argument '\(text.prefix(40))' is not an integer")
    }
    let trimmed = digits.drop(while: { $0 == "0" })
    return .bigInt((negative ? "-" : "") + (trimmed.isEmpty ? "0" : String(trimmed)))
  }

  /// Little-endian two's complement (LONG1/LONG4) → Int64, or its decimal text when larger.
  private func littleEndianInt(_ raw: UnsafeRawBufferPointer) throws -> PickleValue {
    let n = raw.count
    if n == 0 { return .int(0) }
    let negative = raw[n - 1] & 0x80 != 0
    // Drop redundant sign-extension bytes, then see whether it fits in 8 bytes.
    var significant = n
    let filler: UInt8 = negative ? 0xFF : 0x00
    while significant > 1 && raw[significant - 1] == filler
      && (raw[significant - 2] & 0x80 != 0) == negative
    {
      significant -= 1
    }
    if significant <= 8 {
      var v: UInt64 = negative ? UInt64.max : 0
      for i in 0..<significant {
        v &= ~(UInt64(0xFF) << (8 * UInt64(i)))
        v |= UInt64(raw[i]) << (8 * UInt64(i))
      }
      return .int(Int64(bitPattern: v))
    }
    // Magnitude in base 2^32 limbs (two's complement negation for negatives), then base 10^9.
    var magnitude = Array(raw[0..<significant])
    if negative {
      var carry = 1
      for i in magnitude.indices {
        let v = Int(~magnitude[i]) + carry
        magnitude[i] = UInt8(v & 0xFF)
        carry = v >> 8
      }
    }
    var limbs: [UInt32] = stride(from: 0, to: magnitude.count, by: 4).map { start in
      var limb: UInt32 = 0
      for k in 0..<4 where start + k < magnitude.count { limb |= UInt32(magnitude[start + k]) << (8 * UInt32(k)) }
      return limb
    }
    var chunks: [UInt32] = []
    while limbs.contains(where: { $0 != 0 }) {
      var remainder: UInt64 = 0
      for i in stride(from: limbs.count - 1, through: 0, by: -1) {
        let current = (remainder << 32) | UInt64(limbs[i])
        limbs[i] = UInt32(current / 1_000_000_000)
        remainder = current % 1_000_000_000
      }
      chunks.append(UInt32(remainder))
      while limbs.last == 0 { limbs.removeLast() }
    }
    var text = negative ? "-" : ""
    for (i, chunk) in chunks.reversed().enumerated() {
      let s = String(chunk)
      text += i == 0 ? s : String(repeating: "0", count: 9 - s.count) + s
    }
    return .bigInt(text)
  }

  // MARK: Text decoding

  /// Python 2 byte strings: torch.load decodes them as UTF-8; keep bytes if that fails.
  private func byteString(_ raw: [UInt8]) -> PickleValue {
    if let s = String(validating: raw, as: UTF8.self) { return .string(s) }
    return .bytes(raw)
  }

  /// STRING's argument: a quoted Python literal with backslash escapes (`codecs.escape_decode`).
  private func quotedString(_ raw: [UInt8]) throws -> [UInt8] {
    guard raw.count >= 2, raw.first == raw.last, raw.first == UInt8(ascii: "'") || raw.first == UInt8(ascii: "\"")
    else { throw malformed("STRING argument is not a quoted string") }
    let body = raw[1..<(raw.count - 1)]
    var out: [UInt8] = []
    var i = body.startIndex
    func hex(_ c: UInt8) -> UInt8? {
      switch c {
      case 0x30...0x39: return c - 0x30
      case 0x61...0x66: return c - 0x61 + 10
      case 0x41...0x46: return c - 0x41 + 10
      default: return nil
      }
    }
    while i < body.endIndex {
      let c = body[i]
      i += 1
      guard c == UInt8(ascii: "\\"), i < body.endIndex else {
        out.append(c)
        continue
      }
      let e = body[i]
      i += 1
      switch e {
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "a"): out.append(0x07)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "v"): out.append(0x0B)
      case UInt8(ascii: "\n"): break
      case UInt8(ascii: "x"):
        guard i + 1 < body.endIndex, let h = hex(body[i]), let l = hex(body[i + 1]) else {
          throw malformed("STRING has an invalid \\x escape")
        }
        out.append(h << 4 | l)
        i += 2
      case 0x30...0x37:
        var v = Int(e - 0x30)
        var k = 0
        while k < 2, i < body.endIndex, (0x30...0x37).contains(body[i]) {
          v = v * 8 + Int(body[i] - 0x30)
          i += 1
          k += 1
        }
        out.append(UInt8(truncatingIfNeeded: v))
      case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(e)
      default:
        out.append(c)
        out.append(e)
      }
    }
    return out
  }

  /// UNICODE's argument: `raw-unicode-escape` (latin-1 bytes plus `\uXXXX` / `\UXXXXXXXX`).
  private func rawUnicodeEscape(_ raw: [UInt8]) throws -> String {
    var scalars = String.UnicodeScalarView()
    var i = 0
    while i < raw.count {
      let c = raw[i]
      if c == UInt8(ascii: "\\"), i + 1 < raw.count, raw[i + 1] == UInt8(ascii: "u") || raw[i + 1] == UInt8(ascii: "U") {
        let width = raw[i + 1] == UInt8(ascii: "u") ? 4 : 8
        guard i + 2 + width <= raw.count,
          let v = UInt32(String(decoding: raw[(i + 2)..<(i + 2 + width)], as: UTF8.self), radix: 16),
          let scalar = Unicode.Scalar(v)
        else { throw malformed("UNICODE has an invalid \\u escape") }
        scalars.append(scalar)
        i += 2 + width
      } else {
        scalars.append(Unicode.Scalar(c))
        i += 1
      }
    }
    return String(scalars)
  }

  // MARK: Freezing

  /// Turns a stack item into an immutable value; shared containers are converted once (so memo
  /// sharing cannot blow up), cycles become a `<recursion>` marker, and nesting is bounded.
  func freeze(_ item: PickleItem) throws -> PickleValue {
    var cache: [ObjectIdentifier: PickleValue] = [:]
    var active: Set<ObjectIdentifier> = []
    return try freeze(item, depth: 0, cache: &cache, active: &active)
  }

  private func freeze(
    _ item: PickleItem, depth: Int, cache: inout [ObjectIdentifier: PickleValue], active: inout Set<ObjectIdentifier>
  ) throws -> PickleValue {
    guard case .node(let node) = item else {
      if case .leaf(let v) = item { return v }
      return .none
    }
    let id = ObjectIdentifier(node)
    if let done = cache[id] { return done }
    if active.contains(id) { return .object(className: "<recursion>", args: [], state: nil) }
    guard depth < RestrictedUnpickler.maxDepth else {
      throw malformed("values nest deeper than \(RestrictedUnpickler.maxDepth) levels")
    }
    active.insert(id)
    defer { active.remove(id) }
    func all(_ items: [PickleItem]) throws -> [PickleValue] {
      try items.map { try freeze($0, depth: depth + 1, cache: &cache, active: &active) }
    }
    let value: PickleValue
    switch node.kind {
    case .list: value = .list(try all(node.items))
    case .tuple: value = .tuple(try all(node.items))
    case .set: value = .set(try all(node.items))
    case .dict:
      value = .dict(
        try node.pairs.map {
          (
            key: try freeze($0.key, depth: depth + 1, cache: &cache, active: &active),
            value: try freeze($0.value, depth: depth + 1, cache: &cache, active: &active)
          )
        })
    case .object(let name):
      let state = try node.state.map { try freeze($0, depth: depth + 1, cache: &cache, active: &active) }
      value = .object(className: name, args: try all(node.items), state: state)
    }
    cache[id] = value
    return value
  }

  // MARK: The allow-list

  /// What an allowed call builds. Functions may only be REDUCEd; classes may also be instantiated.
  enum Callable {
    case orderedDict, attributeDict, rebuildTensor(Int), rebuildParameter, rebuildFromType
    case torchSize, inert(String), numpyScalar, numpyDType, numpyReconstruct, codecsEncode
    case set, byteArray

    var isFunction: Bool {
      switch self {
      case .rebuildTensor, .rebuildParameter, .rebuildFromType, .numpyScalar, .numpyReconstruct, .codecsEncode:
        return true
      default: return false
      }
    }
  }

  static let callTable: [String: Callable] = {
    var t: [String: Callable] = [
      "collections.OrderedDict": .orderedDict,
      "lightning_fabric.utilities.data.AttributeDict": .attributeDict,
      "lightning.fabric.utilities.data.AttributeDict": .attributeDict,
      "pytorch_lightning.utilities.parsing.AttributeDict": .attributeDict,
      "torch._utils._rebuild_tensor": .rebuildTensor(1),
      "torch._utils._rebuild_tensor_v2": .rebuildTensor(2),
      "torch._utils._rebuild_tensor_v3": .rebuildTensor(3),
      "torch._utils._rebuild_parameter": .rebuildParameter,
      "torch._utils._rebuild_parameter_with_state": .rebuildParameter,
      "torch._tensor._rebuild_from_type_v2": .rebuildFromType,
      "torch.Size": .torchSize,
      "torch.device": .inert("torch.device"),
      "numpy.core.multiarray.scalar": .numpyScalar,
      "numpy._core.multiarray.scalar": .numpyScalar,
      "numpy.dtype": .numpyDType,
      "numpy.core.multiarray._reconstruct": .numpyReconstruct,
      "numpy._core.multiarray._reconstruct": .numpyReconstruct,
      "numpy.ndarray": .inert("numpy.ndarray"),
      "_codecs.encode": .codecsEncode,
      "argparse.Namespace": .inert("argparse.Namespace"),
    ]
    for builtins in ["builtins", "__builtin__"] {
      t["\(builtins).set"] = .set
      t["\(builtins).frozenset"] = .set
      t["\(builtins).slice"] = .inert("slice")
      t["\(builtins).bytearray"] = .byteArray
    }
    for path in ["PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath", "Path"] {
      t["pathlib.\(path)"] = .inert("pathlib.\(path)")
    }
    return t
  }()

  private static let tensorTypes: Set<String> = [
    "torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter", "torch.nn.Parameter",
  ]

  private func instantiate(_ cls: PickleItem, _ args: [PickleItem], kwargs: PickleItem?, via op: String) throws
    -> PickleItem
  {
    guard case .leaf(.global(let m, let n)) = cls else {
      throw malformed("\(op) instantiates \(cls.typeName), not a class")
    }
    let name = "\(m).\(n)"
    guard let callable = Self.callTable[name] else { throw refused(name, op) }
    guard !callable.isFunction else { throw malformed("\(op) on \(name), which is a function, not a class") }
    let made = try call(m, n, args, via: op)
    if let kwargs, case .node(let node) = made, case .object = node.kind {
      // NEWOBJ_EX keyword arguments (argparse.Namespace(**kw)) become the object's state.
      if case .node(let k) = kwargs, case .dict = k.kind, !k.pairs.isEmpty { node.state = kwargs }
    }
    return made
  }

  private func build(_ target: PickleItem, state: PickleItem) throws {
    switch target {
    case .leaf(.global(let m, let n)):
      let name = "\(m).\(n)"
      guard Self.callTable[name] != nil else { throw refused(name, "BUILD") }
      throw malformed("BUILD on the class \(name) itself")
    case .leaf(.tensor):
      break  // Parameter / tensor-subclass attributes: irrelevant to the weights
    case .node(let node):
      switch node.kind {
      case .object: node.state = state
      case .dict: break  // OrderedDict._metadata, AttributeDict.__dict__: attributes, not items
      default: throw malformed("BUILD on \(target.typeName)")
      }
    case .leaf:
      throw malformed("BUILD on \(target.typeName)")
    }
  }

  private func call(_ module: String, _ name: String, _ args: [PickleItem], via op: String) throws -> PickleItem {
    let qualified = "\(module).\(name)"
    guard let callable = Self.callTable[qualified] else { throw refused(qualified, op) }
    switch callable {
    case .orderedDict, .attributeDict:
      let node = newNode(.dict)
      if let first = args.first {
        // OrderedDict([(k, v), …]) or AttributeDict({…})
        guard case .node(let source) = first else { throw malformed("\(qualified) called with \(first.typeName)") }
        switch source.kind {
        case .dict: for pair in source.pairs { setItem(node, pair.key, pair.value) }
        case .list, .tuple:
          for pair in source.items {
            guard case .node(let p) = pair, p.items.count == 2 else {
              throw malformed("\(qualified) called with an item that is not a pair")
            }
            setItem(node, p.items[0], p.items[1])
          }
        default: throw malformed("\(qualified) called with \(first.typeName)")
        }
      }
      return .node(node)
    case .rebuildTensor(let version):
      return .leaf(.tensor(try rebuildTensor(args, version: version, name: qualified)))
    case .rebuildParameter:
      guard let first = args.first, case .leaf(.tensor) = first else {
        throw malformed("\(qualified) called without a tensor")
      }
      return first
    case .rebuildFromType:
      guard args.count >= 3, case .leaf(.global(let fm, let fn)) = args[0],
        case .leaf(.global(let tm, let tn)) = args[1]
      else { throw malformed("\(qualified) called with unexpected arguments") }
      guard Self.tensorTypes.contains("\(tm).\(tn)") else { throw refused("\(tm).\(tn)", "\(qualified)") }
      guard let inner = Self.callTable["\(fm).\(fn)"], case .rebuildTensor = inner else {
        if Self.callTable["\(fm).\(fn)"] == nil { throw refused("\(fm).\(fn)", qualified) }
        throw malformed("\(qualified) wraps \(fm).\(fn), which does not rebuild a tensor")
      }
      return try call(fm, fn, arguments(args[2], qualified), via: qualified)
    case .torchSize:
      guard let first = args.first else { return .node(newNode(.tuple)) }
      guard case .node(let seq) = first else { throw malformed("torch.Size called with \(first.typeName)") }
      return .node(newNode(.tuple, items: seq.items))
    case .inert(let className):
      return .node(newNode(.object(className), items: args))
    case .numpyDType:
      return .node(newNode(.object("numpy.dtype"), items: args))
    case .numpyReconstruct:
      return .node(newNode(.object("numpy.ndarray"), items: args))
    case .numpyScalar:
      return try numpyScalar(args)
    case .codecsEncode:
      guard let first = args.first, case .leaf(.string(let text)) = first else {
        throw malformed("_codecs.encode called without a string")
      }
      var encoding = "utf-8"
      if args.count > 1, case .leaf(.string(let e)) = args[1] { encoding = e.lowercased() }
      return .leaf(.bytes(try encode(text, encoding)))
    case .byteArray:
      guard let first = args.first else { return .leaf(.bytes([])) }
      switch first {
      case .leaf(.bytes(let b)): return .leaf(.bytes(b))
      case .leaf(.string(let text)):
        var encoding = "utf-8"
        if args.count > 1, case .leaf(.string(let e)) = args[1] { encoding = e.lowercased() }
        return .leaf(.bytes(try encode(text, encoding)))
      default: throw malformed("bytearray called with \(first.typeName)")
      }
    case .set:
      let node = newNode(.set)
      if let first = args.first {
        guard case .node(let seq) = first else { throw malformed("\(qualified) called with \(first.typeName)") }
        switch seq.kind {
        case .dict: for pair in seq.pairs { addToSet(node, pair.key) }
        default: for item in seq.items { addToSet(node, item) }
        }
      }
      return .node(node)
    }
  }

  private func encode(_ text: String, _ encoding: String) throws -> [UInt8] {
    switch encoding {
    case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1":
      var out: [UInt8] = []
      for scalar in text.unicodeScalars {
        guard scalar.value <= 0xFF else { throw malformed("_codecs.encode: text is not latin-1") }
        out.append(UInt8(scalar.value))
      }
      return out
    case "utf-8", "utf8":
      return Array(text.utf8)
    default:
      throw malformed("_codecs.encode with unsupported encoding '\(encoding)'")
    }
  }

  /// `numpy.core.multiarray.scalar(dtype, bytes)` → a number when the dtype is a plain one.
  private func numpyScalar(_ args: [PickleItem]) throws -> PickleItem {
    let opaque = PickleItem.node(newNode(.object("numpy.scalar"), items: args))
    guard args.count >= 2, case .node(let dtype) = args[0], case .object("numpy.dtype") = dtype.kind,
      case .leaf(.string(let code))? = dtype.items.first, case .leaf(.bytes(let raw)) = args[1]
    else { return opaque }
    var bigEndian = false
    if case .node(let st)? = dtype.state, st.items.count > 1, case .leaf(.string(let order)) = st.items[1] {
      bigEndian = order == ">"
    }
    let bytes = bigEndian ? Array(raw.reversed()) : raw
    func uint(_ n: Int) -> UInt64? {
      guard bytes.count == n else { return nil }
      var v: UInt64 = 0
      for (i, b) in bytes.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
      return v
    }
    switch code {
    case "f8": if let v = uint(8) { return .leaf(.float(Double(bitPattern: v))) }
    case "f4": if let v = uint(4) { return .leaf(.float(Double(Float(bitPattern: UInt32(v))))) }
    case "f2": if let v = uint(2) { return .leaf(.float(Double(CheckpointTensor.halfToFloat(UInt16(v))))) }
    case "i8": if let v = uint(8) { return .leaf(.int(Int64(bitPattern: v))) }
    case "i4": if let v = uint(4) { return .leaf(.int(Int64(Int32(bitPattern: UInt32(v))))) }
    case "i2": if let v = uint(2) { return .leaf(.int(Int64(Int16(bitPattern: UInt16(v))))) }
    case "i1": if let v = uint(1) { return .leaf(.int(Int64(Int8(bitPattern: UInt8(v))))) }
    case "u8": if let v = uint(8) { return v <= UInt64(Int64.max) ? .leaf(.int(Int64(v))) : .leaf(.bigInt(String(v))) }
    case "u4", "u2", "u1":
      if let v = uint(Int(String(code.dropFirst())) ?? 0) { return .leaf(.int(Int64(v))) }
    case "b1": if let v = uint(1) { return .leaf(.bool(v != 0)) }
    default: break
    }
    return opaque
  }

  private func intList(_ item: PickleItem, _ what: String, _ name: String) throws -> [Int] {
    guard case .node(let node) = item else { throw malformed("\(name): \(what) is \(item.typeName), not a tuple") }
    return try node.items.map {
      guard case .leaf(.int(let v)) = $0, let i = Int(exactly: v) else {
        throw malformed("\(name): \(what) contains \($0.typeName), not an int")
      }
      return i
    }
  }

  /// `_rebuild_tensor(storage, offset, size, stride)`, `_v2(…, requires_grad, hooks[, metadata])`,
  /// `_v3(…, requires_grad, hooks, dtype[, metadata])`: a view; nothing is read from the storage.
  private func rebuildTensor(_ args: [PickleItem], version: Int, name: String) throws -> CheckpointTensor {
    let needed = version == 3 ? 7 : 4
    guard args.count >= needed else {
      throw malformed("\(name) called with \(args.count) arguments, expected at least \(needed)")
    }
    guard case .leaf(.storage(let storage)) = args[0] else {
      throw malformed("\(name): first argument is \(args[0].typeName), not a storage")
    }
    guard case .leaf(.int(let offset64)) = args[1], let offset = Int(exactly: offset64) else {
      throw malformed("\(name): storage offset is \(args[1].typeName), not an int")
    }
    let shape = try intList(args[2], "size", name)
    let strides = try intList(args[3], "stride", name)
    var dtype = storage.dtype
    if version == 3 {
      guard case .leaf(.global(let m, let n)) = args[6], m == "torch" else {
        throw malformed("\(name): dtype argument is \(args[6].typeName), not a torch dtype")
      }
      guard let d = CheckpointDType(torchName: n) else {
        throw CheckpointError.unsupportedDType(file: fileName, dtype: "torch.\(n)", context: "tensor in \(storage.record)")
      }
      dtype = d
    }
    return try CheckpointTensor(
      dtype: dtype, shape: shape, strides: strides, storageOffset: offset, storage: storage)
  }
}
