import Testing
@testable import ParallelRuntime

@Suite("Mapping cache")
struct MappingCacheTests {
    /// An allocator of its own (the system one is shared by tests running at once).
    static func allocator(limit: Int, topology: any NUMATopologyProviding = NUMATopology.system) -> NUMAAllocator {
        NUMAAllocator(topology: topology, cacheByteLimit: limit)
    }

    @Test("A released mapping is reused for the same length and policy only")
    func reuseMatchesLengthAndPolicy() throws {
        let allocator = Self.allocator(limit: 64 << 20)
        guard allocator.placesPages else { return }
        var first: NUMABuffer<UInt8>? = try allocator.allocate(byteCount: 1 << 20, policy: .firstTouch)
        let address = first!.pointer
        first = nil
        #expect(allocator.cacheStatistics == .init(bytes: 1 << 20, mappings: 1, hits: 0, misses: 1))
        // Another policy, or another length in pages, is a new mapping.
        let interleaved = try allocator.allocate(byteCount: 1 << 20, policy: .interleaved)
        let longer = try allocator.allocate(byteCount: 1 << 20 + 4096, policy: .firstTouch)
        #expect(interleaved.pointer != address && longer.pointer != address)
        // The same length in pages (1 MiB − 100 bytes rounds up to it) is the kept mapping.
        let again = try allocator.allocate(byteCount: 1 << 20 - 100, policy: .firstTouch)
        #expect(again.pointer == address)
        #expect(again.byteCount == 1 << 20 - 100 && again.placement == .firstTouch)
        #expect(allocator.cacheStatistics == .init(bytes: 0, mappings: 0, hits: 1, misses: 3))
    }

    @Test("The cache stays under its byte limit, unmapping the oldest mappings first")
    func oldestGoFirst() throws {
        let allocator = Self.allocator(limit: 3 << 20)
        guard allocator.placesPages else { return }
        var buffers = try (0..<4).map { _ in try allocator.allocate(byteCount: 1 << 20, policy: .firstTouch) }
        let addresses = buffers.map(\.pointer)
        buffers.removeAll()  // released in order: the first is the oldest, and goes
        #expect(allocator.cacheStatistics.bytes == 3 << 20 && allocator.cacheStatistics.mappings == 3)
        // The newest kept mapping comes back first.
        let next = try allocator.allocate(byteCount: 1 << 20, policy: .firstTouch)
        #expect(next.pointer == addresses[3])
        // A buffer larger than the whole limit is unmapped at once, leaving the others.
        var large: NUMABuffer<UInt8>? = try allocator.allocate(byteCount: 4 << 20, policy: .firstTouch)
        large = nil
        #expect(large == nil && allocator.cacheStatistics.mappings == 2)
        allocator.trimCache()
        #expect(allocator.cacheStatistics.bytes == 0 && allocator.cacheStatistics.mappings == 0)
    }

    @Test("No limit, no cache; with several nodes, first-touch mappings are not kept")
    func whatIsNotKept() throws {
        let uncached = Self.allocator(limit: 0)
        guard uncached.placesPages else { return }
        _ = try uncached.allocate(byteCount: 1 << 20, policy: .firstTouch)
        #expect(uncached.cacheStatistics == .init(bytes: 0, mappings: 0, hits: 0, misses: 0))
        // A first-touch mapping keeps its pages where its first buffer's writes put them: on
        // two nodes, the next buffer's writes must place them anew.
        let twoNodes = Self.allocator(limit: 64 << 20, topology: FakeTwoNodeTopology())
        _ = try twoNodes.allocate(byteCount: 1 << 20, policy: .firstTouch)
        #expect(twoNodes.cacheStatistics.mappings == 0)
    }

    @Test("Small buffers are plain memory and never pass through the cache")
    func smallBuffersBypass() throws {
        let allocator = Self.allocator(limit: 64 << 20)
        _ = try allocator.allocate(byteCount: 1000, policy: .firstTouch)
        #expect(allocator.cacheStatistics == .init(bytes: 0, mappings: 0, hits: 0, misses: 0))
    }

    #if DEBUG
    @Test("In debug builds a reused mapping reads as NaN until written")
    func reusedMemoryIsPoisoned() throws {
        let allocator = Self.allocator(limit: 64 << 20)
        guard allocator.placesPages else { return }
        var first: NUMABuffer<Float>? = try allocator.allocate(capacity: 1 << 18, of: Float.self, policy: .firstTouch)
        first!.pointer.initialize(repeating: 0, count: 1 << 18)
        first = nil
        let again = try allocator.allocate(capacity: 1 << 18, of: Float.self, policy: .firstTouch)
        #expect(allocator.cacheStatistics.hits == 1)
        let allNaN = UnsafeBufferPointer(start: again.pointer, count: 1 << 18).allSatisfy { $0.isNaN }
        #expect(allNaN)
    }
    #endif

    @Test("WEAVE_MAPPING_CACHE_MB sets the limit in MiB; a bad value is an error naming it")
    func environment() throws {
        let standard = NUMAAllocator.defaultCacheByteLimit
        #expect(standard > 0 && standard <= 256 << 20)
        #expect(try NUMAAllocator.cacheByteLimit(environment: [:]) == standard)
        #expect(try NUMAAllocator.cacheByteLimit(environment: ["WEAVE_MAPPING_CACHE_MB": "0"]) == 0)
        #expect(try NUMAAllocator.cacheByteLimit(environment: ["WEAVE_MAPPING_CACHE_MB": " 16"]) == 16 << 20)
        for bad in ["-1", "lots", "1.5", "", "99999999999999999"] {
            #expect(throws: NUMAAllocator.CacheSettingError(value: bad)) {
                try NUMAAllocator.cacheByteLimit(environment: ["WEAVE_MAPPING_CACHE_MB": bad])
            }
        }
        #expect(NUMAAllocator.CacheSettingError(value: "lots").description.contains("WEAVE_MAPPING_CACHE_MB=lots"))
    }
}
