import CKernels
import ParallelRuntime

/// Batch normalisation in training mode, backward: one pass for the per-channel sums, one for dx
/// (all three gradients from one formula per channel).
///
/// With x̂ = (x − μ)·s from `saved` (μ = `saved.mean[c]`, s = `saved.inverseStandardDeviation[c]`)
/// and n = N·H·W values per channel:
/// `dγ[c] = Σ dy·x̂`, `dβ[c] = Σ dy` (sums in `Double` with a fixed order), and
/// `dx = (γ·s)·(dy − mean(dy) − x̂·mean(dy·x̂))`, evaluated in `Float` as
/// `(dy·a + (x − μ)·b) + c` with per-channel a, b, c computed in `Double`.
/// The parameter gradients are overwritten, not accumulated.
///
/// Layout: row-major NCHW; `outputGradient` and `input` have the same shape. The result is
/// bit-identical for every thread count and kernel ISA variant (`BatchNormTiling`).
///
/// - Returns: dx (the input's shape), dγ and dβ ([C]).
/// - Throws: `ShapeError` naming both shapes if `outputGradient`'s shape differs from
///   `input`'s, the input has rank < 2, or `gamma` or the saved statistics are not [C];
///   `AllocationError`.
public func batchNormBackward(
    _ outputGradient: Tensor, input: Tensor, gamma: Tensor, saved: BatchNormSavedStatistics,
    pool: ThreadPool
) throws -> (inputGradient: Tensor, gammaGradient: Tensor, betaGradient: Tensor) {
    var inputGradient = try Tensor(uninitializedShape: input.shape) { _ in }
    var gammaGradient = try Tensor(uninitializedShape: gamma.shape) { _ in }
    var betaGradient = try Tensor(uninitializedShape: gamma.shape) { _ in }
    try batchNormBackward(outputGradient, input: input, gamma: gamma, saved: saved,
                          into: &inputGradient, gammaGradient: &gammaGradient,
                          betaGradient: &betaGradient, pool: pool)
    return (inputGradient, gammaGradient, betaGradient)
}

/// Batch normalisation backward into existing buffers: `inputGradient` must have the input's
/// shape; `gammaGradient` and `betaGradient` are overwritten and reshaped to [C] if needed.
/// Their memory is reused when nothing else shares it (a steady-state step allocates nothing).
///
/// - Throws: as the allocating form, and `ShapeError` naming both shapes if `inputGradient`'s
///   shape differs from `input`'s.
public func batchNormBackward(
    _ outputGradient: Tensor, input: Tensor, gamma: Tensor, saved: BatchNormSavedStatistics,
    into inputGradient: inout Tensor, gammaGradient: inout Tensor, betaGradient: inout Tensor,
    pool: ThreadPool
) throws {
    try checkBackwardShapes(input, gamma: gamma, saved: saved)
    try backwardOnCheckedShapes(outputGradient, input: input, gamma: gamma, saved: saved,
                                into: &inputGradient, gammaGradient: &gammaGradient,
                                betaGradient: &betaGradient, pool: pool,
                                tiling: BatchNormTiling(shape: input.shape),
                                isa: KernelISA.current.cValue)
}

/// The backward pass with an explicit tiling and kernel variant.
package func batchNormBackward(
    _ outputGradient: Tensor, input: Tensor, gamma: Tensor, saved: BatchNormSavedStatistics,
    into inputGradient: inout Tensor, gammaGradient: inout Tensor, betaGradient: inout Tensor,
    pool: ThreadPool, tiling: BatchNormTiling, isa: weave_isa
) throws {
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    BatchNormValidation.checkTiling(tiling, fits: input)
    try checkBackwardShapes(input, gamma: gamma, saved: saved)
    try backwardOnCheckedShapes(outputGradient, input: input, gamma: gamma, saved: saved,
                                into: &inputGradient, gammaGradient: &gammaGradient,
                                betaGradient: &betaGradient, pool: pool, tiling: tiling, isa: isa)
}

private let backwardOperation = "batchNormBackward"

/// The input and per-channel checks of every backward entry point.
private func checkBackwardShapes(_ input: Tensor, gamma: Tensor,
                                 saved: BatchNormSavedStatistics) throws(ShapeError) {
    try BatchNormValidation.check(
        input, perChannel: ("gamma", gamma), ("saved.mean", saved.mean),
                            ("saved.inverseStandardDeviation", saved.inverseStandardDeviation),
        operation: backwardOperation)
}

