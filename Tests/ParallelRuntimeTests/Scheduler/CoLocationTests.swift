import CPlatform
import Foundation
import Testing
@testable import ParallelRuntime

/// Two threads of one pool on one CPU (what happens when another process holds a core): the
/// idle one must doze rather than spin or steal, and work must still all run.
@Suite("Threads sharing a CPU", .serialized)
struct CoLocationTests {
    /// Runs `body` on a new thread pinned to `cpu` and returns its result. The caller's thread
    /// of the pool must be pinned too, and a test's own thread belongs to the test runner.
    static func onThread<R: Sendable>(pinnedTo cpu: Int, _ body: @escaping @Sendable () -> R) -> R {
        onThread(mask: [Int32(cpu)], body)
    }

    /// Runs `body` on a new thread whose affinity mask is `mask` and returns its result.
    static func onThread<R: Sendable>(mask: [Int32], _ body: @escaping @Sendable () -> R) -> R {
        let result = LockedList<R>()
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            _ = mask.withUnsafeBufferPointer { weave_set_affinity($0.baseAddress, Int32($0.count)) }
            result.append(body())
            finished.signal()
        }
        thread.start()
        finished.wait()
        return result.elements[0]
    }

    struct Outcome: Sendable {
        var rounds: Int
        var everyItemOncePerRound: Bool
        var statistics: ThreadPool.Statistics
        var callerCPUs: Set<Int>
    }

    @Test("A worker pinned to its caller's CPU dozes, and every tile still runs once")
    func sharedCPUWorkerDozes() {
        let cpu = ThreadCount.affinityCPUs()[0]
        let outcome = Self.onThread(pinnedTo: cpu) { () -> Outcome in
            let pool = ThreadPool(threads: 2, pinning: .cpus([cpu]))
            let items = 2048
            let counters = AtomicCounters(items)
            var rounds = 0
            var cpus = Set<Int>()
            // The worker gets the CPU only when the caller yields it or its time slice ends;
            // keep forking until it has been there (a doze), for at most 5 s.
            let deadline = weave_monotonic_ns() + 5_000_000_000
            repeat {
                pool.parallelFor(0..<items, grain: 16) { range in
                    for i in range { counters.increment(i) }
                }
                cpus.insert(Int(weave_current_cpu()))
                rounds += 1
            } while pool.statistics.dozes[1] == 0 && weave_monotonic_ns() < deadline
            return Outcome(rounds: rounds, everyItemOncePerRound: counters.values.allSatisfy { $0 == rounds },
                           statistics: pool.statistics, callerCPUs: cpus)
        }
        #expect(outcome.callerCPUs == [cpu])
        #expect(outcome.everyItemOncePerRound)
        #expect(outcome.statistics.dozes[1] > 0,
                "the worker never dozed in \(outcome.rounds) rounds: \(outcome.statistics)")
    }

    @Test("Tiles that wait for each other complete when their two threads share a CPU")
    func sharedCPUBarrierCompletes() {
        let cpu = ThreadCount.affinityCPUs()[0]
        let met = Self.onThread(pinnedTo: cpu) { () -> Int in
            let pool = ThreadPool(threads: 2, pinning: .cpus([cpu]))
            let metCount = AtomicCounters(1)
            for _ in 0..<5 {
                // Each tile waits for the other: the dozing worker must still take one.
                let barrier = SpinBarrier(parties: 2)
                pool.parallelFor(0..<2) { _ in
                    if barrier.arriveAndWait(seconds: 30) { metCount.increment(0) }
                }
            }
            return metCount.value(0)
        }
        #expect(met == 10)
    }

    @Test("An idle worker sharing its caller's CPU parks instead of dozing on")
    func sharedCPUIdleWorkerParks() {
        let cpu = ThreadCount.affinityCPUs()[0]
        let (dozes, parked) = Self.onThread(pinnedTo: cpu) { () -> (Int, Bool) in
            let pool = ThreadPool(threads: 2, pinning: .cpus([cpu]))
            // Work until the worker has dozed (it shares the caller's CPU), for at most 5 s.
            let deadline = weave_monotonic_ns() + 5_000_000_000
            repeat {
                pool.parallelFor(0..<2048, grain: 16) { _ in }
            } while pool.statistics.dozes[1] == 0 && weave_monotonic_ns() < deadline
            // The caller's slot stays "busy" while its thread sleeps here: the worker must
            // still end its back-off (~3 ms of dozes) and park.
            Thread.sleep(forTimeInterval: 0.2)
            let state = pool.core.slots[1].parkWord.atomic.pointee.load(ordering: .relaxed)
            return (pool.statistics.dozes[1], state == WorkerSlot.ParkState.parked)
        }
        #expect(dozes > 0, "the worker never dozed: nothing was tested")
        #expect(parked, "the idle worker dozed on through 0.2 s instead of parking")
    }
}

