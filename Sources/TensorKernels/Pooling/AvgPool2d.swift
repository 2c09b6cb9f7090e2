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
    let operation = "avgPool2dForward"
    let geometry = try window.geometry(forInput: input.shape, operation: operation)
    try geometry.checkOutputShape(output.shape, operation: operation + "(into:)")
    let y = try output.uniqueElements()
    let x = input.unsafeElements
    let inPlane = geometry.inputPlane, outPlane = geometry.outputPlane, width = geometry.width
    let divisor = Float(window.kernelHeight * window.kernelWidth)
    withExtendedLifetime(input) {
        pool.parallelFor(0..<geometry.planes, grain: geometry.planesPerTile) { planes in
            for plane in planes {
                let source = x + plane * inPlane
                var o = plane * outPlane
                for i in 0..<geometry.outputHeight {
                    let rows = geometry.rows(i)
                    for j in 0..<geometry.outputWidth {
                        let columns = geometry.columns(j)
                        var sum: Float = 0
                        for h in rows {
                            for w in columns { sum += source[h * width + w] }
                        }
                        y[o] = sum / divisor
                        o += 1
                    }
                }
            }
        }
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
    let operation = "avgPool2dBackward"
    let geometry = try window.geometry(forInput: inputGradient.shape, operation: operation)
    try geometry.checkOutputShape(outputGradient.shape, operation: operation)
    let dx = try inputGradient.uniqueElements()
    let dy = outputGradient.unsafeElements
    let inPlane = geometry.inputPlane, outPlane = geometry.outputPlane, width = geometry.width
    let divisor = Float(window.kernelHeight * window.kernelWidth)
    guard inPlane > 0 else { return }
    withExtendedLifetime(outputGradient) {
        pool.parallelFor(0..<geometry.planes, grain: geometry.planesPerTile) { planes in
            for plane in planes {
                let target = dx + plane * inPlane
                target.update(repeating: 0, count: inPlane)
                var o = plane * outPlane
                for i in 0..<geometry.outputHeight {
                    let rows = geometry.rows(i)
                    for j in 0..<geometry.outputWidth {
                        let columns = geometry.columns(j)
                        let share = dy[o] / divisor
                        for h in rows {
                            for w in columns { target[h * width + w] += share }
                        }
                        o += 1
                    }
                }
            }
        }
    }
}
