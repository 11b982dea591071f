import Foundation
import GeoCAMGeo

/// The detections of a finished prediction run: regions of its stitched class map with their
/// probabilities, areas, centroids and polygons.
struct AuditScene {
  let width: Int
  let height: Int
  let georeferencing: Georeferencing
  /// Detection label per pixel (0 = none; label = detection id), after the area filter.
  let labels: [Int32]
  /// Class per pixel of the class map.
  let classes: [UInt8]
  /// Detections, id = index + 1.
  var detections: [Detection]
  /// Polygons per detection id.
  let polygons: [Int32: WKBGeometry]
  /// "m²", or "px" when the raster has no CRS / geotransform.
  let areaUnit: String
  /// How areas were computed, for the summary.
  let areaNote: String
  /// Regions dropped by the minimum area, per class name.
  let dropped: [String: Int]

  /// Reads `classesPath` / `probsPath` (the run's `OUT.classes.tif`, `OUT.probs.tif`).
  init(
    classesPath: String, probsPath: String, classNames: [String], minAreaM2: Double, gsdMeters: Double?
  ) throws {
    let classRaster = try GeoRaster(path: classesPath)
    width = classRaster.width
    height = classRaster.height
    georeferencing = classRaster.georeferencing
    let classWindow = try classRaster.readWindow(x: 0, y: 0, width: width, height: height, bands: [1])
    let c = classNames.count
    let grid = classWindow.data.map { v -> UInt8 in v >= 1 && Int(v) < c ? UInt8(v) : 0 }
    classes = grid
    let regions = ConnectedRegions(grid: grid, width: width, height: height)

    // Area of each pixel row (m²), from the CRS.
    let gt = georeferencing.geoTransform
    let facts = CRSFacts(crsWKT: georeferencing.crsWKT)
    var rowArea: [Double]? = nil
    var unit = "m²"
    var note: String
    if let gt, let facts, !facts.isGeographic {
      let a = abs(gt.coefficients[1] * gt.coefficients[5] - gt.coefficients[2] * gt.coefficients[4])
        * facts.metresPerUnit * facts.metresPerUnit
      rowArea = [Double](repeating: a, count: height)
      note = "planar, from the projected CRS (\(String(format: "%.4g", a)) m² per pixel)"
    } else if let gt, let facts, facts.isGeographic {
      rowArea = (0..<height).map { y in
        AuditScene.geodesicPixelArea(gt: gt.coefficients, row: y, semiMajor: facts.semiMajor, inverseFlattening: facts.inverseFlattening)
      }
      note = "geodesic, on the CRS's ellipsoid (geographic CRS)"
    } else {
      unit = "px"
      note = "in pixels: the raster has no CRS or geotransform"
    }
    // The minimum area in pixels' terms when areas are pixels: via the model's GSD if known.
    var minPixels = 0.0
    if rowArea == nil {
      if let g = gsdMeters, g > 0 {
        minPixels = minAreaM2 / (g * g)
        note += "; --min-area-m2 applied through the model's gsd_m \(g) m"
      } else {
        note += "; --min-area-m2 not applied (no CRS and no gsd_m)"
      }
    }

    // Probability statistics per region, streaming the probabilities a strip at a time.
    let probs = try GeoRaster(path: probsPath)
    guard probs.width == width, probs.height == height, probs.bandCount == c else {
      throw GeoError(probsPath, "does not match \(classesPath) (\(probs.width)x\(probs.height), \(probs.bandCount) bands)")
    }
    let n = regions.regions.count
    var sumP = [Double](repeating: 0, count: n), maxP = [Double](repeating: 0, count: n)
    var sumMargin = [Double](repeating: 0, count: n), area = [Double](repeating: 0, count: n)
    let strip = 256
    var y0 = 0
    while y0 < height {
      let h = min(strip, height - y0)
      let w = try probs.readWindow(x: 0, y: y0, width: width, height: h)
      let plane = width * h
      for yy in 0..<h {
        for x in 0..<width {
          let i = (y0 + yy) * width + x
          let l = regions.labels[i]
          guard l > 0 else { continue }
          let r = Int(l) - 1
          let k = regions.regions[r].value
          let p = yy * width + x
          let pk = Double(w.data[k * plane + p])
          var second = 0.0
          for j in 0..<c where j != k { second = max(second, Double(w.data[j * plane + p])) }
          sumP[r] += pk
          maxP[r] = max(maxP[r], pk)
          sumMargin[r] += pk - second
          area[r] += rowArea?[y0 + yy] ?? 1
        }
      }
      y0 += h
    }

    // Keep regions at or above the minimum area; number them 1… in raster order.
    var keep = [Int32](repeating: 0, count: n + 1)
    var detections: [Detection] = []
    var dropped: [String: Int] = [:]
    let lonLat = LonLatTransform(crsWKT: georeferencing.crsWKT)
    for (r, region) in regions.regions.enumerated() {
      let ok = rowArea != nil ? area[r] >= minAreaM2 - 1e-9 : Double(region.pixels) >= minPixels - 1e-9
      guard ok else {
        dropped[classNames[region.value], default: 0] += 1
        continue
      }
      let id = detections.count + 1
      keep[Int(region.label)] = Int32(id)
      let px = region.sumX / Double(region.pixels), py = region.sumY / Double(region.pixels)
      let (cx, cy) = gt.map { $0.coordinate(column: px, row: py) } ?? (px, py)
      let ll = lonLat?.lonLat(x: cx, y: cy)
      detections.append(
        Detection(
          id: id, className: classNames[region.value], classIndex: region.value, pixels: region.pixels,
          area: area[r], probMean: sumP[r] / Double(region.pixels), probMax: maxP[r],
          margin: sumMargin[r] / Double(region.pixels), centroidX: cx, centroidY: cy, lon: ll?.lon, lat: ll?.lat,
          bbox: Detection.Box(x: region.minX, y: region.minY, width: region.width, height: region.height),
          window: Detection.Box(x: 0, y: 0, width: 0, height: 0), partial: false))
    }
    labels = regions.labels.map { keep[Int($0)] }
    self.detections = detections
    self.dropped = dropped
    areaUnit = unit
    areaNote = note
    polygons = try RegionVectors.polygons(labels: labels, width: width, height: height, georeferencing: georeferencing)
  }

  /// The area (m²) of one pixel of row `row` of a north-up geographic raster on an ellipsoid:
  /// `b²·Δλ/2·[q(φ₁) − q(φ₂)]` with the authalic function `q`.
  static func geodesicPixelArea(gt: [Double], row: Int, semiMajor a: Double, inverseFlattening invF: Double) -> Double {
    let f = invF > 0 ? 1 / invF : 0
    let e2 = f * (2 - f)
    let e = e2.squareRoot()
    let b2 = a * a * (1 - e2)
    func q(_ phi: Double) -> Double {
      let s = sin(phi)
      guard e > 0 else { return 2 * s }
      return s / (1 - e2 * s * s) + log((1 + e * s) / (1 - e * s)) / (2 * e)
    }
    let lat1 = (gt[3] + Double(row) * gt[5]) * Double.pi / 180
    let lat2 = (gt[3] + Double(row + 1) * gt[5]) * Double.pi / 180
    let dLon = abs(gt[1]) * Double.pi / 180
    let area = b2 * dLon / 2 * abs(q(lat1) - q(lat2))
    return e > 0 ? area : a * a * dLon * abs(sin(lat1) - sin(lat2))
  }
}
