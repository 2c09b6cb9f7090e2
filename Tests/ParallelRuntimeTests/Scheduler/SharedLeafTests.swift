import CPlatform
import Synchronization
import Testing
@testable import ParallelRuntime

@Suite("Shared leaves")
struct SharedLeafTests {
    /// What happens when the kernel preempts a thread in the middle of a leaf (another process
    /// shares its CPU): here the worker's first tile simply blocks until every other tile has
    /// run. Leaves used to run as plain loops, so the tiles after it in its leaf waited for it,
    /// and this never finished.
    @Test("Tiles left in a stalled thread's leaf are run by another thread", arguments: [64, 1000])
    func stalledLeafOwner(tiles: Int) {
        let pool = ThreadPool(threads: 2)
        for _ in 0..<100 {
            let counters = AtomicCounters(tiles)
            let finished = Atomic<Int>(0)
            let stalled = Atomic<Bool>(false)
            let timedOut = Atomic<Bool>(false)
            pool.parallelFor(0..<tiles) { range in
                for t in range {
                    // Hold the caller's first tile until the worker has taken some (or 1 s).
                    if t == 0 {
                        let deadline = weave_monotonic_ns() + 1_000_000_000
                        while !stalled.load(ordering: .relaxed) && weave_monotonic_ns() < deadline {
                            weave_cpu_relax()
                        }
                    }
                    if pool.currentSlot != 0 && !stalled.exchange(true, ordering: .relaxed) {
                        let deadline = weave_monotonic_ns() + 5_000_000_000
                        while finished.load(ordering: .acquiring) < tiles - 1 {
                            if weave_monotonic_ns() > deadline {
                                timedOut.store(true, ordering: .relaxed)
                                break
                            }
                            weave_cpu_relax()
                        }
                    }
                    counters.increment(t)
                    finished.add(1, ordering: .releasing)
                }
            }
            // Until the worker has taken part, nothing was tested: try again.
            guard stalled.load(ordering: .relaxed) else { continue }
            let stalledForever = timedOut.load(ordering: .relaxed)
            #expect(!stalledForever, "the stalled thread's leaf was not shared")
            #expect(counters.values.allSatisfy { $0 == 1 })
            return
        }
        Issue.record("the worker never ran a tile in 100 rounds")
    }

    @Test("Nested parallel loops with shared leaves run every tile once", arguments: threadCounts)
    func nestedLeaves(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let outer = 37, inner = 53
        let counters = AtomicCounters(outer * inner)
        for _ in 0..<20 {
            pool.parallelFor(0..<outer) { rows in
                for i in rows {
                    pool.parallelFor(0..<inner, grain: 2) { columns in
                        for j in columns { counters.increment(i * inner + j) }
                    }
                }
            }
        }
        #expect(counters.values.allSatisfy { $0 == 20 })
    }
}
