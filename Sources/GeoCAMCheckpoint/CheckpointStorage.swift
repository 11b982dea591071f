/// A block of raw little-endian tensor bytes inside a mapped checkpoint file.
///
/// For `torch.save` files this is one `data/<key>` record; for safetensors it is one tensor's byte
/// range. Several ``CheckpointTensor`` views may share one storage (a tensor, its transpose and a
/// slice saved together reference the same record): they then hold the *same* object, so
/// `a.storage === b.storage`. Nothing is copied until a tensor is materialised.
public final class CheckpointStorage: Sendable, CustomStringConvertible {
  /// The storage key (`"3"` for `data/3`, or the tensor name for safetensors).
  public let key: String
  /// The record's name as used in messages (`data/3`).
  public let record: String
  /// The mapped file that holds the bytes (kept alive by this reference).
  public let file: MappedFile
  /// Offset of the first byte inside the file.
  public let byteOffset: Int
  /// Number of bytes usable by views.
  public let byteCount: Int
  /// The element type the storage was saved with (`uint8` for torch's `UntypedStorage`).
  public let dtype: CheckpointDType

  init(key: String, record: String, file: MappedFile, byteOffset: Int, byteCount: Int, dtype: CheckpointDType) {
    self.key = key
    self.dtype = dtype
    self.record = record
    self.file = file
    self.byteOffset = byteOffset
    self.byteCount = byteCount
  }

  /// `storage 'data/3' (96 bytes at offset 1024 of x.pth)`.
  public var description: String {
    "storage '\(record)' (\(byteCount) bytes at offset \(byteOffset) of \(file.name))"
  }

  /// Calls `body` with this storage's bytes (a slice of the map; no copy).
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try file.withBytes { all in
      // byteOffset/byteCount were checked against the file when the storage was made.
      try body(UnsafeRawBufferPointer(rebasing: all[byteOffset..<(byteOffset + byteCount)]))
    }
  }
}
