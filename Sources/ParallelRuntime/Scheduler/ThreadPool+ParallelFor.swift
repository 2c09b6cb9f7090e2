import Synchronization

extension ThreadPool {
    /// Calls `body` once for each tile of `range`: `[lo, lo+grain)`, `[lo+grain, lo+2·grain)`, …
    /// (the last may be shorter). Tiles run concurrently on the pool; the calling thread takes
    /// part. The tiles depend only on `range` and `grain`, never on the thread count.
    ///
    /// - Precondition: `grain ≥ 1`.
    public func parallelFor(_ range: Range<Int>, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        precondition(grain >= 1, "parallelFor grain must be ≥ 1, got \(grain)")
        let lower = range.lowerBound, upper = range.upperBound
        forEachTile(tileCount(range.count, grain)) { t in
            let start = lower + t * grain
            body(start..<min(start + grain, upper))
        }
    }

    /// The throwing form: the first error thrown by any tile is rethrown to the caller once all
    /// running tiles have returned; tiles not yet started are skipped.
    public func parallelFor(_ range: Range<Int>, grain: Int = 1,
                            _ body: (Range<Int>) throws -> Void) throws {
        // The error slot and its flags live on the caller's stack, not in a heap box: kernels
        // call this form every step, and a steady-state training step allocates nothing.
        let claimed = Atomic<Bool>(false)
        let published = Atomic<Bool>(false)
        try withUnsafeTemporaryAllocation(of: (any Error)?.self, capacity: 1) { slot in
            let error = slot.baseAddress.unsafelyUnwrapped
            error.initialize(to: nil)
            defer { error.deinitialize(count: 1) }
            parallelFor(range, grain: grain) { tile in
                // Relaxed: a stale `false` only runs one more tile before the skip.
                guard !claimed.load(ordering: .relaxed) else { return }
                do {
                    try body(tile)
                } catch let thrown {
                    // Acquiring-and-releasing: one winner writes the slot, then publishes it
                    // with a releasing store paired with the caller's acquiring load below.
                    if claimed.compareExchange(expected: false, desired: true,
                                               ordering: .acquiringAndReleasing).exchanged {
                        error.pointee = thrown
                        published.store(true, ordering: .releasing)
                    }
                }
            }
            if published.load(ordering: .acquiring), let thrown = error.pointee { throw thrown }
        }
    }

    /// Calls `body(rows, cols)` for each tile of a `rows × cols` grid cut into
    /// `tile.rows × tile.cols` blocks (edge tiles smaller), concurrently.
    ///
    /// - Precondition: `rows, cols ≥ 0`, `tile.rows, tile.cols ≥ 1`.
    public func parallelFor(rows: Int, cols: Int, tile: (rows: Int, cols: Int),
                            _ body: (Range<Int>, Range<Int>) -> Void) {
        precondition(rows >= 0 && cols >= 0, "parallelFor grid must be non-negative, got \(rows)×\(cols)")
        precondition(tile.rows >= 1 && tile.cols >= 1,
                     "parallelFor tile must be at least 1×1, got \(tile.rows)×\(tile.cols)")
        let rowTiles = tileCount(rows, tile.rows)
        let colTiles = tileCount(cols, tile.cols)
        forEachTile(rowTiles * colTiles) { t in
            let r0 = (t / colTiles) * tile.rows
            let c0 = (t % colTiles) * tile.cols
            body(r0..<min(r0 + tile.rows, rows), c0..<min(c0 + tile.cols, cols))
        }
    }

