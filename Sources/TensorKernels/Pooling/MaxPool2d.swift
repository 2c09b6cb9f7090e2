import CKernels
import ParallelRuntime

/// 2-D max pooling, forward, on an NCHW tensor: output (n, c, i, j) is the largest input in its
/// window (zero padding is never chosen: only input elements are scanned). Ties go to the first
/// element in row-major scan order; a NaN wins over numbers (the first NaN, as in PyTorch).
/// Runs on `pool` over fixed tiles of whole (n, c) planes; the result does not depend on the
/// thread count.
///
/// - Returns: the output, [N, C, OH, OW] (see `Pool2dWindow.outputShape(forInput:)`), and the
///   indices of the chosen elements, for `maxPool2dBackward`.
/// - Throws: `ShapeError` naming the input shape for a bad window or input (see
///   `Pool2dWindow.outputShape(forInput:)`); `AllocationError`.
public func maxPool2dForward(_ input: Tensor, window: Pool2dWindow,
                             pool: ThreadPool) throws -> (output: Tensor, indices: MaxPool2dIndices) {
    let shape = try window.outputShape(forInput: input.shape)
    var output = try Tensor(uninitializedShape: shape) { _ in }
    var indices = MaxPool2dIndices()
    try maxPool2dForward(input, window: window, into: &output, indices: &indices, pool: pool)
    return (output, indices)
}

/// 2-D max pooling, forward, into existing buffers (reused when not shared and large enough;
/// a steady-state step allocates nothing). `output` must have the output shape.
///
/// - Throws: as the allocating form, and `ShapeError` naming both shapes if `output` does not
///   have the output shape.
public func maxPool2dForward(_ input: Tensor, window: Pool2dWindow, into output: inout Tensor,
                             indices: inout MaxPool2dIndices, pool: ThreadPool) throws {
    try maxPool2dForward(input, window: window, into: &output, indices: &indices, pool: pool,
                         isa: KernelISA.current.cValue)
}

/// The forward pass with an explicit kernel variant (tests check that every variant chooses
/// the same elements).
func maxPool2dForward(_ input: Tensor, window: Pool2dWindow, into output: inout Tensor,
                      indices: inout MaxPool2dIndices, pool: ThreadPool, isa: weave_isa) throws {
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    let operation = "maxPool2dForward"
    let geometry = try window.geometry(forInput: input.shape, operation: operation)
    try geometry.checkOutputShape(output.shape, operation: operation + "(into:)")
    let y = try output.uniqueElements()
    // The tensors' own shape arrays (the output's was just checked): no array built per step.
    let argmax = try indices.prepare(inputShape: input.shape, outputShape: output.shape)
    let pass: MaxPoolPass = switch isa {
    case WEAVE_ISA_AVX512: weave_maxpool2d_avx512_forward
    case WEAVE_ISA_AVX2: weave_maxpool2d_avx2_forward
    default: weave_maxpool2d_portable_forward
    }
    let x = input.unsafeElements
    let inPlane = geometry.inputPlane, outPlane = geometry.outputPlane
    withExtendedLifetime(input) {
        // One read-only copy of the geometry for every tile.
        withUnsafePointer(to: geometry.cGeometry) { shape in
            pool.parallelFor(0..<geometry.planes, grain: geometry.planesPerTile) { planes in
                let first = planes.lowerBound
                pass(x + first * inPlane, y + first * outPlane, argmax + first * outPlane, planes.count, shape)
            }
        }
    }
}

/// The C forward pass (`weave_maxpool2d.h`): input planes, output planes, indices, plane count,
/// geometry.
private typealias MaxPoolPass = @convention(c) (
    UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Int32>?, Int,
    UnsafePointer<weave_pool2d_geometry>?) -> Void

/// 2-D max pooling, backward: each output gradient goes to the input element its window chose
/// (`indices`); other elements get 0, and elements chosen by several overlapping windows get
/// the sum, added in output row-major order. Runs on `pool` over fixed tiles of whole planes;
/// the result does not depend on the thread count.
///
/// - Returns: dx, of the forward input's shape.
/// - Throws: `ShapeError` naming both shapes if `outputGradient` does not have the forward
///   output's shape; `AllocationError`.
public func maxPool2dBackward(_ outputGradient: Tensor, indices: MaxPool2dIndices,
                              pool: ThreadPool) throws -> Tensor {
    var inputGradient = try Tensor(uninitializedShape: indices.inputShape) { _ in }
    try maxPool2dBackward(outputGradient, indices: indices, into: &inputGradient, pool: pool)
    return inputGradient
}

/// 2-D max pooling, backward, into an existing tensor of the forward input's shape (reused
/// when not shared).
///
/// - Throws: `ShapeError` naming both shapes if `outputGradient` or `inputGradient` has the
///   wrong shape; `AllocationError`.
public func maxPool2dBackward(_ outputGradient: Tensor, indices: MaxPool2dIndices,
                              into inputGradient: inout Tensor, pool: ThreadPool) throws {
    let operation = "maxPool2dBackward"
    try ShapeError.check(outputGradient.shape, equals: indices.outputShape, operation: operation)
    try ShapeError.check(inputGradient.shape, equals: indices.inputShape,
                         operation: operation + "(into:)")
    let dx = try inputGradient.uniqueElements()
    let dy = outputGradient.unsafeElements
    let s = indices.inputShape, o = indices.outputShape
    let planes = s[0] * s[1], inPlane = s[2] * s[3], outPlane = o[2] * o[3]
    guard planes > 0, inPlane > 0 else { return }
    let argmax = UnsafePointer(indices.storage!.pointer)
    withExtendedLifetime((outputGradient, indices)) {
        pool.parallelFor(0..<planes, grain: Pool2dGeometry.planesPerTile(inputPlane: inPlane)) { tile in
            for plane in tile {
                let target = dx + plane * inPlane
                target.update(repeating: 0, count: inPlane)
                let base = plane * outPlane
                for k in base..<(base + outPlane) {
                    target[Int(argmax[k])] += dy[k]
                }
            }
        }
    }
}
