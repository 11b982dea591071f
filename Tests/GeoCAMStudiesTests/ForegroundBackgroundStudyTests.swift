import Foundation
import GeoCAMAudit
import GeoCAMGeo
import GeoCAMGeoTestSupport
import GeoCAMKit
import GeoCAMModels
import Testing

@testable import GeoCAMStudies

/// `study fgbg` on a labelled crop of the demo scene with the demo model: units, statistics,
/// the documented outputs.
@Suite("Foreground/background study", .serialized)
struct ForegroundBackgroundStudyTests {
  static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  @Test func rasterStudyWritesConsistentStatistics() throws {
    let checkpoint = Self.repo.appendingPathComponent("Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors").path
    try #require(FileManager.default.fileExists(atPath: checkpoint))
    let dir = try TestGeoTIFF.makeTempDir("geocam-study")
    defer { TestGeoTIFF.removeDir(dir) }
    // A 640 × 640 crop (keeps the georeferencing) with the truth file of the whole scene.
    let scene = try GeoRaster(path: Self.repo.appendingPathComponent("Tiles/demo-main.tif").path)
    let w = try scene.readWindow(x: 0, y: 0, width: 640, height: 640, bands: [1, 2, 3])
    let crop = dir.appendingPathComponent("crop.tif").path
    try TestGeoTIFF.write(crop, width: 640, height: 640, bands: 3, of: UInt8.self) { b, x, y in
      UInt8(w.data[(b - 1) * 640 * 640 + y * 640 + x])
    }
    let opened = OpenedCheckpoint(bundle: try ModelBundle.load(path: checkpoint), sha256: "test")
    var o = ForegroundBackgroundStudy.Options()
    o.classes = [1, 2, 3]
    o.methods = [.gradcam]
    o.quiet = true
    let out = dir.appendingPathComponent("study").path
    let truth = AuditOptions.Source(path: Self.repo.appendingPathComponent("Tiles/demo-main-truth.gpkg").path, layer: "objects")
    let r = try ForegroundBackgroundStudy.run(raster: crop, labels: truth, checkpoint: opened, options: o, output: out, progress: { _ in })
    #expect(r.tests.count == 3)
    #expect(r.layer == "encoder.layer3.5.conv3")
    let units = r.tests.flatMap(\.units)
    #expect(units.count >= 6)
    for t in r.tests {
      // The statistics are those of the units' own means, and the values are shares in [0, 1].
      #expect(t.statistics == PairedStatistics(t.units.map(\.meanInside), t.units.map(\.meanOutside)))
      #expect(t.units.allSatisfy { (0...1).contains($0.meanInside) && (0...1).contains($0.meanOutside) })
    }
    let holm = PairedStatistics.holm(r.tests.map(\.statistics.pTwoSided))
    #expect(r.tests.map(\.pHolm) == holm)
    let csv = try String(contentsOfFile: out + "/per_image.csv", encoding: .utf8)
    #expect(csv.hasPrefix("method,class,id,fraction,mean_inside,mean_outside,difference\n"))
    #expect(csv.split(separator: "\n").count == units.count + 1)
    let json = try String(contentsOfFile: out + "/study.json", encoding: .utf8)
    for key in ["\"protocol\"", "\"layer\"", "\"tests\"", "\"p_holm\"", "\"cohen_dz_ci95\"", "\"wilcoxon_p\"", "\"mean_inside\""] {
      #expect(json.contains(key), "\(key)")
    }
    let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
    #expect(md.contains("| gradcam | solar_panel |"))
    #expect(FileManager.default.fileExists(atPath: out + "/gradcam_solar_panel_pairs.png"))
    let files = try FileManager.default.contentsOfDirectory(atPath: out)
    #expect(files.contains { $0.hasPrefix("gradcam_solar_panel_strongest_1_") } && files.contains { $0.hasPrefix("gradcam_solar_panel_weakest_1_") })
  }
}
