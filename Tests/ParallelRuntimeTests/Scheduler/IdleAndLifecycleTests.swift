import CPlatform
import Foundation
import Testing
@testable import ParallelRuntime

@Suite("Idle pool and lifecycle", .serialized)
struct IdleAndLifecycleTests {
    /// CPU time of the calling thread from getrusage(RUSAGE_THREAD), in seconds.
    static func threadCPUSeconds() -> Double { weave_thread_rusage_seconds() }

    /// Runs one tile on each thread of the pool (a barrier forces one tile per thread) and
    /// returns each worker's own getrusage CPU time, by slot.
    static func workerCPUSeconds(_ pool: ThreadPool) -> [Int: Double] {
        let barrier = SpinBarrier(parties: pool.threads)
        let readings = LockedList<[Int: Double]>()
        pool.parallelFor(0..<pool.threads) { _ in
            _ = barrier.arriveAndWait(seconds: 30)
            readings.append([pool.currentSlot ?? -1: threadCPUSeconds()])
        }
        return readings.elements.reduce(into: [:]) { $0.merge($1) { a, _ in a } }
    }

    @Test("An idle pool parks: its workers use almost no CPU over one second")
    func idlePoolParks() throws {
        let pool = ThreadPool(threads: 3)
        // Some work first, so the workers have been awake and spinning.
        pool.parallelFor(0..<10_000, grain: 10) { _ in }
        let before = Self.workerCPUSeconds(pool)
        Thread.sleep(forTimeInterval: 1.0)
        let after = Self.workerCPUSeconds(pool)
        for slot in 1..<pool.threads {
            let used = try #require(after[slot]) - (before[slot] ?? 0)
            // Spinning through the second would cost ~1 s; waking for the two probes ~1 ms.
            #expect(used < 0.05, "worker \(slot) used \(used) s of CPU while idle")
        }
        #expect(pool.statistics.parks.dropFirst().allSatisfy { $0 > 0 })
    }

    @Test("Pools start and shut down repeatedly without leaking threads or hanging")
    func startAndStop() {
        for round in 0..<50 {
            let pool = ThreadPool(threads: 1 + round % 5)
            let counters = AtomicCounters(64)
            pool.parallelFor(0..<64) { for i in $0 { counters.increment(i) } }
            #expect(counters.values.allSatisfy { $0 == 1 })
        }
    }

    @Test("Pinned workers run on their CPUs and record a NUMA node")
    func pinning() {
        let cpus = ThreadCount.affinityCPUs()
        let pool = ThreadPool(threads: 3, pinning: .cores)
        #expect(pool.workerCPUs.count == 3)
        #expect(pool.workerCPUs[0] == nil)
        for slot in 1..<3 {
            let cpu = pool.workerCPUs[slot]
            #expect(cpu == cpus[slot % cpus.count])
            #expect(pool.workerNUMANodes[slot] >= 0)
        }
        let barrier = SpinBarrier(parties: 3)
        let seen = LockedList<[Int]>()
        pool.parallelFor(0..<3) { _ in
            _ = barrier.arriveAndWait(seconds: 30)
            seen.append([pool.currentSlot ?? -1, Int(weave_current_cpu())])
        }
        for pair in seen.elements where pair[0] > 0 {
            #expect(pool.workerCPUs[pair[0]] == pair[1], "worker \(pair[0]) ran on CPU \(pair[1])")
        }
    }

    @Test("A trap inside a task ends the process instead of hanging the pool")
    func trapInTaskExits() async {
        await #expect(processExitsWith: .failure) {
            let pool = ThreadPool(threads: 2)
            pool.parallelFor(0..<1000) { tile in
                if tile.lowerBound == 777 { preconditionFailure("task 777 failed") }
            }
        }
    }

    @Test("ThreadPool(threads: 0) is a precondition failure")
    func zeroThreads() async {
        await #expect(processExitsWith: .failure) {
            _ = ThreadPool(threads: 0)
        }
    }

    @Test("A grain of zero is a precondition failure")
    func zeroGrain() async {
        await #expect(processExitsWith: .failure) {
            ThreadPool(threads: 2).parallelFor(0..<10, grain: 0) { _ in }
        }
    }

    @Test("A zero-sized 2-D tile is a precondition failure")
    func zeroTile() async {
        await #expect(processExitsWith: .failure) {
            ThreadPool(threads: 2).parallelFor(rows: 4, cols: 4, tile: (0, 2)) { _, _ in }
        }
    }

    @Test("spawn from a thread outside the pool is a precondition failure")
    func spawnOutsidePool() async {
        await #expect(processExitsWith: .failure) {
            let pool = ThreadPool(threads: 2)
            var escaped: ParallelScope?
            try? pool.scope { escaped = $0 }
            escaped?.spawn {}
        }
    }
}
