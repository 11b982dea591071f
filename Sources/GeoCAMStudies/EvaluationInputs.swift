import Foundation
import GeoCAMImaging
import GeoCAMKit
import GeoCAMPipeline
import GeoCAMTensor

/// What `study evaluate` compares maps with, read from files: human or reference density maps,
/// fixation points and masks, and the mapping of a model-geometry map back onto the image.
public enum EvaluationInputs {
  /// One row of a `--pairs` CSV: an image, its reference density map and optionally its
  /// fixations (paths relative to the CSV's folder unless absolute).
  public struct Pair: Sendable, Equatable {
    public var image: String
    public var reference: String?
    public var fixations: String?

    public init(image: String, reference: String?, fixations: String?) {
      self.image = image
      self.reference = reference
      self.fixations = fixations
    }
  }

  /// Reads a pairs CSV with a header naming the columns `image`, `reference` and optionally
  /// `fixations` (any order; extra columns ignored; quoted fields allowed).
  public static func pairs(csv path: String) throws -> [Pair] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw PipelineError(path, "cannot read the pairs file")
    }
    let rows = text.split(whereSeparator: \.isNewline).map { parseCSVLine(String($0)) }.filter { !($0.count == 1 && $0[0].isEmpty) }
    guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
      throw PipelineError(path, "is empty; expected a header with image,reference[,fixations]")
    }
    guard let imageColumn = header.firstIndex(of: "image") else {
      throw PipelineError(path, "has no 'image' column (header: \(header.joined(separator: ",")))")
    }
    let referenceColumn = header.firstIndex(of: "reference")
    let fixationColumn = header.firstIndex(of: "fixations")
    guard referenceColumn != nil || fixationColumn != nil else {
      throw PipelineError(path, "needs a 'reference' or a 'fixations' column")
    }
    let base = (path as NSString).deletingLastPathComponent
    func resolve(_ field: String) -> String? {
      let f = field.trimmingCharacters(in: .whitespaces)
      if f.isEmpty { return nil }
      return f.hasPrefix("/") ? f : (base as NSString).appendingPathComponent(f)
    }
    var out: [Pair] = []
    for (n, row) in rows.dropFirst().enumerated() {
      guard imageColumn < row.count, let image = resolve(row[imageColumn]) else {
        throw PipelineError(path, "row \(n + 2) has no image")
      }
      let reference = referenceColumn.flatMap { $0 < row.count ? resolve(row[$0]) : nil }
      let fixations = fixationColumn.flatMap { $0 < row.count ? resolve(row[$0]) : nil }
      out.append(Pair(image: image, reference: reference, fixations: fixations))
    }
    guard !out.isEmpty else { throw PipelineError(path, "lists no image") }
    return out
  }

  /// Splits one CSV line (RFC 4180 quotes).
  static func parseCSVLine(_ line: String) -> [String] {
    var fields: [String] = [], field = "", quoted = false
    var chars = Array(line.replacingOccurrences(of: "\r", with: "")).makeIterator()
    while let c = chars.next() {
      if quoted {
        if c == "\"" {
          if let n = chars.next() {
            if n == "\"" { field.append("\"") } else { quoted = false; if n == "," { fields.append(field); field = "" } else { field.append(n) } }
          } else { quoted = false }
        } else { field.append(c) }
      } else if c == "\"" { quoted = true } else if c == "," { fields.append(field); field = "" } else { field.append(c) }
    }
    fields.append(field)
    return fields
  }

  /// A density map as `width × height` Doubles: a 2-D `.npy`, or an image (the mean of its
  /// RGB channels). A map of another size is resized bilinearly (half-pixel centres) to the
  /// image's, as the MIT benchmark's code resizes one map to the other.
  public static func densityMap(_ path: String, width: Int, height: Int) throws -> [Float] {
    let (values, w, h) = try plane(path)
    if w == width && h == height { return values }
    return try Resize.bilinear(values, height: h, width: w, toHeight: height, toWidth: width)
  }

  /// Fixations as pixel indices into a `width × height` image: a text/CSV file of `x,y` (or
  /// `x y`) pixel columns and rows from 0, one per line, lines without two numbers skipped; or
  /// a binary fixation map (`.npy` or image, non-zero = fixated) of the image's size. Points
  /// outside the image are dropped; repeated points count once per occurrence.
  public static func fixations(_ path: String, width: Int, height: Int) throws -> [Int] {
    let ext = (path as NSString).pathExtension.lowercased()
    if ext == "txt" || ext == "csv" || ext == "tsv" {
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw PipelineError(path, "cannot read the fixations") }
      var out: [Int] = []
      for line in text.split(whereSeparator: \.isNewline) {
        let numbers = line.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == ";" }).compactMap { Double($0) }
        guard numbers.count >= 2, numbers[0].isFinite, numbers[1].isFinite else { continue }
        let x = Int(numbers[0].rounded(.down)), y = Int(numbers[1].rounded(.down))
        if x >= 0, y >= 0, x < width, y < height { out.append(y * width + x) }
      }
      return out
    }
    let (values, w, h) = try plane(path)
    guard w == width, h == height else {
      throw PipelineError(path, "is a \(w)×\(h) fixation map for a \(width)×\(height) image")
    }
    return values.indices.filter { values[$0] != 0 }
  }

  /// A 2-D plane from `.npy` or an image file.
  static func plane(_ path: String) throws -> (values: [Float], width: Int, height: Int) {
    if (path as NSString).pathExtension.lowercased() == "npy" {
      let (v, shape) = try NPYFile.read(URL(fileURLWithPath: path))
      let dims = shape.filter { $0 != 1 }
      guard dims.count == 2 || (shape.count == 2) else { throw PipelineError(path, "is not a 2-D array (shape \(shape))") }
      let h = shape.count == 2 ? shape[0] : dims[0], w = shape.count == 2 ? shape[1] : dims[1]
      guard v.allSatisfy(\.isFinite) else { throw PipelineError(path, "holds NaN or infinite values") }
      return (v, w, h)
    }
    let image = try RGBImageLoader.load(path)
    let n = image.width * image.height
    var out = [Float](repeating: 0, count: n)
    for i in 0..<n {
      out[i] = (Float(image.pixels[3 * i]) + Float(image.pixels[3 * i + 1]) + Float(image.pixels[3 * i + 2])) / 3
    }
    return (out, image.width, image.height)
  }

  /// Where a map in the model's geometry lands on the original image: the source pixels whose
  /// centres fall inside the preset's crop (all of them for `resize224` and `none`), and the
  /// map's bilinear value (half-pixel centres, clamped at the edges) at each.
  public struct SourceRegion: Sendable, Equatable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    /// The region of a `sourceWidth × sourceHeight` image that `geometry` keeps.
    public init(geometry g: ImagePreset.Geometry, sourceWidth: Int, sourceHeight: Int) {
      let sx = Double(g.resizedWidth) / Double(sourceWidth), sy = Double(g.resizedHeight) / Double(sourceHeight)
      func range(_ n: Int, _ s: Double, _ crop: Int, _ size: Int) -> (Int, Int) {
        let inside = (0..<n).filter { let u = (Double($0) + 0.5) * s; return u >= Double(crop) && u < Double(crop + size) }
        return (inside.first ?? 0, inside.count)
      }
      (x, width) = range(sourceWidth, sx, g.cropX, g.width)
      (y, height) = range(sourceHeight, sy, g.cropY, g.height)
    }

    /// `map` (`geometry.height × geometry.width`) sampled at the region's pixels, row-major.
    public func resample(_ map: [Float], geometry g: ImagePreset.Geometry, sourceWidth: Int, sourceHeight: Int) -> [Float] {
      let sx = Double(g.resizedWidth) / Double(sourceWidth), sy = Double(g.resizedHeight) / Double(sourceHeight)
      func tap(_ o: Int, _ s: Double, _ crop: Int, _ size: Int) -> (Int, Int, Double) {
        let u = min(max((Double(o) + 0.5) * s - Double(crop) - 0.5, 0), Double(size - 1))
        let i0 = min(Int(u.rounded(.down)), size - 1)
        return (i0, min(i0 + 1, size - 1), u - Double(i0))
      }
      let xs = (x..<(x + width)).map { tap($0, sx, g.cropX, g.width) }
      let ys = (y..<(y + height)).map { tap($0, sy, g.cropY, g.height) }
      var out = [Float](repeating: 0, count: width * height)
      for (r, ty) in ys.enumerated() {
        for (c, tx) in xs.enumerated() {
          let a = Double(map[ty.0 * g.width + tx.0]), b = Double(map[ty.0 * g.width + tx.1])
          let d = Double(map[ty.1 * g.width + tx.0]), e = Double(map[ty.1 * g.width + tx.1])
          out[r * width + c] = Float((1 - ty.2) * ((1 - tx.2) * a + tx.2 * b) + ty.2 * ((1 - tx.2) * d + tx.2 * e))
        }
      }
      return out
    }

    /// The region's part of a full-image plane.
    public func crop<T>(_ plane: [T], sourceWidth: Int) -> [T] {
      (y..<(y + height)).flatMap { r in plane[(r * sourceWidth + x)..<(r * sourceWidth + x + width)] }
    }

    /// Full-image pixel indices inside the region, as indices into the region.
    public func crop(indices: [Int], sourceWidth: Int) -> [Int] {
      indices.compactMap { i in
        let cx = i % sourceWidth - x, cy = i / sourceWidth - y
        return cx >= 0 && cy >= 0 && cx < width && cy < height ? cy * width + cx : nil
      }
    }
  }
}
