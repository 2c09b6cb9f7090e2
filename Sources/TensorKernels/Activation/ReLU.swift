import ParallelRuntime

/// Elements per tile of the ReLU kernels (fixed; the results do not depend on it either, since
/// every element is computed on its own).
public let reluTileElements = 32_768

/// ReLU, forward: `y = x < 0 ? +0 : x` element-wise, so NaN and −0 pass unchanged (as in
/// PyTorch, NaN propagates). Any shape. Runs on `pool` over fixed tiles of
/// `reluTileElements`; the result does not depend on the thread count.
///
/// - Throws: `AllocationError`.
public func reluForward(_ input: Tensor, pool: ThreadPool) throws -> Tensor {
    var output = try Tensor(uninitializedShape: input.shape) { _ in }
    try reluForward(input, into: &output, pool: pool)
    return output
}

/// ReLU, forward, into an existing tensor of the input's shape (reused when not shared; a
/// copy of `input` is copied on write first).
///
/// - Throws: `ShapeError` naming both shapes if `output`'s shape differs from `input`'s;
///   `AllocationError`.
public func reluForward(_ input: Tensor, into output: inout Tensor, pool: ThreadPool) throws {
    try ShapeError.check(output.shape, equals: input.shape, operation: "reluForward(into:)")
    let y = try output.uniqueElements()
    let x = input.unsafeElements
    withExtendedLifetime(input) {
        pool.parallelFor(0..<input.count, grain: reluTileElements) { tile in
            var i = tile.lowerBound
            let end = tile.upperBound
            while i + 16 <= end {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: 0, where: v .< 0),
                                                          as: SIMD16<Float>.self)
                i += 16
            }
            while i < end {
                y[i] = x[i] < 0 ? 0 : x[i]
                i += 1
            }
        }
    }
}

/// ReLU, backward: `dx = x > 0 ? dy : +0` element-wise, where `x` is the forward input (the
/// forward output works too: y > 0 exactly where x > 0). Runs on `pool` over fixed tiles; the
/// result does not depend on the thread count.
///
/// - Throws: `ShapeError` naming both shapes if `outputGradient` and `input` differ in shape;
///   `AllocationError`.
public func reluBackward(_ outputGradient: Tensor, input: Tensor, pool: ThreadPool) throws -> Tensor {
    var inputGradient = try Tensor(uninitializedShape: input.shape) { _ in }
    try reluBackward(outputGradient, input: input, into: &inputGradient, pool: pool)
    return inputGradient
}

/// ReLU, backward, into an existing tensor of the input's shape (reused when not shared).
///
/// - Throws: `ShapeError` naming both shapes if `outputGradient`, `input` and `inputGradient`
///   do not all have the same shape; `AllocationError`.
public func reluBackward(_ outputGradient: Tensor, input: Tensor, into inputGradient: inout Tensor,
                         pool: ThreadPool) throws {
    try ShapeError.check(outputGradient.shape, equals: input.shape, operation: "reluBackward")
    try ShapeError.check(inputGradient.shape, equals: input.shape,
                         operation: "reluBackward(into:)")
    let dx = try inputGradient.uniqueElements()
    let x = input.unsafeElements, dy = outputGradient.unsafeElements
    withExtendedLifetime((input, outputGradient)) {
        pool.parallelFor(0..<input.count, grain: reluTileElements) { tile in
            var i = tile.lowerBound
            let end = tile.upperBound
            while i + 16 <= end {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
                let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dx + i).storeBytes(
                    of: g.replacing(with: 0, where: .!(v .> 0)), as: SIMD16<Float>.self)
                i += 16
            }
            while i < end {
                dx[i] = x[i] > 0 ? dy[i] : 0
                i += 1
            }
        }
    }
}
