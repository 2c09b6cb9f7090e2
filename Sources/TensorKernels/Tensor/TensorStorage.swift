import ParallelRuntime

/// The memory of a `Tensor`: a 64-byte aligned (2 MiB for ≥ 2 MiB) raw buffer of `Float` from
/// `AlignedAllocation`, owned by a class so that `Tensor` can share it between copies and
/// copy it only on a write to a shared buffer (`isKnownUniquelyReferenced`). Never a Swift
/// `Array`: its own copy-on-write would copy whole tensors behind our back (DESIGN §5).
package final class TensorStorage {
    /// The first element; valid for `capacity` elements until `deinit`.
    package let pointer: UnsafeMutablePointer<Float>
    /// Elements the buffer holds.
    package let capacity: Int

    /// Uninitialised storage for `capacity` elements (not zero-filled).
    package init(capacity: Int) throws(AllocationError) {
        let (byteCount, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard !overflow else {
            throw AllocationError(byteCount: Int.max, alignment: AlignedAllocation.cacheLineAlignment,
                                  errorNumber: 75)  // EOVERFLOW
        }
        let raw = try AlignedAllocation.allocate(byteCount: byteCount)
        pointer = raw.bindMemory(to: Float.self, capacity: capacity)
        self.capacity = capacity
    }

    deinit {
        AlignedAllocation.deallocate(UnsafeMutableRawPointer(pointer))
    }

    /// A new storage holding the same elements.
    package func copy() throws(AllocationError) -> TensorStorage {
        let result = try TensorStorage(capacity: capacity)
        result.pointer.update(from: pointer, count: capacity)
        return result
    }
}

extension TensorStorage: @unchecked Sendable {
    // Safe because: the pointer and capacity are immutable, and `Tensor` writes the elements
    // only while it holds the sole reference (copy-on-write), so a storage reachable from more
    // than one tensor — the only way it can be seen from several threads — is only read.
}
