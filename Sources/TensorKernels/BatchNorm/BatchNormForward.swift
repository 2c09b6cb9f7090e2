import CKernels
import ParallelRuntime

/// Batch normalisation in training mode, forward (BatchNorm1d on [N, C] or [N, C, L],
/// BatchNorm2d on [N, C, H, W]; PyTorch's conventions).
///
/// For each channel c, over its n = N·H·W values: the batch mean μ and the biased variance
/// σ² = Σ(x − μ)²/n by two passes with `Double` accumulators; then
/// `y = (x − μ)·(γ[c]·s) + β[c]` in `Float`, with s = 1/√(σ² + ε) and μ, s rounded to `Float`.
/// The running statistics are updated in place: `running = (1 − momentum)·running +
/// momentum·batch`, with the unbiased variance σ²·n/(n − 1) for `runningVariance`.
///
/// Layout: row-major NCHW. The result is bit-identical for every thread count and kernel ISA
/// variant: the work is cut by the shape only (`BatchNormTiling`) and every sum has a fixed
/// order. Accurate when the data's mean is 10⁴ times its standard deviation.
///
/// - Returns: the output (the input's shape) and the statistics `batchNormBackward` needs.
/// - Throws: `ShapeError` naming both shapes if the input has rank < 2 or has at most one
///   value per channel, or if `gamma`, `beta`, `runningMean` or `runningVariance` is not [C];
///   `AllocationError`.
/// - Precondition: `0 ≤ momentum ≤ 1`, `epsilon > 0`.
public func batchNormForwardTraining(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: inout Tensor,
    runningVariance: inout Tensor, momentum: Float = 0.1, epsilon: Float = 1e-5,
    pool: ThreadPool
) throws -> (output: Tensor, saved: BatchNormSavedStatistics) {
    var output = try Tensor(uninitializedShape: input.shape) { _ in }
    var saved = BatchNormSavedStatistics()
    try batchNormForwardTraining(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                 runningVariance: &runningVariance, momentum: momentum,
                                 epsilon: epsilon, into: &output, saved: &saved, pool: pool)
    return (output, saved)
}

