import Glibc
import Synchronization
import CPlatform
import Testing
@testable import ParallelRuntime

@Suite("ThreadPool.operation")
struct OperationTests {
    /// One operation with every kind of parallel work inside: a parallelFor, a join and a scope
    /// with spawned tasks. Returns the thread ids that ran its pieces and the sum it computed.
    static func mixedOperation(_ pool: ThreadPool, _ key: OperationKey) -> (threads: Set<Int64>, sum: Int) {
        let ran = LockedList<Int64>()
        let values = LockedList<Int>()
        pool.operation(key) {
            pool.parallelFor(0..<64, grain: 1) { tile in
                ran.append(weave_thread_id())
                values.append(tile.lowerBound)
            }
            _ = pool.join({ ran.append(weave_thread_id()); values.append(1_000) },
                          { ran.append(weave_thread_id()); values.append(2_000) })
            try? pool.scope { scope in
                for i in 0..<8 {
                    scope.spawn { ran.append(weave_thread_id()); values.append(10_000 + i) }
                }
            }
        }
        return (Set(ran.elements), values.elements.reduce(0, +))
    }

    static let expectedSum = (0..<64).reduce(0, +) + 3_000 + (0..<8).reduce(0) { $0 + 10_000 + $1 }

    @Test("An operation run inline does all its work on the calling thread; split or not, all of it runs",
          arguments: [2, 3, 4, 7])
    func inlineRunsOnTheCaller(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let key = OperationKey("test.mixed", shape: [threads])
        var inlineCalls = 0
        for _ in 0..<12 {
            let before = pool.operationCounts
            let (ran, sum) = Self.mixedOperation(pool, key)
            #expect(sum == Self.expectedSum)
            let after = pool.operationCounts
            #expect(after.split + after.inline == before.split + before.inline + 1)
            if after.inline > before.inline {
                inlineCalls += 1
                #expect(ran == [weave_thread_id()])
            }
        }
        // The learning phase alternates, so some calls ran inline whatever the times were.
        #expect(inlineCalls >= 3)
    }

    @Test("splitting: .always and one-thread pools never choose; nested operations do not count")
    func whenNoChoiceIsMade() {
        let always = ThreadPool(threads: 2, splitting: .always)
        let single = ThreadPool(threads: 1)
        let key = OperationKey("test.none")
        for _ in 0..<10 {
            #expect(Self.mixedOperation(always, key).sum == Self.expectedSum)
            #expect(Self.mixedOperation(single, key).sum == Self.expectedSum)
        }
        #expect(always.operationCounts == (0, 0))
        #expect(single.operationCounts == (0, 0))

        let pool = ThreadPool(threads: 3)
        pool.parallelFor(0..<4, grain: 1) { _ in
            pool.operation(OperationKey("test.nested")) {}
        }
        pool.operation(OperationKey("test.outer")) {
            pool.operation(OperationKey("test.inner")) {}
        }
        #expect(pool.operationCounts == (1, 0))
    }

    @Test("splitting: .never runs every operation from outside inline on the caller, and counts it",
          arguments: [2, 3, 7])
    func neverSplits(threads: Int) {
        let pool = ThreadPool(threads: threads, splitting: .never)
        let key = OperationKey("test.never", shape: [threads])
        for call in 1...30 {
            let (ran, sum) = Self.mixedOperation(pool, key)
            #expect(sum == Self.expectedSum)
            #expect(ran == [weave_thread_id()])
            #expect(pool.operationCounts == (0, call))
        }
        // Nothing was timed: the key's record has no costs, only its calls.
        let summary = pool.operationSummaries().first { $0.key.hasPrefix("test.never") }
        #expect(summary?.callsInline == 30 && summary?.callsSplit == 0 && summary?.switches == 0)
        #expect(summary?.splitTicks == nil && summary?.inlineTicks == nil)
        // Kernels called outside an operation still split.
        let outside = LockedList<Int64>()
        pool.parallelFor(0..<256, grain: 1) { _ in
            outside.append(weave_thread_id())
            for _ in 0..<2_000 { weave_cpu_relax() }
        }
        #expect(outside.elements.count == 256)
    }

