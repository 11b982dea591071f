import GeoCAMAudit
import Testing

@Suite struct LabelMatchingTests {
  typealias C = LabelMatching.Candidate
  typealias L = LabelMatching.Label

  @Test func oneLabelTwoDetectionsTheMoreConfidentWins() {
    let labels = [L(id: 10, classIndex: 1, pixels: 100)]
    let dets = [C(id: 1, classIndex: 1, pixels: 100, probMean: 0.6), C(id: 2, classIndex: 1, pixels: 100, probMean: 0.9)]
    let m = LabelMatching(candidates: dets, labels: labels, overlaps: [1: [10: 90], 2: [10: 80]], threshold: 0.5)
    #expect(m.outcomes[2]?.status == .tp && m.outcomes[2]?.labelId == 10)
    #expect(m.outcomes[1]?.status == .fp)
    #expect(m.missed.isEmpty)
  }

  @Test func twoLabelsOneDetectionTheBestIoUIsTakenTheOtherMissed() {
    let labels = [L(id: 1, classIndex: 2, pixels: 50), L(id: 2, classIndex: 2, pixels: 60)]
    let dets = [C(id: 7, classIndex: 2, pixels: 110, probMean: 0.8)]
    let m = LabelMatching(candidates: dets, labels: labels, overlaps: [7: [1: 50, 2: 60]], threshold: 0.5)
    #expect(m.outcomes[7]?.status == .tp && m.outcomes[7]?.labelId == 2)
    #expect(abs((m.outcomes[7]?.iou ?? 0) - 60.0 / 110) < 1e-12)
    #expect(m.missed.map(\.id) == [1])
  }

  @Test func wrongClassLeavesTheLabelMissedForItsClass() {
    let labels = [L(id: 1, classIndex: 2, pixels: 100)]
    let dets = [C(id: 3, classIndex: 1, pixels: 100, probMean: 0.7)]
    let m = LabelMatching(candidates: dets, labels: labels, overlaps: [3: [1: 100]], threshold: 0.5)
    #expect(m.outcomes[3]?.status == .wrongClass && m.outcomes[3]?.labelId == 1)
    #expect(m.missed.map(\.id) == [1])
    let counts = m.counts(classes: [1, 2], candidates: dets)
    #expect(counts[1]?.wrongClass == 1 && counts[2]?.fn == 1 && counts[1]?.tp == 0)
  }

  @Test func iouExactlyAtTheThresholdMatches() {
    // 100 shared of 100 + 200 − 100 = 200: IoU exactly 0.5.
    let labels = [L(id: 1, classIndex: 1, pixels: 200)]
    let at = LabelMatching(
      candidates: [C(id: 1, classIndex: 1, pixels: 100, probMean: 0.5)], labels: labels, overlaps: [1: [1: 100]],
      threshold: 0.5)
    #expect(at.outcomes[1]?.status == .tp)
    let below = LabelMatching(
      candidates: [C(id: 1, classIndex: 1, pixels: 100, probMean: 0.5)], labels: labels, overlaps: [1: [1: 99]],
      threshold: 0.5)
    #expect(below.outcomes[1]?.status == .fp)
    #expect(abs((below.outcomes[1]?.iou ?? 0) - 99.0 / 201) < 1e-12)
  }

  @Test func aucCountsTiesHalf() {
    #expect(rocAUC(positives: [0.9, 0.5], negatives: [0.5, 0.1]) == 0.875)
    #expect(rocAUC(positives: [], negatives: [1]) == nil)
  }

  @Test func suspicionFollowsItsFormula() {
    let e = ["gradcam": Detection.Evidence(inside: 0.02, ring: 0.06, peakInside: false),
             "guided-gradcam": Detection.Evidence(inside: 0.5, ring: 0.1, peakInside: true)]
    // Guided maps are ignored: focus = 0.02 / 0.08 = 0.25.
    #expect(Suspicion.focus(e) == 0.25)
    let s = Suspicion.score(margin: 0.4, focus: 0.25, area: 1, medianArea: 2)
    #expect(abs(s - (0.5 * 0.6 + 0.3 * 0.75 + 0.2 * 0.5)) < 1e-12)
    #expect(Suspicion.median([3, 1, 2, 10]) == 2.5)
  }
}
