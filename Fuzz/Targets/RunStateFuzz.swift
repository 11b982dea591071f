import Foundation

/// libFuzzer entry for the files a resumed run reads back: tile results (`*.tile`, binary),
/// and the JSON of run locks and audit window states. The first byte picks the reader.
@_cdecl("LLVMFuzzerTestOneInput")
public func runStateFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard size > 0 else { return 0 }
  let body = Data(bytes: data + 1, count: size - 1)
  switch data[0] % 3 {
  case 0: _ = try? TileResult(decoding: body, subject: "fuzz.tile")
  case 1: _ = try? JSONDecoder().decode(RunLock.Holder.self, from: body)
  default: _ = try? JSONDecoder().decode([Int: [String: [String: Double]]].self, from: body)
  }
  return 0
}
