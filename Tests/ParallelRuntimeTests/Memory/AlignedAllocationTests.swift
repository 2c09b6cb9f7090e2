import Testing
@testable import ParallelRuntime

@Suite("Aligned allocation")
struct AlignedAllocationTests {
    @Test("Small buffers are 64-byte aligned", arguments: [0, 1, 3, 64, 1000, 65_536, (2 << 20) - 1])
    func smallAlignment(byteCount: Int) throws {
        let pointer = try AlignedAllocation.allocate(byteCount: byteCount)
        defer { AlignedAllocation.deallocate(pointer) }
        #expect(Int(bitPattern: pointer) % 64 == 0)
        #expect(AlignedAllocation.alignment(forByteCount: byteCount) == 64)
        // Writable over the whole range.
        if byteCount > 0 { pointer.initializeMemory(as: UInt8.self, repeating: 1, count: byteCount) }
    }

    @Test("Buffers of 2 MiB and more are 2 MiB aligned and whole huge pages",
          arguments: [2 << 20, (2 << 20) + 1, 9 << 20])
    func largeAlignment(byteCount: Int) throws {
        let pointer = try AlignedAllocation.allocate(byteCount: byteCount)
        defer { AlignedAllocation.deallocate(pointer) }
        #expect(Int(bitPattern: pointer) % (2 << 20) == 0)
        let reserved = AlignedAllocation.reservedByteCount(forByteCount: byteCount)
        #expect(reserved % (2 << 20) == 0 && reserved >= byteCount)
        pointer.initializeMemory(as: UInt8.self, repeating: 1, count: byteCount)
    }

    @Test("An impossible allocation throws an error naming the byte count")
    func failureThrows() {
        let huge = 1 << 62
        #expect {
            _ = try AlignedAllocation.allocate(byteCount: huge)
        } throws: { error in
            guard let error = error as? AllocationError else { return false }
            return error.byteCount == huge && error.description.contains("\(huge)")
        }
        #expect(throws: AllocationError.self) { _ = try AlignedAllocation.allocate(byteCount: -1) }
    }
}
