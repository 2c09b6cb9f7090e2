import ParallelRuntime
import TensorKernels

/// y = x·Wᵀ + b on [N, in] → [N, out], PyTorch's `nn.Linear` (weight [out, in], bias [out]).
///
/// All three products run on `sgemm`, which never splits its K dimension, so every output,
/// weight gradient (a sum over the batch) and input gradient has a fixed summation order:
/// the bits do not depend on the thread count.
public final class Linear: Layer {
    /// Input features.
    public let inputFeatures: Int
    /// Output features.
    public let outputFeatures: Int
    /// The weight, [out, in].
    public let weight: Parameter
    /// The bias, [out], or nil.
    public let bias: Parameter?

    private var input: Tensor?
    private var output: Tensor?
    private var inputGradient: Tensor?
    private var shapes = ShapeCache()

    /// A fully connected layer from `inputFeatures` to `outputFeatures`, with a bias unless
    /// `bias` is false. Weights start at zero; `Sequential.initializeParameters` draws them.
    /// - Precondition: both feature counts are positive.
    public init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true) {
        precondition(inputFeatures > 0 && outputFeatures > 0,
                     "Linear needs positive feature counts, got \(inputFeatures) → \(outputFeatures)")
        self.inputFeatures = inputFeatures
        self.outputFeatures = outputFeatures
        weight = Parameter(name: "weight", role: .weight, shape: [outputFeatures, inputFeatures],
                           fanIn: inputFeatures, fanOut: outputFeatures)
        self.bias = bias
            ? Parameter(name: "bias", role: .bias, shape: [outputFeatures],
                        fanIn: inputFeatures, fanOut: outputFeatures)
            : nil
    }

    public var description: String {
        "Linear(\(inputFeatures), \(outputFeatures)\(bias == nil ? ", bias: false" : ""))"
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] {
        guard shape.count == 2, shape[1] == inputFeatures else {
            throw ShapeError(operation: description, expected: [shape.first ?? -1, inputFeatures],
                             actual: shape, detail: "Linear takes [batch, \(inputFeatures)]")
        }
        return [shape[0], outputFeatures]
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        let shape = try shapes.outputShape(for: input.shape, outputShape(forInput:))
        try prepareBuffer(&output, shape: shape)
        try matmul(input, weight.value, transposeB: true, into: &output!, pool: context.pool)
        if let bias {
            try addRowVector(bias.value, to: &output!, pool: context.pool)
        }
        self.input = context.mode == .training ? input : nil
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard let input else { throw LayerError.noForwardPass(layer: description) }
        self.input = nil  // release the previous layer's buffer so it can be reused in place
        let rows = input.shape[0]
        let gradientShape = outputGradient.shape
        guard gradientShape.count == 2, gradientShape[0] == rows, gradientShape[1] == outputFeatures else {
            throw ShapeError(operation: "\(description).backward", expected: [rows, outputFeatures],
                             actual: gradientShape)
        }
        // dW[out, in] = dYᵀ · X: the sum over the batch is sgemm's K loop, in batch order.
        try matmul(outputGradient, input, transposeA: true, into: &weight.gradient, pool: context.pool)
        if let bias {
            try columnSums(outputGradient, into: &bias.gradient, pool: context.pool)
        }
        guard context.needsInputGradient else { return nil }
        try prepareBuffer(&inputGradient, shape: input.shape)
        // dX[N, in] = dY · W.
        try matmul(outputGradient, weight.value, into: &inputGradient!, pool: context.pool)
        return inputGradient!
    }
}
