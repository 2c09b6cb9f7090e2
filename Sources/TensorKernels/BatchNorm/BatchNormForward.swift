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
    let tiling = try BatchNormValidation.check(
        input, perChannel: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                            ("runningVariance", runningVariance)],
        operation: "batchNormForwardTraining")
    try batchNormForwardTraining(input, gamma: gamma, beta: beta, runningMean: &runningMean,
                                 runningVariance: &runningVariance, momentum: momentum,
                                 epsilon: epsilon, into: &output, saved: &saved, pool: pool,
                                 tiling: tiling, isa: KernelISA.current.cValue)
}

/// The training forward pass with an explicit tiling and kernel variant (tests check that the
/// variant changes no bit, and exercise both the fused and the chunked paths).
package func batchNormForwardTraining(
    _ input: Tensor, gamma: Tensor, beta: Tensor, runningMean: inout Tensor,
    runningVariance: inout Tensor, momentum: Float, epsilon: Float,
    into output: inout Tensor, saved: inout BatchNormSavedStatistics, pool: ThreadPool,
    tiling: BatchNormTiling, isa: weave_isa
) throws {
    let operation = "batchNormForwardTraining"
    precondition(momentum >= 0 && momentum <= 1, "batch-norm momentum must be in [0, 1], got \(momentum)")
    precondition(epsilon > 0, "batch-norm epsilon must be > 0, got \(epsilon)")
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    _ = try BatchNormValidation.check(
        input, perChannel: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                            ("runningVariance", runningVariance)], operation: operation)
    let n = tiling.valuesPerChannel
    guard n > 1 else {
        throw ShapeError(operation: operation, expected: [2, input.shape[1]], actual: input.shape,
                         detail: "training needs more than one value per channel, got \(n)")
    }
    try BatchNormValidation.checkOutput(output, input.shape, name: "output", operation: operation)
    let channels = tiling.channels
    let y = try output.uniqueElements()
    let meanOut = try saved.mean.prepareOutput(shape: [channels])
    let inverseOut = try saved.inverseStandardDeviation.prepareOutput(shape: [channels])
    let runMean = try runningMean.uniqueElements()
    let runVariance = try runningVariance.uniqueElements()
    let x = input.unsafeElements, g = gamma.unsafeElements, b = beta.unsafeElements
    let m = Double(momentum), e = Double(epsilon)
    let streaming = tiling.streamsOutput

    /// Records channel c's statistics from its mean and Σ(x − mean)²; returns the Float mean
    /// and scale γ·s used to normalise.
    func finish(_ c: Int, mean: Double, m2: Double) -> (mean: Float, scale: Float) {
        let count = Double(n)
        let inverse = Float(1 / (m2 / count + e).squareRoot())
        let meanF = Float(mean)
        meanOut[c] = meanF
        inverseOut[c] = inverse
        runMean[c] = Float((1 - m) * Double(runMean[c]) + m * mean)
        runVariance[c] = Float((1 - m) * Double(runVariance[c]) + m * (m2 / (count - 1)))
        return (meanF, g[c] * inverse)
    }

    try withExtendedLifetime((input, gamma, beta)) {
        if tiling.isFused {
            pool.parallelFor(0..<channels, grain: tiling.channelsPerTile) { tile in
                for c in tile {
                    let (offset, slice) = tiling.slice(channel: c, chunk: 0)
                    let moments = BatchNormKernels.moments(x + offset, slice, isa: isa)
                    let (mean, scale) = finish(c, mean: moments.mean, m2: moments.m2)
                    BatchNormKernels.normalize(x + offset, y + offset, slice, mean: mean,
                                               scale: scale, shift: b[c], streaming: streaming,
                                               isa: isa)
                }
            }
            return
        }
        let chunks = tiling.chunksPerChannel
        let tiles = channels * chunks
        try pool.withScratch(byteCount: 2 * tiles * MemoryLayout<Double>.stride) { raw in
            let partial = raw.bindMemory(to: Double.self, capacity: 2 * tiles)
            pool.parallelFor(0..<tiles, grain: 1) { range in
                for t in range {
                    let (offset, slice) = tiling.slice(channel: t / chunks, chunk: t % chunks)
                    let moments = BatchNormKernels.moments(x + offset, slice, isa: isa)
                    partial[2 * t] = moments.mean
                    partial[2 * t + 1] = moments.m2
                }
            }
            for c in 0..<channels {
                let (mean, m2) = BatchNormCombine.moments(partial + 2 * c * chunks, tiling: tiling)
                _ = finish(c, mean: mean, m2: m2)
            }
            pool.parallelFor(0..<tiles, grain: 1) { range in
                for t in range {
                    let c = t / chunks
                    let (offset, slice) = tiling.slice(channel: c, chunk: t % chunks)
                    BatchNormKernels.normalize(x + offset, y + offset, slice, mean: meanOut[c],
                                               scale: g[c] * inverseOut[c], shift: b[c],
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
    let tiling = try BatchNormValidation.check(
        input, perChannel: [("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
                            ("runningVariance", runningVariance)], operation: operation)
    try BatchNormValidation.checkOutput(output, input.shape, name: "output", operation: operation)
    let y = try output.uniqueElements()
    let x = input.unsafeElements, g = gamma.unsafeElements, b = beta.unsafeElements
    let mean = runningMean.unsafeElements, variance = runningVariance.unsafeElements
    let chunks = tiling.chunksPerChannel
    let streaming = tiling.streamsOutput
    withExtendedLifetime((input, gamma, beta, runningMean, runningVariance)) {
        pool.parallelFor(0..<tiling.channels * chunks,
                         grain: tiling.isFused ? tiling.channelsPerTile : 1) { range in
            for t in range {
                let c = t / chunks
                let (offset, slice) = tiling.slice(channel: c, chunk: t % chunks)
                let inverse = Float(1 / (Double(variance[c]) + Double(epsilon)).squareRoot())
                BatchNormKernels.normalize(x + offset, y + offset, slice, mean: mean[c],
                                           scale: g[c] * inverse, shift: b[c],
                                           streaming: streaming, isa: isa)
            }
        }
    }
}

/// Combination of per-chunk partial results, always in chunk order.
enum BatchNormCombine {
    /// Combines chunk moments (mean, Σ(x − mean)²) of one channel, stored as pairs at
    /// `partial[2k]`, `partial[2k + 1]`, in chunk order with the pairwise update of Chan,
    /// Golub and LeVeque: n = nₐ + n_b, δ = μ_b − μₐ, μ = μₐ + δ·n_b/n,
    /// M₂ = M₂ₐ + M₂_b + δ²·nₐ·n_b/n.
    static func moments(_ partial: UnsafePointer<Double>,
                        tiling: BatchNormTiling) -> (mean: Double, m2: Double) {
        var count = 0.0, mean = 0.0, m2 = 0.0
        for k in 0..<tiling.chunksPerChannel {
            let images = min(tiling.imagesPerChunk, tiling.images - k * tiling.imagesPerChunk)
            let chunkCount = Double(images * tiling.planeSize)
            if chunkCount == 0 { continue }
            let total = count + chunkCount
            let delta = partial[2 * k] - mean
            mean = mean + delta * (chunkCount / total)
            m2 = m2 + partial[2 * k + 1] + delta * delta * (count * chunkCount / total)
            count = total
        }
        return (mean, m2)
    }
}