    @Test("Keys compare by literal and sizes")
    func keys() {
        let shape = [2, 3]
        #expect(OperationKey("a", shape: shape, 1) == OperationKey("a", shape: [2, 3], 1))
        #expect(OperationKey("a", shape: shape, 1) != OperationKey("a", shape: shape, 2))
        #expect(OperationKey("a", shape: shape) != OperationKey("a", shape: [3, 2]))
        #expect(OperationKey("a") != OperationKey("b"))
    }

    @Test("An error thrown inside an inline operation reaches the caller and the slot leaves inline mode")
    func errorsPropagate() throws {
        struct Failure: Error {}
        let pool = ThreadPool(threads: 2)
        let key = OperationKey("test.throws")
        var inlineFailures = 0
        for call in 0..<16 {
            let fails = call % 2 == 1
            let before = pool.operationCounts.inline
            let attempt = Result {
                try pool.operation(key) {
                    try pool.parallelFor(0..<16, grain: 1) { tile in
                        if fails && tile.lowerBound == 7 { throw Failure() }
                    }
                }
            }
            #expect((try? attempt.get()) == nil ? fails : !fails)
            if fails && pool.operationCounts.inline > before { inlineFailures += 1 }
        }
        // Failed calls are not timed, so they take the way the next successful call takes:
        // the alternation of the learning phase gives inline ones.
        #expect(inlineFailures >= 1)
        // Outside an operation the pool splits again: a join's second side can run elsewhere.
        #expect(pool.core.slots[0].runsInline == false)
    }

    @Test("operationSummaries counts each key's calls and describes the key")
    func summaries() {
        let pool = ThreadPool(threads: 2)
        for _ in 0..<20 {
            pool.operation(OperationKey("test.a", shape: [4, 5], 6)) { pool.parallelFor(0..<2, grain: 1) { _ in } }
        }
        for _ in 0..<3 { pool.operation(OperationKey("test.b")) {} }
        let summaries = pool.operationSummaries()
        #expect(summaries.map(\.key) == ["test.a [4, 5] 6", "test.b"])
        #expect(summaries[0].callsSplit + summaries[0].callsInline == 20)
        // Learning is over after 9 calls: both ways are timed, and it switched from split to
        // inline at least once.
        #expect(summaries[0].splitTicks != nil && summaries[0].inlineTicks != nil)
        #expect(summaries[0].switches >= 1 && summaries[0].callsInline >= 4)
        #expect(!summaries[0].serial)
        // The warm-up and two split calls: inline not yet tried, and too few to be serial.
        #expect(summaries[1].callsSplit == 3 && summaries[1].inlineTicks == nil && summaries[1].switches == 0)
        #expect(!summaries[1].serial)
    }

    @Test("A key whose calls have no work to share runs inline, untimed, until a call has some; then it learns again",
          arguments: [2, 3, 7])
    func serialKeys(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let key = OperationKey("test.serial", shape: [threads])
        func summary() -> OperationSummary? { pool.operationSummaries().first { $0.key.hasPrefix("test.serial") } }
        // One tile: nothing to share.
        for _ in 0..<20 { pool.operation(key) { pool.parallelFor(0..<8, grain: 8) { _ in } } }
        let serial = summary()
        #expect(serial?.serial == true)
        // Its first calls were the chooser's warm-up and learning, split; every call after, inline.
        #expect(serial?.callsSplit == SplitDecisions.serialAfter && serial?.callsInline == 20 - SplitDecisions.serialAfter)
        #expect(serial?.splitTicks == nil && serial?.inlineTicks == nil && serial?.switchedTicks == nil)
        // A call with work to share: it runs inline (it was serial), all of it on the caller.
        let ran = LockedList<Int64>()
        pool.operation(key) { pool.parallelFor(0..<64, grain: 1) { _ in ran.append(weave_thread_id()) } }
        #expect(ran.elements.count == 64 && Set(ran.elements) == [weave_thread_id()])
        #expect(summary()?.serial == false)
        // From the next call the key learns afresh: the warm-up and learning split, then inline;
        // and it never turns serial again, even when its calls stop sharing.
        let before = pool.operationCounts
        for _ in 0..<12 { pool.operation(key) { pool.parallelFor(0..<64, grain: 1) { _ in } } }
        let after = pool.operationCounts
        #expect(after.split - before.split >= SplitChooser.minimumSamples + 1)
        #expect(after.inline - before.inline >= SplitChooser.minimumSamples + 1)
        for _ in 0..<20 { pool.operation(key) {} }
        #expect(summary()?.serial == false && summary()?.inlineTicks != nil)
    }