    /// Runs `body(t)` for every tile index `t` in `0..<count`, concurrently.
    /// Splitting is adaptive (Rayon's thief-splitting): a range splits `threads` ways up front
    /// and again whenever a piece migrates to another thread, so leaves stay large when nobody
    /// is idle. A leaf runs its tiles in order.
    func forEachTile(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threads == 1 {
            for t in 0..<count { body(t) }
            return
        }
        // Forks carry a pointer to the body, never a closure. Making the caller's non-escaping
        // closure storable costs one heap context (a reabstraction thunk) per call here;
        // storing a closure per fork cost one per fork.
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: Tiles(body: body)) { tiles in
                core.withSlot { slot in
                    splitTiles(slot, 0, count, splits: threads, migrated: false, tiles)
                }
            }
        }
    }

    /// The tile closure in memory: a closure field of a concrete struct keeps its own
    /// representation (stored as a generic value it would go through another thunk).
    private struct Tiles {
        let body: (Int) -> Void
    }

    /// The upper half of a split, as a fork's context: everything `splitTiles` needs, on the
    /// forker's stack.
    private struct TileSplit {
        unowned(unsafe) let pool: ThreadPool
        unowned(unsafe) let forker: WorkerSlot
        let body: UnsafePointer<Tiles>
        let lo: Int
        let hi: Int
        let splits: Int
    }

    /// A leaf's context for thieves (`SharedLeaf`), on the running thread's stack.
    private struct LeafContext {
        unowned(unsafe) let pool: ThreadPool
        let body: UnsafePointer<Tiles>
    }

    /// Runs tiles `[lo, hi)` here, in order, while idle threads may take the upper half of
    /// those not started (and run it the same way).
    private func runLeaf(_ slot: WorkerSlot, _ lo: Int, _ hi: Int, _ body: UnsafePointer<Tiles>) {
        let run = body.pointee.body
        withUnsafePointer(to: LeafContext(pool: self, body: body)) { context in
            core.runSharedLeaf(slot, lo, hi, context: UnsafeRawPointer(context), function: { context, lo, hi, thief in
                let leaf = context.assumingMemoryBound(to: LeafContext.self).pointee
                let slot = Unmanaged<WorkerSlot>.fromOpaque(thief).takeUnretainedValue()
                leaf.pool.runLeaf(slot, lo, hi, leaf.body)
            }, tile: run)
        }
    }

    private func splitTiles(_ slot: WorkerSlot, _ lo: Int, _ hi: Int, splits: Int,
                            migrated: Bool, _ body: UnsafePointer<Tiles>) {
        var splits = splits
        var split = false
        if hi - lo > 1 {
            if migrated {
                splits = max(threads, splits / 2)
                split = true
            } else if splits > 0 {
                splits /= 2
                split = true
            }
        }
        guard split else {
            runLeaf(slot, lo, hi, body)
            return
        }
        let mid = lo + (hi - lo) / 2
        var upper = TileSplit(pool: self, forker: slot, body: body, lo: mid, hi: hi, splits: splits)
        withUnsafeMutablePointer(to: &upper) { upper in
            let job = core.fork(slot, UnsafeMutableRawPointer(upper)) { context, executor in
                let upper = context.assumingMemoryBound(to: TileSplit.self).pointee
                let slot = Unmanaged<WorkerSlot>.fromOpaque(executor).takeUnretainedValue()
                upper.pool.splitTiles(slot, upper.lo, upper.hi, splits: upper.splits,
                                      migrated: slot !== upper.forker, upper.body)
            }
            splitTiles(slot, lo, mid, splits: splits, migrated: false, body)
            core.finishFork(slot, job)
        }
    }
}

@inline(__always)
func tileCount(_ n: Int, _ grain: Int) -> Int {
    n <= 0 ? 0 : (n - 1) / grain + 1
}

/// The first error thrown by any task; later ones are dropped.
final class FirstError {
    private let claimed = Atomic<Bool>(false)
    private let published = Atomic<Bool>(false)
    private var error: (any Error)?

    var hasError: Bool { claimed.load(ordering: .relaxed) }

    func record(_ error: any Error) {
        // Acquiring-and-releasing: the winner's write of `error` is published by `published`.
        if claimed.compareExchange(expected: false, desired: true,
                                   ordering: .acquiringAndReleasing).exchanged {
            self.error = error
            published.store(true, ordering: .releasing)
        }
    }

    /// Called by the caller after every task has finished (joins give happens-before).
    func rethrow() throws {
        if published.load(ordering: .acquiring), let error { throw error }
    }
}

extension FirstError: @unchecked Sendable {
    // Safe because: `error` is written once, by the thread that won `claimed`, before the
    // releasing store of `published`, and read only after an acquiring load of it.
}
