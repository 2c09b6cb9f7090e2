import Synchronization

/// A Chase–Lev work-stealing deque of non-null raw pointers.
///
/// One owner thread pushes and takes at the bottom (LIFO, cache-warm); any number of thieves
/// steal from the top (FIFO, the oldest and usually largest piece of work). The memory
/// orderings follow Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing
/// for Weak Memory Models" (PPoPP'13), with one deliberate strengthening noted in `push`.
///
/// The ring grows when full (owner only). Retired rings are kept until the deque is
/// destroyed, because a thief may still be reading one; growth is rare (the ring doubles)
/// so the memory kept is at most the size of the final ring.
package final class WorkStealingDeque {
    /// The outcome of a steal attempt.
    package enum StealResult {
        case success(UnsafeMutableRawPointer)
        /// Nothing to steal.
        case empty
        /// Lost a race with the owner or another thief; the deque may still hold work.
        case retry
    }

    /// Index of the oldest item; advanced by thieves and by the owner taking the last item.
    private let top = Atomic<Int>(0)
    /// One past the newest item; written only by the owner.
    private let bottom = Atomic<Int>(0)
    /// The current ring (see `Ring`), published with release and read with acquire.
    private let ring: Atomic<UnsafeMutableRawPointer>
    /// Every ring ever allocated, freed in `deinit`. Owner-only.
    private var rings: [Ring]

    /// Creates an empty deque whose ring starts with `initialCapacity` slots (a power of two).
    package init(initialCapacity: Int = 256) {
        precondition(initialCapacity > 0 && initialCapacity & (initialCapacity - 1) == 0,
                     "WorkStealingDeque capacity must be a power of two, got \(initialCapacity)")
        let first = Ring(capacity: initialCapacity)
        rings = [first]
        ring = Atomic(first.base)
    }

    deinit {
        for r in rings { r.deallocate() }
    }

    /// Owner only: pushes `item` at the bottom.
    package func push(_ item: UnsafeMutableRawPointer) {
        let b = bottom.load(ordering: .relaxed)
        let t = top.load(ordering: .acquiring)
        var r = Ring(base: ring.load(ordering: .relaxed))
        if b - t > r.capacity - 1 {
            r = grow(from: r, top: t, bottom: b)
        }
        r.store(item, at: b)
        // The paper has `fence(release); store_relaxed(bottom)`. A releasing store is at least
        // as strong, costs nothing on x86-64 and AArch64, and lets ThreadSanitizer (which does
        // not model fences) see the edge to the thief's acquiring load of `bottom`.
        bottom.store(b + 1, ordering: .releasing)
    }

    /// Owner only: takes the newest item, or nil when the deque is empty.
    package func take() -> UnsafeMutableRawPointer? {
        let b = bottom.load(ordering: .relaxed) - 1
        let r = Ring(base: ring.load(ordering: .relaxed))
        bottom.store(b, ordering: .relaxed)
        // Sequentially consistent: orders our write of `bottom` before our read of `top`
        // against a thief's read of `top` then `bottom` (the store-buffering pattern; pairs
        // with the fence in `steal`).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        var t = top.load(ordering: .relaxed)
        guard t <= b else {
            bottom.store(b + 1, ordering: .relaxed)
            return nil
        }
        var item: UnsafeMutableRawPointer? = r.load(at: b)
        if t == b {
            // The last item: race the thieves for it through `top`.
            let (won, _) = top.compareExchange(
                expected: t, desired: t + 1,
                successOrdering: .sequentiallyConsistent, failureOrdering: .relaxed)
            if !won { item = nil }
            t += 1
            bottom.store(b + 1, ordering: .relaxed)
        }
        return item
    }

    /// Any thread: steals the oldest item.
    package func steal() -> StealResult {
        let t = top.load(ordering: .acquiring)
        // Pairs with the fence in `take` (see there).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let b = bottom.load(ordering: .acquiring)
        guard t < b else { return .empty }
        let r = Ring(base: ring.load(ordering: .acquiring))
        let item = r.load(at: t)
        let (won, _) = top.compareExchange(
            expected: t, desired: t + 1,
            successOrdering: .sequentiallyConsistent, failureOrdering: .relaxed)
        guard won, let item else { return .retry }
        return .success(item)
    }

    /// Any thread: whether the deque looked non-empty at some instant during the call.
    /// Used by idle threads to decide whether to park; a stale answer only costs a retry.
    package var mayHaveWork: Bool {
        let t = top.load(ordering: .acquiring)
        let b = bottom.load(ordering: .acquiring)
        return t < b
    }

    /// Approximate number of items (exact when no thread is operating on the deque).
    package var count: Int {
        max(0, bottom.load(ordering: .acquiring) - top.load(ordering: .acquiring))
    }

    private func grow(from old: Ring, top t: Int, bottom b: Int) -> Ring {
        let bigger = Ring(capacity: old.capacity * 2)
        for i in t..<b {
            bigger.store(old.load(at: i), at: i)
        }
        rings.append(bigger)
        // Releasing: a thief that loads the new ring with acquire sees its copied slots.
        ring.store(bigger.base, ordering: .releasing)
        return bigger
    }
}

extension WorkStealingDeque: @unchecked Sendable {
    // Safe because: `top`, `bottom`, `ring` and every slot are atomics; `rings` is touched only
    // by the owner (push/grow) and by deinit, which runs when no thread holds the deque.
}

/// A power-of-two ring of atomic pointer-sized slots in one raw allocation:
/// `[capacity: Int][padding to 64 bytes][slot 0][slot 1]…`.
private struct Ring {
    let base: UnsafeMutableRawPointer

    init(base: UnsafeMutableRawPointer) { self.base = base }

    init(capacity: Int) {
        base = UnsafeMutableRawPointer.allocate(
            byteCount: 64 + capacity * MemoryLayout<Int>.stride, alignment: 64)
        base.storeBytes(of: capacity, as: Int.self)
        let slots = (base + 64).bindMemory(to: Atomic<Int>.self, capacity: capacity)
        for i in 0..<capacity {
            (slots + i).initialize(to: Atomic(0))
        }
    }

    var capacity: Int { base.load(as: Int.self) }

    private var slots: UnsafeMutablePointer<Atomic<Int>> {
        (base + 64).assumingMemoryBound(to: Atomic<Int>.self)
    }

    /// Relaxed, as in the paper: the ordering comes from `bottom` and `top`.
    func load(at index: Int) -> UnsafeMutableRawPointer? {
        let bits = slots[index & (capacity - 1)].load(ordering: .relaxed)
        return UnsafeMutableRawPointer(bitPattern: bits)
    }

    func store(_ item: UnsafeMutableRawPointer?, at index: Int) {
        slots[index & (capacity - 1)].store(Int(bitPattern: item), ordering: .relaxed)
    }

    func deallocate() { base.deallocate() }
}
