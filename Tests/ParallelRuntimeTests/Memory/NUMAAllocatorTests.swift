import Glibc
import Testing
@testable import ParallelRuntime

/// A two-node machine that does not exist: CPUs 0–3 on node 0, 4–7 on node 1.
struct FakeTwoNodeTopology: NUMATopologyProviding {
    var nodes = [NUMATopology.Node(id: 0, cpus: [0, 1, 2, 3]), NUMATopology.Node(id: 1, cpus: [4, 5, 6, 7])]
    var libnumaActive = true
}

@Suite("NUMA allocator")
struct NUMAAllocatorTests {
    static let policies: [PlacementPolicy] = [.local(node: 0), .interleaved, .firstTouch]

    @Test("Placed buffers are 2 MiB aligned and their pages read back on this machine's nodes",
          arguments: policies)
    func placementReadsBack(policy: PlacementPolicy) throws {
        let allocator = NUMAAllocator.system
        let byteCount = 5 << 20 + 123
        let buffer = try allocator.allocate(byteCount: byteCount, policy: policy)
        #expect(Int(bitPattern: buffer.pointer) % (2 << 20) == 0)
        buffer.pointer.initialize(repeating: 7, count: byteCount)
        guard allocator.placesPages else { return }
        #expect(buffer.placement == policy)
        let nodes = try #require(PagePlacement.nodes(of: buffer.pointer, byteCount: byteCount))
        let known = Set(NUMATopology.system.nodes.map { Int32($0.id) })
        #expect(nodes.allSatisfy { known.contains($0) }, "pages on \(Set(nodes))")
        if case .local(let node) = policy {
            #expect(nodes.allSatisfy { $0 == Int32(node) })
        }
    }

    @Test("Untouched pages have no node yet (the query distinguishes them)")
    func untouchedPagesHaveNoNode() throws {
        // Not the system allocator: a mapping it kept from another test has been touched.
        let allocator = NUMAAllocator(topology: NUMATopology.system)
        guard allocator.placesPages else { return }
        let buffer = try allocator.allocate(byteCount: 1 << 20, policy: .firstTouch)
        let nodes = try #require(PagePlacement.nodes(of: buffer.pointer, byteCount: 1 << 20))
        #expect(nodes.allSatisfy { $0 < 0 })
        buffer.pointer.initialize(to: 1)
        let after = try #require(PagePlacement.nodes(of: buffer.pointer, byteCount: 1))
        #expect(after[0] >= 0)
    }

    @Test("First-touch allocation writes every page in parallel tiles", arguments: [1, 2, 3])
    func firstTouchTouchesEverything(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let byteCount = 3 << 20 + 4096 * 3 + 17
        let buffer = try NUMAAllocator.system.allocateFirstTouch(byteCount: byteCount, tileBytes: 64 << 10,
                                                                pool: pool)
        let bytes = buffer.pointer
        #expect((0..<byteCount).allSatisfy { bytes[$0] == 0 })
        if NUMAAllocator.system.placesPages {
            let nodes = try #require(PagePlacement.nodes(of: buffer.pointer, byteCount: byteCount))
            #expect(nodes.allSatisfy { $0 >= 0 })
        }
    }

    @Test("Small buffers are plain 64-byte aligned memory")
    func smallBuffersAreNotPlaced() throws {
        let buffer = try NUMAAllocator.system.allocate(byteCount: 1000, policy: .interleaved)
        #expect(buffer.placement == nil)
        #expect(Int(bitPattern: buffer.pointer) % 64 == 0)
    }

    @Test("Typed buffers hold their element count, aligned as byte buffers are")
    func typedBuffers() throws {
        let allocator = NUMAAllocator.system
        let small = try allocator.allocate(capacity: 1000, of: Int32.self, policy: .firstTouch)
        #expect(small.capacity == 1000 && small.byteCount == 4000)
        #expect(Int(bitPattern: small.pointer) % 64 == 0)
        small.pointer.initialize(repeating: -1, count: small.capacity)
        #expect(small.pointer[999] == -1)
        let large = try allocator.allocate(capacity: 1 << 20, of: UInt64.self, policy: .firstTouch)
        #expect(large.byteCount == 8 << 20)
        #expect(Int(bitPattern: large.pointer) % (2 << 20) == 0)
        let empty = try allocator.allocate(capacity: 0, of: UInt64.self, policy: .firstTouch)
        #expect(empty.capacity == 0 && empty.byteCount == 0)
    }

