import Dispatch
import Foundation
import Synchronization
import Testing
@testable import ParallelRuntime

/// Runs under ThreadSanitizer too (tools/test: `--sanitize=thread --filter StressTests`).
@Suite("Deque StressTests", .serialized)
struct DequeStressTests {
    /// The owner pushes and takes in bursts while `thieves` threads steal; every item must be
    /// consumed exactly once.
    func runStress(items: Int, thieves: Int, burst: Int) {
        let deque = WorkStealingDeque(initialCapacity: 16)  // small: growth happens under load
        let seen = AtomicCounters(items)
        let ownerDone = Atomic<Bool>(false)
        let group = DispatchGroup()
        for _ in 0..<thieves {
            group.enter()
            DispatchQueue.global().async {
                while true {
                    switch deque.steal() {
                    case .success(let p):
                        seen.increment(Int(bitPattern: p) - 1)
                    case .retry:
                        continue
                    case .empty:
                        if ownerDone.load(ordering: .acquiring) && deque.count == 0 {
                            group.leave()
                            return
                        }
                    }
                }
            }
        }
        var next = 0
        var round = 0
        while next < items {
            let pushes = min(burst + round % 7, items - next)
            for _ in 0..<pushes {
                deque.push(UnsafeMutableRawPointer(bitPattern: next + 1)!)
                next += 1
            }
            // Take back a varying share, racing the thieves for the last items.
            for _ in 0..<(pushes * (round % 3) / 2) {
                guard let p = deque.take() else { break }
                seen.increment(Int(bitPattern: p) - 1)
            }
            round += 1
        }
        while let p = deque.take() { seen.increment(Int(bitPattern: p) - 1) }
        ownerDone.store(true, ordering: .releasing)
        group.wait()
        let values = seen.values
        let lost = values.filter { $0 == 0 }.count
        let duplicated = values.filter { $0 > 1 }.count
        #expect(lost == 0, "\(lost) items lost")
        #expect(duplicated == 0, "\(duplicated) items consumed more than once")
    }

    @Test("Owner bursts against three thieves lose and duplicate nothing (2M items)")
    func ownerAgainstThreeThieves() {
        runStress(items: 2_000_000, thieves: 3, burst: 64)
    }

    @Test("Single-item bursts race the owner's take against a thief for the last item")
    func lastItemRaces() {
        runStress(items: 500_000, thieves: 1, burst: 1)
    }

    @Test("Take returns newest first and steal oldest first")
    func orderOfTakeAndSteal() {
        let deque = WorkStealingDeque(initialCapacity: 2)
        for i in 1...5 { deque.push(UnsafeMutableRawPointer(bitPattern: i)!) }
        #expect(deque.count == 5)
        #expect(deque.take() == UnsafeMutableRawPointer(bitPattern: 5))
        guard case .success(let p) = deque.steal() else {
            Issue.record("steal from a non-empty quiet deque failed")
            return
        }
        #expect(p == UnsafeMutableRawPointer(bitPattern: 1))
        #expect(deque.take() == UnsafeMutableRawPointer(bitPattern: 4))
        #expect(deque.take() == UnsafeMutableRawPointer(bitPattern: 3))
        #expect(deque.take() == UnsafeMutableRawPointer(bitPattern: 2))
        #expect(deque.take() == nil)
        guard case .empty = deque.steal() else {
            Issue.record("steal from an empty deque did not say empty")
            return
        }
    }
}

@Suite("Pool StressTests", .serialized)
struct PoolStressTests {
    @Test("Nested fork-join under contention computes every leaf once", arguments: [2, 3, 4])
    func nestedForkJoinStress(threads: Int) {
        let pool = ThreadPool(threads: threads, spinMicroseconds: 5)
        let counters = AtomicCounters(4096)
        for _ in 0..<20 {
            pool.parallelFor(0..<64, grain: 1) { outer in
                pool.parallelFor(0..<64, grain: 3) { inner in
                    for i in inner { counters.increment(outer.lowerBound * 64 + i) }
                }
            }
        }
        #expect(counters.values.allSatisfy { $0 == 20 })
    }

    @Test("Scoped spawns from many tasks all run", arguments: [2, 4])
    func scopeSpawnStress(threads: Int) throws {
        let pool = ThreadPool(threads: threads, spinMicroseconds: 5)
        let counters = AtomicCounters(1000)
        try pool.scope { scope in
            for i in 0..<100 {
                scope.spawn {
                    for j in 0..<10 { scope.spawn { counters.increment(i * 10 + j) } }
                }
            }
        }
        #expect(counters.values.allSatisfy { $0 == 1 })
    }

    /// Every tile blocks until all threads hold one, so each fork must reach a thread that is
    /// parked or dozing: a lost wake-up leaves a tile in a deque and the barrier times out.
    @Test("Rounds of an N-party barrier inside N tiles all complete", arguments: [3, 4, 7])
    func barrierRounds(threads: Int) {
        let pool = ThreadPool(threads: threads, spinMicroseconds: 1)
        var failed = 0
        for round in 0..<300 {
            let barrier = SpinBarrier(parties: threads)
            let passed = AtomicCounters(1)
            pool.parallelFor(0..<threads) { _ in
                if barrier.arriveAndWait(seconds: 5) { passed.increment(0) }
            }
            if passed.value(0) != threads {
                failed += 1
                Issue.record("round \(round): only \(passed.value(0)) of \(threads) threads met")
                if failed >= 2 { return }
            }
        }
    }

    /// Slot 0, and the operation table behind it, belong to one outside thread at a time: a
    /// plain counter bumped inside operations from four threads loses no update (and under
    /// ThreadSanitizer the caller lock must order them).
    @Test("Outside threads contending for slot 0 hold it one at a time")
    func callersTakeTurns() {
        final class Unguarded: @unchecked Sendable {
            // Safe because: written only inside `operation`, by the holder of slot 0.
            var count = 0
            var overlaps = 0
            var inside = false
        }
        let pool = ThreadPool(threads: 2, spinMicroseconds: 5)
        let shared = Unguarded()
        let callers = 4, calls = 2_000
        let finished = DispatchGroup()
        for _ in 0..<callers {
            finished.enter()
            Thread.detachNewThread {
                for call in 0..<calls {
                    pool.operation(OperationKey("test.contended caller", call % 3)) {
                        if shared.inside { shared.overlaps += 1 }
                        shared.inside = true
                        pool.parallelFor(0..<4) { _ in }
                        shared.count += 1
                        shared.inside = false
                    }
                }
                finished.leave()
            }
        }
        finished.wait()
        #expect(shared.count == callers * calls && shared.overlaps == 0)
        #expect(pool.operationCounts.split + pool.operationCounts.inline == callers * calls)
    }
}
