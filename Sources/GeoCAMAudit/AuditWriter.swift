import GeoCAMCore
import Foundation
import GeoCAMGeo
import GeoCAMPipeline

/// Writes an audit's outputs: `detections.gpkg` (layers `detections`, `missed`,
/// `orphaned_reviews`, the `review` domain and a default style), `detections.csv`,
/// `summary.json` and `report.html`. Each file is written under a temporary name and renamed.
enum AuditWriter {
  /// A method id as a field-name stem: `gradcam++` → `gradcampp`, `guided-gradcam` → `guided_gradcam`.
  static func stem(_ method: String) -> String {
    method.replacingOccurrences(of: "+", with: "p").replacingOccurrences(of: "-", with: "_")
  }

  /// One row of attributes, in column order (shared by the GeoPackage and the CSV).
  static func columns(methods: [String]) -> [GeoPackageWriter.Field] {
    var f: [GeoPackageWriter.Field] = [
      .init("id", .integer), .init("class", .string), .init("class_index", .integer), .init("area_m2", .real),
      .init("pixels", .integer), .init("prob_mean", .real), .init("prob_max", .real), .init("margin", .real),
      .init("centroid_x", .real), .init("centroid_y", .real), .init("lon", .real), .init("lat", .real),
      .init("status", .string), .init("iou", .real), .init("label_id", .integer), .init("confounder", .string),
      .init("suspicion", .real), .init("partial", .integer), .init("window_x", .integer), .init("window_y", .integer),
    ]
    for m in methods {
      f += [.init("\(stem(m))_inside", .real), .init("\(stem(m))_ring", .real), .init("\(stem(m))_peak_inside", .integer)]
    }
    f += [.init("review", .string, domain: "review_verdict"), .init("review_note", .string)]
    return f
  }

  static func values(_ d: Detection, methods: [String], areaInM2: Bool) -> [String: GeoPackageWriter.Value] {
    func real(_ v: Double?) -> GeoPackageWriter.Value { v.map { .real($0) } ?? .null }
    func int(_ v: Int?) -> GeoPackageWriter.Value { v.map { .integer($0) } ?? .null }
    func text(_ v: String?) -> GeoPackageWriter.Value { v.map { .string($0) } ?? .null }
    var v: [String: GeoPackageWriter.Value] = [
      "id": .integer(d.id), "class": .string(d.className), "class_index": .integer(d.classIndex),
      "area_m2": areaInM2 ? .real(d.area) : .null, "pixels": .integer(d.pixels), "prob_mean": .real(d.probMean),
      "prob_max": .real(d.probMax), "margin": .real(d.margin), "centroid_x": .real(d.centroidX),
      "centroid_y": .real(d.centroidY), "lon": real(d.lon), "lat": real(d.lat), "status": text(d.status?.rawValue),
      "iou": real(d.iou), "label_id": int(d.labelId), "confounder": text(d.confounder), "suspicion": .real(d.suspicion),
      "partial": .integer(d.partial ? 1 : 0), "window_x": .integer(d.window.x), "window_y": .integer(d.window.y),
      "review": text(d.review?.rawValue), "review_note": text(d.reviewNote),
    ]
    for m in methods {
      guard let e = d.evidence[m] else { continue }
      v["\(stem(m))_inside"] = .real(e.inside)
      v["\(stem(m))_ring"] = .real(e.ring)
      v["\(stem(m))_peak_inside"] = .integer(e.peakInside ? 1 : 0)
    }
    return v
  }

