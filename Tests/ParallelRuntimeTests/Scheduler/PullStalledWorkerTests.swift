import CPlatform
import Foundation
import Testing
@testable import ParallelRuntime

/// A joiner waiting for a tile held by a worker that another thread keeps off its CPU pulls
/// the worker onto its own CPU (`PoolCore.pullStalledWorkers`).
@Suite("Pulling a preempted worker", .serialized)
struct PullStalledWorkerTests {
    struct Round: Sendable {
        /// The worker's mask when its tile began, before it moved itself onto the busy CPU.
        var maskAtStart: [Int32]
        /// The joiner's pulls before the round, once the worker had moved itself onto the busy
        /// CPU (pulls before that, while the joiner waited for the tile to begin, were undone
        /// by the move), and after the round.
        var pullsBefore: Int
        var pullsAtMove: Int
        var pullsAfter: Int
        /// The CPU the worker finished its tile on.
        var endCPU: Int

        var pulledDuringTile: Bool { pullsAfter > pullsAtMove }
        var pulledBeforeMove: Bool { pullsAtMove > pullsBefore }
    }

    @Test("A worker kept off its CPU is pulled onto the joiner's, runs its tile there, and takes its mask back")
    func preemptedWorkerIsPulled() throws {
        let cpus = ThreadCount.affinityCPUs()
        try #require(cpus.count >= 2, "needs two CPUs in the affinity mask")
        let all = cpus.map { Int32($0) }
        let home = cpus[0], busyCPU = cpus[1]
        // A competitor spinning on `busyCPU`: the worker moved there runs half the time, in
        // slices of a few ms, as beside another process.
        let stop = AtomicCounters(1)
        let competing = DispatchSemaphore(value: 0)
        Thread {
            _ = weave_pin_current_thread(Int32(busyCPU))
            while stop.value(0) == 0 { weave_cpu_relax() }
            competing.signal()
        }.start()
        defer {
            stop.increment(0)
            competing.wait()
        }

        let (rounds, tilesRan, statistics) = CoLocationTests.onThread(mask: all) {
            () -> ([Round], Bool, ThreadPool.Statistics) in
            // Made on a thread free to run anywhere, so the worker's own mask is all CPUs; the
            // caller then stays on `home`.
            let pool = ThreadPool(threads: 2)
            _ = weave_pin_current_thread(Int32(home))
            var rounds: [Round] = []
            var tilesRan = true
            let deadline = weave_monotonic_ns() + 10_000_000_000
            repeat {
                let barrier = SpinBarrier(parties: 2)
                let seen = LockedList<([Int32], Int, Int)>()
                let ran = AtomicCounters(2)
                let pullsBefore = pool.statistics.pulls[0]
                pool.parallelFor(0..<2, grain: 1) { range in
                    _ = barrier.arriveAndWait(seconds: 30)
                    guard pool.currentSlot == 1 else {
                        for i in range { ran.increment(i) }
                        return
                    }
                    let mask = PoolCore.threadCPUs() ?? []
                    var clock: Int32 = -1
                    _ = weave_thread_cpu_clock(&clock)
                    _ = weave_pin_current_thread(Int32(busyCPU))
                    let pullsAtMove = pool.statistics.pulls[0]
                    // Let the competitor run first: woken from a park, the worker would
                    // otherwise often run its whole slice before the joiner looks.
                    sched_yield()
                    // 1 ms of CPU time, beside a thread that never sleeps.
                    let start = weave_cpu_clock_ns(clock)
                    while weave_cpu_clock_ns(clock) - start < 1_000_000 {}
                    seen.append((mask, pullsAtMove, Int(weave_current_cpu())))
                    for i in range { ran.increment(i) }
                }
                tilesRan = tilesRan && ran.values == [1, 1]
                let (mask, pullsAtMove, endCPU) = seen.elements.first ?? ([], pullsBefore, -1)
                rounds.append(Round(maskAtStart: mask, pullsBefore: pullsBefore, pullsAtMove: pullsAtMove,
                                    pullsAfter: pool.statistics.pulls[0], endCPU: endCPU))
                // Two more rounds after the first pull during a tile: each must start with the
                // mask taken back.
            } while (rounds.count < 3 || !rounds[rounds.count - 3].pulledDuringTile) && weave_monotonic_ns() < deadline
            return (rounds, tilesRan, pool.statistics)
        }
        let pulled = rounds.filter(\.pulledDuringTile)
        #expect(!pulled.isEmpty, "no pull in \(rounds.count) rounds of a worker sharing CPU \(busyCPU) with a busy thread; \(statistics)")
        #expect(tilesRan)
        // A pulled worker runs the rest of its tile on the joiner's CPU (a pull in the moment
        // between the end of the tile and the worker's next search may leave it on busyCPU).
        #expect(pulled.contains { $0.endCPU == home }, "no pulled worker finished its tile on the joiner's CPU: \(pulled.map(\.endCPU))")
        #expect(rounds.allSatisfy { $0.endCPU == home || $0.endCPU == busyCPU }, "\(rounds.map(\.endCPU))")
        // After a pulled round, the worker took its own mask back before the next tile.
        for (round, next) in zip(rounds, rounds.dropFirst()) where round.pulledDuringTile && !next.pulledBeforeMove {
            #expect(next.maskAtStart == all, "after a pull the worker's mask was \(next.maskAtStart)")
        }
    }
}
