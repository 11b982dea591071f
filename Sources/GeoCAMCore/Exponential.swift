#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `eˣ` from the C library, for the modules that must not import Foundation in hot code
/// (softmax, Score-CAM weights): one definition instead of one per module.
@inlinable public func libmExp(_ x: Double) -> Double { exp(x) }
