import CPlatform
import Testing
@testable import ParallelRuntime

@Suite("parallelFor")
struct ParallelForTests {
    static let shapes: [(n: Int, grain: Int)] = [
        (0, 1), (1, 1), (2, 1), (7, 3), (100, 1), (100, 7), (1000, 1000), (1001, 1000),
        (4096, 64), (10_007, 13), (65_536, 1),
    ]

    @Test("Every index is visited exactly once, in exactly the tiles grain defines",
          arguments: threadCounts)
    func coversEveryIndexOnce(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for (n, grain) in Self.shapes {
            let counters = AtomicCounters(n)
            let tiles = LockedList<Range<Int>>()
            pool.parallelFor(0..<n, grain: grain) { tile in
                tiles.append(tile)
                for i in tile { counters.increment(i) }
            }
            #expect(counters.values.allSatisfy { $0 == 1 }, "n=\(n) grain=\(grain) threads=\(threads)")
            let expected = stride(from: 0, to: n, by: grain).map { $0..<min($0 + grain, n) }
            #expect(tiles.elements.sorted { $0.lowerBound < $1.lowerBound } == expected)
        }
    }

    @Test("Descending order visits every index once, in the same tiles", arguments: threadCounts)
    func descendingCoversEveryIndexOnce(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for (n, grain) in Self.shapes {
            let counters = AtomicCounters(n)
            let tiles = LockedList<Range<Int>>()
            pool.parallelFor(0..<n, grain: grain, order: .descending) { tile in
                tiles.append(tile)
                for i in tile { counters.increment(i) }
            }
            #expect(counters.values.allSatisfy { $0 == 1 }, "n=\(n) grain=\(grain) threads=\(threads)")
            let expected = stride(from: 0, to: n, by: grain).map { $0..<min($0 + grain, n) }
            #expect(tiles.elements.sorted { $0.lowerBound < $1.lowerBound } == expected)
        }
    }

    @Test("One thread runs descending tiles from last to first")
    func descendingOnOneThread() {
        let pool = ThreadPool(threads: 1)
        let tiles = LockedList<Int>()
        pool.parallelFor(0..<10, grain: 3, order: .descending) { tiles.append($0.lowerBound) }
        #expect(tiles.elements == [9, 6, 3, 0])
    }

    @Test("The caller starts at the far end of its own share, the first threads-th of the tiles",
          arguments: threadCounts)
    func callerKeepsItsShare(threads: Int) {
        // The affinity that keeps a pass's blocks in the cache of the thread that read them in
        // the previous pass: share 0 is never forked, so the caller runs it in every call.
        let pool = ThreadPool(threads: threads)
        let count = 100
        for order in [TileOrder.ascending, .descending] {
            for _ in 0..<20 {
                let first = LockedList<Int>()
                let caller = weave_thread_id()
                pool.parallelFor(0..<count, order: order) { tile in
                    if weave_thread_id() == caller && first.elements.isEmpty { first.append(tile.lowerBound) }
                }
                let expected = order == .ascending ? 0 : count / threads - 1
                #expect(first.elements == [expected], "threads=\(threads) order=\(order)")
            }
        }
    }

    @Test("A range not starting at zero is tiled from its lower bound")
    func offsetRange() {
        let pool = ThreadPool(threads: 3)
        let tiles = LockedList<Range<Int>>()
        pool.parallelFor(5..<16, grain: 4) { tiles.append($0) }
        #expect(tiles.elements.sorted { $0.lowerBound < $1.lowerBound } == [5..<9, 9..<13, 13..<16])
    }

    @Test("2-D tiles cover the grid exactly once", arguments: threadCounts)
    func twoDimensionalTiles(threads: Int) {
        let pool = ThreadPool(threads: threads)
        for (rows, cols, tr, tc) in [(0, 5, 2, 2), (1, 1, 1, 1), (37, 53, 8, 16), (64, 64, 64, 64), (5, 300, 2, 7)] {
            let counters = AtomicCounters(rows * cols)
            let tileCount = LockedList<Int>()
            pool.parallelFor(rows: rows, cols: cols, tile: (tr, tc)) { rr, cc in
                tileCount.append(1)
                #expect(rr.count <= tr && cc.count <= tc && !rr.isEmpty && !cc.isEmpty)
                for r in rr { for c in cc { counters.increment(r * cols + c) } }
            }
            #expect(counters.values.allSatisfy { $0 == 1 })
            let expectedTiles = ((rows + tr - 1) / tr) * ((cols + tc - 1) / tc)
            #expect(tileCount.elements.count == (rows * cols == 0 ? 0 : expectedTiles))
        }
    }

    @Test("Regions nested three deep run on the same pool and cover everything",
          arguments: threadCounts)
    func nestedThreeDeep(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let counters = AtomicCounters(16 * 16 * 16)
        let foreign = LockedList<Int>()
        pool.parallelFor(0..<16) { a in
            pool.parallelFor(0..<16, grain: 2) { b in
                pool.parallelFor(0..<16, grain: 5) { c in
                    if pool.currentSlot == nil { foreign.append(1) }
                    for i in a { for j in b { for k in c { counters.increment((i * 16 + j) * 16 + k) } } }
                }
            }
        }
        #expect(counters.values.allSatisfy { $0 == 1 })
        // A one-thread pool runs everything inline on the caller, outside any slot.
        if threads > 1 {
            #expect(foreign.elements.isEmpty, "nested tasks ran outside the pool's threads")
        }
    }

    @Test("The first error thrown by a tile reaches the caller")
    func errorsAreRethrown() {
        struct TileFailed: Error, Equatable { let tile: Int }
        let pool = ThreadPool(threads: 4)
        #expect(throws: TileFailed.self) {
            try pool.parallelFor(0..<1000, grain: 10) { tile in
                if tile.contains(555) { throw TileFailed(tile: tile.lowerBound) }
            }
        }
        // The pool is still usable afterwards.
        let counters = AtomicCounters(100)
        pool.parallelFor(0..<100) { for i in $0 { counters.increment(i) } }
        #expect(counters.values.allSatisfy { $0 == 1 })
    }

    @Test("N threads really run at the same time: an N-party barrier inside N tiles completes",
          arguments: [2, 3, 4, 7])
    func threadsRunConcurrently(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let barrier = SpinBarrier(parties: threads)
        let passed = AtomicCounters(1)
        let slots = LockedList<Int>()
        let labels = LockedList<String>()
        pool.parallelFor(0..<threads) { _ in
            if barrier.arriveAndWait(seconds: 30) { passed.increment(0) }
            slots.append(pool.currentSlot ?? -1)
            labels.append(currentDispatchQueueLabel())
        }
        #expect(passed.value(0) == threads, "only \(passed.value(0)) of \(threads) threads met")
        #expect(Set(slots.elements) == Set(0..<threads))
        // Workers (slots 1…) run as items on their own serial Dispatch queues.
        let workerLabels = labels.elements.filter { $0.hasPrefix("weave.worker.") }
        #expect(Set(workerLabels).count == threads - 1, "labels: \(labels.elements)")
    }
}
