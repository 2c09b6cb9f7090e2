import ParallelRuntime
import Testing
@testable import TensorKernels

@Suite("ReLU")
struct ReLUTests {
    static let count = 3 * reluTileElements + 37  // several tiles, a partial one, a scalar tail

    @Test("Forward and backward are the same bits for every thread count and match the definition",
          arguments: kernelThreadCounts)
    func threadCounts(threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        var x = try randomTensor([Self.count], seed: 21)
        x[flat: 3] = .nan
        x[flat: 4] = -0.0
        x[flat: 5] = 0
        x[flat: 6] = -.infinity
        let dy = try randomTensor([Self.count], seed: 22)
        let y = try reluForward(x, pool: pool)
        let dx = try reluBackward(dy, input: x, pool: pool)
        let xs = x.scalars, dys = dy.scalars
        #expect(bitPatterns(y) == xs.map { ($0 < 0 ? 0 : $0).bitPattern })
        #expect(bitPatterns(dx) == zip(xs, dys).map { ($0 > 0 ? $1 : 0).bitPattern })
        #expect(y[flat: 3].isNaN && y[flat: 4].bitPattern == (-0.0 as Float).bitPattern)
        #expect(dx[flat: 3] == 0 && dx[flat: 5] == 0)
    }

    @Test("Backward matches finite differences away from 0")
    func gradientCheck() throws {
        let pool = ThreadPool(threads: 2)
        let x = try randomTensor([5, 7], seed: 23).scalars.map { $0 + ($0 < 0 ? -0.1 : 0.1) }
        let input = try Tensor(x, shape: [5, 7])
        let w = try randomTensor([5, 7], seed: 24)
        let dx = try reluBackward(w, input: input, pool: pool)
        let ws = w.scalars.doubles
        let numeric = numericGradient(x.doubles) { v in weightedSum(v.map { max($0, 0) }, ws) }
        #expect(maximumDifference(dx.scalars, numeric) < 1e-6)
    }

    @Test("The into forms reuse their buffers; shape mismatches throw naming both shapes")
    func intoAndShapes() throws {
        let pool = ThreadPool(threads: 2)
        let x = try randomTensor([4, 8], seed: 25)
        var y = try Tensor(zeros: [4, 8])
        let address = y.withUnsafeBufferPointer { $0.baseAddress }
        try reluForward(x, into: &y, pool: pool)
        #expect(y.withUnsafeBufferPointer { $0.baseAddress } == address)
        var wrong = try Tensor(zeros: [8, 4])
        #expect {
            try reluForward(x, into: &wrong, pool: pool)
        } throws: { error in
            error is ShapeError && "\(error)".contains("[4, 8]") && "\(error)".contains("[8, 4]")
        }
        #expect(throws: ShapeError.self) { _ = try reluBackward(wrong, input: x, pool: pool) }
    }
}
