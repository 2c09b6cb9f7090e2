import CPlatform
import Testing
@testable import ParallelRuntime

/// Which CPUs a pool's workers run on: the mask of the thread that created the pool (or their
/// `pinning`), whatever the Dispatch threads hosting them were doing before.
@Suite("Worker affinity", .serialized)
struct WorkerAffinityTests {
    /// The affinity mask of the thread running slot 1 of `pool`, read in a tile that slot runs.
    static func workerMask(_ pool: ThreadPool) -> [Int32]? {
        let masks = LockedList<[Int32]>()
        // Two tiles that wait for each other: slot 1 runs one of them.
        let barrier = SpinBarrier(parties: 2)
        pool.parallelFor(0..<2, grain: 1) { _ in
            _ = barrier.arriveAndWait(seconds: 30)
            if pool.currentSlot == 1, let mask = PoolCore.threadCPUs() { masks.append(mask) }
        }
        return masks.elements.first
    }

    @Test("Unpinned workers take their creator's mask; a pinned pool's thread is given back to Dispatch unpinned")
    func workersTakeTheCreatorsMask() throws {
        let cpus = ThreadCount.affinityCPUs()
        try #require(cpus.count >= 2, "needs two CPUs in the affinity mask")
        let all = cpus.map { Int32($0) }
        let last = cpus[cpus.count - 1]
        // Dispatch keeps idle threads and hands them to the next queue, so each round's pools
        // likely run on the threads of the round before.
        for _ in 0..<3 {
            let fromPinnedThread = CoLocationTests.onThread(pinnedTo: last) { () -> [Int32]? in
                Self.workerMask(ThreadPool(threads: 2))
            }
            #expect(fromPinnedThread == [Int32(last)], "a pool made on a thread pinned to CPU \(last)")

            let pinnedPool = CoLocationTests.onThread(pinnedTo: last) { () -> [Int32]? in
                Self.workerMask(ThreadPool(threads: 2, pinning: .cpus([cpus[0]])))
            }
            #expect(pinnedPool == [Int32(cpus[0])], "a pool pinned to CPU \(cpus[0])")

            let fromFreeThread = CoLocationTests.onThread(mask: all) { () -> [Int32]? in
                Self.workerMask(ThreadPool(threads: 2))
            }
            #expect(fromFreeThread == all, "a pool made on a thread free to run on \(all)")
        }
    }
}
