import ParallelRuntime
import TensorKernels

/// 2-D convolution on NCHW inputs with OIHW weights (PyTorch's `nn.Conv2d`, groups = 1).
///
/// The weight and bias gradients reduce over the batch per image in image order (see
/// `conv2dBackward`), so they do not depend on the thread count.
public final class Conv2d: Layer {
    /// Input channels C.
    public let inputChannels: Int
    /// Output channels O.
    public let outputChannels: Int
    /// Kernel height and width.
    public let kernel: (height: Int, width: Int)
    /// Stride, zero padding and dilation.
    public let configuration: Conv2dConfiguration
    /// The weight, [O, C, KH, KW].
    public let weight: Parameter
    /// The bias, [O], or nil.
    public let bias: Parameter?

    private var input: Tensor?
    private var output: Tensor?
    private var inputGradient: Tensor?
    private var placeholder: Tensor
    private var shapes = ShapeCache()

    /// A convolution from `inputChannels` to `outputChannels` with a square `kernel`.
    /// - Precondition: positive channel counts, kernel, stride and dilation; padding ≥ 0.
    public init(_ inputChannels: Int, _ outputChannels: Int, kernel: Int, stride: Int = 1,
                padding: Int = 0, dilation: Int = 1, bias: Bool = true) {
        precondition(inputChannels > 0 && outputChannels > 0 && kernel > 0,
                     "Conv2d needs positive channels and kernel, got \(inputChannels) → \(outputChannels), kernel \(kernel)")
        precondition(stride > 0 && dilation > 0 && padding >= 0,
                     "Conv2d needs stride, dilation > 0 and padding ≥ 0, got \(stride), \(dilation), \(padding)")
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernel = (kernel, kernel)
        configuration = Conv2dConfiguration(stride: stride, padding: padding, dilation: dilation)
        let area = kernel * kernel
        weight = Parameter(name: "weight", role: .weight,
                           shape: [outputChannels, inputChannels, kernel, kernel],
                           fanIn: inputChannels * area, fanOut: outputChannels * area)
        self.bias = bias
            ? Parameter(name: "bias", role: .bias, shape: [outputChannels],
                        fanIn: inputChannels * area, fanOut: outputChannels * area)
            : nil
        do {
            placeholder = try Tensor(zeros: [0])
        } catch {
            preconditionFailure("cannot allocate an empty tensor: \(error)")
        }
    }

    public var description: String {
        "Conv2d(\(inputChannels), \(outputChannels), kernel: \(kernel.height)\(configuration == Conv2dConfiguration() ? "" : ", \(configuration)")\(bias == nil ? ", bias: false" : ""))"
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func outputShape(forInput shape: [Int]) throws(ShapeError) -> [Int] {
        do {
            return try configuration.outputShape(input: shape, weight: weight.value.shape)
        } catch {
            throw ShapeError(operation: description, expected: error.expected, actual: error.actual,
                             detail: error.detail)
        }
    }

    public func forward(_ input: Tensor, context: ForwardContext) throws -> Tensor {
        try prepareBuffer(&output, shape: try shapes.outputShape(for: input.shape, outputShape(forInput:)))
        try conv2dForward(input, weight: weight.value, bias: bias?.value, configuration: configuration,
                          into: &output!, pool: context.pool)
        self.input = context.mode == .training ? input : nil
        return output!
    }

    public func backward(_ outputGradient: Tensor, context: BackwardContext) throws -> Tensor? {
        guard let input else { throw LayerError.noForwardPass(layer: description) }
        self.input = nil
        var dx: Tensor? = nil
        if context.needsInputGradient {
            try prepareBuffer(&inputGradient, shape: input.shape)
            swap(&dx, &inputGradient)
        }
        // Move the bias gradient out of its parameter so the kernel owns it uniquely.
        var db: Tensor? = nil
        if let bias {
            db = bias.gradient
            bias.gradient = placeholder
        }
        defer {
            if let bias, let db { bias.gradient = db }
        }
        try conv2dBackward(outputGradient, input: input, weight: weight.value,
                           configuration: configuration, inputGradient: &dx,
                           weightGradient: &weight.gradient, biasGradient: &db, pool: context.pool)
        guard context.needsInputGradient else { return nil }
        inputGradient = dx
        return inputGradient!
    }
}
