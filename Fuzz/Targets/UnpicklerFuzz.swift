/// libFuzzer entry for the restricted unpickler on raw pickle bytes (in memory: the fastest
/// target, so it gets most executions): memo indices, stack underflow, deep nesting, huge
/// counts, globals outside the allow-list.
@_cdecl("LLVMFuzzerTestOneInput")
public func unpicklerFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let value = try? RestrictedUnpickler.unpickle(bytes, fileName: "fuzz.pkl") {
    _ = value.rendered(maxLength: 200)
  }
  return 0
}
