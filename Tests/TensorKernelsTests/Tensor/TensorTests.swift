import ParallelRuntime
import Testing
@testable import TensorKernels

@Suite("Tensor")
struct TensorTests {
    @Test("Zeros, filled and array initialisers hold the given elements")
    func initialisers() throws {
        let zeros = try Tensor(zeros: [2, 3])
        #expect(zeros.shape == [2, 3] && zeros.count == 6 && zeros.rank == 2)
        #expect(zeros.scalars == [Float](repeating: 0, count: 6))
        #expect(try Tensor(repeating: 2.5, shape: [4]).scalars == [2.5, 2.5, 2.5, 2.5])
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let tensor = try Tensor(values, shape: [3, 2])
        #expect(tensor.scalars == values)
        #expect(tensor[flat: 5] == 6)
        #expect(try Tensor([7], shape: []).count == 1)
        #expect(try Tensor([], shape: [0, 5]).count == 0)
        let filled = try Tensor(uninitializedShape: [5]) { buffer in
            for i in buffer.indices { buffer[i] = Float(i * i) }
        }
        #expect(filled.scalars == [0, 1, 4, 9, 16])
    }

    @Test("An array of the wrong length throws a shape error naming both shapes")
    func arrayCountMismatch() {
        #expect {
            _ = try Tensor([1, 2, 3], shape: [2, 2])
        } throws: { error in
            guard let error = error as? ShapeError else { return false }
            return error.expected == [2, 2] && error.actual == [3]
                && error.description.contains("[2, 2]") && error.description.contains("[3]")
        }
        #expect(throws: ShapeError.self) { _ = try Tensor(zeros: [2, -1]) }
        #expect(throws: ShapeError.self) { _ = try Tensor(zeros: [Int.max, 3]) }
    }

    @Test("A copy then a write leaves the original unchanged")
    func copyOnWrite() throws {
        let original = try Tensor([1, 2, 3, 4], shape: [2, 2])
        var copy = original
        #expect(copy.sharesStorage(with: original))
        copy[flat: 0] = 42
        #expect(original.scalars == [1, 2, 3, 4])
        #expect(copy.scalars == [42, 2, 3, 4])
        #expect(!copy.sharesStorage(with: original))
        var other = original
        other.withUnsafeMutableBufferPointer { $0[3] = -1 }
        #expect(original[flat: 3] == 4)
        #expect(other[flat: 3] == -1)
    }

    @Test("Writing to an unshared tensor does not copy it")
    func uniqueWriteInPlace() throws {
        var tensor = try Tensor(zeros: [1000])
        let before = tensor.withUnsafeBufferPointer { $0.baseAddress }
        tensor.withUnsafeMutableBufferPointer { $0[0] = 1 }
        let after = tensor.withUnsafeBufferPointer { $0.baseAddress }
        #expect(before == after)
    }

    @Test("Storage is 64-byte aligned, and 2 MiB aligned when large", arguments: [1, 17, 1000, 600_000])
    func storageAlignment(count: Int) throws {
        let tensor = try Tensor(zeros: [count])
        let address = tensor.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
        #expect(address % 64 == 0)
        if count * 4 >= 2 << 20 { #expect(address % (2 << 20) == 0) }
    }

    @Test("Reshaping keeps the elements and rejects a different count with both shapes")
    func reshape() throws {
        let tensor = try Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let flat = try tensor.reshaped([6])
        #expect(flat.shape == [6] && flat.scalars == tensor.scalars && flat.sharesStorage(with: tensor))
        #expect {
            _ = try tensor.reshaped([4, 2])
        } throws: { error in
            let text = "\(error)"
            return error is ShapeError && text.contains("[2, 3]") && text.contains("[4, 2]")
        }
    }

    @Test("Equality compares shapes and elements")
    func equality() throws {
        let a = try Tensor([1, 2, 3, 4], shape: [2, 2])
        #expect(a == (try Tensor([1, 2, 3, 4], shape: [2, 2])))
        #expect(a != (try a.reshaped([4])))
        #expect(a != (try Tensor([1, 2, 3, 5], shape: [2, 2])))
    }

    @Test("Seeded uniform tensors are the stream's values for any thread count",
          arguments: [0, 1, 2, 3, 7])
    func uniformDeterminism(threads: Int) throws {
        let stream = RandomStream(seed: 11, purpose: .weightInitialization(parameter: 0))
        let pool = threads == 0 ? nil : ThreadPool(threads: threads)
        let count = 2 * Tensor.randomTileElements + 999
        let tensor = try Tensor(uniformShape: [count], lowerBound: -2, upperBound: 2,
                                stream: stream, step: 3, pool: pool)
        let reference = try Tensor(uniformShape: [count], lowerBound: -2, upperBound: 2,
                                   stream: stream, step: 3)
        #expect(tensor.scalars.map(\.bitPattern) == reference.scalars.map(\.bitPattern))
        for i in [0, 1, 63, 16_384, count - 1] {
            #expect(tensor[flat: i] == -2 + 4 * stream.uniform(at: UInt64(i), step: 3))
        }
        #expect(tensor.scalars.allSatisfy { $0 >= -2 && $0 < 2 })
    }

    @Test("Seeded normal tensors are the stream's values for any thread count",
          arguments: [0, 2, 7])
    func normalDeterminism(threads: Int) throws {
        let stream = RandomStream(seed: 11, purpose: .weightInitialization(parameter: 1))
        let pool = threads == 0 ? nil : ThreadPool(threads: threads)
        let count = Tensor.randomTileElements + 77
        let tensor = try Tensor(normalShape: [count], mean: 1, standardDeviation: 0.5,
                                stream: stream, step: 0, pool: pool)
        for i in [0, 1, 16, 17, 16_384, count - 1] {
            #expect(tensor[flat: i] == 1 + 0.5 * stream.normal(at: UInt64(i), step: 0))
        }
        let values = tensor.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count)
        // σ(mean) = 0.5/√n ≈ 0.0039 → 6σ ≈ 0.023; σ(variance) ≈ 0.25·√(2/n) ≈ 0.0027 → 6σ ≈ 0.017.
        #expect(abs(mean - 1) < 0.023)
        #expect(abs(variance - 0.25) < 0.017)
    }
}

@Suite("Tensor preconditions")
struct TensorPreconditionTests {
    @Test("Reading past the end of a tensor traps")
    func subscriptOutOfRange() async {
        await #expect(processExitsWith: .failure) {
            let tensor = try Tensor(zeros: [3])
            _ = tensor[flat: 3]
        }
    }

    @Test("Asking a mask about an element past its end traps")
    func maskIndexOutOfRange() async {
        await #expect(processExitsWith: .failure) {
            _ = DropoutMask().isKept(0)
        }
    }
}

@Suite("Tensor placement")
struct TensorPlacementTests {
    @Test("Large tensors come from the NUMA allocator with the asked placement; small ones are plain")
    func placement() throws {
        let large = try Tensor(uninitializedShape: [1 << 20], placement: .interleaved) { $0.initialize(repeating: 1) }
        let small = try Tensor(uninitializedShape: [16], placement: .interleaved) { $0.initialize(repeating: 1) }
        if NUMAAllocator.system.placesPages {
            #expect(large.storage.placement == .interleaved)
        } else {
            #expect(large.storage.placement == nil)
        }
        #expect(small.storage.placement == nil)
        var copy = large
        copy[flat: 0] = 2
        #expect(copy.storage.placement == large.storage.placement)
        #expect(large[flat: 0] == 1)
    }
}
