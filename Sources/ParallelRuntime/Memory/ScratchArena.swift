import CPlatform

/// Per-worker scratch memory (GEMM packing panels, im2col tiles): node-local, never
/// zero-filled, and reused, so a kernel call in the steady state allocates nothing.
///
/// A stack: `withBytes` regions nest (a kernel may call another that needs scratch). When a
/// request does not fit, a new chunk is added; when the outermost region ends, the chunks are
/// merged into one chunk of the peak size, so the next round fits in it.
package final class ScratchArena {
    private var chunks: [NUMABuffer<UInt8>] = []
    /// Bytes used in the last chunk.
    private var used = 0
    /// Peak bytes needed by one outermost region (the size to merge into).
    private var peak = 0
    private var depth = 0
    private var node: Int?
    private let pinnedCPU: Int?
    private let allocator: NUMAAllocator

    package init(pinnedCPU: Int?, allocator: NUMAAllocator = .system) {
        self.pinnedCPU = pinnedCPU
        self.allocator = allocator
    }

    /// Bytes currently reserved (for tests and statistics).
    package var reservedBytes: Int { chunks.reduce(0) { $0 + $1.byteCount } }

    /// Runs `body` with `byteCount` bytes of 64-byte aligned scratch, valid during the call.
    package func withBytes<R>(
        _ byteCount: Int, _ body: (UnsafeMutableRawPointer) throws -> R
    ) throws -> R {
        precondition(byteCount >= 0, "scratch size must be ≥ 0, got \(byteCount)")
        let size = (max(byteCount, 1) + 63) & ~63
        if chunks.isEmpty {
            // First use, or after a merge: one chunk for the whole peak seen so far.
            chunks.append(try allocator.allocate(byteCount: max(size, peak, 256 << 10),
                                                 policy: .local(node: resolveNode())))
            used = 0
        } else if used + size > chunks[chunks.count - 1].byteCount {
            chunks.append(try allocator.allocate(byteCount: max(size, 2 * chunks[chunks.count - 1].byteCount),
                                                 policy: .local(node: resolveNode())))
            used = 0
        }
        let chunkIndex = chunks.count - 1
        let offset = used
        used += size
        depth += 1
        let totalInUse = chunks.dropLast().reduce(0) { $0 + $1.byteCount } + used
        peak = max(peak, totalInUse)
        defer {
            depth -= 1
            used = offset
            if depth == 0 && chunks.count > 1 {
                // Merge: one chunk that holds the peak, so the steady state never grows.
                chunks = []
                used = 0
            } else if chunkIndex < chunks.count - 1 {
                chunks.removeLast(chunks.count - 1 - chunkIndex)
            }
        }
        return try body(UnsafeMutableRawPointer(chunks[chunkIndex].pointer + offset))
    }

    /// The node this arena's memory goes on, decided at the first allocation (on the worker's
    /// own thread, so an unpinned worker gets the node it runs on).
    private func resolveNode() -> Int {
        if let node { return node }
        let resolved = allocator.topology.scratchNode(pinnedCPU: pinnedCPU,
                                                      currentCPU: Int(weave_current_cpu()))
        node = resolved
        return resolved
    }
}

extension ScratchArena: @unchecked Sendable {
    // Safe because: an arena belongs to one worker slot and is used only by the thread that
    // holds the slot (see WorkerSlot).
}
