import Glibc

/// An allocation that could not be made, naming its size.
public struct AllocationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes asked for.
    public let byteCount: Int
    /// The alignment asked for.
    public let alignment: Int
    /// The error number from the system (`ENOMEM`, …).
    public let errorNumber: Int32

    /// An error for `byteCount` bytes at `alignment` that failed with `errorNumber`.
    public init(byteCount: Int, alignment: Int, errorNumber: Int32) {
        self.byteCount = byteCount
        self.alignment = alignment
        self.errorNumber = errorNumber
    }

    /// "could not allocate N bytes aligned to A (errno E)".
    public var description: String {
        "could not allocate \(byteCount) bytes aligned to \(alignment) (errno \(errorNumber))"
    }
}

/// Aligned heap memory for tensors and scratch (DESIGN §5): 64-byte (cache-line) alignment
/// always, and buffers of at least 2 MiB aligned to 2 MiB, rounded up to whole 2 MiB pages,
/// and advised as transparent huge pages (`madvise(MADV_HUGEPAGE)`), which cuts TLB misses on
/// large streaming kernels. Memory is not zero-filled.
///
/// Calls `posix_memalign`, `madvise` and `free`. A NUMA-aware allocator builds on this.
public enum AlignedAllocation {
    /// The alignment of every allocation: one cache line.
    public static let cacheLineAlignment = 64
    /// The size (and alignment) of a huge page on x86-64.
    public static let hugePageSize = 2 << 20

    /// `MADV_HUGEPAGE` from `<sys/mman.h>`: not imported into Swift by Glibc (it is a
    /// Linux-specific macro), so its value (14 on every Linux architecture) is spelled here.
    static let adviseHugePage: Int32 = 14

    /// The alignment used for `byteCount` bytes: 2 MiB for `byteCount ≥ 2 MiB`, else 64.
    public static func alignment(forByteCount byteCount: Int) -> Int {
        byteCount >= hugePageSize ? hugePageSize : cacheLineAlignment
    }

    /// The bytes actually reserved for `byteCount`: rounded up to a whole number of huge pages
    /// for large buffers (so no huge page is shared with another allocation), else unchanged
    /// (at least 1).
    public static func reservedByteCount(forByteCount byteCount: Int) -> Int {
        if byteCount >= hugePageSize {
            let pages = byteCount / hugePageSize + (byteCount % hugePageSize == 0 ? 0 : 1)
            return pages.multipliedReportingOverflow(by: hugePageSize).overflow
                ? Int.max : pages * hugePageSize
        }
        return max(byteCount, 1)
    }

    /// Allocates `byteCount` uninitialised bytes aligned to `alignment(forByteCount:)`.
    /// Release them with `deallocate(_:)`.
    ///
    /// - Throws: `AllocationError` when the system has no memory for it (or the size is
    ///   absurd, e.g. negative); never traps.
    public static func allocate(byteCount: Int) throws(AllocationError) -> UnsafeMutableRawPointer {
        let alignment = alignment(forByteCount: byteCount)
        guard byteCount >= 0 else {
            throw AllocationError(byteCount: byteCount, alignment: alignment, errorNumber: EINVAL)
        }
        let reserved = reservedByteCount(forByteCount: byteCount)
        var pointer: UnsafeMutableRawPointer?
        let status = posix_memalign(&pointer, alignment, reserved)
        guard status == 0, let pointer else {
            throw AllocationError(byteCount: byteCount, alignment: alignment,
                                  errorNumber: status == 0 ? ENOMEM : status)
        }
        if alignment == hugePageSize {
            // Advice only: failure (e.g. THP disabled) leaves ordinary pages, which is correct.
            _ = madvise(pointer, reserved, adviseHugePage)
        }
        return pointer
    }

    /// Releases memory from `allocate(byteCount:)` (calls `free`).
    public static func deallocate(_ pointer: UnsafeMutableRawPointer) {
        free(pointer)
    }
}
