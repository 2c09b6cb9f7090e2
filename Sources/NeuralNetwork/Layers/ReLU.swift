import TensorKernels

/// max(0, x), elementwise. Backward passes the gradient where the input was positive.
public final class ReLU: Layer {
    private var output: Tensor?
    private var inputGradient: Tensor?
    private var hasForward = false

    /// A ReLU layer.
    public init() {}

    public var description: String { "ReLU()" }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] { shape }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        try prepareBuffer(&output, shape: input.shape)
        try reluForward(input, into: &output!, pool: context.pool)
        hasForward = context.mode == .training
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard hasForward, let output else { throw LayerError.noForwardPass(layer: description) }
        guard context.needsInputGradient else { return nil }
        try prepareBuffer(&inputGradient, shape: outputGradient.shape)
        // The output is positive exactly where the input was, so it serves as the mask.
        try reluBackward(outputGradient, input: output, into: &inputGradient!, pool: context.pool)
        return inputGradient!
    }
}
