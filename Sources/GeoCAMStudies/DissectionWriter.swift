import Foundation
import GeoCAMCore
import GeoCAMImaging
import GeoCAMPipeline

/// Writes a dissection: `dissect.json`, `dissect.csv` (one row per unit and layer),
/// `report.md`, and the top units' figures.
enum DissectionWriter {
  /// One image of a unit figure: the imagery, the unit's mask M and the concept's pixels, all
  /// on the label grid.
  struct Panel {
    var image: RGBImage
    var unitMask: [Bool]
    var concept: [Bool]
  }

  /// A file name from a layer, concept and unit (no path separators or spaces).
  static func fileStem(_ s: String) -> String {
    String(s.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" })
  }

  /// The panels side by side, 6 px apart: imagery dimmed to 40 % outside the unit's mask, the
  /// mask's edge cyan, the concept's outline yellow (drawn last, so it stays visible).
  static func unitFigure(_ panels: [Panel], to url: URL) throws {
    let gap = 6
    let height = panels.map(\.image.height).max() ?? 1
    let width = max(1, panels.reduce(0) { $0 + $1.image.width } + gap * max(0, panels.count - 1))
    var px = [UInt8](repeating: 255, count: width * height * 3)
    var x0 = 0
    for panel in panels {
      let w = panel.image.width, h = panel.image.height
      func edge(_ m: [Bool], _ x: Int, _ y: Int) -> Bool {
        let i = y * w + x
        guard m[i] else { return false }
        return x == 0 || y == 0 || x == w - 1 || y == h - 1 || !m[i - 1] || !m[i + 1] || !m[i - w] || !m[i + w]
      }
      for y in 0..<h {
        for x in 0..<w {
          let i = y * w + x, o = 3 * (y * width + x0 + x)
          let inside = panel.unitMask[i]
          for ch in 0..<3 {
            let v = panel.image.pixels[3 * i + ch]
            px[o + ch] = inside ? v : UInt8(Double(v) * 0.4)
          }
          if edge(panel.concept, x, y) {
            (px[o], px[o + 1], px[o + 2]) = (255, 230, 0)
          } else if edge(panel.unitMask, x, y) {
            (px[o], px[o + 1], px[o + 2]) = (0, 230, 255)
          }
        }
      }
      x0 += w + gap
    }
    try PNGImage(width: width, height: height, format: .rgb, pixels: px).write(to: url.path)
  }

  static func write(
    _ r: NetworkDissection.Report, scores: [NetworkDissection.Scores], conceptNames: [String], to dir: URL
  ) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(r), to: dir.appendingPathComponent("dissect.json"))

