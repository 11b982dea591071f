import CGDAL
import Foundation
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMKit
import Testing

@testable import GeoCAMStudies

/// `study fgbg` on a Pascal VOC layout with a classifier: the notebook protocol (all images with
/// a mask, void as background, two-step nearest masks) and the strict one (the split, void out).
@Suite struct ImageStudyTests {
  static let classifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/models/classifier_tiny.safetensors").path

  /// Writes `bands` planes through GDAL's MEM driver into `driver` (JPEG, PNG), with a palette.
  static func write(_ path: String, driver: String, width: Int, height: Int, planes: [[UInt8]], palette: Bool = false) {
    GDALRuntime.ensureInitialized()
    guard let mem = GDALGetDriverByName("MEM"), let out = GDALGetDriverByName(driver),
      let ds = GDALCreate(mem, "", Int32(width), Int32(height), Int32(planes.count), GDT_Byte, nil)
    else { return }
    for (b, plane) in planes.enumerated() {
      var p = plane
      let band = GDALGetRasterBand(ds, Int32(b + 1))
      _ = p.withUnsafeMutableBytes { GDALRasterIO(band, GF_Write, 0, 0, Int32(width), Int32(height), $0.baseAddress, Int32(width), Int32(height), GDT_Byte, 0, 0) }
      if palette, let table = GDALCreateColorTable(GPI_RGB) {
        var entries = [GDALColorEntry](repeating: GDALColorEntry(c1: 0, c2: 0, c3: 0, c4: 255), count: 256)
        entries[1] = GDALColorEntry(c1: 128, c2: 0, c3: 0, c4: 255)
        entries[255] = GDALColorEntry(c1: 224, c2: 224, c3: 192, c4: 255)
        for (i, var e) in entries.enumerated() { GDALSetColorEntry(table, Int32(i), &e) }
        GDALSetRasterColorTable(band, table)
        GDALDestroyColorTable(table)
      }
    }
    if let copy = GDALCreateCopy(out, path, ds, 0, nil, nil, nil) { GDALClose(copy) }
    GDALClose(ds)
  }

  @Test func notebookAndStrictProtocolsOnAVOCLayout() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("geocam-voc-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    for d in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"] {
      try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
    }
    var ids: [String] = []
    for i in 0..<5 {
      let w = 200 + 9 * i, h = 150
      var planes = [[UInt8]](repeating: [], count: 3)
      var mask = [UInt8](repeating: 0, count: w * h)
      for y in 0..<h {
        for x in 0..<w {
          planes[0].append(UInt8((3 * x + y + 20 * i) % 256))
          planes[1].append(UInt8((5 * y + i) % 256))
          planes[2].append(UInt8((x * y / 7) % 256))
          if y >= 35 && y < 35 + 75 && x >= 40 && x < 40 + 100 + (i == 4 ? -90 : 0) { mask[y * w + x] = 1 }
          if y >= 33 && y < 35 { mask[y * w + x] = 255 }
        }
      }
      let id = String(format: "2007_%06d", i)
      ids.append(id)
      Self.write(root.appendingPathComponent("JPEGImages/\(id).jpg").path, driver: "JPEG", width: w, height: h, planes: planes)
      Self.write(root.appendingPathComponent("SegmentationClass/\(id).png").path, driver: "PNG", width: w, height: h, planes: [mask], palette: true)
    }
    try Data((ids.prefix(3).joined(separator: "\n") + "\n").utf8).write(to: root.appendingPathComponent("ImageSets/Segmentation/val.txt"))
    // Palette masks are read as indices, not colours.
    let m = try RGBImageLoader.loadIndices(root.appendingPathComponent("SegmentationClass/2007_000000.png").path)
    #expect(Set(m.values) == [0, 1, 255])

    let checkpoint = try OpenedCheckpoint(path: Self.classifier)
    var o = ForegroundBackgroundStudy.ImageOptions()
    o.classes = [3]
    o.foreground = try StudyImages.vocIndex("aeroplane")
    o.protocolChoice = .notebook
    let out = root.appendingPathComponent("out")
    let notebook = try ForegroundBackgroundStudy.runImages(
      try StudyImages.voc(root: root.path, split: nil), checkpoint: checkpoint, options: o, output: out.path + "-n", source: root.path)
    // Image 4's aeroplane is too small (fraction < 0.2): 4 of 5 kept.
    #expect(notebook.layer == "layer4.1.conv2")
    #expect(notebook.tests[0].statistics.n == 4)
    o.protocolChoice = .strict
    let strict = try ForegroundBackgroundStudy.runImages(
      try StudyImages.voc(root: root.path, split: "val"), checkpoint: checkpoint, options: o, output: out.path + "-s", source: root.path)
    #expect(strict.tests[0].statistics.n == 3)
    let files = try FileManager.default.contentsOfDirectory(atPath: out.path + "-s")
    #expect(files.filter { $0.contains("_strongest_") }.count == 3 && files.filter { $0.contains("_weakest_") }.count == 3)
    // Void is background in the notebook's fraction, left out in the strict one.
    let a = try #require(notebook.tests[0].units.first { $0.id == "2007_000000" })
    let b = try #require(strict.tests[0].units.first { $0.id == "2007_000000" })
    #expect(b.fraction > a.fraction)
  }
}
