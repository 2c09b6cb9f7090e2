import Foundation
import Testing
@testable import ParallelRuntime

@Suite("join, scope and parallelReduce")
struct ForkJoinTests {
    func fibonacci(_ n: Int, _ pool: ThreadPool) -> Int {
        if n < 2 { return n }
        if n < 12 { return fibonacci(n - 1, pool) + fibonacci(n - 2, pool) }
        let (a, b) = pool.join({ fibonacci(n - 1, pool) }, { fibonacci(n - 2, pool) })
        return a + b
    }

    @Test("Recursive join computes Fibonacci", arguments: threadCounts)
    func recursiveJoin(threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(fibonacci(24, pool) == 46368)
    }

    @Test("A throwing join rethrows after both sides finished")
    func throwingJoin() {
        struct Failure: Error {}
        let pool = ThreadPool(threads: 2)
        let ran = AtomicCounters(1)
        #expect(throws: Failure.self) {
            _ = try pool.join({ () throws -> Int in throw Failure() },
                              { () throws -> Int in ran.increment(0); return 1 })
        }
        #expect(ran.value(0) == 1)
    }

    @Test("A scope waits for tasks spawned by tasks", arguments: threadCounts)
    func scopeWaitsForEverything(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let counters = AtomicCounters(64 * 8)
        let result = try pool.scope { scope -> Int in
            for i in 0..<64 {
                scope.spawn {
                    for j in 0..<8 { scope.spawn { counters.increment(i * 8 + j) } }
                }
            }
            return 42
        }
        #expect(result == 42)
        #expect(counters.values.allSatisfy { $0 == 1 })
    }

    @Test("An error thrown by a spawned task is rethrown by scope")
    func scopeRethrows() {
        struct Failure: Error {}
        let pool = ThreadPool(threads: 3)
        #expect(throws: Failure.self) {
            try pool.scope { scope in
                for i in 0..<20 { scope.spawn { if i == 13 { throw Failure() } } }
            }
        }
    }

    @Test("parallelReduce of a Float sum gives the same bits for every thread count")
    func reduceIsBitIdentical() {
        let n = 1_000_003
        let values = (0..<n).map { (i: Int) -> Float in
            let wave = Float(sin(Double(i) * 0.37))
            return wave * Float(1 + i % 1000)
        }
        var bits: [UInt32] = []
        for threads in threadCounts {
            let pool = ThreadPool(threads: threads)
            let sum = values.withUnsafeBufferPointer { v in
                pool.parallelReduce(0..<n, grain: 4096, identity: Float(0), { tile in
                    var s: Float = 0
                    for i in tile { s += v[i] }
                    return s
                }, combine: +)
            }
            bits.append(sum.bitPattern)
        }
        #expect(Set(bits).count == 1, "sums differ across thread counts: \(bits)")
        let reference = values.reduce(0.0) { $0 + Double($1) }
        #expect(abs(Double(Float(bitPattern: bits[0])) - reference) <= 1e-4 * abs(reference) + 1)
    }

    @Test("parallelReduce combines in tile order (non-commutative combine)", arguments: threadCounts)
    func reduceCombinesInOrder(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let joined = pool.parallelReduce(0..<26, grain: 3, identity: "", { tile in
            String(tile.map { Character(UnicodeScalar(97 + $0)!) })
        }, combine: +)
        #expect(joined == "abcdefghijklmnopqrstuvwxyz")
        #expect(pool.parallelReduce(0..<0, grain: 5, identity: -1, { _ in 1 }, combine: +) == -1)
    }

    @Test("Several outside threads can use one pool at the same time")
    func concurrentExternalCallers() async {
        let pool = ThreadPool(threads: 3)
        let counters = AtomicCounters(4 * 10_000)
        await withTaskGroup(of: Void.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    pool.parallelFor(0..<10_000, grain: 100) { tile in
                        for i in tile { counters.increment(caller * 10_000 + i) }
                    }
                }
            }
        }
        #expect(counters.values.allSatisfy { $0 == 1 })
    }
}
