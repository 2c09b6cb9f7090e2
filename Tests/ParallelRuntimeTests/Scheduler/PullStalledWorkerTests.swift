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
        var pullsBefore: Int
        var pullsAfter: Int
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

        let (rounds, tilesRan, workerCPUsWhilePulled) = CoLocationTests.onThread(mask: all) {
            () -> ([Round], Bool, [Int]) in
            // Made on a thread free to run anywhere, so the worker's own mask is all CPUs; the
            // caller then stays on `home`.
            let pool = ThreadPool(threads: 2)
            _ = weave_pin_current_thread(Int32(home))
            var rounds: [Round] = []
            var tilesRan = true
            let pulledCPUs = LockedList<Int>()
            let deadline = weave_monotonic_ns() + 10_000_000_000
            repeat {
                let barrier = SpinBarrier(parties: 2)
                let masks = LockedList<[Int32]>()
                let ran = AtomicCounters(2)
                let pullsBefore = pool.statistics.pulls[0]
                pool.parallelFor(0..<2, grain: 1) { range in
                    _ = barrier.arriveAndWait(seconds: 30)
                    guard pool.currentSlot == 1 else {
                        for i in range { ran.increment(i) }
                        return
                    }
                    masks.append(PoolCore.threadCPUs() ?? [])
                    var clock: Int32 = -1
                    _ = weave_thread_cpu_clock(&clock)
                    _ = weave_pin_current_thread(Int32(busyCPU))
                    // 1 ms of CPU time: long enough that the joiner meets it preempted.
                    let start = weave_cpu_clock_ns(clock)
                    while weave_cpu_clock_ns(clock) - start < 1_000_000 {}
                    if weave_current_cpu() != Int32(busyCPU) { pulledCPUs.append(Int(weave_current_cpu())) }
                    for i in range { ran.increment(i) }
                }
                tilesRan = tilesRan && ran.values == [1, 1]
                rounds.append(Round(maskAtStart: masks.elements.first ?? [], pullsBefore: pullsBefore,
                                    pullsAfter: pool.statistics.pulls[0]))
                // Two more rounds after the first pull: each starts with the mask taken back.
            } while (rounds.count < 3 || rounds[rounds.count - 3].pullsAfter == 0) && weave_monotonic_ns() < deadline
            return (rounds, tilesRan, pulledCPUs.elements)
        }
        let pulled = rounds.filter { $0.pullsAfter > $0.pullsBefore }.count
        #expect(pulled > 0, "no pull in \(rounds.count) rounds of a worker sharing CPU \(busyCPU) with a busy thread")
        #expect(tilesRan)
        #expect(workerCPUsWhilePulled.allSatisfy { $0 == home }, "a pulled worker ran on \(workerCPUsWhilePulled)")
        #expect(!workerCPUsWhilePulled.isEmpty || pulled == 0, "a pulled worker finished its tile on the busy CPU")
        // After a pulled round, the worker took its own mask back before the next tile.
        for (round, next) in zip(rounds, rounds.dropFirst()) where round.pullsAfter > round.pullsBefore {
            #expect(next.maskAtStart == all, "after a pull the worker's mask was \(next.maskAtStart)")
        }
    }
}
