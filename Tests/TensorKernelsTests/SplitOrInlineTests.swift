import ParallelRuntime
import Testing
import TensorKernels

/// `ThreadPool.operation` runs a sequence of kernels either split or inline on the caller; the
/// tiles are the same, so every call must give one thread's bits.
@Suite("Kernels split or inline")
struct SplitOrInlineTests {
    /// Every kernel a training step uses, once, returning all the outputs' bits.
    static func step(_ pool: ThreadPool) throws -> [[UInt32]] {
        let x = try randomTensor([8, 3, 12, 12], seed: 1)
        let w = try randomTensor([6, 3, 3, 3], seed: 2)
        let y = try conv2dForward(x, weight: w, configuration: Conv2dConfiguration(padding: 1),
                                  pool: pool)
        let grads = try conv2dBackward(y, input: x, weight: w,
                                       configuration: Conv2dConfiguration(padding: 1), pool: pool)
        var runningMean = try Tensor(zeros: [6]), runningVariance = try Tensor(repeating: 1, shape: [6])
        let gamma = try randomTensor([6], seed: 3), beta = try randomTensor([6], seed: 4)
        let (normalized, saved) = try batchNormForwardTraining(
            y, gamma: gamma, beta: beta, runningMean: &runningMean,
            runningVariance: &runningVariance, pool: pool)
        let bn = try batchNormBackward(normalized, input: y, gamma: gamma, saved: saved, pool: pool)
        let (dropped, mask) = try dropoutForward(normalized, probability: 0.3,
                                                 stream: RandomStream(seed: 5, purpose: .dropout(layer: 0)),
                                                 step: 7, pool: pool)
        let a = try randomTensor([64, 96], seed: 6), b = try randomTensor([96, 40], seed: 7)
        let product = try matmul(a, b, pool: pool)
        return [y, grads.input!, grads.weight, grads.bias!, normalized, runningMean,
                runningVariance, bn.inputGradient, bn.gammaGradient, bn.betaGradient, dropped,
                try dropoutBackward(dropped, mask: mask, pool: pool), product].map(bitPatterns)
    }

    @Test("Every call gives one thread's bits, and both ways are taken", arguments: [2, 3, 7])
    func sameBitsEitherWay(threads: Int) throws {
        let reference = try Self.step(ThreadPool(threads: 1))
        let pool = ThreadPool(threads: threads)
        let key = OperationKey("test.kernels")
        for call in 0..<12 {
            #expect(try pool.operation(key) { try Self.step(pool) } == reference, "call \(call)")
        }
        // The learning phase alternates, so both ways ran whatever the times were.
        #expect(pool.operationCounts.split > 0 && pool.operationCounts.inline > 0)
    }
}
