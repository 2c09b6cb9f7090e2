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
/// Released mappings are kept for reuse (`MappingCache`, up to `cacheByteLimit` bytes): a new
/// mapping's pages fault in and are zeroed by the kernel on first write, which cost a kernel
/// writing a fresh 1 MiB tensor 17× the time of writing one it reused. `.firstTouch` mappings
/// are kept only on a machine of one node, where there is nothing to place.
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
    /// Released mappings kept for reuse.
    let cache: MappingCache
    /// Whether released `.firstTouch` mappings are kept: only with one node (see above).
    private let cachesFirstTouch: Bool

    /// The allocator for this machine, keeping up to `defaultCacheByteLimit` bytes of
    /// released mappings, or `WEAVE_MAPPING_CACHE_MB` MiB when set (0: none; an invalid value
    /// is reported once on standard error and the default used: `weave` rejects it up front).
    public static let system = NUMAAllocator(topology: NUMATopology.system, cacheByteLimit: {
        do {
            return try cacheByteLimit(environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("weave: \(error); using the default\n".utf8))
            return defaultCacheByteLimit
        }
    }())

    /// The cache's limit unless set: 256 MiB, or an eighth of physical memory if less. Kept
    /// memory counts in the process's resident size; a training step that reuses its buffers
    /// needs none, a chain of allocating calls needs about its largest few tensors.
    public static var defaultCacheByteLimit: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 256 << 20 }
        return min(pages / 8 * pageSize, 256 << 20)
    }

    /// A `WEAVE_MAPPING_CACHE_MB` value that is not a whole number of MiB ≥ 0.
    public struct CacheSettingError: Error, CustomStringConvertible, Equatable {
        public let value: String
        public var description: String {
            "WEAVE_MAPPING_CACHE_MB=\(value): not a whole number of MiB ≥ 0 (0 keeps no released mappings)"
        }
    }

    /// The cache limit `environment` asks for: `WEAVE_MAPPING_CACHE_MB` MiB, or the default
    /// when it is not set.
    public static func cacheByteLimit(environment: [String: String]) throws(CacheSettingError) -> Int {
        guard let text = environment["WEAVE_MAPPING_CACHE_MB"] else { return defaultCacheByteLimit }
        guard let megabytes = Int(text.trimmingCharacters(in: .whitespaces)), megabytes >= 0,
              megabytes <= Int.max >> 20 else { throw CacheSettingError(value: text) }
        return megabytes << 20
    }

    /// - Parameter cacheByteLimit: the most bytes of released mappings kept for reuse (0: none).
    public init(topology: any NUMATopologyProviding, minimumPlacedByteCount: Int = 64 << 10,
                cacheByteLimit: Int = 0) {
        precondition(cacheByteLimit >= 0, "cacheByteLimit must be ≥ 0, got \(cacheByteLimit)")
        self.topology = topology
        self.minimumPlacedByteCount = minimumPlacedByteCount
        cache = MappingCache(byteLimit: cacheByteLimit)
        cachesFirstTouch = topology.nodes.count <= 1
    }

    /// The most bytes of released mappings kept for reuse.
    public var cacheByteLimit: Int { cache.byteLimit }

    /// What the cache of released mappings holds and how often it served.
    public var cacheStatistics: CacheStatistics { cache.statistics }

    /// Unmaps every released mapping kept for reuse (the memory goes back to the system).
    public func trimCache() { cache.trim() }

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
        let length = Self.mappedLength(byteCount: byteCount)
        let caches = policy != .firstTouch || cachesFirstTouch
        let release = NUMABufferRelease.mapping(length: length, cache: caches ? cache : nil)
        if caches, let kept = cache.take(length: length, placement: policy) {
            return NUMABuffer(memory: kept, capacity: capacity, byteCount: byteCount, placement: policy,
                              release: release)
        }
        let pointer = try Self.mapAligned(byteCount: byteCount)
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
                          release: release)
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

    /// The length of the mapping for `byteCount` bytes: whole pages, or whole 2 MiB huge pages
    /// from 2 MiB up.
    static func mappedLength(byteCount: Int) -> Int {
        let page = PagePlacement.pageSize
        let alignment = byteCount >= AlignedAllocation.hugePageSize ? AlignedAllocation.hugePageSize : page
        return max(page, (byteCount + alignment - 1) / alignment * alignment)
    }

    /// An anonymous private mapping of `mappedLength(byteCount:)` bytes, aligned to 2 MiB and
    /// advised as huge pages when `byteCount ≥ 2 MiB`.
    static func mapAligned(byteCount: Int) throws(AllocationError) -> UnsafeMutableRawPointer {
        let page = PagePlacement.pageSize
        let huge = AlignedAllocation.hugePageSize
        let alignment = byteCount >= huge ? huge : page
        let length = mappedLength(byteCount: byteCount)
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
        return pointer
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
