import Foundation

/// libFuzzer entry for the NPY reader (`--raw-dir` arrays, fixtures).
@_cdecl("LLVMFuzzerTestOneInput")
public func npyFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = FuzzFile.write(data, size, name: "f.npy")
  _ = try? NPYFile.read(URL(fileURLWithPath: path))
  return 0
}
