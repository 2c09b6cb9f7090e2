import CKernels
import ParallelRuntime

/// Elements per tile of the dropout kernels: a multiple of 64, so no two tiles share a mask
/// word. Fixed, whatever the thread count; the results do not depend on it either, since
/// element i always uses word i of the stream.
public let dropoutTileElements = 32_768

/// Inverted dropout, forward (DESIGN §6): in training, element i is kept with probability
/// 1 − p and becomes `input[i] · scale`, `scale = 1 / (1 − p)` computed in `Float`; a dropped
/// element becomes +0 (also when the input is NaN or infinite). In evaluation, or for p = 0,
/// the output is the input (shared, not copied). For p = 1 every element is 0.
///
/// The keep decision for element i is the Bernoulli draw of stream format v1: kept iff
/// `stream.word(at: i, step: step) ≥ round(p · 2³²)`, so the mask is a pure function of
/// (stream key, step, i) — bit-identical for every thread count, tile size and ISA variant.
/// For a model, `stream` is `RandomStream(seed:purpose: .dropout(layer:))` and `step` the
/// training step. Runs on `pool` over fixed tiles of `dropoutTileElements`.
///
/// - Returns: the output (same shape as `input`) and the mask for `dropoutBackward`.
/// - Throws: `DropoutError` if p is outside [0, 1] or NaN; `AllocationError`.
public func dropoutForward(_ input: Tensor, probability: Float, training: Bool = true,
                           stream: RandomStream, step: UInt64,
                           pool: ThreadPool) throws -> (output: Tensor, mask: DropoutMask) {
    guard probability >= 0 && probability <= 1 else { throw DropoutError(probability: probability) }
    // A fresh output when the kernel writes one; otherwise `input` itself is the result.
    var output = training && probability > 0
        ? try Tensor(uninitializedShape: input.shape) { _ in } : input
    var mask = DropoutMask()
    try dropoutForward(input, into: &output, mask: &mask, probability: probability,
                       training: training, stream: stream, step: step, pool: pool)
    return (output, mask)
}

/// Inverted dropout, forward, into existing buffers: as `dropoutForward(_:probability:…)`, but
/// writes `output` and `mask` in place, reusing their memory when they are not shared and
/// large enough (a steady-state training step then allocates nothing). `output` may be a copy
/// of `input` (it is then copied on write), or any tensor of the same shape.
///
/// - Throws: `DropoutError` for a bad p; `ShapeError` naming both shapes if `output`'s shape
///   differs from `input`'s; `AllocationError`.
public func dropoutForward(_ input: Tensor, into output: inout Tensor, mask: inout DropoutMask,
                           probability: Float, training: Bool = true, stream: RandomStream,
                           step: UInt64, pool: ThreadPool) throws {
    try dropoutForward(input, into: &output, mask: &mask, probability: probability,
                       training: training, stream: stream, step: step, pool: pool,
                       tileElements: dropoutTileElements, isa: PhiloxKernels.selectedISA)
}

/// The forward pass with an explicit tile size and kernel variant (tests check that neither
/// changes a bit).
package func dropoutForward(_ input: Tensor, into output: inout Tensor, mask: inout DropoutMask,
                            probability p: Float, training: Bool, stream: RandomStream,
                            step: UInt64, pool: ThreadPool, tileElements: Int,
                            isa: weave_isa) throws {
    guard p >= 0 && p <= 1 else { throw DropoutError(probability: p) }
    precondition(tileElements > 0 && tileElements % 64 == 0,
                 "dropout tiles must be a positive multiple of 64 elements, got \(tileElements)")
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    let count = input.count
    if !training || p == 0 {
        output = input
        mask.set(kind: .identity, shape: input.shape, count: count, probability: p, scale: 1)
        return
    }
    try ShapeError.check(output.shape, equals: input.shape, operation: "dropoutForward(into:)")
    try output.makeUnique()
    if p == 1 {
        output.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        mask.set(kind: .dropAll, shape: input.shape, count: count, probability: p, scale: 0)
        return
    }
    let scale = 1 / (1 - p)
    let threshold = UInt32(Philox4x32.bernoulliThreshold(probability: p))  // < 2³² since p < 1
    let words = try mask.prepareBits(shape: input.shape, count: count, probability: p, scale: scale)
    let key = stream.key
    input.withUnsafeBufferPointer { source in
        output.withUnsafeMutableBufferPointer { destination in
            guard let from = source.baseAddress, let to = destination.baseAddress else { return }
            pool.parallelFor(0..<count, grain: tileElements) { tile in
                let start = tile.lowerBound
                let first = UInt64(start)
                switch isa {
                case WEAVE_ISA_AVX512:
                    weave_dropout_avx512_forward(from + start, to + start, words + start / 64,
                                                 tile.count, first, key[0], key[1], step,
                                                 threshold, scale)
                case WEAVE_ISA_AVX2:
                    weave_dropout_avx2_forward(from + start, to + start, words + start / 64,
                                               tile.count, first, key[0], key[1], step,
                                               threshold, scale)
                default:
                    weave_dropout_portable_forward(from + start, to + start, words + start / 64,
                                                   tile.count, first, key[0], key[1], step,
                                                   threshold, scale)
                }
            }
        }
    }
}

