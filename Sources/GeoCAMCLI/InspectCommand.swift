import ArgumentParser
import Foundation
import GeoCAMCheckpoint
import GeoCAMModels

extension GeoCAM {
  /// `geocam inspect CKPT`: what a checkpoint holds, without running it.
  struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Describe a checkpoint: format, architecture (from keys and shapes), metadata, Lightning facts.")

    @Argument(help: "Checkpoint (.ckpt, .pth, .pt, .safetensors).")
    var checkpoint: String

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
      let started = Date()
      let ckpt = try CheckpointLoader.load(path: checkpoint)
      var arch: ModelArchitecture? = nil
      var archError: String? = nil
      do {
        arch = try ModelLoader.architecture(of: ckpt.stateDict)
      } catch {
        archError = "\(error)"
      }
      let report = InspectReport(
        file: (checkpoint as NSString).lastPathComponent, fileSize: ckpt.fileSize, format: ckpt.format.rawValue,
        architecture: arch, architectureError: archError,
        parameters: ModelLoader.parameterCount(ckpt.stateDict), keys: ckpt.stateDict.count,
        strippedPrefix: ckpt.strippedPrefix, dtypes: ckpt.dtypeSummary.map(\.description),
        metadata: ModelMetadata.Field.allCases.compactMap { f in
          ckpt.metadata.hasValue(f)
            ? InspectReport.Field(name: f.rawValue, value: ckpt.metadata.valueDescription(f), source: ckpt.metadata.source(of: f)?.rawValue ?? "")
            : nil
        },
        lightning: ckpt.lightning.map {
          InspectReport.Lightning(
            epoch: $0.epoch, globalStep: $0.globalStep, version: $0.version, hyperParameters: $0.hyperParametersDescription)
        },
        unusedKeys: ckpt.unusedKeys, warnings: ckpt.warnings, seconds: Date().timeIntervalSince(started))
      if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try enc.encode(report), as: UTF8.self))
      } else {
        print(report.text)
      }
      if archError != nil { throw ExitCode(2) }
    }
  }
}

/// What `inspect` reports (also its JSON schema).
struct InspectReport: Codable {
  struct Field: Codable { let name: String; let value: String; let source: String }
  struct Lightning: Codable { let epoch: Int?; let globalStep: Int?; let version: String?; let hyperParameters: [String] }
  let file: String
  let fileSize: Int
  let format: String
  let architecture: ModelArchitecture?
  let architectureError: String?
  let parameters: Int
  let keys: Int
  let strippedPrefix: String
  let dtypes: [String]
  let metadata: [Field]
  let lightning: Lightning?
  let unusedKeys: [String]
  let warnings: [String]
  let seconds: Double

  var text: String {
    var lines = ["\(file)  (\(format), \(fileSize.formatted()) bytes)"]
    if let a = architecture {
      var desc = "architecture  \(a.name) + \(a.encoder) (groups \(a.groups)), \(a.classes) classes"
      if let p = a.decoderPyramidChannels, let s = a.decoderSegmentationChannels, let m = a.mergePolicy {
        desc += "; decoder pyramid \(p), segmentation \(s), merge \(m)"
      }
      lines.append(desc)
    } else if let e = architectureError {
      lines.append("architecture  not recognised: \(e)")
    }
    lines.append("parameters    \(parameters.formatted()) in \(keys) tensors" + (strippedPrefix.isEmpty ? "" : " (prefix '\(strippedPrefix)' stripped)"))
    lines.append("dtypes        \(dtypes.joined(separator: ", "))")
    for f in metadata { lines.append("metadata      \(f.name) = \(f.value)  [\(f.source)]") }
    if let l = lightning {
      lines.append("lightning     epoch \(l.epoch.map(String.init) ?? "?"), global step \(l.globalStep.map(String.init) ?? "?"), version \(l.version ?? "?")")
      for h in l.hyperParameters { lines.append("  hparam      \(h)") }
    }
    if !unusedKeys.isEmpty { lines.append("unused keys   \(unusedKeys.joined(separator: ", "))") }
    for w in warnings { lines.append("warning       \(w)") }
    lines.append(String(format: "read in %.2f s", seconds))
    return lines.joined(separator: "\n")
  }
}

extension ModelMetadata {
  /// A field's value as text.
  func valueDescription(_ f: Field) -> String {
    func list(_ v: [Float]?) -> String { v.map { "[" + $0.map { String($0) }.joined(separator: ", ") + "]" } ?? "" }
    switch f {
    case .classNames: return classNames?.joined(separator: ", ") ?? ""
    case .mean: return list(mean)
    case .std: return list(std)
    case .pixelRange: return pixelRange.map { String(Int($0)) } ?? ""
    case .channelOrder: return channelOrder ?? ""
    case .gsdM: return gsdM.map { String($0) } ?? ""
    case .architecture: return architecture ?? ""
    case .encoder: return encoder ?? ""
    }
  }
}
