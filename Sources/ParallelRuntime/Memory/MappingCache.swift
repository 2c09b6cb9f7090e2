import Glibc
import Synchronization

/// Mappings released by `NUMABuffer`s, kept for the next buffer of the same length and
/// placement instead of being unmapped.
///
/// Why: a new mapping's pages are faulted in and zeroed by the kernel on first write, ~1.7 µs
/// a 4 KiB page in this project's VMs. A ReLU writing a fresh 1 MiB tensor took 461 µs, into
/// a tensor it reused 27 µs; at 256 KiB, 108 µs against 5.4 (session 24, `AllocScratch`).
/// Every call of the allocating kernel API (`reluForward(_:pool:)`), and each batch of
/// `Trainer.evaluate`, paid that. glibc's `malloc`, which PyTorch's CPU allocator uses, keeps
/// freed memory for reuse too.
///
/// What is kept: a mapping goes back into the cache when its buffer is released, unless it
/// alone is larger than `byteLimit`; the oldest mappings are unmapped to keep the cache under
/// `byteLimit` bytes and `entryLimit` mappings. `take` hands out the newest mapping of exactly
/// the length and policy asked for (its pages are the likeliest still in cache), with its old
/// contents: buffers are uninitialised. A mapping keeps the placement it was given
/// (`numa_tonode_memory`, `numa_interleave_memory` bind the range, not the pages), so
/// `.local(node)` and `.interleaved` mappings are reused for the same policy only. A
/// `.firstTouch` mapping's pages stay where its first buffer's writes put them, so such
/// mappings are kept only on a machine of one node (`NUMAAllocator` decides); on several
/// nodes a new first-touch buffer is a new mapping, placed by the writes of its own kernel.
final class MappingCache: Sendable {
    /// One kept mapping (its address as an integer: a `Sendable` value can leave the lock).
    private struct Entry: Sendable {
        let address: UInt
        let length: Int
        let placement: PlacementPolicy
    }

    private struct State {
        /// Oldest first.
        var entries: [Entry] = []
        var bytes = 0
        var hits = 0
        var misses = 0
    }

    /// The most bytes kept; 0 keeps nothing.
    let byteLimit: Int
    /// The most mappings kept: `take` and `keep` scan them.
    let entryLimit: Int
    private let state = Mutex(State())

    init(byteLimit: Int, entryLimit: Int = 64) {
        precondition(byteLimit >= 0 && entryLimit >= 0, "cache limits must be ≥ 0")
        self.byteLimit = byteLimit
        self.entryLimit = entryLimit
    }

    /// A kept mapping of exactly `length` bytes placed by `placement`, removed from the cache,
    /// or nil (a miss).
    func take(length: Int, placement: PlacementPolicy) -> UnsafeMutableRawPointer? {
        guard byteLimit > 0 else { return nil }
        let address: UnsafeMutableRawPointer? = state.withLock { state in
            guard let index = state.entries.lastIndex(where: { $0.length == length && $0.placement == placement })
            else {
                state.misses += 1
                return nil
            }
            state.hits += 1
            state.bytes -= length
            return UnsafeMutableRawPointer(bitPattern: state.entries.remove(at: index).address)
        }
        #if DEBUG
        // All-ones bytes are NaN floats: in debug builds (the tests) code that read a buffer
        // before writing it, counting on a new mapping's zeros, fails loudly. Outside the lock:
        // the mapping is this caller's now.
        address?.initializeMemory(as: UInt8.self, repeating: 0xFF, count: length)
        #endif
        return address
    }

    /// Keeps a released mapping, unmapping the oldest ones to make room; unmaps it at once if
    /// it alone is over the limit.
    func keep(_ address: UnsafeMutableRawPointer, length: Int, placement: PlacementPolicy) {
        guard length <= byteLimit && entryLimit > 0 else {
            munmap(address, length)
            return
        }
        // Unmapped outside the lock: munmap takes the process's mapping lock and flushes TLBs.
        let evicted: [Entry] = state.withLock { state in
            var evicted: [Entry] = []
            while state.bytes + length > byteLimit || state.entries.count >= entryLimit {
                let oldest = state.entries.removeFirst()
                state.bytes -= oldest.length
                evicted.append(oldest)
            }
            state.entries.append(Entry(address: UInt(bitPattern: address), length: length, placement: placement))
            state.bytes += length
            return evicted
        }
        for entry in evicted { Self.unmap(entry) }
    }

    /// Unmaps every kept mapping.
    func trim() {
        let entries = state.withLock { state in
            defer {
                state.entries.removeAll()
                state.bytes = 0
            }
            return state.entries
        }
        for entry in entries { Self.unmap(entry) }
    }

    private static func unmap(_ entry: Entry) {
        munmap(UnsafeMutableRawPointer(bitPattern: entry.address), entry.length)
    }

    /// The bytes and mappings kept now, and the takes that found one (hits) or did not.
    var statistics: NUMAAllocator.CacheStatistics {
        state.withLock { state in
            NUMAAllocator.CacheStatistics(bytes: state.bytes, mappings: state.entries.count,
                                          hits: state.hits, misses: state.misses)
        }
    }

    deinit { trim() }
}

extension NUMAAllocator {
    /// What the allocator's cache of released mappings holds, and how often it served.
    public struct CacheStatistics: Sendable, Equatable {
        public var bytes: Int
        public var mappings: Int
        public var hits: Int
        public var misses: Int
    }
}
