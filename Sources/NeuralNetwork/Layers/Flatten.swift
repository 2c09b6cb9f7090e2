import TensorKernels

/// Flattens every dimension after the batch dimension: [N, C, H, W] → [N, C·H·W]. Shares
/// storage with its input (no copy).
public final class Flatten: Layer {
    private var inputShape: [Int]?
    private var shapes = ShapeCache()

    /// A flattening layer.
    public init() {}

    public var description: String { "Flatten()" }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] {
        guard shape.count >= 2 else {
            throw ShapeError(operation: "Flatten", expected: [-1, -1], actual: shape,
                             detail: "needs a batch dimension and at least one more")
        }
        return [shape[0], shape.dropFirst().reduce(1, *)]
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        let shape = try shapes.outputShape(for: input.shape, outputShape(forInput:))
        if context.mode == .training { inputShape = input.shape }
        return try input.reshaped(shape)
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard let inputShape else { throw LayerError.noForwardPass(layer: description) }
        guard context.needsInputGradient else { return nil }
        return try outputGradient.reshaped(inputShape)
    }
}
