import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

@Suite("Sequential")
struct SequentialTests {
    @Test("Validation names the layer index, the layer and both shapes")
    func validationNamesTheLayer() {
        let model = Sequential {
            Flatten()
            Linear(784, 48)
            ReLU()
            Linear(50, 10)
        }
        #expect(throws: ShapeError.self) { try model.validate(inputShape: [8, 1, 28, 28]) }
        do {
            try model.validate(inputShape: [8, 1, 28, 28])
        } catch {
            #expect(error.operation.contains("layer 3"))
            #expect(error.operation.contains("Linear(50, 10)"))
            #expect(error.expected == [8, 50])
            #expect(error.actual == [8, 48])
        }
    }

    @Test("Every preset chains for 28×28 images and ends in 10 classes", arguments: ModelPreset.allCases)
    func presetsValidate(preset: ModelPreset) throws {
        let model = preset.makeModel()
        #expect(try model.validate(inputShape: [3] + ModelPreset.imageShape) == [3, 10])
    }

    @Test("The builder takes if and for")
    func builderControlFlow() {
        let deep = true
        let model = Sequential {
            Flatten()
            for _ in 0..<2 { ReLU() }
            if deep { Linear(4, 4) } else { ReLU() }
        }
        #expect(model.layers.count == 4)
        #expect(model.namedParameters.map(\.name) == ["3.weight", "3.bias"])
    }

    @Test("He initialisation has σ² = 2/fan_in before a ReLU, Xavier otherwise; biases are zero")
    func initialization() throws {
        let model = Sequential {
            Linear(400, 300)
            ReLU()
            Linear(300, 200)
        }
        try model.initializeParameters(seed: 11)
        let parameters = model.parameters
        func variance(_ t: Tensor) -> Double {
            let values = t.scalars.map(Double.init)
            let mean = values.reduce(0, +) / Double(values.count)
            return values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        }
        // 120,000 and 60,000 samples: the variance estimate is within ~1 % (5σ ≈ 2 %).
        #expect(abs(variance(parameters[0].value) / (2.0 / 400) - 1) < 0.03)
        #expect(abs(variance(parameters[2].value) / (2.0 / 500) - 1) < 0.03)
        #expect(parameters[1].value.scalars.allSatisfy { $0 == 0 })
    }

    @Test("Initialisation depends on the seed only, not on the pool's thread count")
    func initializationIsReproducible() throws {
        let a = ModelPreset.mlp.makeModel(), b = ModelPreset.mlp.makeModel(), c = ModelPreset.mlp.makeModel()
        try a.initializeParameters(seed: 5, pool: ThreadPool(threads: 1))
        try b.initializeParameters(seed: 5, pool: ThreadPool(threads: 3))
        try c.initializeParameters(seed: 6, pool: ThreadPool(threads: 3))
        #expect(a.fingerprint() == b.fingerprint())
        #expect(a.fingerprint() != c.fingerprint())
    }
}
