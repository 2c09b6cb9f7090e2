import CPlatform
import Synchronization

/// Runs the tiles `[lo, hi)` of a leaf: called with the leaf's context, the bounds and the
/// executing slot (an unretained `WorkerSlot`).
package typealias LeafFunction = @convention(c) (
    _ context: UnsafeRawPointer, _ lo: Int, _ hi: Int, _ slot: UnsafeMutableRawPointer) -> Void

/// The leaf of tiles a slot is running, published so that idle threads can take half
/// of the tiles it has not started ("Shared leaves" in Scheduler/README.md).
///
/// A leaf is a whole share of a `parallelFor` (its tiles divided by the thread count), and a leaf
/// used to run its tiles in a plain loop. When the kernel preempted a thread in the middle of one
/// (another process shares its CPU), every tile left in it waited for that thread's next time
/// slice, and so did the joiner. Now the owner claims its tiles one at a time from a shared range,
/// and a thief takes half of what is left: a preempted owner holds up one tile at most.
///
/// One per slot, reused: the owner shares one leaf at a time (a leaf inside one of its tiles,
/// or met while it waits for its thieves, runs as a plain loop).
final class SharedLeaf {
    /// The tiles not yet started: `next << 32 | end`.
    let range = Atomic<UInt64>(0)
    /// Whether the leaf is open to thieves.
    let published = Atomic<Bool>(false)
    /// Thieves between checking `published` and finishing their claim; the owner waits for
    /// none to be left before it reuses the leaf.
    let readers = Atomic<Int>(0)
    /// Parts taken by thieves and not finished yet.
    let pending = Atomic<Int>(0)
    /// Whether the owner claims tiles from the top (`TileOrder.descending`); thieves then take
    /// the lower half. Written by the owner before publishing, like `function`.
    var descending = false
    /// Whether the owner is using this leaf: from publishing it until its last thief has
    /// finished. While it waits for thieves the owner may run other work, and a leaf met there
    /// runs as a plain loop: reusing this one would mix its thieves' count with the waited-for
    /// one (two threads then each waited for the other's part). Touched only by the owner.
    var inUse = false
    /// What runs a part: written by the owner before publishing (the sequentially consistent
    /// store of `published` releases them; a thief's load of it acquires them).
    var function: LeafFunction?
    var context: UnsafeRawPointer?

    /// Tile indices must fit in 32 bits each; larger ranges run as plain loops.
    static let maximumTiles = Int(UInt32.max)

    static func pack(_ next: Int, _ end: Int) -> UInt64 { UInt64(next) << 32 | UInt64(end) }

    static func unpack(_ value: UInt64) -> (next: Int, end: Int) {
        (Int(value >> 32), Int(value & 0xFFFF_FFFF))
    }

    /// Claims the owner's next tile (the lowest left, or the highest when descending), or nil
    /// when none is left.
    @inline(__always)
    func claimNext(descending: Bool) -> Int? {
        var current = range.load(ordering: .relaxed)
        while true {
            let (next, end) = Self.unpack(current)
            if next >= end { return nil }
            // Relaxed: the range hands out indices, not data; tiles are disjoint.
            let (exchanged, original) = range.compareExchange(
                expected: current, desired: descending ? current &- 1 : current &+ (1 << 32),
                ordering: .relaxed)
            if exchanged { return descending ? end - 1 : next }
            current = original
        }
    }

    /// A thief's claim: the half of the tiles left that the owner would reach last (all of them
    /// when one is left).
    func claimFarHalf() -> (lo: Int, hi: Int)? {
        var current = range.load(ordering: .relaxed)
        while true {
            let (next, end) = Self.unpack(current)
            if next >= end { return nil }
            let half = (end - next + 1) / 2
            let (claimed, left) = descending
                ? ((next, next + half), Self.pack(next + half, end))
                : ((end - half, end), Self.pack(next, end - half))
            let (exchanged, original) = range.compareExchange(
                expected: current, desired: left, ordering: .relaxed)
            if exchanged { return claimed }
            current = original
        }
    }
}

