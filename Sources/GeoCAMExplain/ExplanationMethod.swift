import Foundation

/// The method ids GeoCAM accepts (fixed: scripts and provenance rely on them).
public enum ExplanationMethod: String, Sendable, CaseIterable, Hashable {
  case gradcam
  case gradcamPlusPlus = "gradcam++"
  case gradcamPlusPlusSeed = "gradcam++-seed"
  case hirescam
  case xgradcam
  case layercam
  case eigencam
  case scorecam
  case ablationcam
  case guidedBackprop = "guided-backprop"
  case guidedGradcam = "guided-gradcam"
  case fem
  case femPytorchGradCAM = "fem-pgc"
  case rise
  case lime

  /// The default set: `gradcam,gradcam++,guided-gradcam`.
  public static let defaults: [ExplanationMethod] = [.gradcam, .gradcamPlusPlus, .guidedGradcam]

  /// True for methods whose result is `[3][H][W]` at the input's resolution.
  public var isGuided: Bool { self == .guidedBackprop || self == .guidedGradcam }

  /// True for methods that run the network on perturbed copies of the input (seeded where
  /// random): Score-CAM, Ablation-CAM, RISE, LIME.
  public var isPerturbation: Bool { [.scorecam, .ablationcam, .rise, .lime].contains(self) }

  /// True for methods whose map ignores the class (FEM, Eigen-CAM).
  public var isClassAgnostic: Bool { [.fem, .femPytorchGradCAM, .eigencam].contains(self) }

  /// The CAM-family implementation (nil for the guided methods).
  public func cam(batchSize: Int? = nil, settings: BlackBoxSettings = BlackBoxSettings()) -> (any CAMMethod)? {
    switch self {
    case .gradcam: return GradCAM()
    case .gradcamPlusPlus: return GradCAMPlusPlus()
    case .gradcamPlusPlusSeed: return GradCAMPlusPlusSeed()
    case .hirescam: return HiResCAM()
    case .xgradcam: return XGradCAM()
    case .layercam: return LayerCAM()
    case .eigencam: return EigenCAM()
    case .scorecam: return ScoreCAM(batchSize: batchSize ?? 8)
    case .ablationcam: return AblationCAM(batchSize: batchSize ?? 32)
    case .fem: return FEM()
    case .femPytorchGradCAM: return FEMPytorchGradCAM()
    case .rise:
      return RISE(masks: settings.riseMasks, cells: settings.riseCells, keep: settings.riseKeep, seed: settings.seed, batchSize: batchSize)
    case .lime:
      return LIME(samples: settings.limeSamples, seed: settings.seed, segments: settings.limeSegments, kernelWidth: settings.limeKernelWidth, batchSize: batchSize)
    case .guidedBackprop, .guidedGradcam: return nil
    }
  }

  /// Parses a comma-separated list of ids, with a clear error for unknown ones.
  public static func parse(_ list: String) throws -> [ExplanationMethod] {
    try list.split(separator: ",").map { raw in
      let id = raw.trimmingCharacters(in: .whitespaces)
      guard let m = ExplanationMethod(rawValue: id) else {
        throw ExplainError(description: "unknown method '\(id)'; methods: \(allCases.map(\.rawValue).joined(separator: ", "))")
      }
      return m
    }
  }
}

/// A one-line explanation error.
public struct ExplainError: Error, CustomStringConvertible {
  /// The message.
  public let description: String
  /// Creates the error.
  public init(description: String) { self.description = description }
}
