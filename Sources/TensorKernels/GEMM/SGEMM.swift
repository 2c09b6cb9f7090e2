import ParallelRuntime

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    /// op(X) = X.
    case none
    /// op(X) = Xᵀ.
    case transposed
}

/// Single-precision GEMM: C ← α·op(A)·op(B) + β·C, with op(A) m × k, op(B) k × n, C m × n,
/// all row-major. Element (i, j) of C is `c[i·ldc + j]`; op(A)'s element (i, p) is
/// `a[i·lda + p]`, or `a[p·lda + i]` when `transA` is `.transposed` (A stored k × m); likewise
/// op(B)'s (p, j) is `b[p·ldb + j]` or `b[j·ldb + p]`.
///
/// Exactly what is computed, for every thread count, ISA variant, blocking and path (so all of
/// them give the same bits; DESIGN §4): each element of C is one chain
///
///     acc = β·c[i,j]      (exactly 0 when β = 0, and C is then never read: NaN in C is ignored;
///                          c[i,j] itself when β = 1)
///     acc = fma(α·a[i,p], b[p,j], acc)   for p = 0, 1, …, k − 1 in order
///     c[i,j] = acc
///
/// where `α·a` is one rounded product (exactly `a` when α = 1) and `fma` rounds once. When
/// k = 0 or α = 0, C ← β·C and A and B are not read. The result does not depend on the thread
/// count: work is split over tiles of C, never over k.
///
/// Runs on `pool` (BLIS loops over packed panels in the pool's per-thread scratch, or a
/// small-matrix path without packing A); may be called from inside a task of the same pool.
/// Allocates nothing once the scratch has grown to the shape's need.
///
/// - Precondition: m, n, k ≥ 0; `lda` ≥ max(1, width of A as stored) — k, or m when
///   transposed — and likewise `ldb` ≥ n (k when transposed) and `ldc` ≥ max(1, n). C must
///   not overlap A or B. Traps if the packing scratch cannot be allocated.
public func sgemm(transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
                  alpha: Float, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool) {
    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
          b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pool: pool,
          kernel: .current, path: .automatic)
}

/// `sgemm` with an explicit micro-kernel (hence ISA and blocking) and path, for tests and
/// benchmarks; none of them changes a bit of the result.
///
/// - Precondition: as `sgemm`, and the CPU supports `kernel.isa`.
package func sgemm(transA: Transpose, transB: Transpose, m: Int, n: Int, k: Int,
                   alpha: Float, a: UnsafePointer<Float>, lda: Int,
                   b: UnsafePointer<Float>, ldb: Int,
                   beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool,
                   kernel: SGEMMMicroKernel, path: SGEMMPath) {
    precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: sizes must be ≥ 0, got m \(m) n \(n) k \(k)")
    let aWidth = transA == .transposed ? m : k
    let bWidth = transB == .transposed ? k : n
    precondition(lda >= max(1, aWidth),
                 "sgemm: lda \(lda) < \(max(1, aWidth)) (width of A, transA \(transA), m \(m), k \(k))")
    precondition(ldb >= max(1, bWidth),
                 "sgemm: ldb \(ldb) < \(max(1, bWidth)) (width of B, transB \(transB), k \(k), n \(n))")
    precondition(ldc >= max(1, n), "sgemm: ldc \(ldc) < \(max(1, n)) (n)")
    precondition(kernel.isa.isSupported, "sgemm: this CPU cannot run \(kernel.name)")
    if m == 0 || n == 0 { return }
    if k == 0 || alpha == 0 {
        SGEMMDriver.scale(m: m, n: n, beta: beta, c: c, ldc: ldc, pool: pool)
        return
    }
    let small: Bool
    switch path {
    case .automatic:
        small = SGEMMDriver.prefersSmallPath(m: m, n: n, k: k, alpha: alpha, transB: transB,
                                             kernel: kernel)
    case .packed: small = false
    case .small: small = alpha == 1
    }
    if small {
        SGEMMDriver.small(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda,
                          b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pool: pool, kernel: kernel)
    } else {
        SGEMMDriver.packed(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                           a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                           pool: pool, kernel: kernel)
    }
}
