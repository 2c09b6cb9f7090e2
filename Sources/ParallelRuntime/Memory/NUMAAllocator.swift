import CNUMA
import Foundation
import Glibc
import Synchronization

/// Allocates memory with a NUMA placement policy (DESIGN §5).
///
/// With libnuma active, buffers are anonymous mappings (2 MiB aligned and advised as huge
/// pages from 2 MiB up) whose pages are bound with `numa_tonode_memory` (`.local`) or
/// `numa_interleave_memory` (`.interleaved`), or left to the first write (`.firstTouch`).
/// Buffers below `minimumPlacedByteCount` are plain aligned memory: placing a few pages is not
/// worth a mapping each.
///
/// Fallback: when `numa_available() < 0` or `WEAVE_NUMA=off`, every buffer is plain aligned
/// memory (`placement == nil`); this is logged once on standard error and shown by
/// `weave info`. On a one-node machine libnuma stays active and every policy lands on node 0.
///
/// Allocation failure throws `AllocationError`; it never traps.
public final class NUMAAllocator: Sendable {
    /// The topology placement decisions are made against.
    public let topology: any NUMATopologyProviding
    /// Buffers smaller than this are not placed (plain aligned memory).
    public let minimumPlacedByteCount: Int

    /// The allocator for this machine.
    public static let system = NUMAAllocator(topology: NUMATopology.system)

    public init(topology: any NUMATopologyProviding, minimumPlacedByteCount: Int = 64 << 10) {
        self.topology = topology
        self.minimumPlacedByteCount = minimumPlacedByteCount
    }

    /// Whether placement calls are made (libnuma active), or the fallback is in use.
    public var placesPages: Bool { topology.libnumaActive }

    /// Allocates `byteCount` uninitialised bytes placed by `policy`.
    ///
    /// - Throws: `AllocationError` when memory is exhausted, the size is invalid, or
    ///   `.local(node)` names a node the topology does not have.
    public func allocate(byteCount: Int, policy: PlacementPolicy) throws(AllocationError) -> NUMABuffer<UInt8> {
        try allocate(capacity: byteCount, of: UInt8.self, policy: policy)
    }

    /// Allocates room for `capacity` uninitialised values of `Element`, placed by `policy`.
    ///
    /// - Throws: `AllocationError` when memory is exhausted, the size is invalid (negative, or
    ///   more bytes than `Int` holds: `EOVERFLOW` with `byteCount` `Int.max`), or `.local(node)`
    ///   names a node the topology does not have.
    public func allocate<Element: BitwiseCopyable>(
        capacity: Int, of type: Element.Type = Element.self, policy: PlacementPolicy
    ) throws(AllocationError) -> NUMABuffer<Element> {
        let (byteCount, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard !overflow else {
            throw AllocationError(byteCount: Int.max, alignment: AlignedAllocation.cacheLineAlignment,
                                  errorNumber: EOVERFLOW)
        }
        guard byteCount >= 0 else {
            throw AllocationError(byteCount: byteCount, alignment: 64, errorNumber: EINVAL)
        }
        if case .local(let node) = policy, !topology.nodes.contains(where: { $0.id == node }) {
            throw AllocationError(byteCount: byteCount, alignment: 64, errorNumber: ENODEV)
        }
        guard placesPages, byteCount >= minimumPlacedByteCount else {
            if !placesPages { Self.logFallbackOnce() }
            let memory = try AlignedAllocation.allocate(byteCount: byteCount)
            return NUMABuffer(memory: memory, capacity: capacity, byteCount: byteCount, placement: nil,
                              release: .aligned)
        }
        let (pointer, length) = try Self.mapAligned(byteCount: byteCount)
        switch policy {
        case .local(let node):
            numa_tonode_memory(pointer, length, Int32(node))
        case .interleaved:
            if let mask = numa_get_mems_allowed() {
                numa_interleave_memory(pointer, length, mask)
                numa_bitmask_free(mask)
            }
        case .firstTouch:
            break
        }
        return NUMABuffer(memory: pointer, capacity: capacity, byteCount: byteCount, placement: policy,
                          release: .mapping(length: length))
    }

    /// Allocates with `.firstTouch` and writes every page once in parallel on `pool`, tile by
    /// tile: tile `t` covers bytes `[t·tileBytes, (t+1)·tileBytes)`, the tiling the compute will
    /// use, so each page lands on the node of the worker that runs its tile. The bytes are
    /// zero afterwards.
    ///
    /// Buffers of 2 MiB or more are backed by transparent huge pages, which land whole on the
    /// node of their first toucher: give such buffers tiles of a multiple of 2 MiB, or a
    /// huge page straddling two tiles goes to whichever worker wrote first (seen in the
    /// 2-node guest of `tools/numa-vm-test`).
    public func allocateFirstTouch(byteCount: Int, tileBytes: Int,
                                   pool: ThreadPool) throws(AllocationError) -> NUMABuffer<UInt8> {
        precondition(tileBytes >= 1, "first-touch tile size must be ≥ 1 byte, got \(tileBytes)")
        let buffer = try allocate(byteCount: byteCount, policy: .firstTouch)
        let base = buffer.pointer
        pool.parallelFor(0..<byteCount, grain: tileBytes) { tile in
            (base + tile.lowerBound).initialize(repeating: 0, count: tile.count)
        }
        return buffer
    }

    /// An anonymous private mapping of at least `byteCount` bytes (whole pages), aligned to
    /// 2 MiB and advised as huge pages when `byteCount ≥ 2 MiB`.
    static func mapAligned(byteCount: Int) throws(AllocationError) -> (UnsafeMutableRawPointer, Int) {
        let page = PagePlacement.pageSize
        let huge = AlignedAllocation.hugePageSize
        let alignment = byteCount >= huge ? huge : page
        let length = max(page, (byteCount + alignment - 1) / alignment * alignment)
        // Over-map by one alignment unit, then trim both ends to an aligned window.
        let mapped = length + (alignment > page ? alignment : 0)
        guard let raw = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != UnsafeMutableRawPointer(bitPattern: -1)  // MAP_FAILED
        else {
            throw AllocationError(byteCount: byteCount, alignment: alignment, errorNumber: errno)
        }
        let start = (Int(bitPattern: raw) + alignment - 1) / alignment * alignment
        let head = start - Int(bitPattern: raw)
        if head > 0 { munmap(raw, head) }
        let tail = mapped - head - length
        if tail > 0 { munmap(UnsafeMutableRawPointer(bitPattern: start + length), tail) }
        let pointer = UnsafeMutableRawPointer(bitPattern: start).unsafelyUnwrapped
        if alignment == huge {
            _ = madvise(pointer, length, AlignedAllocation.adviseHugePage)
        }
        return (pointer, length)
    }

    private static let fallbackLogged = Atomic<Bool>(false)

    private static func logFallbackOnce() {
        if !fallbackLogged.exchange(true, ordering: .relaxed) {
            let why = ProcessInfo.processInfo.environment["WEAVE_NUMA"]?.lowercased() == "off"
                ? "WEAVE_NUMA=off" : "libnuma reports NUMA unavailable"
            FileHandle.standardError.write(Data(
                "weave: \(why); using plain aligned memory without NUMA placement\n".utf8))
        }
    }
}
