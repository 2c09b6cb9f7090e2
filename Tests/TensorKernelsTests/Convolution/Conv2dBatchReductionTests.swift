import ParallelRuntime
import Testing
@testable import TensorKernels

@Suite("Conv2d batch reduction")
struct Conv2dBatchReductionTests {
    /// Partials of 7 images over columns that cross tile boundaries (4096 columns a tile) and
    /// the weight/bias split in the middle of a tile.
    static let batch = 7, count = 9_000, weightCount = 8_190

    @Test("Each column is the sum of its images in image order, for every thread count",
          arguments: [1, 2, 3, 7])
    func imageOrder(threads: Int) throws {
        let partials = try randomTensor([Self.batch, Self.count], seed: 61).scalars.map { $0 * 1e3 }
        var expected = [Float](repeating: 0, count: Self.count)
        var reversed = [Float](repeating: 0, count: Self.count)
        for j in 0..<Self.count {
            var total = partials[j]
            for n in 1..<Self.batch { total = total + partials[n * Self.count + j] }
            expected[j] = total
            var back = partials[(Self.batch - 1) * Self.count + j]
            for n in (0..<(Self.batch - 1)).reversed() { back = back + partials[n * Self.count + j] }
            reversed[j] = back
        }
        // The order shows in the bits: summing the other way round differs somewhere.
        #expect(bitPatterns(expected) != bitPatterns(reversed))
        var weights = [Float](repeating: .nan, count: Self.weightCount)
        var biases = [Float](repeating: .nan, count: Self.count - Self.weightCount)
        partials.withUnsafeBufferPointer { p in
            Conv2dBatchReduction.sumImages(p.baseAddress!, batch: Self.batch, count: Self.count,
                                           weightCount: Self.weightCount, weightGradient: &weights,
                                           biasGradient: &biases, pool: ThreadPool(threads: threads))
        }
        #expect(bitPatterns(weights + biases) == bitPatterns(expected))
    }

    @Test("An empty batch gives zeros; without a bias gradient only the weights are written")
    func emptyBatchAndNoBias() {
        var weights = [Float](repeating: .nan, count: 10)
        let none = [Float]()
        none.withUnsafeBufferPointer { p in
            Conv2dBatchReduction.sumImages(p.baseAddress ?? UnsafePointer(bitPattern: 64)!, batch: 0, count: 12,
                                           weightCount: 10, weightGradient: &weights, biasGradient: nil,
                                           pool: ThreadPool(threads: 2))
        }
        #expect(weights == [Float](repeating: 0, count: 10))
        let partials: [Float] = [1, 2, 3, 4, 10, 20, 30, 40]
        var two = [Float](repeating: .nan, count: 3)
        partials.withUnsafeBufferPointer { p in
            Conv2dBatchReduction.sumImages(p.baseAddress!, batch: 2, count: 4, weightCount: 3,
                                           weightGradient: &two, biasGradient: nil, pool: ThreadPool(threads: 2))
        }
        #expect(two == [11, 22, 33])
    }
}
