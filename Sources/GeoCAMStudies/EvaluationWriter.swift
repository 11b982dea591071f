import Foundation
import GeoCAMCore
import GeoCAMImaging
import GeoCAMPipeline

/// Writes `study evaluate`'s outputs: `evaluate.json`, `per_image.csv`, `report.md` and the
/// figures (metric distributions, mean insertion/deletion curves, the randomisation cascade).
enum EvaluationWriter {
  /// Method colours, in method order (tab10).
  static let palette: [(UInt8, UInt8, UInt8)] = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
    (127, 127, 127), (188, 189, 34), (23, 190, 207),
  ]

  static func write(_ r: SaliencyEvaluation.Report, curves: [String: [CausalMetric.Kind: [[Double]]]], to dir: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(r), to: dir.appendingPathComponent("evaluate.json"))
    let used = SaliencyEvaluation.metricOrder.filter { name in r.rows.contains { $0.metrics[name] != nil } }
    var csv = "item,class,method,seconds," + used.joined(separator: ",") + "\n"
    for row in r.rows {
      csv += [CSVField.escape(row.item), CSVField.escape(row.className), row.method, String(row.seconds)].joined(separator: ",") + ","
      csv += used.map { row.metrics[$0].map { String($0) } ?? "" }.joined(separator: ",") + "\n"
    }
    try AtomicFile.write(Data(csv.utf8), to: dir.appendingPathComponent("per_image.csv"))
    for name in used { try distribution(r, metric: name, to: dir.appendingPathComponent("figures/\(name).png")) }
    for kind in CausalMetric.Kind.allCases where curves.values.contains(where: { $0[kind] != nil }) {
      try meanCurves(r.methods, curves: curves, kind: kind, to: dir.appendingPathComponent("figures/\(kind.rawValue)_curves.png"))
    }
    try AtomicFile.write(Data(markdown(r, metrics: used).utf8), to: dir.appendingPathComponent("report.md"))
  }

  static let titles: [String: String] = [
    "cc": "CC (PCC) ↑", "sim": "SIM ↑", "kl": "KL ↓", "nss": "NSS ↑", "auc_judd": "AUC-Judd ↑", "pointing_game": "pointing game ↑",
    "energy_pointing_game": "energy pointing game ↑", "deletion_auc": "deletion AUC ↓", "insertion_auc": "insertion AUC ↑",
  ]

  static func markdown(_ r: SaliencyEvaluation.Report, metrics: [String]) -> String {
    func f(_ s: SaliencyEvaluation.Stat?) -> String {
      guard let s else { return "–" }
      return String(format: "%.3f", s.mean) + (s.sd.map { String(format: " ± %.3f", $0) } ?? "")
    }
    var md = "# Saliency evaluation\n\n"
    md += "\(r.items) \(r.task == "segmentation" ? "(tile, class) items" : "images"), target layer `\(r.layer)`, "
    md += "checkpoint `\(r.provenance["checkpoint_sha256"]?.prefix(12) ?? "?")…`. Mean ± sd over the items (sample sd).\n\n"
    md += "| method | " + metrics.map { titles[$0] ?? $0 }.joined(separator: " | ") + " | s per item |\n"
    md += "|---|" + metrics.map { _ in "---|" }.joined() + "---|\n"
    for s in r.summaries {
      md += "| \(s.method) | " + metrics.map { f(s.metrics[$0]) }.joined(separator: " | ") + String(format: " | %.3f |\n", s.secondsPerItem)
    }
    md += "\n" + verdicts(r, metrics: metrics)
    if let sanity = r.sanity {
      md += "\n## Sanity check (cascading randomisation)\n\n"
      md += "Layers re-initialised from the top (PyTorch's default initialisation, seed \(sanity.seed)) on \(sanity.items.count) items; "
      md += "Spearman rank correlation of |map| with the original after each step (mean over the items). "
      md += "A method fails when it is still ≥ \(sanity.threshold) once the target layer's block "
      md += sanity.targetStep.map { "(step \($0 + 1), `\(sanity.steps[$0].group)`)" } ?? "(not in the cascade)"
      md += " is randomised.\n\n"
      md += "| method | Spearman at target | verdict |\n|---|---|---|\n"
      for v in sanity.methods {
        md += "| \(v.method) | \(v.spearmanAtTarget.map { String(format: "%.3f", $0) } ?? "–") | \(v.verdict) |\n"
      }
      md += "\n| step | randomised | " + sanity.methods.map { "\($0.method) ρ / SSIM" }.joined(separator: " | ") + " |\n"
      md += "|---|---|" + sanity.methods.map { _ in "---|" }.joined() + "\n"
      for (i, step) in sanity.steps.enumerated() {
        md += "| \(i + 1)\(step.reachesTarget && i == sanity.targetStep ? " (target)" : "") | `\(step.group)` | "
        md += sanity.methods.map { v in
          let a = i < v.spearman.count ? v.spearman[i] : nil, b = i < v.ssim.count ? v.ssim[i] : nil
          return (a.map { String(format: "%.3f", $0) } ?? "–") + " / " + (b.map { String(format: "%.3f", $0) } ?? "–")
        }.joined(separator: " | ") + " |\n"
      }
      md += "\n![cascade](figures/sanity_cascade.png)\n\nRows: methods; columns: the original map, then each step (first item).\n"
    }
    md += "\n## Definitions\n\n"
    md += """
      - CC: Pearson correlation of the map and the reference density map (the MIT benchmark's CC.m).
      - SIM: both maps min-max scaled to [0, 1], then to sum 1; Σ min (similarity.m).
      - KL: both maps clipped at 0 and scaled to sum 1; Σ g·log(ε + g/(s + ε)), ε = 2.2e-16, reference g, map s (KLdiv.m).
      - NSS: the map z-scored (sample sd), its mean at the fixations. AUC-Judd: thresholds at the map's values at the fixations \
      (no jitter), tp = i/F, fp = (#pixels ≥ threshold − i)/(N − F), trapezoid from (0,0) to (1,1).
      - Pointing game: a hit when a pixel holding the map's maximum lies in the mask. Energy pointing game: Σ map⁺ in the mask / Σ map⁺.
      - Deletion / insertion AUC (RISE): pixels in decreasing saliency (stable, ties by index), `step` per step; deletion to zero in \
      normalised space, insertion from the blurred image (11×11 Gaussian, σ 5); score = the class's softmax probability \
      (segmentation: its mean over the target pixels of the unperturbed prediction); AUC = (Σ s − s₀/2 − s_last/2)/(n − 1).
      - Maps are compared in the original image's geometry (inside the preset's crop) for images, in the tile's for rasters.

      Parameters: \(r.parameters.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")).

      Figures: `figures/<metric>.png` (one column per method in table order, one dot per item, the bar is the mean), \
      `figures/deletion_curves.png` and `insertion_curves.png` (mean score against the share of pixels changed, one line per method).
      Raw maps, masks, references and per-step scores: `raw/<item>/`; `Scripts/checks/evaluate_reference.py` recomputes every number.

      """
    return md
  }

  /// The verdict in words: the best method per metric.
  static func verdicts(_ r: SaliencyEvaluation.Report, metrics: [String]) -> String {
    guard r.summaries.count > 1 else { return "" }
    var lines: [String] = []
    for name in metrics {
      let lowerIsBetter = name == "kl" || name == "deletion_auc"
      let ranked = r.summaries.compactMap { s in s.metrics[name].map { (s.method, $0.mean) } }
        .sorted { lowerIsBetter ? $0.1 < $1.1 : $0.1 > $1.1 }
      guard let best = ranked.first, ranked.count > 1 else { continue }
      // Methods level with the best (to the shown precision) share the first place.
      let top = ranked.filter { abs($0.1 - best.1) < 5e-4 }
      let rest = ranked.dropFirst(top.count)
      lines.append(
        String(format: "- %@: best **%@** (%.3f)", titles[name] ?? name, top.map(\.0).joined(separator: "**, **"), best.1)
          + (rest.isEmpty ? "." : ", then " + rest.map { String(format: "%@ %.3f", $0.0, $0.1) }.joined(separator: ", ") + "."))
    }
    return lines.isEmpty ? "" : "Verdict per metric:\n\n" + lines.joined(separator: "\n") + "\n"
  }

  /// One column per method: a dot per item, a bar at the mean; the y axis spans the values.
  static func distribution(_ r: SaliencyEvaluation.Report, metric: String, to url: URL) throws {
    let columns = r.methods
    let values = columns.map { m in r.rows.filter { $0.method == m }.compactMap { $0.metrics[metric] } }
    let all = values.flatMap { $0 }
    guard var lo = all.min(), var hi = all.max() else { return }
    if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
    let width = max(240, 80 * columns.count + 40), height = 260
    var c = StudyWriter.Canvas(width: width, height: height)
    let grey: (UInt8, UInt8, UInt8) = (150, 150, 150)
    c.line(30, 240, width - 10, 240, grey)
    c.line(30, 20, 30, 240, grey)
    func y(_ v: Double) -> Int { 240 - Int(((v - lo) / (hi - lo) * 210).rounded()) }
    for (i, vs) in values.enumerated() {
      let x = 30 + 40 + i * 80, color = palette[i % palette.count]
      for (j, v) in vs.enumerated() { c.dot(x - 15 + (j * 7) % 31, y(v), color, radius: 2) }
      if !vs.isEmpty {
        let mean = vs.reduce(0, +) / Double(vs.count)
        c.rect(x - 25, y(mean) - 1, x + 25, y(mean) + 1, (0, 0, 0))
      }
    }
    try c.png(to: url)
  }

  /// Mean curve per method against the share of pixels changed (x 0…1, y 0…1).
  static func meanCurves(_ methods: [String], curves: [String: [CausalMetric.Kind: [[Double]]]], kind: CausalMetric.Kind, to url: URL) throws {
    var c = StudyWriter.Canvas(width: 340, height: 260)
    let grey: (UInt8, UInt8, UInt8) = (150, 150, 150)
    c.line(30, 240, 330, 240, grey)
    c.line(30, 20, 30, 240, grey)
    for (i, m) in methods.enumerated() {
      guard let all = curves[m]?[kind], let n = all.first?.count, n > 1 else { continue }
      let mean = (0..<n).map { s in all.map { $0.count > s ? $0[s] : 0 }.reduce(0, +) / Double(all.count) }
      let points = mean.enumerated().map { (30 + Int(Double($0.offset) / Double(n - 1) * 300), 240 - Int(min(max($0.element, 0), 1) * 220)) }
      for (a, b) in zip(points, points.dropFirst()) {
        c.line(a.0, a.1, b.0, b.1, palette[i % palette.count])
        c.line(a.0, a.1 - 1, b.0, b.1 - 1, palette[i % palette.count])
      }
    }
    try c.png(to: url)
  }

  /// The cascade as an image grid: one row per method, the original then each step (96 px
  /// cells, |map| min-max scaled, jet colours).
  static func cascadePicture(original: [[Float]], steps: [[String: [Float]]], methods: [String], width: Int, height: Int, to url: URL) throws {
    let cell = 96, gap = 4
    let cols = steps.count + 1
    let W = cols * (cell + gap) + gap, H = methods.count * (cell + gap) + gap
    var out = [UInt8](repeating: 255, count: W * H * 3)
    for (row, m) in methods.enumerated() {
      let maps = [original[row]] + steps.map { $0[m] ?? [] }
      for (col, map) in maps.enumerated() where map.count == width * height {
        let small = try Resize.bilinear(SanityCheck.scaledMagnitude(map), height: height, width: width, toHeight: cell, toWidth: cell)
        let x0 = gap + col * (cell + gap), y0 = gap + row * (cell + gap)
        for y in 0..<cell {
          for x in 0..<cell {
            let color = Colormap.jet.rgb(Colormap.index(for: min(max(small[y * cell + x], 0), 1)))
            let p = 3 * ((y0 + y) * W + x0 + x)
            (out[p], out[p + 1], out[p + 2]) = (color.red, color.green, color.blue)
          }
        }
      }
    }
    try PNGImage(width: W, height: H, format: .rgb, pixels: out).write(to: url.path)
  }
}
