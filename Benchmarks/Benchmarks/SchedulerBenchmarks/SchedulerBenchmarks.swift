import Benchmark
import BenchmarkTolerances
import Dispatch
import Weave

/// The scheduler's fork-join costs, checked for regressions (`Tolerances`); `weave bench
/// scheduler` is the user-facing twin.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = Tolerances.configuration(warmupIterations: 100, maxDuration: .seconds(2))

    for threads in [1, 2] {
        let pool = ThreadPool(threads: threads)
        Benchmark("fork-join empty parallelFor", configuration: .init(tags: ["threads": "\(threads)"])) { benchmark in
            for _ in benchmark.scaledIterations {
                pool.parallelFor(0..<threads) { _ in }
            }
        }
        Benchmark("join tree 2^12 leaves", configuration: .init(tags: ["threads": "\(threads)"])) { benchmark in
            for _ in benchmark.scaledIterations {
                joinTree(pool, depth: 12)
            }
        }
        Benchmark("parallelReduce 1M floats", configuration: .init(tags: ["threads": "\(threads)"])) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(pool.parallelReduce(0..<1_000_000, grain: 16_384, identity: Float(0),
                                              { tile in Float(tile.count) }, combine: +))
            }
        }
    }
    Benchmark("concurrentPerform empty (baseline)") { benchmark in
        for _ in benchmark.scaledIterations {
            DispatchQueue.concurrentPerform(iterations: 2) { _ in }
        }
    }
}

private func joinTree(_ pool: ThreadPool, depth: Int) {
    if depth == 0 { return }
    _ = pool.join({ joinTree(pool, depth: depth - 1) }, { joinTree(pool, depth: depth - 1) })
}
