/// The element types a checkpoint tensor may have. Raw values are torch's names (`torch.float32`
/// without the `torch.` prefix).
public enum CheckpointDType: String, Sendable, CaseIterable, Hashable, CustomStringConvertible {
  case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

  /// Bytes per element.
  public var elementSize: Int {
    switch self {
    case .float64, .int64: return 8
    case .float32, .int32: return 4
    case .float16, .bfloat16, .int16: return 2
    case .int8, .uint8, .bool: return 1
    }
  }

  /// Whether the type is a floating-point type.
  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float16, .bfloat16, .float64: return true
    default: return false
    }
  }

  /// The torch name, e.g. `float32`.
  public var description: String { rawValue }

  /// The dtype of a legacy typed storage class (`FloatStorage`, `HalfStorage`, …; module stripped).
  /// `UntypedStorage` maps to `uint8`, as torch does for `_rebuild_tensor_v2`.
  public init?(storageClass name: String) {
    switch name {
    case "FloatStorage": self = .float32
    case "HalfStorage": self = .float16
    case "BFloat16Storage": self = .bfloat16
    case "DoubleStorage": self = .float64
    case "LongStorage": self = .int64
    case "IntStorage": self = .int32
    case "ShortStorage": self = .int16
    case "CharStorage": self = .int8
    case "ByteStorage", "UntypedStorage": self = .uint8
    case "BoolStorage": self = .bool
    default: return nil
    }
  }

  /// The dtype named by a torch dtype global (`float32`, `half`, `long`, …; module stripped).
  public init?(torchName name: String) {
    switch name {
    case "float32", "float": self = .float32
    case "float16", "half": self = .float16
    case "bfloat16": self = .bfloat16
    case "float64", "double": self = .float64
    case "int64", "long": self = .int64
    case "int32", "int": self = .int32
    case "int16", "short": self = .int16
    case "int8": self = .int8
    case "uint8": self = .uint8
    case "bool": self = .bool
    default: return nil
    }
  }

  /// The dtype of a safetensors dtype code (`F32`, `BF16`, `I64`, `BOOL`, …).
  public init?(safetensorsCode code: String) {
    switch code {
    case "F32": self = .float32
    case "F16": self = .float16
    case "BF16": self = .bfloat16
    case "F64": self = .float64
    case "I64": self = .int64
    case "I32": self = .int32
    case "I16": self = .int16
    case "I8": self = .int8
    case "U8": self = .uint8
    case "BOOL": self = .bool
    default: return nil
    }
  }

  /// The safetensors dtype code.
  public var safetensorsCode: String {
    switch self {
    case .float32: return "F32"
    case .float16: return "F16"
    case .bfloat16: return "BF16"
    case .float64: return "F64"
    case .int64: return "I64"
    case .int32: return "I32"
    case .int16: return "I16"
    case .int8: return "I8"
    case .uint8: return "U8"
    case .bool: return "BOOL"
    }
  }
}
