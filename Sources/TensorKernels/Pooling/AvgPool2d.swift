import CKernels
import ParallelRuntime

/// 2-D average pooling, forward, on an NCHW tensor, PyTorch's default `count_include_pad=True`:
/// output (n, c, i, j) is the sum of the input elements in its window (padding counts as 0),
/// added in row-major scan order in `Float`, divided by kernelHeight·kernelWidth.
/// Runs on `pool` over fixed tiles of whole (n, c) planes; the result does not depend on the
/// thread count.
///
/// - Returns: the output, [N, C, OH, OW] (see `Pool2dWindow.outputShape(forInput:)`).
/// - Throws: `ShapeError` naming the input shape for a bad window or input; `AllocationError`.
public func avgPool2dForward(_ input: Tensor, window: Pool2dWindow,
                             pool: ThreadPool) throws -> Tensor {
    var output = try Tensor(uninitializedShape: try window.outputShape(forInput: input.shape)) { _ in }
    try avgPool2dForward(input, window: window, into: &output, pool: pool)
    return output
}

/// 2-D average pooling, forward, into an existing tensor of the output shape (reused when not
/// shared).
///
/// - Throws: as the allocating form, and `ShapeError` naming both shapes if `output` does not
///   have the output shape.
public func avgPool2dForward(_ input: Tensor, window: Pool2dWindow, into output: inout Tensor,
                             pool: ThreadPool) throws {
    try avgPool2dForward(input, window: window, into: &output, pool: pool, isa: KernelISA.current.cValue)
}

/// The forward pass with an explicit kernel variant (tests check that every variant gives
/// the same bits).
func avgPool2dForward(_ input: Tensor, window: Pool2dWindow, into output: inout Tensor,
                      pool: ThreadPool, isa: weave_isa) throws {
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    let operation = "avgPool2dForward"
    let geometry = try window.geometry(forInput: input.shape, operation: operation)
    try geometry.checkOutputShape(output.shape, operation: operation + "(into:)")
    let y = try output.uniqueElements()
    let pass: AvgPoolPass = switch isa {
    case WEAVE_ISA_AVX512: weave_avgpool2d_avx512_forward
    case WEAVE_ISA_AVX2: weave_avgpool2d_avx2_forward
    default: weave_avgpool2d_portable_forward
    }
    withExtendedLifetime(input) {
        runPlanes(pool, geometry, pass, from: input.unsafeElements, sourcePlane: geometry.inputPlane,
                  to: y, targetPlane: geometry.outputPlane)
    }
}

/// 2-D average pooling, backward: each input element receives dy / (kernelHeight·kernelWidth)
/// from every window that covers it, added in output row-major order (the quotient is
/// computed once per output element). Runs on `pool` over fixed tiles of whole planes; the
/// result does not depend on the thread count.
///
/// - Returns: dx, of shape `inputShape`.
/// - Throws: `ShapeError` naming both shapes if `outputGradient` does not have the output
///   shape of `inputShape` under `window`, or for a bad window; `AllocationError`.
public func avgPool2dBackward(_ outputGradient: Tensor, inputShape: [Int], window: Pool2dWindow,
                              pool: ThreadPool) throws -> Tensor {
    _ = try window.geometry(forInput: inputShape, operation: "avgPool2dBackward")
    var inputGradient = try Tensor(uninitializedShape: inputShape) { _ in }
    try avgPool2dBackward(outputGradient, window: window, into: &inputGradient, pool: pool)
    return inputGradient
}

/// 2-D average pooling, backward, into an existing tensor whose shape is the forward input's
/// (reused when not shared).
///
/// - Throws: `ShapeError` naming both shapes if `outputGradient` does not have the output shape
///   of `inputGradient`'s shape under `window`, or for a bad window; `AllocationError`.
public func avgPool2dBackward(_ outputGradient: Tensor, window: Pool2dWindow,
                              into inputGradient: inout Tensor, pool: ThreadPool) throws {
    try avgPool2dBackward(outputGradient, window: window, into: &inputGradient, pool: pool,
                          isa: KernelISA.current.cValue)
}

/// The backward pass with an explicit kernel variant.
func avgPool2dBackward(_ outputGradient: Tensor, window: Pool2dWindow,
                       into inputGradient: inout Tensor, pool: ThreadPool, isa: weave_isa) throws {
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    let operation = "avgPool2dBackward"
    let geometry = try window.geometry(forInput: inputGradient.shape, operation: operation)
    try geometry.checkOutputShape(outputGradient.shape, operation: operation)
    let dx = try inputGradient.uniqueElements()
    guard geometry.inputPlane > 0 else { return }
    let pass: AvgPoolPass = switch isa {
    case WEAVE_ISA_AVX512: weave_avgpool2d_avx512_backward
    case WEAVE_ISA_AVX2: weave_avgpool2d_avx2_backward
    default: weave_avgpool2d_portable_backward
    }
    withExtendedLifetime(outputGradient) {
        runPlanes(pool, geometry, pass, from: outputGradient.unsafeElements, sourcePlane: geometry.outputPlane,
                  to: dx, targetPlane: geometry.inputPlane)
    }
}

/// One pass of the C loops (`weave_pool2d.h`): source planes, target planes, plane count, geometry.
private typealias AvgPoolPass = @convention(c) (
    UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, UnsafePointer<weave_pool2d_geometry>?) -> Void

/// Runs `pass` over every plane, in fixed tiles of whole planes (`planesPerTile`).
private func runPlanes(_ pool: ThreadPool, _ geometry: Pool2dGeometry, _ pass: AvgPoolPass,
                       from source: UnsafePointer<Float>, sourcePlane: Int,
                       to target: UnsafeMutablePointer<Float>, targetPlane: Int) {
    // One read-only copy of the geometry for every tile.
    withUnsafePointer(to: geometry.cGeometry) { shape in
        pool.parallelFor(0..<geometry.planes, grain: geometry.planesPerTile) { planes in
            pass(source + planes.lowerBound * sourcePlane, target + planes.lowerBound * targetPlane,
                 planes.count, shape)
        }
    }
}

extension Pool2dGeometry {
    /// The geometry as the C loops take it (`weave_pool2d.h`).
    var cGeometry: weave_pool2d_geometry {
        weave_pool2d_geometry(
            height: Int64(height), width: Int64(width), out_height: Int64(outputHeight),
            out_width: Int64(outputWidth), kernel_h: Int64(window.kernelHeight),
            kernel_w: Int64(window.kernelWidth), stride_h: Int64(window.strideHeight),
            stride_w: Int64(window.strideWidth), pad_h: Int64(window.paddingHeight),
            pad_w: Int64(window.paddingWidth))
    }
}
