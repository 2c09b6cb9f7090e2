import ParallelRuntime
import TensorKernels

/// 2-D max pooling on [N, C, H, W] (PyTorch's `nn.MaxPool2d`): the largest value of each
/// window; ties go to the first element in scan order; backward routes the gradient to it.
public final class MaxPool2d: Layer {
    /// Kernel, stride (default: the kernel) and zero padding.
    public let window: Pool2dWindow
    private var indices = MaxPool2dIndices()
    private var hasForward = false
    private var output: Tensor?
    private var inputGradient: Tensor?
    private var shapes = ShapeCache()

    /// Max pooling over `kernel`×`kernel` windows.
    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        window = Pool2dWindow(kernel: kernel, stride: stride, padding: padding)
    }

    public var description: String { "MaxPool2d(\(window))" }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] {
        try window.outputShape(forInput: shape)
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        try prepareBuffer(&output, shape: try shapes.outputShape(for: input.shape) { shape throws(ShapeError) in
            try outputShape(forInput: shape)
        })
        try maxPool2dForward(input, window: window, into: &output!, indices: &indices, pool: context.pool)
        hasForward = context.mode == .training
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard hasForward else { throw LayerError.noForwardPass(layer: description) }
        guard context.needsInputGradient else { return nil }
        try prepareBuffer(&inputGradient, shape: indices.inputShape)
        try maxPool2dBackward(outputGradient, indices: indices, into: &inputGradient!, pool: context.pool)
        return inputGradient!
    }
}

/// 2-D average pooling on [N, C, H, W] (PyTorch's `nn.AvgPool2d`, `count_include_pad=True`).
public final class AvgPool2d: Layer {
    /// Kernel, stride (default: the kernel) and zero padding.
    public let window: Pool2dWindow
    private var inputShape: [Int]?
    private var output: Tensor?
    private var inputGradient: Tensor?
    private var shapes = ShapeCache()

    /// Average pooling over `kernel`×`kernel` windows.
    public init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        window = Pool2dWindow(kernel: kernel, stride: stride, padding: padding)
    }

    public var description: String { "AvgPool2d(\(window))" }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] {
        try window.outputShape(forInput: shape)
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        try prepareBuffer(&output, shape: try shapes.outputShape(for: input.shape) { shape throws(ShapeError) in
            try outputShape(forInput: shape)
        })
        try avgPool2dForward(input, window: window, into: &output!, pool: context.pool)
        inputShape = context.mode == .training ? input.shape : nil
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard let inputShape else { throw LayerError.noForwardPass(layer: description) }
        guard context.needsInputGradient else { return nil }
        try prepareBuffer(&inputGradient, shape: inputShape)
        try avgPool2dBackward(outputGradient, window: window, into: &inputGradient!, pool: context.pool)
        return inputGradient!
    }
}
