import CKernels
import ParallelRuntime

/// 2-D convolution (cross-correlation, as PyTorch's `Conv2d`), forward:
/// `output[n, o, oy, ox] = bias[o] + Σ_{c, ky, kx} weight[o, c, ky, kx] ·
/// xpad[n, c, oy·sH + ky·dH, ox·sW + kx·dW]`, where `xpad` is the input with zero padding.
///
/// Layout: `input` [N, C, H, W] (NCHW), `weight` [O, C, KH, KW] (OIHW), `bias` [O] or nil;
/// the output is [N, O, OH, OW] (`Conv2dConfiguration.outputShape`). Runs on `pool` over tiles
/// fixed by the shape; the result is bit-identical for every thread count and ISA variant.
///
/// - Throws: `ShapeError` naming the shapes if they do not fit (see
///   `Conv2dConfiguration.outputShape`) or `bias` is not [O]; `AllocationError`.
public func conv2dForward(_ input: Tensor, weight: Tensor, bias: Tensor? = nil,
                          configuration: Conv2dConfiguration = Conv2dConfiguration(),
                          pool: ThreadPool) throws -> Tensor {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: forwardOperation)
    var output = try Tensor(uninitializedShape: geometry.outputShape) { _ in }
    try forwardOnCheckedGeometry(input, weight: weight, bias: bias, geometry: geometry,
                                 into: &output, pool: pool,
                                 algorithm: Conv2dAlgorithm.preferredForward(for: geometry),
                                 isa: KernelISA.current.cValue)
    return output
}

/// 2-D convolution, forward, into an existing tensor: as
/// `conv2dForward(_:weight:bias:configuration:pool:)`, but overwrites `output`, reusing its
/// memory when it is not shared (a steady-state training step then allocates nothing). If
/// `output` shares storage with another tensor (e.g. the input) it is copied first, so the
/// result never shows through a copy.
///
/// - Throws: `ShapeError` if the shapes do not fit or `output` is not [N, O, OH, OW];
///   `AllocationError`.
public func conv2dForward(_ input: Tensor, weight: Tensor, bias: Tensor? = nil,
                          configuration: Conv2dConfiguration = Conv2dConfiguration(),
                          into output: inout Tensor, pool: ThreadPool) throws {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: forwardOperation)
    try forwardOnCheckedGeometry(input, weight: weight, bias: bias, geometry: geometry,
                                 into: &output, pool: pool,
                                 algorithm: Conv2dAlgorithm.preferredForward(for: geometry),
                                 isa: KernelISA.current.cValue)
}

/// The forward pass with an explicit algorithm and kernel variant (tests check that the
/// variant changes no bit, and compare algorithms numerically).
package func conv2dForward(_ input: Tensor, weight: Tensor, bias: Tensor?,
                           configuration: Conv2dConfiguration, into output: inout Tensor,
                           pool: ThreadPool, algorithm: Conv2dAlgorithm,
                           isa: weave_isa) throws {
    let geometry = try Conv2dGeometry(input: input.shape, weight: weight.shape,
                                      configuration: configuration, operation: forwardOperation)
    try forwardOnCheckedGeometry(input, weight: weight, bias: bias, geometry: geometry,
                                 into: &output, pool: pool, algorithm: algorithm, isa: isa)
}

private let forwardOperation = "conv2dForward"

/// The forward pass once `geometry` has validated the input and weight: every entry point
/// builds the geometry once and comes here, which checks only what the geometry does not
/// cover (the bias and the output).
private func forwardOnCheckedGeometry(_ input: Tensor, weight: Tensor, bias: Tensor?,
                                      geometry: Conv2dGeometry, into output: inout Tensor,
                                      pool: ThreadPool, algorithm: Conv2dAlgorithm,
                                      isa: weave_isa) throws {
    if let bias {
        try Conv2dGeometry.check(bias.shape, isVectorOf: geometry.outputChannels,
                                 operation: forwardOperation + " (bias)")
    }
    try Conv2dGeometry.check(output.shape, is: geometry.outputDimensions,
                             operation: forwardOperation + "(into:)")
    let y = try output.uniqueElements()
    let x = input.unsafeElements, w = weight.unsafeElements, b = bias.unsafeElements
    try withExtendedLifetime((input, weight, bias)) {
        switch algorithm {
        case .direct:
            try DirectConv2d(geometry: geometry, isa: isa)
                .forward(input: x, weight: w, bias: b, output: y, pool: pool)
        case .im2colGEMM:
            try Im2colConv2d(geometry: geometry, isa: isa)
                .forward(input: x, weight: w, bias: b, output: y, pool: pool)
        }
    }
}
