import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

@Suite("Linear, ReLU, Flatten, Dropout layers")
struct BasicLayerTests {
    @Test("Linear's gradients match finite differences")
    func linearGradients() throws {
        let layer = Linear(7, 5)
        try Sequential(layers: [layer]).initializeParameters(seed: 4)
        try checkGradients(of: layer, inputShape: [6, 7])
    }

    @Test("Linear computes x·Wᵀ + b")
    func linearForward() throws {
        let layer = Linear(2, 2)
        layer.weight.value = try Tensor([1, 2, 3, 4], shape: [2, 2])
        layer.bias!.value = try Tensor([10, 20], shape: [2])
        let y = try layer.forward(try Tensor([1, 1, 2, 0], shape: [2, 2]),
                                  context: ForwardContext(mode: .evaluation, pool: ThreadPool(threads: 1)))
        #expect(y.scalars == [13, 27, 12, 26])
    }

    @Test("ReLU passes gradients where the input was positive")
    func reluGradients() throws {
        try checkGradients(of: ReLU(), inputShape: [4, 9])
    }

    @Test("Flatten reshapes and reshapes back")
    func flatten() throws {
        try checkGradients(of: Flatten(), inputShape: [2, 3, 2, 2])
    }

    @Test("Backward without a training forward pass is a clear error")
    func backwardWithoutForward() throws {
        let layer = Linear(3, 2)
        #expect(throws: LayerError.noForwardPass(layer: "Linear(3, 2)")) {
            try layer.backward(try Tensor(zeros: [1, 2]), context: BackwardContext(pool: ThreadPool(threads: 1)))
        }
    }

    @Test("A wrong input width names the layer and both shapes")
    func wrongWidth() throws {
        let layer = Linear(3, 2)
        #expect(throws: ShapeError.self) {
            try layer.forward(try Tensor(zeros: [4, 5]), context: ForwardContext(mode: .training, pool: ThreadPool(threads: 1)))
        }
    }
}