    var csv = "layer,unit,threshold,activated_pixels,best_concept,best_iou,detector"
    csv += conceptNames.map { ",iou_" + CSVField.escape($0) }.joined() + "\n"
    for (layer, s) in zip(r.layers, scores) {
      for u in s.thresholds.indices {
        // A unit that overlaps no concept has no best concept (argmax of zeros would say the first).
        let best = s.best(unit: u).flatMap { $0.iou > 0 ? $0 : nil }
        csv += "\(CSVField.escape(layer.layer)),\(u),\(s.thresholds[u]),\(s.activated[u]),"
        csv += "\(best.map { CSVField.escape(conceptNames[$0.concept - 1]) } ?? ""),\(best.map { String($0.iou) } ?? ""),"
        csv += (best.map { $0.iou >= r.iouThreshold } ?? false) ? "1" : "0"
        for c in 0..<s.conceptCount { csv += ",\(s.iou(unit: u, concept: c + 1))" }
        csv += "\n"
      }
    }
    try AtomicFile.write(Data(csv.utf8), to: dir.appendingPathComponent("dissect.csv"))
    try AtomicFile.write(Data(markdown(r).utf8), to: dir.appendingPathComponent("report.md"))
  }

  static func markdown(_ r: NetworkDissection.Report) -> String {
    func f(_ v: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", v) }
    let kind = r.imageKind, grid = "\(r.labelGrid.width) × \(r.labelGrid.height)"
    var md = "# Network Dissection: \(r.input)\n\n"
    md += "Concepts: the label classes of \(r.labels) (label 0, background, is no concept) on \(r.images) \(kind) "
    md += "(label grid \(grid) px"
    md += kind == "tiles" ? "; tiles do not overlap, so no pixel counts twice). " : "). "
    md += "\(r.excludedPixels) of \(r.countedPixels + r.excludedPixels) pixels are left out of every tally "
    md += kind == "tiles"
      ? "(nodata in the imagery or the labels, label values outside the classes, the part of an edge tile an earlier tile already covered).\n\n"
      : "(void, 255, and mask values outside the concepts).\n\n"
    md += "Per unit k of a layer: the threshold T_k is the \(r.quantile) quantile of its activations over all positions of all "
    md += "\(kind) (exact, as `numpy.quantile` with method `linear`); each activation map is upsampled to the label grid, "
    md += "\(r.upsampling). IoU_k,c = Σ|M_k ∩ L_c| / Σ|M_k ∪ L_c|, both sums over all \(kind): the paper's "
    md += "dataset-level IoU. **No per-image gating**: NetDissect-Lite adds a unit's activated pixels to a category's "
    md += "tally only on images where they overlap a label of that category; here every activated pixel counts. "
    md += "A unit is a detector of its best concept when that IoU ≥ \(r.iouThreshold).\n\n"
    md += "## Detectors per concept and layer\n\n"
    md += "| layer | units | map | " + r.concepts.map { "\($0.name) (\($0.pixels) px)" }.joined(separator: " | ")
    md += " | detector units | concepts with a detector |\n|---|---|---|" + String(repeating: "---|", count: r.concepts.count + 2) + "\n"
    for l in r.layers {
      md += "| `\(l.layer)` | \(l.units) | \(l.map.width) × \(l.map.height) | "
      md += l.concepts.map { String($0.detectors.count) }.joined(separator: " | ")
      md += " | \(l.detectorUnits) | \(l.uniqueConcepts) |\n"
    }
    md += "\nActivations held: "
    md += r.layers.map { "`\($0.layer)` \($0.units) units × \($0.positions) positions × 4 bytes = \(f(Double($0.activationBytes) / Double(1 << 20), 1)) MiB" }
      .joined(separator: "; ")
    md += ". Forward \(f(r.seconds["forward_per_image"] ?? 0, 3)) s per \(kind == "tiles" ? "tile" : "image"); "
    md += "run \(f(r.seconds["total"] ?? 0, 1)) s.\n\n"
    md += "## Top units per concept\n\n"
    md += "Each figure shows the \(kind) where the unit fires most (largest activation), left to right: imagery dimmed "
    md += "outside the unit's mask M (upsampled map > T_k), cyan the mask's edge, yellow the concept's outline.\n\n"
    for l in r.layers {
      for c in l.concepts {
        md += "### `\(l.layer)`, \(c.concept)\n\n"
        if c.topUnits.isEmpty {
          md += "No labelled pixel of this concept.\n\n"
          continue
        }
        md += "Detectors (\(c.detectors.count)): " + (c.detectors.isEmpty ? "none" : c.detectors.prefix(30).map(String.init).joined(separator: ", "))
        md += c.detectors.count > 30 ? ", …" : ""
        md += ".\n\n| rank | unit | IoU | T_k | best concept | detector | \(kind) shown |\n|---|---|---|---|---|---|---|\n"
        for (i, t) in c.topUnits.enumerated() {
          md += "| \(i + 1) | \(t.unit) | \(f(t.iou)) | \(String(format: "%.4g", t.threshold)) | \(t.bestConcept ?? "–") | "
          md += "\(t.detector ? "yes" : "no") | \(t.images.joined(separator: "; ")) |\n"
        }
        md += "\n"
        for (i, t) in c.topUnits.enumerated() {
          if let fig = t.figure { md += "![\(c.concept) rank \(i + 1), unit \(t.unit)](\(fig))\n\n" }
        }
      }
    }
    return md
  }
}