    @Test("A typed request whose byte count overflows is EOVERFLOW, naming Int.max bytes")
    func typedOverflowThrows() {
        #expect {
            try NUMAAllocator.system.allocate(capacity: Int.max / 4, of: UInt64.self, policy: .firstTouch)
        } throws: { error in
            error as? AllocationError == AllocationError(byteCount: Int.max, alignment: 64, errorNumber: EOVERFLOW)
        }
    }

    @Test("Bad requests are errors, not crashes")
    func badRequestsThrow() {
        #expect(throws: AllocationError.self) {
            try NUMAAllocator.system.allocate(byteCount: -1, policy: .interleaved)
        }
        #expect(throws: AllocationError.self) {
            try NUMAAllocator.system.allocate(byteCount: 1 << 20, policy: .local(node: 4242))
        }
        #expect(throws: AllocationError.self) {
            try NUMAAllocator.system.allocate(byteCount: 1 << 62, policy: .firstTouch)
        }
    }

    @Test("Without libnuma every buffer is aligned memory without placement")
    func fallbackWithoutLibnuma() throws {
        let allocator = NUMAAllocator(topology: NUMATopology(nodes: [.init(id: 0, cpus: [0])],
                                                             libnumaActive: false))
        let buffer = try allocator.allocate(byteCount: 4 << 20, policy: .local(node: 0))
        #expect(buffer.placement == nil)
        #expect(Int(bitPattern: buffer.pointer) % (2 << 20) == 0)
    }

    @Test("Placement decisions on a fake two-node topology")
    func fakeTwoNodeDecisions() {
        let topology = FakeTwoNodeTopology()
        #expect(topology.nodeOfCPU(2) == 0 && topology.nodeOfCPU(5) == 1)
        #expect((0..<6).map(topology.interleavedNode(ofPage:)) == [0, 1, 0, 1, 0, 1])
        #expect(topology.scratchNode(pinnedCPU: 6, currentCPU: 0) == 1)
        #expect(topology.scratchNode(pinnedCPU: nil, currentCPU: 4) == 1)
        #expect(topology.scratchNode(pinnedCPU: nil, currentCPU: 99) == 0)
        let allocator = NUMAAllocator(topology: topology)
        #expect(throws: AllocationError.self) {
            try allocator.allocate(byteCount: 1 << 20, policy: .local(node: 2))
        }
    }
}

@Suite("Scratch arenas")
struct ScratchArenaTests {
    @Test("Nested scratch regions do not overlap and are 64-byte aligned")
    func nestedRegions() throws {
        let arena = ScratchArena(pinnedCPU: nil)
        try arena.withBytes(100_000) { outer in
            #expect(Int(bitPattern: outer) % 64 == 0)
            try arena.withBytes(1 << 20) { inner in
                #expect(Int(bitPattern: inner) % 64 == 0)
                let outerRange = Int(bitPattern: outer)..<(Int(bitPattern: outer) + 100_000)
                let innerRange = Int(bitPattern: inner)..<(Int(bitPattern: inner) + (1 << 20))
                #expect(!outerRange.overlaps(innerRange))
            }
        }
    }

    @Test("After the first round the arena stops growing")
    func steadyStateReuses() throws {
        let arena = ScratchArena(pinnedCPU: nil)
        func round() throws {
            try arena.withBytes(300_000) { _ in
                try arena.withBytes(700_000) { _ in }
                try arena.withBytes(2_000_000) { _ in }
            }
        }
        try round()
        try round()
        let reserved = arena.reservedBytes
        for _ in 0..<10 { try round() }
        #expect(arena.reservedBytes == reserved)
        #expect(reserved >= 2_300_000)
    }

    @Test("Tasks get private scratch on their own slot", arguments: [1, 2, 4])
    func poolScratchIsPrivate(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let failures = AtomicCounters(1)
        try pool.parallelFor(0..<64) { tile in
            try pool.withScratch(byteCount: 4096) { raw in
                let words = raw.bindMemory(to: Int.self, capacity: 512)
                for i in 0..<512 { words[i] = tile.lowerBound }
                for _ in 0..<100 { weaveYield() }
                if !(0..<512).allSatisfy({ words[$0] == tile.lowerBound }) { failures.increment(0) }
            }
        }
        #expect(failures.value(0) == 0)
    }
}

private func weaveYield() {
    sched_yield()
}
