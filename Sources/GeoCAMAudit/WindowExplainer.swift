import Foundation
import GeoCAMExplain
import GeoCAMGeo
import GeoCAMImaging
import GeoCAMKit
import GeoCAMModels

/// Explains every detection of one window from one forward pass and one batched backward (one
/// `region` seed per detection: the mean of its class's logit over its pixels in the window),
/// measures each map's evidence and writes the detection's chips.
struct WindowExplainer {
  let bundle: ModelBundle
  let explainer: Explainer
  let layer: String
  let raster: GeoRaster
  let bands: [Int]
  /// Detection id per raster pixel.
  let labels: [Int32]
  let rasterWidth: Int
  let rasterHeight: Int
  /// The audit folder (chip names are relative to it).
  let outputDirectory: URL

  /// Evidence per detection id, per method.
  func explain(window: PixelWindow, detections: [Detection]) throws -> [Int: [String: Detection.Evidence]] {
    let t = window.width
    let read = try raster.readWindow(window, bands: bands)
    let (pixels, allValid) = TileInput.tensor(read, fill: bundle.preprocessing.neutralPixel)
    let session = try ExplanationSession(
      model: bundle.model, preprocessing: bundle.preprocessing, pixels: pixels, valid: allValid ? nil : read.mask,
      layer: layer)
    // Each detection's pixels inside the window.
    var masks: [[Bool]] = []
    for d in detections {
      var m = [Bool](repeating: false, count: t * t)
      let x0 = max(d.bbox.x, window.x), x1 = min(d.bbox.x + d.bbox.width, window.maxX)
      let y0 = max(d.bbox.y, window.y), y1 = min(d.bbox.y + d.bbox.height, window.maxY)
      if x0 < x1 && y0 < y1 {
        for y in y0..<y1 {
          for x in x0..<x1 where labels[y * rasterWidth + x] == Int32(d.id) { m[(y - window.y) * t + (x - window.x)] = true }
        }
      }
      masks.append(m)
    }
    let seeds = zip(detections, masks).map { d, m in
      ExplanationSeed(classIndex: d.classIndex, target: .region(m.map { $0 ? 1 : 0 }))
    }
    let result = try explainer.explain(session, seeds: seeds)
    // Window-resolution, non-negative maps per (seed, method).
    var maps: [Int: [String: [Float]]] = [:]
    for e in result.explanations {
      maps[e.seedIndex, default: [:]][e.method.rawValue] = try e.plane(toHeight: t, toWidth: t)
    }
    let imagery = try chipImagery(window: window)
    var out: [Int: [String: Detection.Evidence]] = [:]
    for (j, d) in detections.enumerated() {
      let ring = EvidenceMeter.ring(
        object: masks[j], width: t, height: t, diameter: EvidenceMeter.diameter(pixels: d.pixels))
      var evidence: [String: Detection.Evidence] = [:]
      for m in explainer.methods {
        guard let map = maps[j]?[m.rawValue] else { continue }
        evidence[m.rawValue] = EvidenceMeter.measure(map: map, inside: masks[j], ring: ring, valid: allValid ? nil : read.mask)
      }
      out[d.id] = evidence
      try writeChips(d, window: window, imagery: imagery, maps: maps[j] ?? [:], valid: read.mask)
    }
    return out
  }

  /// The window's imagery as 0…255 RGB bytes (for chips), read around it generously so a chip
  /// can show context beyond the window.
  private func chipImagery(window: PixelWindow) throws -> (window: PixelWindow, rgb: [UInt8]) {
    let margin = window.width
    let w = PixelWindow(x: window.x - margin, y: window.y - margin, width: window.width + 2 * margin, height: window.height + 2 * margin)
    let read = try raster.readWindow(w, bands: Array(bands.prefix(3)))
    let plane = w.pixelCount
    var rgb = [UInt8](repeating: 0, count: 3 * plane)
    for p in 0..<plane where read.mask[p] != 0 {
      for c in 0..<3 {
        let v = read.data[min(c, read.bands.count - 1) * plane + p]
        rgb[3 * p + c] = UInt8(min(max(v.isFinite ? v : 0, 0), 255).rounded())
      }
    }
    return (w, rgb)
  }

  /// `chips/d<id>_context.png` and one chip per method: a square of at least 96 px and 3× the
  /// bounding box around the detection, its outline drawn; methods' maps fade in with their
  /// value (scaled by the map's maximum over the window).
  private func writeChips(
    _ d: Detection, window: PixelWindow, imagery: (window: PixelWindow, rgb: [UInt8]), maps: [String: [Float]],
    valid: [UInt8]
  ) throws {
    let side = min(max(96, 3 * max(d.bbox.width, d.bbox.height)), imagery.window.width)
    let cx = d.bbox.x + d.bbox.width / 2, cy = d.bbox.y + d.bbox.height / 2
    let x0 = min(max(cx - side / 2, imagery.window.x), imagery.window.maxX - side)
    let y0 = min(max(cy - side / 2, imagery.window.y), imagery.window.maxY - side)
    var rgb = [UInt8](repeating: 0, count: 3 * side * side)
    var outline = [Bool](repeating: false, count: side * side)
    func isMine(_ x: Int, _ y: Int) -> Bool {
      x >= 0 && y >= 0 && x < rasterWidth && y < rasterHeight && labels[y * rasterWidth + x] == Int32(d.id)
    }
    for y in 0..<side {
      for x in 0..<side {
        let gx = x0 + x, gy = y0 + y
        let s = ((gy - imagery.window.y) * imagery.window.width + (gx - imagery.window.x)) * 3
        for c in 0..<3 { rgb[3 * (y * side + x) + c] = imagery.rgb[s + c] }
        if isMine(gx, gy) && (!isMine(gx - 1, gy) || !isMine(gx + 1, gy) || !isMine(gx, gy - 1) || !isMine(gx, gy + 1)) {
          outline[y * side + x] = true
        }
      }
    }
    func draw(_ pixels: [UInt8], to name: String) throws {
      var p = pixels
      for i in 0..<(side * side) where outline[i] {
        p[3 * i] = 255
        p[3 * i + 1] = 230
        p[3 * i + 2] = 0
      }
      try PNGImage(width: side, height: side, format: .rgb, pixels: p).write(to: outputDirectory.appendingPathComponent(name).path)
    }
    try draw(rgb, to: AuditGallery.contextChip(d.id))
    let base = try RGBImage(width: side, height: side, pixels: rgb)
    let t = window.width
    for (method, map) in maps {
      var peak: Float = 0
      for i in map.indices where valid[i] != 0 { peak = max(peak, map[i]) }
      var local = [Float](repeating: 0, count: side * side)
      if peak > 0 {
        for y in 0..<side {
          for x in 0..<side {
            let wx = x0 + x - window.x, wy = y0 + y - window.y
            guard wx >= 0, wy >= 0, wx < t, wy < t, valid[wy * t + wx] != 0 else { continue }
            local[y * side + x] = max(map[wy * t + wx], 0) / peak
          }
        }
      }
      let heat = try Overlay.fadingHeatmap(image: base, map: local, maxAlpha: 0.7)
      try draw(heat.pixels, to: AuditGallery.methodChip(d.id, method: method))
    }
  }
}
