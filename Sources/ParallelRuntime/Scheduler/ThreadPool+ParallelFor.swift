import Synchronization

extension ThreadPool {
    /// Calls `body` once for each tile of `range`: `[lo, lo+grain)`, `[lo+grain, lo+2·grain)`, …
    /// (the last may be shorter). Tiles run concurrently on the pool; the calling thread takes
    /// part. The tiles depend only on `range` and `grain`, never on the thread count.
    ///
    /// `order` is the order in which each thread runs its share of the tiles (see `TileOrder`);
    /// it never changes which tiles exist.
    ///
    /// - Precondition: `grain ≥ 1`.
    public func parallelFor(_ range: Range<Int>, grain: Int = 1, order: TileOrder = .ascending,
                            _ body: (Range<Int>) -> Void) {
        precondition(grain >= 1, "parallelFor grain must be ≥ 1, got \(grain)")
        let lower = range.lowerBound, upper = range.upperBound
        forEachTile(tileCount(range.count, grain), order: order) { t in
            let start = lower + t * grain
            body(start..<min(start + grain, upper))
        }
    }

    /// The throwing form: the first error thrown by any tile is rethrown to the caller once all
    /// running tiles have returned; tiles not yet started are skipped.
    public func parallelFor(_ range: Range<Int>, grain: Int = 1, order: TileOrder = .ascending,
                            _ body: (Range<Int>) throws -> Void) throws {
        // The error slot and its flags live on the caller's stack, not in a heap box: kernels
        // call this form every step, and a steady-state training step allocates nothing.
        let claimed = Atomic<Bool>(false)
        let published = Atomic<Bool>(false)
        try withUnsafeTemporaryAllocation(of: (any Error)?.self, capacity: 1) { slot in
            let error = slot.baseAddress.unsafelyUnwrapped
            error.initialize(to: nil)
            defer { error.deinitialize(count: 1) }
            parallelFor(range, grain: grain, order: order) { tile in
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
    ///
    /// The tiles are cut into `threads` contiguous shares, one per thread, offered by binary
    /// forks: the caller keeps share 0 and thieves take the others. Each share runs as a
    /// shared leaf, so a thread that runs out of work takes half of what another has left;
    /// shares are not split again when they migrate. The point is cache affinity: on 2
    /// threads the caller runs the same share in every call and pass, so the blocks a pass
    /// reads are in the cache of the thread that wrote them in the previous one. Splitting a
    /// migrated share again (Rayon's thief splitting) let the caller steal pieces of the
    /// worker's share back in one pass and not the next; with that and BatchNorm's reversed
    /// second pass, its (64,6,10,10) forward+backward took 18–19 µs on 2 threads instead of 15
    /// (Scheduler/README.md, "Shares").
    func forEachTile(_ count: Int, order: TileOrder = .ascending, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threads == 1 {
            runTiles(0, count, descending: order == .descending, body)
            return
        }
        core.withSlot { slot in
            if slot.runsInline {
                slot.hadWorkToShare = true
                runTiles(0, count, descending: order == .descending, body)
                return
            }
            // Forks carry a pointer to the body, never a closure. Making the caller's
            // non-escaping closure storable costs one heap context (a reabstraction thunk) per
            // call here; storing a closure per fork cost one per fork.
            withoutActuallyEscaping(body) { body in
                withUnsafePointer(to: Tiles(body: body, count: count, shares: min(count, threads),
                                            descending: order == .descending)) { tiles in
                    runShares(slot, 0, tiles.pointee.shares, tiles)
                }
            }
        }
    }

    /// The tile closure in memory, with how the tiles are cut into shares: a closure field of
    /// a concrete struct keeps its own representation (stored as a generic value it would go
    /// through another thunk).
    private struct Tiles {
        let body: (Int) -> Void
        let count: Int
        let shares: Int
        let descending: Bool

        /// The first tile of share `share` (`share == shares` gives `count`).
        func start(ofShare share: Int) -> Int { share * count / shares }
    }

    /// The upper shares of a split, as a fork's context: everything `runShares` needs, on the
    /// forker's stack.
    private struct ShareSplit {
        unowned(unsafe) let pool: ThreadPool
        let tiles: UnsafePointer<Tiles>
        let lo: Int
        let hi: Int
    }

    /// A leaf's context for thieves (`SharedLeaf`), on the running thread's stack.
    private struct LeafContext {
        unowned(unsafe) let pool: ThreadPool
        let tiles: UnsafePointer<Tiles>
    }

    /// Runs tiles `[lo, hi)` here, in the tiles' order, while idle threads may take half of
    /// those not started (and run it the same way).
    private func runLeaf(_ slot: WorkerSlot, _ lo: Int, _ hi: Int, _ tiles: UnsafePointer<Tiles>) {
        let run = tiles.pointee.body
        withUnsafePointer(to: LeafContext(pool: self, tiles: tiles)) { context in
            core.runSharedLeaf(slot, lo, hi, descending: tiles.pointee.descending,
                               context: UnsafeRawPointer(context), function: { context, lo, hi, thief in
                let leaf = context.assumingMemoryBound(to: LeafContext.self).pointee
                let slot = Unmanaged<WorkerSlot>.fromOpaque(thief).takeUnretainedValue()
                leaf.pool.runLeaf(slot, lo, hi, leaf.tiles)
            }, tile: run)
        }
    }

    /// Runs shares `[lo, hi)`: forks the upper half of them and runs the lower half here, down
    /// to one share, which runs as a leaf.
    private func runShares(_ slot: WorkerSlot, _ lo: Int, _ hi: Int, _ tiles: UnsafePointer<Tiles>) {
        guard hi - lo > 1 else {
            runLeaf(slot, tiles.pointee.start(ofShare: lo), tiles.pointee.start(ofShare: hi), tiles)
            return
        }
        let mid = lo + (hi - lo) / 2
        var upper = ShareSplit(pool: self, tiles: tiles, lo: mid, hi: hi)
        withUnsafeMutablePointer(to: &upper) { upper in
            let job = core.fork(slot, UnsafeMutableRawPointer(upper)) { context, executor in
                let upper = context.assumingMemoryBound(to: ShareSplit.self).pointee
                let slot = Unmanaged<WorkerSlot>.fromOpaque(executor).takeUnretainedValue()
                upper.pool.runShares(slot, upper.lo, upper.hi, upper.tiles)
            }
            runShares(slot, lo, mid, tiles)
            core.finishFork(slot, job)
        }
    }
}

/// The order in which each thread runs its share of a `parallelFor`'s tiles. Which tiles exist,
/// and so every result, does not depend on it.
public enum TileOrder: Sendable {
    /// First tile to last.
    case ascending
    /// Last tile to first: for a pass over data that an ascending pass just read. Each thread
    /// keeps its share (see `forEachTile`), so it starts with the blocks it read last, still
    /// in its cache; on 1 thread the last blocks of a tensor larger than the caches come from
    /// L3 instead of memory.
    case descending
}

/// Runs tiles `[lo, hi)` one after another on the calling thread, in the given order.
@inline(__always)
func runTiles(_ lo: Int, _ hi: Int, descending: Bool, _ tile: (Int) -> Void) {
    if descending {
        for t in (lo..<hi).reversed() { tile(t) }
    } else {
        for t in lo..<hi { tile(t) }
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