    @Test("A parallelFor of two tiles, a join or a spawn is work to share, split or inline; one tile is not")
    func whatCountsAsSharing() throws {
        let pool = ThreadPool(threads: 2)
        let bodies: [(StaticString, () -> Void, Bool)] = [
            ("test.share for", { pool.parallelFor(0..<2, grain: 1) { _ in } }, true),
            ("test.share join", { _ = pool.join({ 1 }, { 2 }) }, true),
            ("test.share spawn", { try? pool.scope { $0.spawn {} } }, true),
            ("test.share grid", { pool.parallelFor(rows: 2, cols: 1, tile: (1, 1)) { _, _ in } }, true),
            ("test.share one tile", { pool.parallelFor(rows: 4, cols: 4, tile: (4, 4)) { _, _ in } }, false),
            ("test.share empty", {}, false),
        ]
        for (name, body, shares) in bodies {
            // Enough calls for learning to run both ways.
            for _ in 0..<12 { pool.operation(OperationKey(name)) { body() } }
            let summary = pool.operationSummaries().first { $0.key == name.description }
            #expect(summary?.serial == !shares, "\(name)")
            #expect(summary?.callsInline ?? 0 > 0, "\(name)")
        }
    }

    @Test("A table full of keys starts over and keeps counting the keys that follow")
    func tableStartsOver() {
        let pool = ThreadPool(threads: 2)
        let capacity = SplitDecisions.capacity
        // Keys with heap-allocated shapes: the records dropped at the reset must release them.
        for i in 0..<(capacity + 40) {
            for _ in 0..<2 { pool.operation(OperationKey("test.many keys", shape: [i, i + 1])) {} }
        }
        let summaries = pool.operationSummaries()
        #expect(summaries.count == 40)
        #expect(summaries.allSatisfy { $0.callsSplit + $0.callsInline == 2 })
        #expect(Set(summaries.map(\.key)) == Set((capacity..<(capacity + 40)).map { "test.many keys [\($0), \($0 + 1)]" }))
        // The first key was dropped: it learns again from its warm-up.
        pool.operation(OperationKey("test.many keys", shape: [0, 1])) {}
        #expect(pool.operationSummaries().first { $0.key == "test.many keys [0, 1]" }?.callsSplit == 1)
    }

    @Test("An operation of one pool called from a task of another gives the thread its slot back")
    func operationInsideAnotherPool() {
        let outer = ThreadPool(threads: 2)
        let inner = ThreadPool(threads: 2)
        let mismatches = Mutex(0)
        let sums = Mutex(0)
        outer.parallelFor(0..<8, grain: 1) { tiles in
            let before = outer.currentSlot
            let sum = inner.operation(OperationKey("test.inner pool")) {
                inner.parallelReduce(0..<100, grain: 10, identity: 0, { $0.reduce(0, +) }, combine: +)
            }
            sums.withLock { $0 += sum }
            if outer.currentSlot != before || before == nil || inner.currentSlot != nil {
                mismatches.withLock { $0 += 1 }
            }
        }
        #expect(mismatches.withLock { $0 } == 0)
        #expect(sums.withLock { $0 } == 8 * 4_950)
        #expect(inner.operationCounts.split + inner.operationCounts.inline == 8)
    }

    @Test("A timed call counts the caller's wait for a stolen job, and only while it is timed")
    func countsWaitsForOtherThreads() {
        let pool = ThreadPool(threads: 2)
        pool.core.withSlot { slot in
            // The caller's side waits until the worker has stolen the other side, which then
            // takes 20 ms: the join's wait is most of its time.
            func stolenJoin() -> UInt64 {
                let stolen = Atomic<Bool>(false)
                let start = weave_ticks()
                pool.core.join(slot, { _ in
                    while !stolen.load(ordering: .acquiring) { weave_cpu_relax() }
                }, { _ in
                    stolen.store(true, ordering: .releasing)
                    usleep(20_000)
                })
                return weave_ticks() &- start
            }
            slot.measuresWaits = true
            let before = slot.waitedTicks
            let total = stolenJoin()
            let waited = slot.waitedTicks &- before
            slot.measuresWaits = false
            #expect(waited > total / 2 && waited <= total)
            let untimed = slot.waitedTicks
            _ = stolenJoin()
            #expect(slot.waitedTicks == untimed)
        }
    }
}
