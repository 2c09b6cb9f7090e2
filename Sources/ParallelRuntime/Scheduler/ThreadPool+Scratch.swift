extension ThreadPool {
    /// Runs `body` with `byteCount` bytes of scratch memory private to the calling thread's slot:
    /// 64-byte aligned, not zero-filled, on the slot's NUMA node, valid during the call only,
    /// and reused across calls (no allocation once the slot's arena has grown to the largest
    /// request). Calls may nest. From a thread outside the pool, slot 0's arena is used.
    ///
    /// - Throws: `AllocationError` when memory is exhausted; rethrows what `body` throws.
    public func withScratch<R>(byteCount: Int,
                               _ body: (UnsafeMutableRawPointer) throws -> R) throws -> R {
        try core.withSlot { slot in try slot.scratch.withBytes(byteCount, body) }
    }
}
