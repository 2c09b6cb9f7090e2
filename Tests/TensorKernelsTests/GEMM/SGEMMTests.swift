import Foundation
import ParallelRuntime
import Testing
@testable import TensorKernels

/// Problems over edge shapes (1×1×1, primes, not multiples of MR, NR, KC or MC, k across a KC
/// boundary), every transpose pair, and α, β ∈ {(1, 0), (1, 1), (1, 0.5), (−0.75, 0),
/// (−0.75, 0.5)}, each with its documented result computed with libm's `fmaf`.
enum SGEMMFixture {
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (2, 3, 5), (7, 13, 11), (12, 32, 16), (13, 33, 17), (5, 47, 257),
        (37, 100, 61), (97, 31, 263), (150, 131, 40), (29, 200, 70), (16, 16, 9), (25, 48, 30),
    ]
    static let scalars: [(Float, Float)] = [(1, 0), (1, 1), (1, 0.5), (-0.75, 0), (-0.75, 0.5)]
    static let transposes: [(Transpose, Transpose)] = [
        (.none, .none), (.transposed, .none), (.none, .transposed), (.transposed, .transposed),
    ]

    static let problems: [GEMMProblem] = {
        var problems: [GEMMProblem] = []
        var seed: UInt64 = 10
        for (m, n, k) in shapes {
            for (transA, transB) in transposes {
                // All five (α, β) pairs on small shapes; two on the larger ones.
                let pairs = m * n * k < 20_000 ? scalars : [scalars[(m + n) % 5], scalars[(k + 2) % 5]]
                for (alpha, beta) in pairs {
                    seed += 1
                    problems.append(GEMMProblem(m, n, k, transA: transA, transB: transB,
                                                alpha: alpha, beta: beta, gap: 1 + Int(seed % 5),
                                                seed: seed))
                }
            }
        }
        return problems
    }()

    static let expected: [[Float]] = problems.map { $0.exactChain() }
}

