import Foundation

/// libFuzzer entry for the checkpoint readers (compiled into the GeoCAMCheckpoint sources):
/// the first byte picks the file name, so the same bytes reach the torch zip path (`.pth`),
/// the safetensors path (`.safetensors`) and the Lightning path (`.ckpt`); every tensor that
/// loads is then materialised, which reads its storage through its view (shape, strides,
/// offset). Errors are the expected outcome; crashes, hangs and runaway allocation are bugs.
@_cdecl("LLVMFuzzerTestOneInput")
public func checkpointFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size > 0 else { return 0 }
  let names = ["f.pth", "f.safetensors", "f.ckpt"]
  let path = FuzzFile.write(data + 1, size - 1, name: names[Int(data[0]) % names.count])
  guard let loaded = try? CheckpointLoader.load(path: path) else { return 0 }
  for (_, tensor) in loaded.stateDict where tensor.count <= 1 << 20 {
    _ = try? tensor.floats()
  }
  return 0
}
