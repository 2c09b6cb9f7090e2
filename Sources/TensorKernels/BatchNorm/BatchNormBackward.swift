import CKernels
import ParallelRuntime

/// Batch normalisation in training mode, backward, fused per channel.
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
    let tiling = try BatchNormValidation.check(input, perChannel: [("gamma", gamma)],
                                               operation: "batchNormBackward")
    try batchNormBackward(outputGradient, input: input, gamma: gamma, saved: saved,
                          into: &inputGradient, gammaGradient: &gammaGradient,
                          betaGradient: &betaGradient, pool: pool, tiling: tiling,
                          isa: KernelISA.current.cValue)
}

/// The backward pass with an explicit tiling and kernel variant.
package func batchNormBackward(
    _ outputGradient: Tensor, input: Tensor, gamma: Tensor, saved: BatchNormSavedStatistics,
    into inputGradient: inout Tensor, gammaGradient: inout Tensor, betaGradient: inout Tensor,
    pool: ThreadPool, tiling: BatchNormTiling, isa: weave_isa
) throws {
    let operation = "batchNormBackward"
    precondition(weave_cpu_supports(isa) != 0, "this CPU cannot run the requested kernel variant")
    _ = try BatchNormValidation.check(
        input, perChannel: [("gamma", gamma), ("saved.mean", saved.mean),
                            ("saved.inverseStandardDeviation", saved.inverseStandardDeviation)],
        operation: operation)
    try ShapeError.check(outputGradient.shape, equals: input.shape, operation: operation)
    try BatchNormValidation.checkOutput(inputGradient, input.shape, name: "inputGradient",
                                        operation: operation)
    let channels = tiling.channels
    let dx = try inputGradient.uniqueElements()
    let dGamma = try gammaGradient.prepareOutput(shape: [channels])
    let dBeta = try betaGradient.prepareOutput(shape: [channels])
    let x = input.unsafeElements, dy = outputGradient.unsafeElements, g = gamma.unsafeElements
    let mean = saved.mean.unsafeElements, inverse = saved.inverseStandardDeviation.unsafeElements
    let count = Double(tiling.valuesPerChannel)
    let streaming = tiling.streamsOutput

    /// Writes dγ, dβ of channel c from its sums; returns dx's coefficients.
    func finish(_ c: Int, sumDy: Double, sumDyCentered: Double)
        -> (dyScale: Float, centeredScale: Float, shift: Float) {
        let s = Double(inverse[c])
        let sumDyNormalized = sumDyCentered * s          // Σ dy·x̂
        dGamma[c] = Float(sumDyNormalized)
        dBeta[c] = Float(sumDy)
        guard count > 0 else { return (0, 0, 0) }
        let k = Double(g[c]) * s                          // γ·s
        return (Float(k), Float(-k * s * (sumDyNormalized / count)), Float(-k * (sumDy / count)))
    }

    withExtendedLifetime((input, outputGradient, gamma, saved)) {
        if tiling.isFused {
            pool.parallelFor(0..<channels, grain: tiling.channelsPerTile) { tile in
                for c in tile {
                    let (offset, slice) = tiling.slice(channel: c, chunk: 0)
                    let sums = BatchNormKernels.gradientSums(x + offset, dy + offset, slice,
                                                             mean: mean[c], isa: isa)
                    let f = finish(c, sumDy: sums.sumDy, sumDyCentered: sums.sumDyCentered)
                    BatchNormKernels.inputGradient(
                        x + offset, dy + offset, dx + offset, slice, mean: mean[c],
                        dyScale: f.dyScale, centeredScale: f.centeredScale, shift: f.shift,
                        streaming: streaming, isa: isa)
                }
            }
            return
        }
        let chunks = tiling.chunksPerChannel
        let tiles = channels * chunks
        // Per tile: Σ dy, Σ dy·(x − μ); then per channel: dx's three coefficients.
        let doubles = 2 * tiles + 3 * channels
        do {
            try pool.withScratch(byteCount: doubles * MemoryLayout<Double>.stride) { raw in
                let partial = raw.bindMemory(to: Double.self, capacity: doubles)
                let coefficients = UnsafeMutableRawPointer(partial + 2 * tiles)
                    .bindMemory(to: Float.self, capacity: 3 * channels)
                pool.parallelFor(0..<tiles, grain: 1) { range in
                    for t in range {
                        let c = t / chunks
                        let (offset, slice) = tiling.slice(channel: c, chunk: t % chunks)
                        let sums = BatchNormKernels.gradientSums(x + offset, dy + offset, slice,
                                                                 mean: mean[c], isa: isa)
                        partial[2 * t] = sums.sumDy
                        partial[2 * t + 1] = sums.sumDyCentered
                    }
                }
                for c in 0..<channels {
                    var sumDy = 0.0, sumDyCentered = 0.0
                    for k in 0..<chunks {  // chunk order
                        sumDy += partial[2 * (c * chunks + k)]
                        sumDyCentered += partial[2 * (c * chunks + k) + 1]
                    }
                    let f = finish(c, sumDy: sumDy, sumDyCentered: sumDyCentered)
                    coefficients[3 * c] = f.dyScale
                    coefficients[3 * c + 1] = f.centeredScale
                    coefficients[3 * c + 2] = f.shift
                }
                pool.parallelFor(0..<tiles, grain: 1) { range in
                    for t in range {
                        let c = t / chunks
                        let (offset, slice) = tiling.slice(channel: c, chunk: t % chunks)
                        BatchNormKernels.inputGradient(
                            x + offset, dy + offset, dx + offset, slice, mean: mean[c],
                            dyScale: coefficients[3 * c], centeredScale: coefficients[3 * c + 1],
                            shift: coefficients[3 * c + 2], streaming: streaming, isa: isa)
                    }
                }
            }
        } catch {
            preconditionFailure("batch-norm backward could not get \(doubles * 8) bytes of scratch: \(error)")
        }
    }
}
