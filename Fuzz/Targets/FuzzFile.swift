import Foundation

/// Fuzz inputs that readers take as files are written to a per-process file on tmpfs (the
/// readers map or read real files, which is the surface under test).
enum FuzzFile {
  static let directory: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return base + "/geocam-fuzz-\(getpid())"
  }()

  static func write(_ data: UnsafePointer<UInt8>, _ size: Int, name: String) -> String {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/" + name
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if fd >= 0 {
      var offset = 0
      while offset < size {
        let n = Glibc.write(fd, data + offset, size - offset)
        if n <= 0 { break }
        offset += n
      }
      close(fd)
    }
    return path
  }
}
