import COpenBLAS

/// Row-major single-precision GEMM, `C = alpha·op(A)·op(B) + beta·C`, split over the workers.
///
/// Each worker calls single-threaded OpenBLAS on a block of C's columns (or rows when C is
/// narrow), so both cores run with FTZ/DAZ and no second thread pool competes.
public enum Gemm {
  /// Minimum work (M·N·K) before splitting across workers pays for the hand-off.
  @usableFromInline static let splitThreshold = 1 << 18

  /// Computes `C[M×N] = alpha·op(A)·op(B) + beta·C` (row-major, leading dimensions in elements).
  @inlinable
  public static func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true
  ) {
    if m == 0 || n == 0 { return }
    let workers = parallel ? Parallel.workers : 1
    if workers <= 1 || m * n * k < splitThreshold {
      call(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
      return
    }
    if n >= 64 * workers {
      // Split columns of C (and of op(B)).
      Parallel.forEach(chunks: workers) { w in
        let lo = (n * w / workers) & ~15
        let hi = w == workers - 1 ? n : (n * (w + 1) / workers) & ~15
        if hi <= lo { return }
        let bOffset = transB ? lo * ldb : lo
        call(transA, transB, m, hi - lo, k, alpha, a, lda, b + bOffset, ldb, beta, c + lo, ldc)
      }
    } else {
      // Split rows of C (and of op(A)).
      Parallel.forEach(chunks: workers) { w in
        let lo = m * w / workers
        let hi = m * (w + 1) / workers
        if hi <= lo { return }
        let aOffset = transA ? lo : lo * lda
        call(transA, transB, hi - lo, n, k, alpha, a + aOffset, lda, b, ldb, beta, c + lo * ldc, ldc)
      }
    }
  }

  @usableFromInline
  static func call(
    _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    if k == 0 {
      // BLAS leaves C untouched when K == 0 only if beta == 1; make the result defined.
      for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
      return
    }
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }
}
