import ParallelRuntime
import Testing
@testable import TensorKernels

@Suite("Matmul")
struct MatmulTests {
    /// A seeded rows × columns tensor with values in [-1, 1).
    static func tensor(_ rows: Int, _ columns: Int, seed: UInt64) throws -> Tensor {
        try Tensor(GEMMProblem.matrix(rows: rows, width: columns, ld: columns, seed: seed,
                                      stream: 0, gap: 0).prefix(rows * columns).map { $0 },
                   shape: [rows, columns])
    }

    @Test("matmul gives the bits of sgemm for every transpose pair",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matchesSGEMM(transposeA: Bool, transposeB: Bool) throws {
        let pool = ThreadPool(threads: 2)
        let (m, n, k) = (37, 53, 300)
        let a = try Self.tensor(transposeA ? k : m, transposeA ? m : k, seed: 1)
        let b = try Self.tensor(transposeB ? n : k, transposeB ? k : n, seed: 2)
        let product = try matmul(a, b, transposeA: transposeA, transposeB: transposeB, pool: pool)
        #expect(product.shape == [m, n])
        var expected = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                sgemm(transA: transposeA ? .transposed : .none,
                      transB: transposeB ? .transposed : .none, m: m, n: n, k: k, alpha: 1,
                      a: aBuffer.baseAddress!, lda: a.shape[1], b: bBuffer.baseAddress!,
                      ldb: b.shape[1], beta: 0, c: &expected, ldc: n, pool: pool)
            }
        }
        #expect(bitPatterns(product.scalars) == bitPatterns(expected))
    }

    @Test("matmul into an existing tensor with β = 1 accumulates")
    func accumulatesInto() throws {
        let pool = ThreadPool(threads: 2)
        let a = try Self.tensor(5, 7, seed: 3), b = try Self.tensor(7, 4, seed: 4)
        let once = try matmul(a, b, pool: pool)
        var result = once
        try matmul(a, b, beta: 1, into: &result, pool: pool)
        #expect(!result.sharesStorage(with: once))
        for i in 0..<result.count {
            let twice = once[flat: i] + once[flat: i]
            #expect(abs(result[flat: i] - twice) <= 1e-5 * max(1, abs(twice)))
        }
    }

    @Test("Inner dimensions that differ throw a ShapeError naming both shapes")
    func mismatchedInnerDimensions() throws {
        let pool = ThreadPool(threads: 1)
        let a = try Tensor(zeros: [3, 4]), b = try Tensor(zeros: [5, 2])
        #expect(throws: ShapeError.self) { try matmul(a, b, pool: pool) }
        #expect(throws: ShapeError.self) { try matmul(a, b, transposeB: true, pool: pool) }
        let c = try Tensor(zeros: [5, 4])
        #expect(throws: Never.self) { try matmul(a, c, transposeB: true, pool: pool) }
        #expect(throws: ShapeError.self) { try matmul(a, c, transposeA: true, transposeB: true, pool: pool) }
    }

    @Test("A tensor that is not rank 2 throws a ShapeError")
    func nonMatrixOperand() throws {
        let pool = ThreadPool(threads: 1)
        let a = try Tensor(zeros: [2, 3, 4]), b = try Tensor(zeros: [4, 2])
        #expect(throws: ShapeError.self) { try matmul(a, b, pool: pool) }
        #expect(throws: ShapeError.self) { try matmul(b, a, pool: pool) }
    }

    @Test("A result of the wrong shape throws a ShapeError")
    func wrongResultShape() throws {
        let pool = ThreadPool(threads: 1)
        let a = try Tensor(zeros: [3, 4]), b = try Tensor(zeros: [4, 2])
        var result = try Tensor(zeros: [2, 3])
        #expect(throws: ShapeError.self) { try matmul(a, b, into: &result, pool: pool) }
    }

    @Test("Empty dimensions give an empty or zero product")
    func emptyDimensions() throws {
        let pool = ThreadPool(threads: 1)
        let zeroDepth = try matmul(try Tensor(zeros: [3, 0]), try Tensor(zeros: [0, 2]), pool: pool)
        #expect(zeroDepth.shape == [3, 2] && zeroDepth.scalars == [0, 0, 0, 0, 0, 0])
        let noRows = try matmul(try Tensor(zeros: [0, 4]), try Tensor(zeros: [4, 2]), pool: pool)
        #expect(noRows.shape == [0, 2])
    }
}
