import ParallelRuntime

/// Matrix product of two rank-2 tensors: op(a) · op(b), where op transposes when asked
/// (`transposeA`: a is stored k × m; `transposeB`: b is stored n × k). The result is a new
/// m × n tensor, computed by `sgemm` with α = 1, β = 0 (same bits for any thread count and ISA).
///
/// - Throws: `ShapeError` naming both shapes if either tensor is not rank 2 or the inner
///   dimensions differ; `AllocationError`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                   pool: ThreadPool) throws -> Tensor {
    let (m, _, n) = try matmulShape(a.shape, b.shape, transposeA: transposeA,
                                    transposeB: transposeB)
    var result = try Tensor(uninitializedShape: [m, n]) { _ in }
    try matmul(a, b, transposeA: transposeA, transposeB: transposeB, beta: 0, into: &result,
               pool: pool)
    return result
}

/// Matrix product into an existing tensor: `result ← op(a)·op(b) + β·result` (β = 0 ignores
/// what `result` holds, NaN included). Reuses `result`'s storage when it is not shared, so a
/// steady-state training step allocates nothing. `result` must not share storage with `a` or
/// `b` (it is copied first if it does, so the inputs are never overwritten).
///
/// - Throws: `ShapeError` if a shape is not rank 2, the inner dimensions differ, or `result`
///   is not m × n; `AllocationError`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                   beta: Float = 0, into result: inout Tensor, pool: ThreadPool) throws {
    let (m, k, n) = try matmulShape(a.shape, b.shape, transposeA: transposeA,
                                    transposeB: transposeB)
    // Compared element by element: `[m, n]` would allocate on every call.
    guard result.rank == 2 && result.shape[0] == m && result.shape[1] == n else {
        throw ShapeError(operation: "matmul(into:)", expected: [m, n], actual: result.shape)
    }
    try result.makeUnique()
    let lda = max(1, a.shape[1]), ldb = max(1, b.shape[1])
    a.withUnsafeBufferPointer { aBuffer in
        b.withUnsafeBufferPointer { bBuffer in
            result.withUnsafeMutableBufferPointer { cBuffer in
                guard let aBase = aBuffer.baseAddress, let bBase = bBuffer.baseAddress,
                      let cBase = cBuffer.baseAddress else { return }
                sgemm(transA: transposeA ? .transposed : .none,
                      transB: transposeB ? .transposed : .none, m: m, n: n, k: k, alpha: 1,
                      a: aBase, lda: lda, b: bBase, ldb: ldb, beta: beta, c: cBase,
                      ldc: max(1, n), pool: pool)
            }
        }
    }
}

/// (m, k, n) of op(a)·op(b), or a `ShapeError` naming both shapes.
func matmulShape(_ a: [Int], _ b: [Int], transposeA: Bool,
                 transposeB: Bool) throws(ShapeError) -> (m: Int, k: Int, n: Int) {
    guard a.count == 2 else {
        throw ShapeError(operation: "matmul", expected: [-1, -1], actual: a,
                         detail: "the left operand must be a matrix (rank 2)")
    }
    guard b.count == 2 else {
        throw ShapeError(operation: "matmul", expected: [-1, -1], actual: b,
                         detail: "the right operand must be a matrix (rank 2)")
    }
    let (m, k) = transposeA ? (a[1], a[0]) : (a[0], a[1])
    let (kb, n) = transposeB ? (b[1], b[0]) : (b[0], b[1])
    guard k == kb else {
        throw ShapeError(operation: "matmul", expected: transposeB ? [n, k] : [k, n], actual: b,
                         detail: "inner dimensions differ: op(a) is \(m)×\(k), op(b) is \(kb)×\(n)")
    }
    return (m, k, n)
}
