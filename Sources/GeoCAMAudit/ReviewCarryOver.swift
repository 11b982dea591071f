import Foundation
import GeoCAMGeo

/// Keeps reviewers' verdicts across re-runs of an audit into the same folder: the earlier
/// `detections.gpkg`'s reviewed features are matched one to one to the new detections at
/// IoU ≥ 0.5 (on pixels, greedy by decreasing IoU); verdicts that no longer match any
/// detection are kept as orphans (layer `orphaned_reviews`), never dropped.
enum ReviewCarryOver {
  /// A verdict without a detection.
  struct Orphan {
    var oldId: Int
    var className: String
    var review: String
    var note: String
    var geometry: WKBGeometry?
  }

  static let fields = ["id", "class", "review", "review_note", "old_id"]

  /// Applies the verdicts in `previous` (if it exists) to `audit`; returns the orphans.
  static func apply(previous path: String, to audit: inout AuditScene, summary: inout AuditSummary) throws -> [Orphan] {
    guard FileManager.default.fileExists(atPath: path) else { return [] }
    let layers = (try? RegionVectors.layerNames(path: path)) ?? []
    var reviewed: [Orphan] = []
    for layer in ["detections", "orphaned_reviews"] where layers.contains(layer) {
      let features = try RegionVectors.readFeatures(
        path: path, layer: layer, fields: fields, targetCRS: audit.georeferencing.crsWKT)
      for f in features {
        let review = f.fields["review"] ?? "", note = f.fields["review_note"] ?? ""
        guard !review.isEmpty || !note.isEmpty else { continue }
        reviewed.append(
          Orphan(
            oldId: Int(f.fields[layer == "detections" ? "id" : "old_id"] ?? "") ?? f.fid, className: f.fields["class"] ?? "",
            review: review, note: note, geometry: f.geometry))
      }
    }
    guard !reviewed.isEmpty else { return [] }
    let grid = try RegionVectors.rasterize(
      reviewed.map { $0.geometry ?? WKBGeometry(bytes: []) }, width: audit.width, height: audit.height,
      georeferencing: audit.georeferencing)
    var sizes = [Int](repeating: 0, count: reviewed.count + 1)
    var shared: [Int: [Int: Int]] = [:]  // old index (1-based) → new id → pixels
    for i in grid.indices where grid[i] > 0 {
      sizes[Int(grid[i])] += 1
      if audit.labels[i] > 0 { shared[Int(grid[i]), default: [:]][Int(audit.labels[i]), default: 0] += 1 }
    }
    let pixels = Dictionary(uniqueKeysWithValues: audit.detections.map { ($0.id, $0.pixels) })
    var pairs: [(iou: Double, old: Int, new: Int)] = []
    for (old, row) in shared {
      for (new, n) in row {
        let union = sizes[old] + (pixels[new] ?? 0) - n
        let iou = union > 0 ? Double(n) / Double(union) : 0
        if iou >= 0.5 - 1e-12 { pairs.append((iou, old, new)) }
      }
    }
    pairs.sort { $0.iou != $1.iou ? $0.iou > $1.iou : ($0.old, $0.new) < ($1.old, $1.new) }
    var usedOld = Set<Int>(), usedNew = Set<Int>()
    let index = Dictionary(uniqueKeysWithValues: audit.detections.enumerated().map { ($1.id, $0) })
    for p in pairs where !usedOld.contains(p.old) && !usedNew.contains(p.new) {
      usedOld.insert(p.old)
      usedNew.insert(p.new)
      guard let i = index[p.new] else { continue }
      let r = reviewed[p.old - 1]
      audit.detections[i].review = Detection.Review(rawValue: r.review)
      audit.detections[i].reviewNote = r.note.isEmpty ? nil : r.note
    }
    let orphans = reviewed.enumerated().filter { !usedOld.contains($0.offset + 1) }.map(\.element)
    // How far reviewers, labels and the model agree.
    let withBoth = audit.detections.filter { $0.review != nil && $0.review != .unsure && $0.status != nil }
    let agree = withBoth.filter { $0.review?.rawValue == $0.status?.rawValue }.count
    summary.reviews = [
      "carried_over": Double(usedNew.count), "orphaned": Double(orphans.count),
      "reviewed": Double(audit.detections.filter { $0.review != nil }.count),
    ]
    if !withBoth.isEmpty {
      summary.reviews["reviewer_label_agreement"] = Double(agree) / Double(withBoth.count)
      summary.reviews["reviewed_with_labels"] = Double(withBoth.count)
    }
    // The model's own call is "tp" for every detection: the share of reviewed detections the
    // reviewer confirmed.
    let verdicts = audit.detections.compactMap(\.review).filter { $0 != .unsure }
    if !verdicts.isEmpty {
      summary.reviews["reviewer_model_agreement"] = Double(verdicts.filter { $0 == .tp }.count) / Double(verdicts.count)
    }
    return orphans
  }
}
