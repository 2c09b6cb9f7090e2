import Testing
@testable import ParallelRuntime

@Test("A pool of two runs a parallel loop")
func smoke() {
    let pool = ThreadPool(threads: 2)
    let c = AtomicCounters(1000)
    pool.parallelFor(0..<1000, grain: 7) { r in for i in r { c.increment(i) } }
    #expect(c.values.allSatisfy { $0 == 1 })
}
