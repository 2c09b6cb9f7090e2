import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

@Suite("Optimizers")
struct OptimizerTests {
    private func parameter(_ role: Parameter.Role, value: [Float], gradient: [Float]) throws -> Parameter {
        let p = Parameter(name: "p", role: role, shape: [value.count])
        p.value = try Tensor(value, shape: [value.count])
        p.gradient = try Tensor(gradient, shape: [value.count])
        return p
    }

    @Test("SGD with momentum and weight decay follows PyTorch's update, decaying weights only")
    func sgdMomentum() throws {
        let pool = ThreadPool(threads: 2)
        let w = try parameter(.weight, value: [1, -2], gradient: [0.5, 0.25])
        let b = try parameter(.bias, value: [3], gradient: [1])
        let sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        try sgd.step([("w", w), ("b", b)], pool: pool)
        // Step 1: v = g + λw; w −= η v.
        let g0: Float = 0.5 + 0.01 * 1, g1: Float = 0.25 + 0.01 * -2
        #expect(w.value.scalars == [1 - 0.1 * g0, -2 - 0.1 * g1])
        #expect(b.value.scalars == [3 - 0.1 * 1])
        // Step 2: v = μv + g.
        let w1 = w.value.scalars
        try sgd.step([("w", w), ("b", b)], pool: pool)
        let h0 = 0.5 + 0.01 * w1[0]
        #expect(w.value.scalars[0] == w1[0] - 0.1 * (0.9 * g0 + h0))
        #expect(b.value.scalars == [(3 - 0.1 * 1) - 0.1 * (0.9 * 1 + 1)])
    }

    @Test("Nesterov SGD adds μ·v to the step")
    func nesterov() throws {
        let w = try parameter(.weight, value: [1], gradient: [2])
        let sgd = SGD(learningRate: 0.5, momentum: 0.5, nesterov: true)
        try sgd.step([("w", w)], pool: ThreadPool(threads: 1))
        #expect(w.value.scalars == [1 - 0.5 * (2 + 0.5 * 2)])
    }

    @Test("Adam's first step moves each weight by about η against its gradient's sign")
    func adamFirstStep() throws {
        let w = try parameter(.weight, value: [1, 1], gradient: [3, -0.001])
        let adam = Adam(learningRate: 0.01)
        try adam.step([("w", w)], pool: ThreadPool(threads: 1))
        #expect(abs(w.value.scalars[0] - 0.99) < 1e-5)
        #expect(abs(w.value.scalars[1] - 1.01) < 1e-4)
    }

    @Test("Optimiser state round-trips: restored SGD continues bit for bit")
    func sgdStateRoundTrip() throws {
        let pool = ThreadPool(threads: 1)
        let a = try parameter(.weight, value: [1, 2, 3], gradient: [0.1, 0.2, 0.3])
        let b = try parameter(.weight, value: [1, 2, 3], gradient: [0.1, 0.2, 0.3])
        let first = SGD(learningRate: 0.1, momentum: 0.9)
        try first.step([("w", a)], pool: pool)
        let second = SGD(learningRate: 0.1, momentum: 0.9)
        b.value = a.value
        try second.restoreState(Dictionary(uniqueKeysWithValues: first.stateTensors.map { ($0.name, $0.tensor) }))
        try first.step([("w", a)], pool: pool)
        try second.step([("w", b)], pool: pool)
        #expect(a.value == b.value)
    }

    @Test("Restored optimiser state of the wrong shape is a ModelStateError naming the buffer")
    func mismatchedStateThrows() throws {
        let pool = ThreadPool(threads: 1)
        let w = try parameter(.weight, value: [1, 2, 3], gradient: [0.1, 0.2, 0.3])
        let wrong = try Tensor([0.5, 0.5], shape: [2])
        let adam = Adam(learningRate: 0.01)
        try adam.restoreState(["optimizer.w.exp_avg": wrong])
        #expect(throws: ModelStateError.self) { try adam.step([("w", w)], pool: pool) }
        let sgd = SGD(learningRate: 0.1, momentum: 0.9)
        try sgd.restoreState(["optimizer.w.momentum_buffer": wrong])
        #expect(throws: ModelStateError.self) { try sgd.step([("w", w)], pool: pool) }
        #expect(w.value.scalars == [1, 2, 3])
    }
}
