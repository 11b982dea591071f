import Foundation
import GeoCAMExplain
import GeoCAMModels
import GeoCAMTensor
import GeoCAMTestSupport
import Testing

/// FEM and RISE against their references (Scripts/fixtures/make_blackbox_fixtures.py): the
/// published FEM's NumPy port, pytorch-grad-cam's FEM, and eclique/RISE's masks and saliency on
/// the tiny classifier for the same grids and shifts.
@Suite("Black-box and FEM explainers match their references")
struct BlackBoxParityTests {
  static let dir = Fixtures.explain.appendingPathComponent("blackbox")
  static func npy(_ name: String) throws -> (values: [Float], shape: [Int]) { try NPYFile.read(dir.appendingPathComponent(name)) }

  static func tinySession() throws -> ExplanationSession {
    let bundle = try ModelBundle.load(path: Fixtures.models.appendingPathComponent("classifier_tiny.safetensors").path)
    let (v, shape) = try npy("image.u8.npy")
    let pixels = Tensor(channels: shape[0], batch: 1, height: shape[1], width: shape[2], values: v)
    return try ExplanationSession(model: bundle.model, preprocessing: bundle.preprocessing, pixels: pixels)
  }

  static func maxError(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
  }

  @Test("FEM: the published method and pytorch-grad-cam's variant")
  func fem() throws {
    let (v, shape) = try Self.npy("fem_acts.f32.npy")
    let a = Tensor(channels: shape[0], batch: 1, height: shape[1], width: shape[2], values: v)
    let published = FEM.published(a)
    let ref = try Self.npy("fem.f64.npy").values
    #expect(published.count == ref.count && ref.contains { $0 > 0 })
    #expect(Self.maxError(published, ref) <= 1e-6)
    let pgc = FEMPytorchGradCAM.map(a)
    let pgcRef = try Self.npy("fem_pgc.f32.npy").values
    #expect(pgc.count == pgcRef.count && pgcRef.contains { $0 > 0 })
    #expect(Self.maxError(pgc, pgcRef) <= 1e-5 * (pgcRef.max() ?? 1))
    // The two differ: the published one is binary masks weighted by means, scaled to max 1.
    #expect(Self.maxError(published, pgc) > 1e-2)
  }

  @Test("RISE masks equal skimage's resize + crop for the same grids and shifts")
  func riseMasks() throws {
    let (grids, gshape) = try Self.npy("rise_grids.f32.npy")
    let shifts = try Self.npy("rise_shifts.i64.npy").values.map { Int($0) }
    let (masks, mshape) = try Self.npy("rise_masks.f32.npy")
    let n = gshape[0], s = gshape[1], h = mshape[1], w = mshape[2]
    #expect(n == 12 && h == 48 && w == 64)
    for i in 0..<n {
      let m = RISE.mask(grid: Array(grids[(i * s * s)..<((i + 1) * s * s)]), cells: s, height: h, width: w, shiftY: shifts[2 * i], shiftX: shifts[2 * i + 1])
      let ref = Array(masks[(i * h * w)..<((i + 1) * h * w)])
      #expect(Self.maxError(m, ref) <= 1e-6, "mask \(i)")
    }
  }

  @Test("RISE saliency on the tiny classifier equals eclique/RISE's for the same masks")
  func riseSaliency() throws {
    let session = try Self.tinySession()
    let expected = try JSONDecoder().decode([String: Double].self, from: Data(contentsOf: Self.dir.appendingPathComponent("expected.json")).filteredNumbers())
    let top = Int(expected["top"] ?? -1)
    let (masks, mshape) = try Self.npy("rise_masks.f32.npy")
    let plane = mshape[1] * mshape[2]
    let context = CAMContext(session: session, classes: [top], target: .classMean)
    let rise = RISE(masks: mshape[0], cells: 7, keep: 0.5, batchSize: 5)
    let maps = try rise.saliency(context, count: mshape[0]) { Array(masks[($0 * plane)..<(($0 + 1) * plane)]) }
    let ref = try Self.npy("rise_saliency.f64.npy").values
    #expect(maps.count == 1 && ref.contains { $0 > 0 })
    #expect(Self.maxError(maps[0], ref) <= 1e-6)
  }

  @Test("RISE and FEM through the explainer: deterministic for a seed, input-sized, class-agnostic FEM")
  func explainer() throws {
    let session = try Self.tinySession()
    var settings = BlackBoxSettings()
    settings.riseMasks = 40
    settings.seed = 7
    let explainer = Explainer(methods: [.rise, .fem], blackBox: settings)
    let a = try explainer.explain(session, classes: [1, 5])
    let b = try explainer.explain(session, classes: [1, 5])
    #expect(a.explanations.count == 4)
    for (x, y) in zip(a.explanations, b.explanations) { #expect(x.values == y.values) }
    let rise = a.explanations.filter { $0.method == .rise }
    #expect(rise.allSatisfy { $0.shape == [1, 48, 64] })
    #expect(rise[0].values != rise[1].values)
    let fem = a.explanations.filter { $0.method == .fem }
    #expect(fem[0].values == fem[1].values)
    settings.seed = 8
    let c = try Explainer(methods: [.rise], blackBox: settings).explain(session, classes: [1])
    #expect(c.explanations[0].values != rise[0].values)
  }
}

extension BlackBoxParityTests {
  @Test("LIME: deterministic for a seed, one weight per SLIC superpixel, its sample matrix as lime builds it")
  func lime() throws {
    let session = try Self.tinySession()
    let method = LIME(samples: 60, seed: 3, batchSize: 7)
    let context = CAMContext(session: session, classes: [5], target: .classMean)
    let a = try method.maps(context), b = try method.maps(context)
    #expect(a == b && a.count == 1 && a[0].count == 48 * 64)
    let labels = try method.segments(session)
    // Constant within a superpixel, and not all zero.
    var weightOf: [Int32: Float] = [:]
    for (i, l) in labels.enumerated() {
      if let w = weightOf[l] { #expect(w == a[0][i]) } else { weightOf[l] = a[0][i] }
    }
    #expect(weightOf.count > 10 && weightOf.values.contains { $0 != 0 })
    let rows = LIME.sampleMatrix(count: 5, features: 9, seed: 3)
    #expect(rows[0] == [UInt8](repeating: 1, count: 9) && rows.dropFirst().allSatisfy { $0.allSatisfy { $0 <= 1 } })
    #expect(rows == LIME.sampleMatrix(count: 5, features: 9, seed: 3) && rows != LIME.sampleMatrix(count: 5, features: 9, seed: 4))
    let other = try LIME(samples: 60, seed: 4, batchSize: 7).maps(context)
    #expect(other != a)
  }
}

extension Data {
  /// The fixture's JSON with its arrays dropped, so the numbers decode as one dictionary.
  fileprivate func filteredNumbers() throws -> Data {
    let object = try JSONSerialization.jsonObject(with: self) as? [String: Any] ?? [:]
    return try JSONSerialization.data(withJSONObject: object.filter { $0.value is NSNumber })
  }
}
