import ParallelRuntime

/// The memory of a `Tensor`: a 64-byte aligned (2 MiB for ≥ 2 MiB) raw buffer of `Float` from
/// `NUMAAllocator.system` (DESIGN §5), owned by a class so that `Tensor` can share it between copies and
/// copy it only on a write to a shared buffer (`isKnownUniquelyReferenced`). Never a Swift
/// `Array`: its own copy-on-write would copy whole tensors behind our back (DESIGN §5).
package final class TensorStorage {
    /// The first element; valid for `capacity` elements until `deinit`.
    package let pointer: UnsafeMutablePointer<Float>
    /// Elements the buffer holds.
    package let capacity: Int
    /// The memory; released with the storage.
    private let buffer: NUMABuffer<Float>

    /// Uninitialised storage for `capacity` elements (not zero-filled), placed by `placement`:
    /// by default `.firstTouch`, so the pages of a tensor that a kernel writes tile by tile in
    /// parallel land on the nodes of the workers that write them. Small buffers and machines
    /// without libnuma get plain aligned memory (see `NUMAAllocator`).
    package init(capacity: Int, placement: PlacementPolicy = .firstTouch) throws(AllocationError) {
        buffer = try NUMAAllocator.system.allocate(capacity: capacity, of: Float.self, policy: placement)
        pointer = buffer.pointer
        self.capacity = capacity
    }

    /// The placement policy the pages were given (nil: plain aligned memory).
    package var placement: PlacementPolicy? { buffer.placement }

    /// A new storage holding the same elements.
    package func copy() throws(AllocationError) -> TensorStorage {
        let result = try TensorStorage(capacity: capacity, placement: placement ?? .firstTouch)
        result.pointer.update(from: pointer, count: capacity)
        return result
    }
}

extension TensorStorage: @unchecked Sendable {
    // Safe because: the pointer and capacity are immutable, and `Tensor` writes the elements
    // only while it holds the sole reference (copy-on-write), so a storage reachable from more
    // than one tensor — the only way it can be seen from several threads — is only read.
}
