import Glibc

/// Memory from `NUMAAllocator` for `capacity` values of `Element`: uninitialised, 64-byte
/// aligned (2 MiB for ≥ 2 MiB), freed when the buffer is released. Byte buffers (scratch,
/// placement checks) are `NUMABuffer<UInt8>`.
///
/// A class, so that an owner can tell with `isKnownUniquelyReferenced` whether it may write a
/// buffer in place (tensor storage, max-pooling indices, dropout masks). `Element` is
/// `BitwiseCopyable` because the elements are never deinitialised: the memory is released as is.
public final class NUMABuffer<Element: BitwiseCopyable> {
    /// The first element; valid for `capacity` elements while the buffer lives.
    public let pointer: UnsafeMutablePointer<Element>
    /// The elements the buffer holds.
    public let capacity: Int
    /// The bytes asked for: `capacity` times the stride of `Element`.
    public let byteCount: Int
    /// The policy the pages were placed with (`nil`: plain aligned memory, no placement).
    public let placement: PlacementPolicy?
    /// How the memory is released.
    let release: NUMABufferRelease

    init(memory: UnsafeMutableRawPointer, capacity: Int, byteCount: Int,
         placement: PlacementPolicy?, release: NUMABufferRelease) {
        pointer = memory.bindMemory(to: Element.self, capacity: capacity)
        self.capacity = capacity
        self.byteCount = byteCount
        self.placement = placement
        self.release = release
    }

    deinit {
        let memory = UnsafeMutableRawPointer(pointer)
        switch release {
        case .aligned: AlignedAllocation.deallocate(memory)
        case .mapping(let length, let cache):
            // A mapping's placement is its buffer's (a mapping always has one).
            if let cache, let placement {
                cache.keep(memory, length: length, placement: placement)
            } else {
                munmap(memory, length)
            }
        }
    }
}

/// How a `NUMABuffer`'s memory is released (outside the generic class: it does not depend on
/// the element type).
enum NUMABufferRelease {
    /// From `AlignedAllocation` (free).
    case aligned
    /// An anonymous mapping of `length` bytes at the buffer's start: kept in `cache` for reuse,
    /// or unmapped when there is none.
    case mapping(length: Int, cache: MappingCache?)
}

extension NUMABuffer: @unchecked Sendable {
    // Safe because: the fields are immutable; the elements are the owner's to synchronise,
    // like any raw memory handed out.
}