/// Batch normalisation in training mode, forward, into existing buffers: as
/// `batchNormForwardTraining(_:gamma:beta:runningMean:runningVariance:momentum:epsilon:pool:)`,
/// but writes `output` (which must have the input's shape) and `saved` in place, reusing their
/// memory when nothing else shares it, so a steady-state training step allocates nothing.
/// `output` must not be `input` itself (Swift's exclusivity rules forbid it); a copy of `input`
/// is copied on write.
///
/// - Throws: as the allocating form, and `ShapeError` naming both shapes if `output`'s shape
///   differs from `input`'s.
public func batchNormForwardTraining(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: inout Tensor,
    runningVariance: inout Tensor, momentum: Float = 0.1, epsilon: Float = 1e-5,
    into output: inout Tensor, saved: inout BatchNormSavedStatistics, pool: ThreadPool
) throws {
    try BatchNormValidation.check(
        input, perChannel: ("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                            ("runningVariance", runningVariance), operation: forwardTrainingOperation)
    try forwardTrainingOnCheckedShapes(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                       runningVariance: &runningVariance, momentum: momentum,
                                       epsilon: epsilon, into: &output, saved: &saved, pool: pool,
                                       tiling: BatchNormTiling(shape: input.shape),
                                       isa: KernelISA.current.cValue)
}

/// The training forward pass with an explicit tiling and kernel variant (tests check that the
/// variant and the thread count change no bit, whatever the tiling).
package func batchNormForwardTraining(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: inout Tensor,
    runningVariance: inout Tensor, momentum: Float, epsilon: Float,
    into output: inout Tensor, saved: inout BatchNormSavedStatistics, pool: ThreadPool,
    tiling: BatchNormTiling, isa: weave_isa
) throws {
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    BatchNormValidation.checkTiling(tiling, fits: input)
    try BatchNormValidation.check(
        input, perChannel: ("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                            ("runningVariance", runningVariance), operation: forwardTrainingOperation)
    try forwardTrainingOnCheckedShapes(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                       runningVariance: &runningVariance, momentum: momentum,
                                       epsilon: epsilon, into: &output, saved: &saved, pool: pool,
                                       tiling: tiling, isa: isa)
}

private let forwardTrainingOperation = "batchNormForwardTraining"

/// The training forward pass once `BatchNormValidation.check` has passed and `tiling` is known
/// to fit the input: the entry points validate, then come here, so no call checks twice.
private func forwardTrainingOnCheckedShapes(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: inout Tensor,
    runningVariance: inout Tensor, momentum: Float, epsilon: Float,
    into output: inout Tensor, saved: inout BatchNormSavedStatistics, pool: ThreadPool,
    tiling: BatchNormTiling, isa: weave_isa
) throws {
    let operation = forwardTrainingOperation
    precondition(momentum >= 0 && momentum <= 1, "batch-norm momentum must be in [0, 1], got \(momentum)")
    precondition(epsilon > 0, "batch-norm epsilon must be > 0, got \(epsilon)")
    let n = tiling.valuesPerChannel
    guard n > 1 else {
        throw ShapeError(operation: operation, expected: [2, input.shape[1]], actual: input.shape,
                         detail: "training needs more than one value per channel, got \(n)")
    }
    try BatchNormValidation.checkOutput(output, input.shape, name: "output", operation: operation)
    let channels = tiling.channels, chunks = tiling.chunks
    let y = try output.uniqueElements()
    let meanOut = try saved.mean.prepareVectorOutput(count: channels)
    let inverseOut = try saved.inverseStandardDeviation.prepareVectorOutput(count: channels)
    let runMean = try runningMean.uniqueElements()
    let runVariance = try runningVariance.uniqueElements()
    let x = input.unsafeElements, g = gamma.unsafeElements, b = beta.unsafeElements
    let m = Double(momentum), e = Double(epsilon)
    let streaming = tiling.streamsOutput
    let partials = chunks * channels
    let scratchBytes = 2 * partials * MemoryLayout<Double>.stride + channels * MemoryLayout<Float>.stride

    try withExtendedLifetime((input, gamma, beta)) {
        try pool.withScratch(byteCount: scratchBytes) { raw in
            // Per (chunk, channel): the chunk's mean and Σ(x − mean)²; then per channel: γ·s.
            let chunkMean = raw.bindMemory(to: Double.self, capacity: 2 * partials)
            let chunkM2 = chunkMean + partials
            let scale = UnsafeMutableRawPointer(chunkM2 + partials)
                .bindMemory(to: Float.self, capacity: channels)
            try pool.parallelFor(0..<tiling.tiles, grain: 1) { range in
                for t in range {
                    let (chunk, first, offset, block) = tiling.block(t)
                    try pool.withScratch(byteCount: 16 * block.channels * 8) { lanes in
                        let at = chunk * channels + first
                        BatchNormKernels.moments(
                            x + offset, block, lanes: lanes.bindMemory(to: Double.self, capacity: 16 * block.channels),
                            mean: chunkMean + at, m2: chunkM2 + at, isa: isa)
                    }
                }
            }
            let count = Double(n)
            for c in 0..<channels {
                let (mean, m2) = BatchNormCombine.moments(chunkMean + c, chunkM2 + c, stride: channels,
                                                          tiling: tiling)
                let inverse = Float(1 / (m2 / count + e).squareRoot())
                meanOut[c] = Float(mean)
                inverseOut[c] = inverse
                scale[c] = g[c] * inverse
                runMean[c] = Float((1 - m) * Double(runMean[c]) + m * mean)
                runVariance[c] = Float((1 - m) * Double(runVariance[c]) + m * (m2 / (count - 1)))
            }
            // Each thread's last tiles first: the blocks it read last in the first pass are
            // still in its cache.
            pool.parallelFor(0..<tiling.tiles, grain: 1, order: .descending) { range in
                for t in range.reversed() {
                    let (_, first, offset, block) = tiling.block(t)
                    BatchNormKernels.normalize(x + offset, y + offset, block, mean: meanOut + first,
                                               scale: scale + first, shift: b + first,
                                               streaming: streaming, isa: isa)
                }
            }
        }
    }
}

/// Batch normalisation in evaluation mode: `y = (x − runningMean[c])·(γ[c]·s) + β[c]` with
/// s = 1/√(runningVariance[c] + ε) (computed in `Double`, rounded to `Float`), element-wise in
/// `Float`. Layout, shapes and determinism as for `batchNormForwardTraining`; nothing is
/// updated.
///
/// - Throws: `ShapeError` naming both shapes if the input has rank < 2 or a per-channel tensor
///   is not [C]; `AllocationError`.
/// - Precondition: `epsilon > 0`.
public func batchNormForwardInference(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
    epsilon: Float = 1e-5, pool: ThreadPool
) throws -> Tensor {
    var output = try Tensor(uninitializedShape: input.shape) { _ in }
    try batchNormForwardInference(input, gamma: gamma, beta: beta, runningMean: runningMean,
                                  runningVariance: runningVariance, epsilon: epsilon,
                                  into: &output, pool: pool)
    return output
}

/// Batch normalisation in evaluation mode into an existing tensor of the input's shape
/// (reused when not shared).
///
/// - Throws: as the allocating form, and `ShapeError` naming both shapes if `output`'s shape
///   differs from `input`'s.
public func batchNormForwardInference(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
    epsilon: Float = 1e-5, into output: inout Tensor, pool: ThreadPool
) throws {
    try batchNormForwardInference(input, gamma: gamma, beta: beta, runningMean: runningMean,
                                  runningVariance: runningVariance, epsilon: epsilon,
                                  into: &output, pool: pool, isa: KernelISA.current.cValue)
}

/// The evaluation forward pass with an explicit kernel variant.
package func batchNormForwardInference(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVariance: Tensor,
    epsilon: Float, into output: inout Tensor, pool: ThreadPool, isa: weave_isa
) throws {
    let operation = "batchNormForwardInference"
    precondition(epsilon > 0, "batch-norm epsilon must be > 0, got \(epsilon)")
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    try BatchNormValidation.check(
        input, perChannel: ("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                            ("runningVariance", runningVariance), operation: operation)
    let tiling = BatchNormTiling(shape: input.shape)
    try BatchNormValidation.checkOutput(output, input.shape, name: "output", operation: operation)
    let y = try output.uniqueElements()
    let x = input.unsafeElements, g = gamma.unsafeElements, b = beta.unsafeElements
    let mean = runningMean.unsafeElements, variance = runningVariance.unsafeElements
    let channels = tiling.channels
    let streaming = tiling.streamsOutput
    try withExtendedLifetime((input, gamma, beta, runningMean, runningVariance)) {
        try pool.withScratch(byteCount: channels * MemoryLayout<Float>.stride) { raw in
            let scale = raw.bindMemory(to: Float.self, capacity: channels)
            for c in 0..<channels {
                scale[c] = g[c] * Float(1 / (Double(variance[c]) + Double(epsilon)).squareRoot())
            }
            pool.parallelFor(0..<tiling.tiles, grain: 1) { range in
                for t in range {
                    let (_, first, offset, block) = tiling.block(t)
                    BatchNormKernels.normalize(x + offset, y + offset, block, mean: mean + first,
                                               scale: scale + first, shift: b + first,
                                               streaming: streaming, isa: isa)
                }
            }
        }
    }
}

/// Combination of per-chunk partial results, always in chunk order.
enum BatchNormCombine {
    /// Combines the chunk moments of one channel — means at `mean[k · stride]` and
    /// Σ(x − mean)² at `m2[k · stride]` for chunk k — in chunk order with the pairwise update of
    /// Chan, Golub and LeVeque: n = nₐ + n_b, δ = μ_b − μₐ, μ = μₐ + δ·n_b/n,
    /// M₂ = M₂ₐ + M₂_b + δ²·nₐ·n_b/n.
    static func moments(_ mean: UnsafePointer<Double>, _ m2: UnsafePointer<Double>, stride: Int,
                        tiling: BatchNormTiling) -> (mean: Double, m2: Double) {
        var count = 0.0, combinedMean = 0.0, combinedM2 = 0.0
        for k in 0..<tiling.chunks {
            let chunkCount = Double(tiling.values(inChunk: k))
            if chunkCount == 0 { continue }
            let total = count + chunkCount
            let delta = mean[k * stride] - combinedMean
            combinedMean = combinedMean + delta * (chunkCount / total)
            combinedM2 = combinedM2 + m2[k * stride] + delta * delta * (count * chunkCount / total)
            count = total
        }
        return (combinedMean, combinedM2)
    }
}
