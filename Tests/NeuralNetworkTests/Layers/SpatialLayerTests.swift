import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

@Suite("Conv2d, BatchNorm, pooling and dropout layers")
struct SpatialLayerTests {
    @Test("Conv2d's gradients match finite differences")
    func conv2dGradients() throws {
        let layer = Conv2d(2, 3, kernel: 3, stride: 1, padding: 1)
        try Sequential(layers: [layer]).initializeParameters(seed: 2)
        try checkGradients(of: layer, inputShape: [2, 2, 5, 6])
    }

    @Test("Strided Conv2d's gradients match finite differences")
    func stridedConv2dGradients() throws {
        let layer = Conv2d(1, 2, kernel: 3, stride: 2)
        try Sequential(layers: [layer]).initializeParameters(seed: 3)
        try checkGradients(of: layer, inputShape: [3, 1, 7, 7])
    }

    @Test("BatchNorm2d's gradients match finite differences")
    func batchNorm2dGradients() throws {
        let layer = BatchNorm2d(3)
        layer.weight.value = try Tensor([0.5, 1.5, -1], shape: [3])
        layer.bias.value = try Tensor([0.1, 0, -0.2], shape: [3])
        try checkGradients(of: layer, inputShape: [4, 3, 3, 2], h: 5e-3, tolerance: 3e-2)
    }

    @Test("BatchNorm1d's gradients match finite differences")
    func batchNorm1dGradients() throws {
        try checkGradients(of: BatchNorm1d(5), inputShape: [8, 5], h: 5e-3, tolerance: 3e-2)
    }

    @Test("BatchNorm evaluation uses the running statistics, updated with momentum 0.1")
    func batchNormRunningStatistics() throws {
        let layer = BatchNorm1d(1)
        let pool = ThreadPool(threads: 1)
        let x = try Tensor([1, 2, 3, 4], shape: [4, 1])
        _ = try layer.forward(x, context: ForwardContext(mode: .training, pool: pool))
        // mean 2.5, unbiased variance 5/3.
        #expect(abs(layer.runningMean.scalars[0] - 0.25) < 1e-6)
        #expect(abs(layer.runningVariance.scalars[0] - (0.9 + 0.1 * 5 / 3)) < 1e-6)
        let y = try layer.forward(try Tensor([0.25], shape: [1, 1]), context: ForwardContext(mode: .evaluation, pool: pool))
        #expect(abs(y.scalars[0]) < 1e-6)
    }

    @Test("A BatchNorm2d with the wrong channel count names both shapes")
    func batchNormWrongChannels() {
        let model = Sequential {
            Conv2d(1, 3, kernel: 3)
            BatchNorm2d(4)
        }
        do {
            try model.validate(inputShape: [2, 1, 8, 8])
            Issue.record("validation passed")
        } catch {
            #expect(error.operation.contains("layer 1 (BatchNorm2d(4))"))
            #expect(error.actual == [2, 3, 6, 6])
            #expect(error.expected == [2, 4, 6, 6])
        }
    }

    @Test("Pooling layers' gradients match finite differences")
    func poolingGradients() throws {
        try checkGradients(of: AvgPool2d(2), inputShape: [2, 2, 4, 6])
        try checkGradients(of: MaxPool2d(2), inputShape: [2, 2, 4, 6])
    }

    @Test("A kernel larger than the padded input is a ShapeError")
    func kernelTooLarge() {
        #expect(throws: ShapeError.self) { try Conv2d(1, 1, kernel: 5).outputShape(forInput: [1, 1, 4, 4]) }
        #expect(throws: ShapeError.self) { try MaxPool2d(5).outputShape(forInput: [1, 1, 4, 4]) }
    }

    @Test("Dropout's gradient is its mask: finite differences agree at a fixed step")
    func dropoutGradients() throws {
        try checkGradients(of: Dropout(0.3), inputShape: [4, 50])
    }

    @Test("Dropout masks depend on seed, layer and step, not on the thread count", arguments: [2, 3, 4, 7])
    func dropoutMasksAcrossThreads(threads: Int) throws {
        let x = try Tensor(repeating: 1, shape: [16, 300])
        func mask(_ pool: ThreadPool, step: UInt64) throws -> [Float] {
            try Dropout(0.5).forward(x, context: ForwardContext(mode: .training, pool: pool, seed: 9, step: step, layerIndex: 3)).scalars
        }
        let one = try mask(ThreadPool(threads: 1), step: 4)
        #expect(try mask(ThreadPool(threads: threads), step: 4) == one)
        #expect(try mask(ThreadPool(threads: threads), step: 5) != one)
    }
}
