import CKernels
import ParallelRuntime

/// The gradients `conv2dBackward` returns.
public struct Conv2dGradients: Sendable {
    /// ∂L/∂input [N, C, H, W], or nil when not asked for (e.g. the first layer).
    public var input: Tensor?
    /// ∂L/∂weight [O, C, KH, KW], summed over the batch.
    public var weight: Tensor
    /// ∂L/∂bias [O], summed over the batch and positions, or nil when not asked for.
    public var bias: Tensor?

    /// Gradients from their parts.
    public init(input: Tensor?, weight: Tensor, bias: Tensor?) {
        self.input = input
        self.weight = weight
        self.bias = bias
    }
}

/// 2-D convolution, backward: from `outputGradient` (∂L/∂output, [N, O, OH, OW]) and the
/// forward pass's `input` and `weight`, the input gradient (if `computesInputGradient`), the
/// weight gradient and the bias gradient (if `computesBiasGradient`).
///
/// The parameter gradients reduce over the batch per image and combine the per-image values in
/// image order, so they are bit-identical for every thread count and ISA variant (DESIGN §4);
/// so is the input gradient. Nothing is accumulated into existing gradients: add the result to
/// a running sum yourself if you need one.
///
/// - Throws: `ShapeError` if the shapes do not fit (see `Conv2dConfiguration.outputShape`) or
///   `outputGradient` is not [N, O, OH, OW]; `AllocationError`.
public func conv2dBackward(_ outputGradient: Tensor, input: Tensor, weight: Tensor,
                           configuration: Conv2dConfiguration = Conv2dConfiguration(),
                           computesInputGradient: Bool = true,
                           computesBiasGradient: Bool = true,
                           pool: ThreadPool) throws -> Conv2dGradients {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: "conv2dBackward")
    var inputGradient = computesInputGradient
        ? try Tensor(uninitializedShape: geometry.inputShape) { _ in } : nil
    var weightGradient = try Tensor(uninitializedShape: geometry.weightShape) { _ in }
    var biasGradient = computesBiasGradient
        ? try Tensor(uninitializedShape: [geometry.outputChannels]) { _ in } : nil
    try conv2dBackward(outputGradient, input: input, weight: weight, configuration: configuration,
                       inputGradient: &inputGradient, weightGradient: &weightGradient,
                       biasGradient: &biasGradient, pool: pool)
    return Conv2dGradients(input: inputGradient, weight: weightGradient, bias: biasGradient)
}

/// 2-D convolution, backward, into existing tensors: as
/// `conv2dBackward(_:input:weight:configuration:…:pool:)`, but overwrites the given gradients,
/// reusing their memory when not shared. A nil `inputGradient` or `biasGradient` is not
/// computed (and stays nil).
///
/// - Throws: `ShapeError` if the shapes do not fit, or a gradient tensor does not have the
///   shape of what it is the gradient of ([N, C, H, W], [O, C, KH, KW], [O]); `AllocationError`.
public func conv2dBackward(_ outputGradient: Tensor, input: Tensor, weight: Tensor,
                           configuration: Conv2dConfiguration = Conv2dConfiguration(),
                           inputGradient: inout Tensor?, weightGradient: inout Tensor,
                           biasGradient: inout Tensor?, pool: ThreadPool) throws {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: "conv2dBackward")
    try conv2dBackward(outputGradient, input: input, weight: weight, configuration: configuration,
                       inputGradient: &inputGradient, weightGradient: &weightGradient,
                       biasGradient: &biasGradient, pool: pool,
                       algorithm: Conv2dAlgorithm.preferred(for: geometry),
                       isa: KernelISA.current.cValue)
}

/// The backward pass with an explicit algorithm and kernel variant.
package func conv2dBackward(_ outputGradient: Tensor, input: Tensor, weight: Tensor,
                            configuration: Conv2dConfiguration, inputGradient: inout Tensor?,
                            weightGradient: inout Tensor, biasGradient: inout Tensor?,
                            pool: ThreadPool, algorithm: Conv2dAlgorithm,
                            isa: weave_isa) throws {
    let operation = "conv2dBackward"
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: operation)
    try Conv2dGeometry.check(outputGradient.shape, is: geometry.outputDimensions,
                             operation: operation + " (output gradient)")
    try Conv2dGeometry.check(weightGradient.shape, is: geometry.weightDimensions,
                             operation: operation + " (weight gradient)")
    try weightGradient.makeUnique()
    if var gradient = inputGradient {
        inputGradient = nil  // drop our reference so the storage can be unique
        try Conv2dGeometry.check(gradient.shape, is: geometry.inputDimensions,
                                 operation: operation + " (input gradient)")
        try gradient.makeUnique()
        inputGradient = gradient
    }
    if var gradient = biasGradient {
        biasGradient = nil
        try Conv2dGeometry.check(gradient.shape, isVectorOf: geometry.outputChannels,
                                 operation: operation + " (bias gradient)")
        try gradient.makeUnique()
        biasGradient = gradient
    }
    try input.withUnsafeBufferPointer { x in
        try weight.withUnsafeBufferPointer { w in
            try outputGradient.withUnsafeBufferPointer { dy in
                try weightGradient.withUnsafeMutableBufferPointer { dw in
                    try withOptionalMutableBuffer(&inputGradient) { dx in
                        try withOptionalMutableBuffer(&biasGradient) { db in
                            guard let x = x.baseAddress, let w = w.baseAddress,
                                  let dy = dy.baseAddress, let dw = dw.baseAddress else { return }
                            switch algorithm {
                            case .direct:
                                try DirectConv2d(geometry: geometry, isa: isa).backward(
                                    input: x, weight: w, outputGradient: dy, inputGradient: dx,
                                    weightGradient: dw, biasGradient: db, pool: pool)
                            case .im2colGEMM:
                                try Im2colConv2d(geometry: geometry, isa: isa).backward(
                                    input: x, weight: w, outputGradient: dy, inputGradient: dx,
                                    weightGradient: dw, biasGradient: db, pool: pool)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Calls `body` with the mutable base address of `tensor`'s elements, or nil when there is
/// no tensor.
func withOptionalMutableBuffer<R>(_ tensor: inout Tensor?,
                                  _ body: (UnsafeMutablePointer<Float>?) throws -> R) rethrows -> R {
    guard var unwrapped = tensor else { return try body(nil) }
    tensor = nil  // keep the storage uniquely referenced while writing
    defer { tensor = unwrapped }
    return try unwrapped.withUnsafeMutableBufferPointer { try body($0.baseAddress) }
}