/// Inverted dropout, backward: the input gradient is `outputGradient[i] · mask.scale` where
/// element i was kept and +0 where it was dropped — the same bits as the forward pass applied
/// to `outputGradient`. Identity masks return `outputGradient` itself (shared); p = 1 gives
/// zeros. Runs on `pool` over fixed tiles; the result does not depend on the thread count.
///
/// - Throws: `ShapeError` naming both shapes if `outputGradient` does not have the mask's
///   shape; `AllocationError`.
public func dropoutBackward(_ outputGradient: Tensor, mask: DropoutMask,
                            pool: ThreadPool) throws -> Tensor {
    var result = mask.kind == .identity
        ? outputGradient : try Tensor(uninitializedShape: mask.shape) { _ in }
    try dropoutBackward(outputGradient, mask: mask, into: &result, pool: pool)
    return result
}

/// Inverted dropout, backward, into an existing tensor (reused when not shared).
/// `inputGradient` may be a copy of `outputGradient` or any tensor of the same shape.
///
/// - Throws: `ShapeError` naming both shapes if `outputGradient` or `inputGradient` does not
///   have the mask's shape; `AllocationError`.
public func dropoutBackward(_ outputGradient: Tensor, mask: DropoutMask,
                            into inputGradient: inout Tensor, pool: ThreadPool) throws {
    try dropoutBackward(outputGradient, mask: mask, into: &inputGradient, pool: pool,
                        tileElements: dropoutTileElements, isa: PhiloxKernels.selectedISA)
}

/// The backward pass with an explicit tile size and kernel variant.
package func dropoutBackward(_ outputGradient: Tensor, mask: DropoutMask,
                             into inputGradient: inout Tensor, pool: ThreadPool,
                             tileElements: Int, isa: weave_isa) throws {
    precondition(tileElements > 0 && tileElements % 64 == 0,
                 "dropout tiles must be a positive multiple of 64 elements, got \(tileElements)")
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    try ShapeError.check(outputGradient.shape, equals: mask.shape, operation: "dropoutBackward")
    switch mask.kind {
    case .identity:
        inputGradient = outputGradient
        return
    case .dropAll:
        try ShapeError.check(inputGradient.shape, equals: mask.shape,
                             operation: "dropoutBackward(into:)")
        try inputGradient.makeUnique()
        inputGradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        return
    case .bits:
        break
    }
    try ShapeError.check(inputGradient.shape, equals: mask.shape, operation: "dropoutBackward(into:)")
    try inputGradient.makeUnique()
    guard let storage = mask.storage else {
        preconditionFailure("a dropout mask of kind .bits has no storage")
    }
    let words = UnsafePointer(storage.pointer)
    let scale = mask.scale
    let count = mask.count
    outputGradient.withUnsafeBufferPointer { source in
        inputGradient.withUnsafeMutableBufferPointer { destination in
            guard let from = source.baseAddress, let to = destination.baseAddress else { return }
            pool.parallelFor(0..<count, grain: tileElements) { tile in
                let start = tile.lowerBound
                switch isa {
                case WEAVE_ISA_AVX512:
                    weave_dropout_avx512_backward(from + start, to + start, words + start / 64,
                                                  tile.count, scale)
                case WEAVE_ISA_AVX2:
                    weave_dropout_avx2_backward(from + start, to + start, words + start / 64,
                                                tile.count, scale)
                default:
                    weave_dropout_portable_backward(from + start, to + start, words + start / 64,
                                                    tile.count, scale)
                }
            }
        }
    }
}
