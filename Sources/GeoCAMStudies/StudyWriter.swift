import Foundation
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMPipeline

/// Writes a foreground/background study: `study.json`, `per_image.csv`, `report.md` and, per
/// (method, class), a paired dot plot and a histogram of the differences as PNG.
enum StudyWriter {
  static func write(_ r: ForegroundBackgroundStudy.Report, to dir: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(r), to: dir.appendingPathComponent("study.json"))

    var csv = "method,class,id,fraction,mean_inside,mean_outside,difference\n"
    for t in r.tests {
      for u in t.units {
        csv += "\(u.method),\(u.className),\(u.id),\(u.fraction),\(u.meanInside),\(u.meanOutside),\(u.meanInside - u.meanOutside)\n"
      }
    }
    try AtomicFile.write(Data(csv.utf8), to: dir.appendingPathComponent("per_image.csv"))

    var md = "# Foreground vs background: \(r.input)\n\n"
    if r.protocolName == "raster-objects" {
      md += "Protocol `\(r.protocolName)`: one unit per truth object of \(r.labels); the map of the object's own "
      md += "`region` target (\(r.target)) at `\(r.layer)`, min-max normalised over its window; inside = the object, "
      md += "outside = a ring of one equivalent-circle diameter around it. "
    } else {
      md += "Protocol `\(r.protocolName)`: one unit per image with a mask; the map of \(r.target) at `\(r.layer)`, "
      md += "upsampled (bilinear, half-pixel centres) to the input and min-max normalised without ε (a constant map "
      md += "leaves the image out); inside = the mask's foreground, outside = the rest"
      md += r.protocolName == "notebook" ? " (void counts as background, as the notebook does). " : " (void pixels left out of both). "
      md += "Images kept when the foreground fraction ≥ \(r.provenance["min_fraction"] ?? "?"). "
    }
    md += "Statistics as SciPy: paired t-test, "
    md += "Cohen's d_z = mean/sd of the differences with its 95 % CI (noncentral t), Wilcoxon signed-rank "
    md += "(zero_method wilcox, no correction, method auto), Holm over all tests of the run.\n\n"
    md += "| method | class | n | mean in − out | 95 % CI | t (df) | p two-sided | p one-sided (in > out) | p Holm | d_z [95 % CI] | Wilcoxon W⁺, p |\n"
    md += "|---|---|---|---|---|---|---|---|---|---|---|\n"
    func f(_ v: Double?, _ digits: Int = 3) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "–" }
    func p(_ v: Double?) -> String { v.map { $0 < 1e-4 ? String(format: "%.2e", $0) : String(format: "%.4f", $0) } ?? "–" }
    for t in r.tests {
      let s = t.statistics
      md += "| \(t.method) | \(t.className) | \(s.n) | \(f(s.meanDifference)) | [\(f(s.ci95?[0])), \(f(s.ci95?[1]))] | "
      md += "\(f(s.t, 2)) (\(s.df.map { String(Int($0)) } ?? "–")) | \(p(s.pTwoSided)) | \(p(s.pOneSided)) | \(p(t.pHolm)) | "
      md += "\(f(s.cohenDz, 2)) [\(f(s.cohenDzCI95?[0], 2)), \(f(s.cohenDzCI95?[1], 2))] | \(f(s.wilcoxonWPlus, 1)), \(p(s.wilcoxonP)) |\n"
    }
    md += "\n"
    for t in r.tests {
      md += "**\(t.method), \(t.className)**: " + verdict(t) + "\n\n"
      let stem = "\(t.method)_\(t.className)".replacingOccurrences(of: "+", with: "p")
      try plotPairs(t, to: dir.appendingPathComponent("\(stem)_pairs.png"))
      try plotHistogram(t, to: dir.appendingPathComponent("\(stem)_differences.png"))
      md += "![paired means](\(stem)_pairs.png) ![differences](\(stem)_differences.png)\n\n"
      md += "Left: each unit's mean normalised map inside (left dot) and outside (right dot), joined; "
      md += "the vertical axis runs from 0 (bottom) to 1 (top). Right: histogram of inside − outside from −1 to 1 "
      md += "(the grey line is 0).\n\n"
      if !t.units.isEmpty {
        md += "The three strongest and three weakest units (by inside − outside): `\(stem)_strongest_<rank>_<id>.png`, "
        md += "`\(stem)_weakest_<rank>_<id>.png`.\n\n"
      }
      if let w = t.statistics.warning { md += "Warning: \(w)\n\n" }
    }
    if !r.leftOut.isEmpty { md += "Left out: " + r.leftOut.joined(separator: "; ") + "\n" }
    try AtomicFile.write(Data(md.utf8), to: dir.appendingPathComponent("report.md"))
  }

  /// The result in words.
  static func verdict(_ t: ForegroundBackgroundStudy.Test) -> String {
    let s = t.statistics
    guard let d = s.meanDifference, let p = t.pHolm ?? s.pTwoSided, let dz = s.cohenDz else {
      return "no test (\(s.warning ?? "too few units"))."
    }
    let size = abs(dz) >= 0.8 ? "large" : abs(dz) >= 0.5 ? "medium" : abs(dz) >= 0.2 ? "small" : "negligible"
    if p < 0.05 {
      return String(
        format: "over %d units the map is %@ inside than outside (mean difference %.3f, Holm-adjusted p %.2g), a %@ effect (d_z %.2f): the model looks at the %@.",
        s.n, d > 0 ? "higher" : "lower", d, p, size, dz, d > 0 ? "object rather than its surroundings" : "surroundings more than the object")
    }
    return String(
      format: "over %d units the map is not reliably different inside and outside (mean difference %.3f, Holm-adjusted p %.2g, d_z %.2f).",
      s.n, d, p, dz)
  }

  /// A window's imagery around one object (at least 96 px, 3× its box), the map min-max
  /// normalised over the window fading in with its value, the object outlined.
  static func objectPicture(read: RasterWindow, map: [Float], mask: [Bool], to url: URL) throws {
    let t = read.width
    let idx = mask.indices.filter { mask[$0] }
    guard let first = idx.first else { return }
    var x0 = first % t, x1 = x0, y0 = first / t, y1 = y0
    for i in idx { x0 = min(x0, i % t); x1 = max(x1, i % t); y0 = min(y0, i / t); y1 = max(y1, i / t) }
    let side = min(t, max(96, 3 * max(x1 - x0 + 1, y1 - y0 + 1)))
    let cx = min(max((x0 + x1) / 2 - side / 2, 0), t - side), cy = min(max((y0 + y1) / 2 - side / 2, 0), read.height - side)
    let lo = map.min() ?? 0, hi = map.max() ?? 1
    let plane = t * read.height
    var rgb = [UInt8](repeating: 0, count: side * side * 3)
    var heat = [Float](repeating: 0, count: side * side)
    for y in 0..<side {
      for x in 0..<side {
        let i = (cy + y) * t + (cx + x)
        for c in 0..<3 { rgb[3 * (y * side + x) + c] = UInt8(min(max(read.data[min(c, read.bands.count - 1) * plane + i], 0), 255)) }
        heat[y * side + x] = hi > lo ? (map[i] - lo) / (hi - lo) : 0
      }
    }
    var out = try Overlay.fadingHeatmap(image: try RGBImage(width: side, height: side, pixels: rgb), map: heat, maxAlpha: 0.7).pixels
    for y in 0..<side {
      for x in 0..<side {
        let i = (cy + y) * t + (cx + x)
        guard mask[i] else { continue }
        let edge = (cx + x == 0 || !mask[i - 1]) || (cx + x == t - 1 || !mask[i + 1]) || (cy + y == 0 || !mask[i - t]) || (cy + y == read.height - 1 || !mask[i + t])
        if edge { (out[3 * (y * side + x)], out[3 * (y * side + x) + 1], out[3 * (y * side + x) + 2]) = (255, 230, 0) }
      }
    }
    try PNGImage(width: side, height: side, format: .rgb, pixels: out).write(to: url.path)
  }

  // MARK: Figures (plain raster drawing: axes, dots, lines, bars)

  struct Canvas {
    let width: Int, height: Int
    var pixels: [UInt8]
    init(width: Int, height: Int) {
      self.width = width
      self.height = height
      pixels = [UInt8](repeating: 255, count: width * height * 3)
    }
    mutating func dot(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8), radius: Int = 3) {
      for dy in -radius...radius {
        for dx in -radius...radius where dx * dx + dy * dy <= radius * radius { set(x + dx, y + dy, c) }
      }
    }
    mutating func set(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
      guard x >= 0, y >= 0, x < width, y < height else { return }
      let i = 3 * (y * width + x)
      (pixels[i], pixels[i + 1], pixels[i + 2]) = c
    }
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
      let n = max(abs(x1 - x0), abs(y1 - y0), 1)
      for i in 0...n {
        set(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n, c)
      }
    }
    mutating func rect(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: (UInt8, UInt8, UInt8)) {
      for y in min(y0, y1)...max(y0, y1) { for x in min(x0, x1)...max(x0, x1) { set(x, y, c) } }
    }
    func png(to url: URL) throws {
      try PNGImage(width: width, height: height, format: .rgb, pixels: pixels).write(to: url.path)
    }
  }

  static func plotPairs(_ t: ForegroundBackgroundStudy.Test, to url: URL) throws {
    var c = Canvas(width: 320, height: 320)
    let grey: (UInt8, UInt8, UInt8) = (150, 150, 150)
    c.line(40, 300, 280, 300, grey)
    c.line(40, 20, 40, 300, grey)
    func y(_ v: Double) -> Int { 300 - Int((min(max(v, 0), 1) * 280).rounded()) }
    for u in t.units {
      let up = u.meanInside > u.meanOutside
      c.line(100, y(u.meanInside), 220, y(u.meanOutside), up ? (120, 170, 230) : (230, 150, 120))
    }
    for u in t.units {
      c.dot(100, y(u.meanInside), (31, 119, 180))
      c.dot(220, y(u.meanOutside), (214, 39, 40))
    }
    try c.png(to: url)
  }

  static func plotHistogram(_ t: ForegroundBackgroundStudy.Test, to url: URL) throws {
    var c = Canvas(width: 320, height: 240)
    let bins = 20
    var counts = [Int](repeating: 0, count: bins)
    for u in t.units {
      let d = min(max(u.meanInside - u.meanOutside, -1), 1)
      counts[min(bins - 1, Int((d + 1) / 2 * Double(bins)))] += 1
    }
    let top = max(counts.max() ?? 1, 1)
    let grey: (UInt8, UInt8, UInt8) = (150, 150, 150)
    c.line(20, 220, 300, 220, grey)
    c.line(160, 20, 160, 220, grey)
    for (i, n) in counts.enumerated() where n > 0 {
      let x0 = 20 + i * 14, h = Int(Double(n) / Double(top) * 190)
      c.rect(x0 + 1, 220 - h, x0 + 12, 219, (31, 119, 180))
    }
    try c.png(to: url)
  }
}