/// A worker the kernel left on its caller's CPU while another CPU of its mask is free.
@Suite("A worker moving off its caller's CPU", .serialized)
struct MoveOffSharedCPUTests {
    @Test("A worker put on its busy caller's CPU moves to another CPU of its mask, and every tile still runs once")
    func workerMovesOff() throws {
        let cpus = ThreadCount.affinityCPUs()
        try #require(cpus.count >= 2, "needs two CPUs in the affinity mask")
        let home = cpus[0]
        struct Result: Sendable {
            var moves: Int
            var repins: Int
            var statistics: ThreadPool.Statistics
            var workerCPUsAfterMoving: Set<Int>
            var everyItemOncePerRound: Bool
        }
        let all = cpus.map { Int32($0) }
        let result = CoLocationTests.onThread(mask: all) { () -> Result in
            // Made on a thread free to run anywhere, so the worker's own mask (which a pulled
            // worker takes back) is all CPUs; the caller then stays on `home`.
            let pool = ThreadPool(threads: 2)
            _ = weave_pin_current_thread(Int32(home))
            let items = 2048
            let counters = AtomicCounters(items)
            let workerCPUs = LockedList<Int>()
            let repins = AtomicCounters(1)
            var rounds = 0
            let deadline = weave_monotonic_ns() + 10_000_000_000
            repeat {
                // Put the worker on the caller's CPU with its whole mask back, as a wake-up
                // placed there by the kernel would (a worker that moved is put back again).
                // The two tiles wait for each other, so the worker runs one.
                let barrier = SpinBarrier(parties: 2)
                pool.parallelFor(0..<2, grain: 1) { _ in
                    _ = barrier.arriveAndWait(seconds: 30)
                    if pool.currentSlot == 1 {
                        _ = weave_pin_current_thread(Int32(home))
                        _ = all.withUnsafeBufferPointer { weave_set_affinity($0.baseAddress, Int32($0.count)) }
                        repins.increment(0)
                    }
                }
                // Keep the caller busy forking, so the worker meets it on its CPU.
                for _ in 0..<50 {
                    let movedBefore = pool.statistics.moves[1] > 0
                    pool.parallelFor(0..<items, grain: 16) { range in
                        for i in range { counters.increment(i) }
                        if movedBefore && pool.currentSlot == 1 { workerCPUs.append(Int(weave_current_cpu())) }
                    }
                    rounds += 1
                }
            } while (pool.statistics.moves[1] == 0 || workerCPUs.elements.isEmpty) && weave_monotonic_ns() < deadline
            return Result(moves: pool.statistics.moves[1], repins: repins.value(0), statistics: pool.statistics,
                          workerCPUsAfterMoving: Set(workerCPUs.elements),
                          everyItemOncePerRound: counters.values.allSatisfy { $0 == rounds })
        }
        #expect(result.moves > 0, "the worker never moved off its caller's CPU: \(result.repins) times put there, \(result.statistics)")
        #expect(result.workerCPUsAfterMoving.contains { $0 != home },
                "after moving, the worker's tiles ran on \(result.workerCPUsAfterMoving) only")
        #expect(result.everyItemOncePerRound)
    }

    @Test("A worker whose mask holds only its caller's CPU dozes instead of moving")
    func nowhereToMove() {
        let home = ThreadCount.affinityCPUs()[0]
        let statistics = CoLocationTests.onThread(pinnedTo: home) { () -> ThreadPool.Statistics in
            let pool = ThreadPool(threads: 2)
            // The worker narrows its own mask to the caller's CPU (not `pinning`, which the
            // move skips): the move finds no other CPU.
            let barrier = SpinBarrier(parties: 2)
            pool.parallelFor(0..<2, grain: 1) { _ in
                _ = barrier.arriveAndWait(seconds: 30)
                if pool.currentSlot == 1 { _ = weave_pin_current_thread(Int32(home)) }
            }
            // Moves before the worker narrowed its mask (it may have met the caller) count not.
            let movesBefore = pool.statistics.moves[1]
            let deadline = weave_monotonic_ns() + 5_000_000_000
            repeat {
                pool.parallelFor(0..<2048, grain: 16) { _ in }
            } while pool.statistics.dozes[1] == 0 && weave_monotonic_ns() < deadline
            var statistics = pool.statistics
            statistics.moves[1] -= movesBefore
            // The pool gives its Dispatch thread the mask it found back when it ends.
            return statistics
        }
        #expect(statistics.dozes[1] > 0)
        #expect(statistics.moves[1] == 0)
    }
}
