import GeoCAMImaging
import Testing

@Suite struct ResizeTests {
  @Test func matchesCV2ResizeInterLinear() throws {
    let fixture = try ImagingFixtures.load("resize_bilinear.json", as: ImagingFixtures.ResizeCases.self)
    #expect(fixture.cases.count == 10)
    for c in fixture.cases {
      let out = try Resize.bilinear(
        c.src.map { Float($0) }, height: c.height, width: c.width, toHeight: c.toHeight, toWidth: c.toWidth)
      let shape = "\(c.width)x\(c.height) → \(c.toWidth)x\(c.toHeight)"
      // Bit-exact with OpenCV's own implementation…
      #expect(out == c.dst.map { Float($0) }, "\(shape)")
      // …and within 2 ulp (values in [0, 1]) of what a default (Intel IPP) wheel returns.
      let worst = zip(out, c.dstIPP).map { abs(Double($0) - $1) }.max() ?? 0
      #expect(worst <= 2.4e-7, "\(shape): max diff to IPP \(worst)")
    }
  }

  @Test func sameSizeIsIdentity() throws {
    let src: [Float] = [0.1, 0.7, 0.3, 0.9, 0.2, 0.5]
    #expect(try Resize.bilinear(src, height: 2, width: 3, toHeight: 2, toWidth: 3) == src)
  }

  @Test func halfPixelCentresAndClamping() throws {
    // 2 → 4: positions −0.25, 0.25, 0.75, 1.25 → clamp, 0.75·a+0.25·b, 0.25·a+0.75·b, clamp.
    let out = try Resize.bilinear([0, 1], height: 1, width: 2, toHeight: 1, toWidth: 4)
    #expect(out == [0, 0.25, 0.75, 1])
  }

  @Test func validation() {
    #expect(throws: ImagingError.self) { try Resize.bilinear([1, 2, 3], height: 2, width: 2, toHeight: 4, toWidth: 4) }
    #expect(throws: ImagingError.self) { try Resize.bilinear([1], height: 1, width: 1, toHeight: 0, toWidth: 4) }
  }
}
