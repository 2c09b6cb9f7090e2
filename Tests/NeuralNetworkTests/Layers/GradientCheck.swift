import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

/// Finite-difference gradient check of a layer: the loss is L = Σ output ⊙ R for a fixed
/// random R, so backward(R) must equal ∂L/∂input and the parameters' gradients ∂L/∂θ.
/// Central differences in `Float` with step `h`, compared with a tolerance relative to the
/// largest gradient; `samples` coordinates of each tensor are checked.
func checkGradients(of layer: any Layer, inputShape: [Int], seed: Int = 1, h: Float = 1e-2,
                    tolerance: Double = 2e-2, samples: Int = 24,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    let pool = ThreadPool(threads: 2)
    let input = try Tensor(normalShape: inputShape, stream: RandomStream(seed: 99, purpose: .custom(stream: seed)))
    let outputShape = try layer.outputShape(forInput: inputShape)
    let weights = try Tensor(normalShape: outputShape, stream: RandomStream(seed: 98, purpose: .custom(stream: seed)))
    let context = ForwardContext(mode: .training, pool: pool, seed: 3, step: 0)

    func loss(_ x: Tensor) throws -> Double {
        let y = try layer.forward(x, context: context)
        return zip(y.scalars, weights.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    _ = try layer.forward(input, context: context)
    guard let analyticInput = try layer.backward(weights, context: BackwardContext(pool: pool)) else {
        Issue.record("backward returned no input gradient", sourceLocation: sourceLocation)
        return
    }
    let analyticParameters = layer.parameters.map(\.gradient.scalars)

    func compare(_ analytic: [Float], count: Int, perturb: (Int, Float) throws -> Double, label: String) throws {
        let scale = max(analytic.map { Double(abs($0)) }.max() ?? 0, 1e-3)
        let stride = max(1, count / samples)
        for index in Swift.stride(from: 0, to: count, by: stride) {
            let numeric = (try perturb(index, h) - perturb(index, -h)) / Double(2 * h)
            let error = abs(numeric - Double(analytic[index])) / scale
            #expect(error < tolerance, "\(label)[\(index)]: analytic \(analytic[index]), numeric \(numeric)",
                    sourceLocation: sourceLocation)
        }
    }

    try compare(analyticInput.scalars, count: input.count, perturb: { index, delta in
        var x = input
        x[flat: index] += delta
        return try loss(x)
    }, label: "\(layer) dX")
    for (p, parameter) in layer.parameters.enumerated() {
        let original = parameter.value
        try compare(analyticParameters[p], count: original.count, perturb: { index, delta in
            var value = original
            value[flat: index] += delta
            parameter.value = value
            defer { parameter.value = original }
            return try loss(input)
        }, label: "\(layer) d\(parameter.name)")
    }
}
