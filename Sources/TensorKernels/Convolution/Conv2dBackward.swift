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
                                      configuration: configuration, operation: backwardOperation)
    var inputGradient = computesInputGradient
        ? try Tensor(uninitializedShape: geometry.inputShape) { _ in } : nil
    var weightGradient = try Tensor(uninitializedShape: geometry.weightShape) { _ in }
    var biasGradient = computesBiasGradient
        ? try Tensor(uninitializedShape: [geometry.outputChannels]) { _ in } : nil
    try backwardOnCheckedGeometry(outputGradient, input: input, weight: weight, geometry: geometry,
                                  inputGradient: &inputGradient, weightGradient: &weightGradient,
                                  biasGradient: &biasGradient, pool: pool,
                                  algorithm: Conv2dAlgorithm.preferredBackward(for: geometry),
                                  isa: KernelISA.current.cValue)
    return Conv2dGradients(input: inputGradient, weight: weightGradient, bias: biasGradient)
}

/// 2-D convolution, backward, into existing tensors: as
/// `conv2dBackward(_:input:weight:configuration:…:pool:)`, but overwrites the given gradients,
/// reusing their memory when not shared. A nil `inputGradient` or `biasGradient` is not
/// computed (and stays nil). After a thrown error the given tensors are still in place.
///
/// - Throws: `ShapeError` if the shapes do not fit, or a gradient tensor does not have the
///   shape of what it is the gradient of ([N, C, H, W], [O, C, KH, KW], [O]); `AllocationError`.
public func conv2dBackward(_ outputGradient: Tensor, input: Tensor, weight: Tensor,
                           configuration: Conv2dConfiguration = Conv2dConfiguration(),
                           inputGradient: inout Tensor?, weightGradient: inout Tensor,
                           biasGradient: inout Tensor?, pool: ThreadPool) throws {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: backwardOperation)
    try backwardOnCheckedGeometry(outputGradient, input: input, weight: weight, geometry: geometry,
                                  inputGradient: &inputGradient, weightGradient: &weightGradient,
                                  biasGradient: &biasGradient, pool: pool,
                                  algorithm: Conv2dAlgorithm.preferredBackward(for: geometry),
                                  isa: KernelISA.current.cValue)
}

/// The backward pass with an explicit algorithm and kernel variant.
package func conv2dBackward(_ outputGradient: Tensor, input: Tensor, weight: Tensor,
                            configuration: Conv2dConfiguration, inputGradient: inout Tensor?,
                            weightGradient: inout Tensor, biasGradient: inout Tensor?,
                            pool: ThreadPool, algorithm: Conv2dAlgorithm,
                            isa: weave_isa) throws {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: backwardOperation)
    try backwardOnCheckedGeometry(outputGradient, input: input, weight: weight, geometry: geometry,
                                  inputGradient: &inputGradient, weightGradient: &weightGradient,
                                  biasGradient: &biasGradient, pool: pool, algorithm: algorithm,
                                  isa: isa)
}

private let backwardOperation = "conv2dBackward"

/// The backward pass once `geometry` has validated the input and weight: every entry point
/// builds the geometry once and comes here, which checks only the gradient tensors.
private func backwardOnCheckedGeometry(_ outputGradient: Tensor, input: Tensor, weight: Tensor,
                                       geometry: Conv2dGeometry, inputGradient: inout Tensor?,
                                       weightGradient: inout Tensor, biasGradient: inout Tensor?,
                                       pool: ThreadPool, algorithm: Conv2dAlgorithm,
                                       isa: weave_isa) throws {
    let operation = backwardOperation
    try Conv2dGeometry.check(outputGradient.shape, is: geometry.outputDimensions,
                             operation: operation + " (output gradient)")
    try Conv2dGeometry.check(weightGradient.shape, is: geometry.weightDimensions,
                             operation: operation + " (weight gradient)")
    let dw = try weightGradient.uniqueElements()
    if let shape = inputGradient?.shape {
        try Conv2dGeometry.check(shape, is: geometry.inputDimensions,
                                 operation: operation + " (input gradient)")
    }
    let dx = try inputGradient.uniqueElements()
    if let shape = biasGradient?.shape {
        try Conv2dGeometry.check(shape, isVectorOf: geometry.outputChannels,
                                 operation: operation + " (bias gradient)")
    }
    let db = try biasGradient.uniqueElements()
    let x = input.unsafeElements, w = weight.unsafeElements, dy = outputGradient.unsafeElements
    try withExtendedLifetime((input, weight, outputGradient)) {
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
