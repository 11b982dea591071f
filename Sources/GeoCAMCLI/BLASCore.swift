import COpenBLAS
import Foundation

/// Makes sure OpenBLAS runs kernels that fit the CPU.
///
/// Debian's OpenBLAS 0.3.21 does not know recent Xeon models and falls back to its oldest
/// x86-64 kernels ("Prescott", SSE3): measured here, that makes a 320×320 FPN forward 3.7×
/// slower (1.71 s instead of 0.47 s). OpenBLAS picks its kernels once, when it loads, from
/// `OPENBLAS_CORETYPE`; so when it chose a generic core on a CPU with AVX-512 or AVX2+FMA, the
/// tool re-executes itself once with the matching core type set. A value the user set is
/// never changed, and `GEOCAM_KEEP_BLAS_CORE=1` turns this off.
enum BLASCore {
  static func ensureFastKernels() {
    let env = ProcessInfo.processInfo.environment
    guard env["OPENBLAS_CORETYPE"] == nil, env["GEOCAM_KEEP_BLAS_CORE"] == nil,
      let corePointer = openblas_get_corename()
    else { return }
    let core = String(cString: corePointer).lowercased()
    guard ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom", "unknown"].contains(core)
    else { return }
    guard let wanted = preferredCore() else { return }
    setenv("OPENBLAS_CORETYPE", wanted, 1)
    var args = CommandLine.arguments.map { strdup($0) }
    args.append(nil)
    execv("/proc/self/exe", &args)
    // execv only returns on failure: carry on with the slow kernels.
    unsetenv("OPENBLAS_CORETYPE")
  }

  /// The OpenBLAS core name for this CPU's vector extensions, from /proc/cpuinfo.
  static func preferredCore() -> String? {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return nil }
    let flags = Set(line.split(separator: " ").map(String.init))
    if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
    if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
    return nil
  }
}