  static func write(
    audit: AuditScene, missed: [(LabelMatching.Label, WKBGeometry?)], orphans: [ReviewCarryOver.Orphan],
    summary: AuditSummary, options o: AuditOptions, classNames: [String], directory: URL
  ) throws {
    let methods = o.methods.map(\.rawValue)
    let areaInM2 = audit.areaUnit == "m²"
    let sorted = audit.detections.sorted { $0.id < $1.id }

    // GeoPackage.
    let gpkg = directory.appendingPathComponent("detections.gpkg").path
    let tmp = directory.appendingPathComponent("detections.tmp.gpkg").path
    try? FileManager.default.removeItem(atPath: tmp)
    let w = try GeoPackageWriter(path: tmp)
    try w.addCodedDomain(
      name: "review_verdict", description: "Reviewer's verdict on a detection (empty: not reviewed)",
      values: [
        ("tp", "true positive"), ("fp", "false positive"), ("wrong_class", "right object, wrong class"),
        ("unsure", "unsure"),
      ])
    let cols = columns(methods: methods)
    let layer = try w.createLayer(name: "detections", crsWKT: audit.georeferencing.crsWKT, fields: cols)
    layer.begin()
    for d in sorted {
      try layer.add(geometry: audit.polygons[Int32(d.id)], values: values(d, methods: methods, areaInM2: areaInM2))
    }
    try layer.commit()
    let missedLayer = try w.createLayer(
      name: "missed", crsWKT: audit.georeferencing.crsWKT,
      fields: [.init("label_id", .integer), .init("class", .string), .init("class_index", .integer), .init("pixels", .integer)])
    missedLayer.begin()
    for (l, g) in missed {
      try missedLayer.add(
        geometry: g,
        values: [
          "label_id": .integer(l.id), "class": .string(classNames[l.classIndex]), "class_index": .integer(l.classIndex),
          "pixels": .integer(l.pixels),
        ])
    }
    try missedLayer.commit()
    let orphanLayer = try w.createLayer(
      name: "orphaned_reviews", crsWKT: audit.georeferencing.crsWKT,
      fields: [
        .init("old_id", .integer), .init("class", .string), .init("review", .string, domain: "review_verdict"),
        .init("review_note", .string),
      ])
    orphanLayer.begin()
    for o in orphans {
      try orphanLayer.add(
        geometry: o.geometry,
        values: [
          "old_id": .integer(o.oldId), "class": .string(o.className), "review": .string(o.review),
          "review_note": o.note.isEmpty ? .null : .string(o.note),
        ])
    }
    try orphanLayer.commit()
    try writeStyle(w)
    try w.finish()
    guard rename(tmp, gpkg) == 0 else {
      throw PipelineError(gpkg, "cannot move the GeoPackage into place: \(String(cString: strerror(errno)))")
    }

    // CSV.
    var csv = cols.map(\.name).joined(separator: ",") + "\n"
    for d in sorted {
      let v = values(d, methods: methods, areaInM2: areaInM2)
      csv += cols.map { c -> String in
        switch v[c.name] ?? .null {
        case .integer(let i): return String(i)
        case .real(let r): return r.isFinite ? String(r) : ""
        case .string(let s): return CSVField.escape(s)
        case .null: return ""
        }
      }.joined(separator: ",") + "\n"
    }
    try AtomicFile.write(Data(csv.utf8), to: directory.appendingPathComponent("detections.csv"))

    // Summary.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(summary), to: directory.appendingPathComponent("summary.json"))

    // Gallery, most suspicious first.
    var facts: [(label: String, value: String)] = [
      ("input", summary.provenance["input"] ?? ""), ("checkpoint", summary.provenance["checkpoint"] ?? ""),
      ("detections", String(summary.detections)), ("layer", summary.layer), ("methods", methods.joined(separator: ", ")),
      ("areas", summary.areaNote),
    ]
    for (name, s) in (summary.classes ?? [:]).sorted(by: { $0.key < $1.key }) {
      facts.append(
        (name, "tp \(s.tp) · fp \(s.fp) · wrong class \(s.wrongClass) · missed \(s.fn) · precision \(pct(s.precision)) · recall \(pct(s.recall))"))
    }
    for (type, row) in (summary.confounders ?? [:]).sorted(by: { $0.key < $1.key }) {
      let taken = row.filter { $0.key != "count" }.sorted { $0.key < $1.key }.map { "\($0.value) as \($0.key)" }
      facts.append(("confounder \(type)", "\(row["count"] ?? 0); taken: \(taken.isEmpty ? "none" : taken.joined(separator: ", "))"))
    }
    if let a = summary.suspicionAUC {
      facts.append(("suspicion AUC (fp vs tp)", String(format: "%.3f (baseline 1 − prob_mean: %@)", a, summary.baselineAUC.map { String(format: "%.3f", $0) } ?? "–")))
    }
    let html = AuditGallery.html(
      detections: audit.detections.sorted { $0.suspicion != $1.suspicion ? $0.suspicion > $1.suspicion : $0.id < $1.id },
      methods: methods, title: "GeoCAM audit — \((summary.provenance["input"] ?? "") as String)", summary: facts,
      areaUnit: audit.areaUnit, pageSize: o.pageSize)
    try AtomicFile.write(Data(html.utf8), to: directory.appendingPathComponent("report.html"))
  }

  static func pct(_ v: Double?) -> String { v.map { String(format: "%.1f %%", 100 * $0) } ?? "–" }

  /// A default QGIS style (categorised by `status`) in the GeoPackage's `layer_styles` table,
  /// which QGIS applies when the layer is opened.
  static func writeStyle(_ w: GeoPackageWriter) throws {
    try w.execute(
      """
      CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
      f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30),
      styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
      update_time DATETIME DEFAULT CURRENT_TIMESTAMP)
      """)
    let categories: [(value: String, label: String, color: String)] = [
      ("tp", "true positive", "51,160,44,255"), ("fp", "false positive", "227,26,28,255"),
      ("wrong_class", "wrong class", "255,127,0,255"), ("", "unlabelled", "150,150,150,255"),
    ]
    var cats = "", symbols = ""
    for (i, c) in categories.enumerated() {
      cats += "<category render=\"true\" symbol=\"\(i)\" value=\"\(c.value)\" label=\"\(c.label)\"/>"
      symbols += """
        <symbol type="fill" name="\(i)" alpha="1"><layer class="SimpleFill" enabled="1">\
        <Option type="Map"><Option name="color" type="QString" value="\(c.color.replacingOccurrences(of: ",255", with: ",60"))"/>\
        <Option name="outline_color" type="QString" value="\(c.color)"/><Option name="outline_width" type="QString" value="0.6"/>\
        <Option name="style" type="QString" value="solid"/></Option></layer></symbol>
        """
    }
    let qml = """
      <!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'><qgis version="3.28" styleCategories="Symbology">\
      <renderer-v2 type="categorizedSymbol" attr="status" symbollevels="0" enableorderby="0">\
      <categories>\(cats)</categories><symbols>\(symbols)</symbols></renderer-v2></qgis>
      """
    let escaped = qml.replacingOccurrences(of: "'", with: "''")
    try w.execute(
      """
      INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML,
      styleSLD, useAsDefault, description, owner, ui) VALUES ('', '', 'detections', 'geom', 'geocam-status', '\(escaped)',
      '', 1, 'GeoCAM audit: detections by status', '', '')
      """)
  }
}