@Suite("SGEMM")
struct SGEMMTests {
    @Test("The documented FMA chain is within the error bound of a double-precision reference")
    func chainMatchesReference() {
        for (problem, expected) in zip(SGEMMFixture.problems, SGEMMFixture.expected) {
            let (values, bounds) = problem.reference()
            for i in 0..<problem.m {
                for j in 0..<problem.n {
                    let got = Double(expected[i * problem.ldc + j])
                    let error = abs(got - values[i * problem.n + j])
                    #expect(error <= bounds[i * problem.n + j],
                            "\(problem) at (\(i), \(j)): \(got) vs \(values[i * problem.n + j])")
                }
            }
        }
    }

    @Test("Every kernel variant and path gives exactly the documented bits",
          arguments: supportedKernels.map(\.name), [SGEMMPath.packed, .small])
    func kernelsGiveDocumentedBits(kernelName: String, path: SGEMMPath) {
        let pool = ThreadPool(threads: 2)
        let kernel = kernel(named: kernelName)
        for (problem, expected) in zip(SGEMMFixture.problems, SGEMMFixture.expected) {
            let got = problem.run(pool: pool, kernel: kernel, path: path)
            #expect(bitPatterns(got) == bitPatterns(expected), "\(kernelName) \(path): \(problem)")
        }
    }

    @Test("The public entry point gives the documented bits")
    func publicEntryPoint() {
        let pool = ThreadPool(threads: 2)
        for (problem, expected) in zip(SGEMMFixture.problems, SGEMMFixture.expected) {
            #expect(bitPatterns(problem.run(pool: pool)) == bitPatterns(expected), "\(problem)")
        }
    }

    @Test("k = 0 and α = 0 set C to β·C without reading A or B",
          arguments: [Float(0), 1, 0.5])
    func emptyDepthScalesC(beta: Float) {
        let pool = ThreadPool(threads: 2)
        for (k, alpha) in [(0, Float(1)), (9, Float(0))] {
            let problem = GEMMProblem(19, 37, k, alpha: alpha, beta: beta)
            var poisoned = problem.c
            poisoned[0] = .nan  // element (0, 0): NaN·β is NaN unless β = 0
            let got = problem.run(pool: pool, initialC: poisoned)
            for i in 0..<problem.m {
                for j in 0..<problem.ldc {
                    let old = poisoned[i * problem.ldc + j]
                    let want = j >= problem.n ? old : (beta == 0 ? 0 : (beta == 1 ? old : beta * old))
                    #expect(got[i * problem.ldc + j].bitPattern == want.bitPattern,
                            "k \(k) α \(alpha) β \(beta) at (\(i), \(j))")
                }
            }
        }
    }

    @Test("m = 0 or n = 0 leaves C untouched")
    func emptyOutput() {
        let pool = ThreadPool(threads: 2)
        for (m, n) in [(0, 5), (5, 0), (0, 0)] {
            let problem = GEMMProblem(m, n, 7, beta: 0.5)
            #expect(bitPatterns(problem.run(pool: pool)) == bitPatterns(problem.c))
        }
    }

    @Test("β = 0 ignores NaN already in C", arguments: supportedKernels.map(\.name))
    func betaZeroIgnoresNaN(kernelName: String) {
        let pool = ThreadPool(threads: 2)
        for path in [SGEMMPath.packed, .small] {
            for (transA, transB) in SGEMMFixture.transposes {
                let problem = GEMMProblem(23, 45, 300, transA: transA, transB: transB, beta: 0)
                var nanC = problem.c
                for i in 0..<problem.m { for j in 0..<problem.n { nanC[i * problem.ldc + j] = .nan } }
                let got = problem.run(pool: pool, kernel: kernel(named: kernelName), path: path,
                                      initialC: nanC)
                #expect(bitPatterns(got) == bitPatterns(problem.exactChain()), "\(problem) \(path)")
            }
        }
    }

    @Test("The same bits for every thread count", arguments: [1, 2, 3, 4, 7])
    func threadCountIndependence(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for (problem, expected) in zip(ThreadFixture.problems, ThreadFixture.serial) {
            for path in [SGEMMPath.packed, .small] {
                let got = problem.run(pool: pool, kernel: .current, path: path)
                #expect(bitPatterns(got) == bitPatterns(expected), "\(threads) threads, \(path): \(problem)")
            }
        }
    }

    @Test("Even grains: the fewest tiles of at most the maximum, the last short by less than the tile count")
    func evenGrains() {
        #expect(SGEMMDriver.evenGrain(784, maximum: 682) == 392)
        #expect(SGEMMDriver.evenGrain(100, maximum: 1_000) == 100)
        #expect(SGEMMDriver.evenGrain(5, maximum: 0) == 1)
        for count in 1...300 {
            for maximum in 1...40 {
                let grain = SGEMMDriver.evenGrain(count, maximum: maximum)
                let tiles = (count + grain - 1) / grain
                #expect(grain <= maximum)
                #expect(tiles == (count + maximum - 1) / maximum, "\(count) by \(maximum)")
                #expect(count - (tiles - 1) * grain > grain - tiles, "\(count) by \(maximum)")
            }
        }
    }

    @Test("Blocking sizes, KC included, do not change a bit")
    func blockingIndependence() {
        let pool = ThreadPool(threads: 3)
        let base = SGEMMMicroKernel.current
        let blockings = [
            GEMMBlocking(mr: base.blocking.mr, nr: base.blocking.nr, mc: 1, kc: 37, nc: 1),
            GEMMBlocking(mr: base.blocking.mr, nr: base.blocking.nr, mc: 3 * base.blocking.mr,
                         kc: 100, nc: 2 * base.blocking.nr),
            GEMMBlocking(mr: base.blocking.mr, nr: base.blocking.nr, mc: 1000, kc: 1000, nc: 1000),
        ]
        let problem = GEMMProblem(211, 173, 301, transA: .transposed, alpha: -0.75, beta: 0.5)
        let expected = problem.run(pool: pool, kernel: base, path: .packed)
        for blocking in blockings {
            let kernel = SGEMMMicroKernel(name: base.name, isa: base.isa, packed: base.packed,
                                          strided: base.strided, blocking: blocking)
            #expect(bitPatterns(problem.run(pool: pool, kernel: kernel, path: .packed))
                    == bitPatterns(expected), "\(blocking)")
        }
    }

    @Test("sgemm called from inside tasks of the same pool gives the serial bits")
    func nestedCalls() {
        let pool = ThreadPool(threads: 3)
        let problems = (0..<6).map {
            GEMMProblem(64 + $0, 150 + 7 * $0, 300, transB: $0 % 2 == 0 ? .none : .transposed,
                        beta: 1, seed: UInt64(100 + $0))
        }
        let serialPool = ThreadPool(threads: 1)
        let expected = problems.map { $0.run(pool: serialPool) }
        let results = LockedResults(count: problems.count)
        pool.parallelFor(0..<problems.count) { tasks in
            for t in tasks { results.set(t, problems[t].run(pool: pool)) }
        }
        for t in problems.indices {
            #expect(bitPatterns(results.get(t)) == bitPatterns(expected[t]), "\(problems[t])")
        }
    }

    @Test("A leading dimension smaller than the width is a precondition failure")
    func badLeadingDimension() async {
        await #expect(processExitsWith: .failure) {
            let a = [Float](repeating: 1, count: 64), b = a
            var c = a
            c.withUnsafeMutableBufferPointer { cBuffer in
                sgemm(transA: .none, transB: .none, m: 4, n: 4, k: 4, alpha: 1, a: a, lda: 3,
                      b: b, ldb: 4, beta: 0, c: cBuffer.baseAddress!, ldc: 4,
                      pool: ThreadPool(threads: 1))
            }
        }
        await #expect(processExitsWith: .failure) {
            let a = [Float](repeating: 1, count: 64), b = a
            var c = a
            c.withUnsafeMutableBufferPointer { cBuffer in
                sgemm(transA: .none, transB: .transposed, m: 4, n: 4, k: 5, alpha: 1, a: a, lda: 5,
                      b: b, ldb: 4, beta: 0, c: cBuffer.baseAddress!, ldc: 4,
                      pool: ThreadPool(threads: 1))
            }
        }
        await #expect(processExitsWith: .failure) {
            let a = [Float](repeating: 1, count: 64), b = a
            var c = a
            c.withUnsafeMutableBufferPointer { cBuffer in
                sgemm(transA: .none, transB: .none, m: 4, n: 4, k: 4, alpha: 1, a: a, lda: 4,
                      b: b, ldb: 4, beta: 0, c: cBuffer.baseAddress!, ldc: 3,
                      pool: ThreadPool(threads: 1))
            }
        }
    }

    @Test("A negative size is a precondition failure")
    func negativeSize() async {
        await #expect(processExitsWith: .failure) {
            let a = [Float](repeating: 1, count: 16)
            var c = a
            c.withUnsafeMutableBufferPointer { cBuffer in
                sgemm(transA: .none, transB: .none, m: -1, n: 4, k: 4, alpha: 1, a: a, lda: 4,
                      b: a, ldb: 4, beta: 0, c: cBuffer.baseAddress!, ldc: 4,
                      pool: ThreadPool(threads: 1))
            }
        }
    }
}

/// Large and odd shapes for the thread-count test (several tiles, regions and KC blocks),
/// with their one-thread results.
enum ThreadFixture {
    static let problems = [
        GEMMProblem(301, 517, 300, transB: .transposed, beta: 0.5),
        GEMMProblem(517, 97, 263, transA: .transposed, alpha: 1, beta: 1),
        GEMMProblem(2400, 67, 30, transA: .none, alpha: 1, beta: 0),
    ]
    static let serial: [[Float]] = {
        let pool = ThreadPool(threads: 1)
        return problems.map { $0.run(pool: pool, kernel: .current, path: .packed) }
    }()
}

/// Results written by concurrent tasks, one slot each.
final class LockedResults: @unchecked Sendable {
    // Safe because: every access to `slots` holds `lock`.
    private let lock = NSLock()
    private var slots: [[Float]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
    func set(_ index: Int, _ value: [Float]) { lock.withLock { slots[index] = value } }
    func get(_ index: Int) -> [Float] { lock.withLock { slots[index] } }
}