/// The backward pass once `checkBackwardShapes` has passed and `tiling` is known to fit the
/// input: the entry points validate, then come here, so no call checks twice.
private func backwardOnCheckedShapes(
    _ outputGradient: Tensor, input: Tensor, gamma: Tensor, saved: BatchNormSavedStatistics,
    into inputGradient: inout Tensor, gammaGradient: inout Tensor, betaGradient: inout Tensor,
    pool: ThreadPool, tiling: BatchNormTiling, isa: weave_isa
) throws {
    let operation = backwardOperation
    try ShapeError.check(outputGradient.shape, equals: input.shape, operation: operation)
    try BatchNormValidation.checkOutput(inputGradient, input.shape, name: "inputGradient",
                                        operation: operation)
    let channels = tiling.channels, chunks = tiling.chunks
    let dx = try inputGradient.uniqueElements()
    let dGamma = try gammaGradient.prepareVectorOutput(count: channels)
    let dBeta = try betaGradient.prepareVectorOutput(count: channels)
    let x = input.unsafeElements, dy = outputGradient.unsafeElements, g = gamma.unsafeElements
    let mean = saved.mean.unsafeElements, inverse = saved.inverseStandardDeviation.unsafeElements
    let count = Double(tiling.valuesPerChannel)
    let streaming = tiling.streamsOutput
    let partials = chunks * channels
    let scratchBytes = 2 * partials * MemoryLayout<Double>.stride + 3 * channels * MemoryLayout<Float>.stride

    try withExtendedLifetime((input, outputGradient, gamma, saved)) {
        try pool.withScratch(byteCount: scratchBytes) { raw in
            // Per (chunk, channel): Σ dy and Σ dy·(x − μ); then per channel: dx's coefficients.
            let chunkSumDy = raw.bindMemory(to: Double.self, capacity: 2 * partials)
            let chunkSumDyCentered = chunkSumDy + partials
            let dyScale = UnsafeMutableRawPointer(chunkSumDyCentered + partials)
                .bindMemory(to: Float.self, capacity: 3 * channels)
            let centeredScale = dyScale + channels, shift = centeredScale + channels
            try pool.parallelFor(0..<tiling.tiles, grain: 1) { range in
                for t in range {
                    let (chunk, first, offset, block) = tiling.block(t)
                    try pool.withScratch(byteCount: 32 * block.channels * 8) { lanes in
                        let at = chunk * channels + first
                        BatchNormKernels.gradientSums(
                            x + offset, dy + offset, block, mean: mean + first,
                            lanes: lanes.bindMemory(to: Double.self, capacity: 32 * block.channels),
                            sumDy: chunkSumDy + at, sumDyCentered: chunkSumDyCentered + at, isa: isa)
                    }
                }
            }
            for c in 0..<channels {
                var sumDy = 0.0, sumDyCentered = 0.0
                for k in 0..<chunks {  // chunk order
                    sumDy += chunkSumDy[k * channels + c]
                    sumDyCentered += chunkSumDyCentered[k * channels + c]
                }
                let s = Double(inverse[c])
                let sumDyNormalized = sumDyCentered * s          // Σ dy·x̂
                dGamma[c] = Float(sumDyNormalized)
                dBeta[c] = Float(sumDy)
                let k = Double(g[c]) * s                          // γ·s
                dyScale[c] = Float(k)
                centeredScale[c] = count > 0 ? Float(-k * s * (sumDyNormalized / count)) : 0
                shift[c] = count > 0 ? Float(-k * (sumDy / count)) : 0
            }
            // Each thread's last tiles first: the blocks it read last in the first pass are
            // still in its cache.
            pool.parallelFor(0..<tiling.tiles, grain: 1, order: .descending) { range in
                for t in range.reversed() {
                    let (_, first, offset, block) = tiling.block(t)
                    BatchNormKernels.inputGradient(
                        x + offset, dy + offset, dx + offset, block, mean: mean + first,
                        dyScale: dyScale + first, centeredScale: centeredScale + first,
                        shift: shift + first, streaming: streaming, isa: isa)
                }
            }
        }
    }
}
