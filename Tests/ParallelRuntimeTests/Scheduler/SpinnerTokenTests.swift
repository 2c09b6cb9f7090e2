import CPlatform
import Synchronization
import Testing
@testable import ParallelRuntime

@Suite("Spinner tokens")
struct SpinnerTokenTests {
    /// Tokens ration idle workers. A joiner holding the only token of a 2-thread pool made the
    /// worker park as soon as it finished each stolen job, so every fork paid a futex wake-up.
    @Test("A joiner waiting for a stolen job holds no spinner token")
    func joinerHoldsNoToken() {
        let pool = ThreadPool(threads: 2)
        let stolen = Atomic<Bool>(false)
        let (_, mostSpinners) = pool.join({
            // Return only once the worker runs `b`: the caller then waits in the join.
            while !stolen.load(ordering: .acquiring) { weave_cpu_relax() }
        }, { () -> Int in
            stolen.store(true, ordering: .releasing)
            // The joiner spins for 50 µs before it parks; watch well beyond that.
            var most = 0
            let deadline = weave_monotonic_ns() + 5_000_000
            while weave_monotonic_ns() < deadline {
                most = max(most, pool.core.spinners.load(ordering: .relaxed))
            }
            return most
        })
        #expect(mostSpinners == 0, "a joiner took a spinner token")
    }
}
