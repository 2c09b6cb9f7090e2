import Glibc

/// Memory from `NUMAAllocator`: uninitialised, 64-byte aligned (2 MiB for ≥ 2 MiB), freed
/// when the buffer is released.
public final class NUMABuffer {
    /// The first byte; valid for `byteCount` bytes while the buffer lives.
    public let pointer: UnsafeMutableRawPointer
    /// The bytes asked for.
    public let byteCount: Int
    /// The policy the pages were placed with (`nil`: plain aligned memory, no placement).
    public let placement: PlacementPolicy?
    /// How the memory is released.
    let release: Release

    enum Release {
        /// From `AlignedAllocation` (free).
        case aligned
        /// An anonymous mapping of `length` bytes at `pointer` (munmap).
        case mapping(length: Int)
    }

    init(pointer: UnsafeMutableRawPointer, byteCount: Int, placement: PlacementPolicy?,
         release: Release) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.placement = placement
        self.release = release
    }

    deinit {
        switch release {
        case .aligned: AlignedAllocation.deallocate(pointer)
        case .mapping(let length): munmap(pointer, length)
        }
    }
}

extension NUMABuffer: @unchecked Sendable {
    // Safe because: the fields are immutable; the bytes are the owner's to synchronise, like
    // any raw memory handed out.
}
