#if canImport(Glibc)
import Glibc
#endif
import ParallelRuntime
@testable import TensorKernels

/// One SGEMM call's inputs, stored with leading dimensions larger than the widths (the gaps
/// hold NaN, so reading them would show), and C's gaps hold a sentinel that must survive.
struct GEMMProblem: CustomStringConvertible, Sendable {
    static let gapValue = Float(-12345.5)

    let transA: Transpose, transB: Transpose
    let m: Int, n: Int, k: Int
    let alpha: Float, beta: Float
    let lda: Int, ldb: Int, ldc: Int
    let a: [Float], b: [Float], c: [Float]

    init(_ m: Int, _ n: Int, _ k: Int, transA: Transpose = .none, transB: Transpose = .none,
         alpha: Float = 1, beta: Float = 0, gap: Int = 3, seed: UInt64 = 1) {
        self.transA = transA; self.transB = transB
        self.m = m; self.n = n; self.k = k
        self.alpha = alpha; self.beta = beta
        let aRows = transA == .none ? m : k, aWidth = transA == .none ? k : m
        let bRows = transB == .none ? k : n, bWidth = transB == .none ? n : k
        lda = max(1, aWidth + gap); ldb = max(1, bWidth + gap); ldc = max(1, n + gap)
        a = GEMMProblem.matrix(rows: aRows, width: aWidth, ld: lda, seed: seed, stream: 0, gap: .nan)
        b = GEMMProblem.matrix(rows: bRows, width: bWidth, ld: ldb, seed: seed, stream: 1, gap: .nan)
        c = GEMMProblem.matrix(rows: m, width: n, ld: ldc, seed: seed, stream: 2,
                               gap: GEMMProblem.gapValue)
    }

    /// Uniform values in [-1, 1) from a seeded stream; `gap` past the width of each row.
    static func matrix(rows: Int, width: Int, ld: Int, seed: UInt64, stream: Int,
                       gap: Float) -> [Float] {
        let random = RandomStream(seed: seed, purpose: .custom(stream: stream))
        var values = [Float](repeating: gap, count: max(1, rows * ld))
        for r in 0..<rows {
            for j in 0..<width {
                values[r * ld + j] = random.uniform(at: UInt64(r * width + j), step: 0) * 2 - 1
            }
        }
        return values
    }

    func aValue(_ i: Int, _ p: Int) -> Float { transA == .none ? a[i * lda + p] : a[p * lda + i] }
    func bValue(_ p: Int, _ j: Int) -> Float { transB == .none ? b[p * ldb + j] : b[j * ldb + p] }

    /// Runs sgemm on a copy of C and returns it.
    func run(pool: ThreadPool, kernel: SGEMMMicroKernel? = nil, path: SGEMMPath = .automatic,
             initialC: [Float]? = nil) -> [Float] {
        var result = initialC ?? c
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                result.withUnsafeMutableBufferPointer { cBuffer in
                    if let kernel {
                        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                              a: aBuffer.baseAddress!, lda: lda, b: bBuffer.baseAddress!, ldb: ldb,
                              beta: beta, c: cBuffer.baseAddress!, ldc: ldc, pool: pool,
                              kernel: kernel, path: path)
                    } else {
                        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                              a: aBuffer.baseAddress!, lda: lda, b: bBuffer.baseAddress!, ldb: ldb,
                              beta: beta, c: cBuffer.baseAddress!, ldc: ldc, pool: pool)
                    }
                }
            }
        }
        return result
    }

    /// The documented arithmetic, element by element with libm's `fmaf`: acc = β·c (0 for
    /// β = 0), then acc = fma(α·a, b, acc) in k order. C's gaps keep their values.
    func exactChain() -> [Float] {
        var result = c
        for i in 0..<m {
            for j in 0..<n {
                let old = c[i * ldc + j]
                var acc: Float = beta == 0 ? 0 : (beta == 1 ? old : beta * old)
                if alpha != 0 {
                    for p in 0..<k {
                        let scaled = alpha == 1 ? aValue(i, p) : alpha * aValue(i, p)
                        acc = fmaf(scaled, bValue(p, j), acc)
                    }
                }
                result[i * ldc + j] = acc
            }
        }
        return result
    }

    /// α·op(A)·op(B) + β·C in double precision, with an error bound for a float result:
    /// (k + 2)·2⁻²³·(|α|·Σ|a·b| + |β·c|), the classic γ bound with a factor 2 to spare.
    func reference() -> (values: [Double], bounds: [Double]) {
        var values = [Double](repeating: 0, count: m * n)
        var bounds = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let product = Double(aValue(i, p)) * Double(bValue(p, j))
                    sum += product
                    magnitude += abs(product)
                }
                let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                values[i * n + j] = Double(alpha) * sum + old
                bounds[i * n + j] = Double(k + 2) * 0x1p-23 * (abs(Double(alpha)) * magnitude + abs(old))
                    + Double(Float.leastNormalMagnitude)
            }
        }
        return (values, bounds)
    }

    var description: String {
        "\(m)×\(n)×\(k) A\(transA == .none ? "" : "ᵀ") B\(transB == .none ? "" : "ᵀ") α \(alpha) β \(beta)"
    }
}

/// Bit patterns, so that NaN compares equal to itself and -0 differs from +0.
func bitPatterns(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// The micro-kernels this CPU can run.
let supportedKernels: [SGEMMMicroKernel] = [
    SGEMMMicroKernel.portable, .avx2x6, .avx512x8, .avx512x12, .avx512x14,
].filter { $0.isa.isSupported }

/// A kernel by name (Swift Testing arguments must be Sendable and printable).
func kernel(named name: String) -> SGEMMMicroKernel {
    supportedKernels.first { $0.name == name }!
}