extension SharedLeaf: @unchecked Sendable {
    // Safe because: `function`, `context` and `descending` are written only by the owning slot's
    // thread while the leaf is unpublished and no reader is left, and read by thieves only between
    // a sequentially consistent load of `published` (true) and the end of their claim.
}

extension PoolCore {
    /// Runs tiles `[lo, hi)` on `slot` through `function(context, tile range, slot)`, taking
    /// tiles one at a time from a published range so that idle threads can take a share. Tiles
    /// never change, only who runs them.
    func runSharedLeaf(_ slot: WorkerSlot, _ lo: Int, _ hi: Int, descending: Bool,
                       context: UnsafeRawPointer, function: LeafFunction, tile: (Int) -> Void) {
        let leaf = slot.leaf
        guard threads > 1, hi - lo > 1, hi <= SharedLeaf.maximumTiles, !leaf.inUse else {
            runTiles(lo, hi, descending: descending, tile)
            return
        }
        leaf.inUse = true
        defer { leaf.inUse = false }
        leaf.function = function
        leaf.context = context
        leaf.descending = descending
        leaf.range.store(SharedLeaf.pack(lo, hi), ordering: .relaxed)
        leaf.published.store(true, ordering: .sequentiallyConsistent)
        while let t = leaf.claimNext(descending: descending) { tile(t) }
        // Close the leaf, then wait out thieves still claiming (the store-buffering pair of
        // `claimLeafPart`: either a thief sees it closed, or we see its reader count).
        leaf.published.store(false, ordering: .sequentiallyConsistent)
        while leaf.readers.load(ordering: .sequentiallyConsistent) != 0 { weave_cpu_relax() }
        if leaf.pending.load(ordering: .acquiring) != 0 {
            runUntil(slot) { leaf.pending.load(ordering: .acquiring) == 0 }
        }
    }

    /// Tiles a thief took from another slot's leaf, and what runs them.
    struct LeafPart {
        unowned(unsafe) let victim: WorkerSlot
        let lo: Int, hi: Int
        let function: LeafFunction
        let context: UnsafeRawPointer
    }

    /// Takes the far half of the tiles left in another slot's published leaf, or nil when
    /// no leaf is open. The victim waits for the part (`pending`) until `run(_:on:)` ends it.
    func claimLeafPart(_ slot: WorkerSlot) -> LeafPart? {
        let n = slots.count
        let start = slot.nextRandom(below: n)
        for k in 0..<n {
            let victim = slots[(start + k) % n]
            if victim === slot { continue }
            let leaf = victim.leaf
            // Cheap check first: most leaves are closed most of the time.
            guard leaf.published.load(ordering: .relaxed) else { continue }
            leaf.readers.add(1, ordering: .sequentiallyConsistent)
            var part: LeafPart?
            if leaf.published.load(ordering: .sequentiallyConsistent), let claimed = leaf.claimFarHalf(),
               let function = leaf.function, let context = leaf.context {
                // Counted before the reader leaves, so the owner never misses it.
                leaf.pending.add(1, ordering: .relaxed)
                part = LeafPart(victim: victim, lo: claimed.lo, hi: claimed.hi, function: function,
                                context: context)
            }
            leaf.readers.subtract(1, ordering: .sequentiallyConsistent)
            if let part {
                slot.bump(slot.stealCount)
                return part
            }
        }
        return nil
    }

    /// Runs a claimed part here (as a shared leaf of this slot's), then tells its victim.
    func run(_ part: LeafPart, on slot: WorkerSlot) {
        part.function(part.context, part.lo, part.hi, Unmanaged.passUnretained(slot).toOpaque())
        // Sequentially consistent, then wake: the same pairing with the owner's park as a
        // job's completion (`complete`).
        part.victim.leaf.pending.subtract(1, ordering: .sequentiallyConsistent)
        wakePlain(part.victim)
    }
}
