import ParallelRuntime

/// The batch reduction of the parameter gradients, shared by every Conv2d algorithm: each
/// image's weight (and bias) gradient is computed whole by one tile, and the per-image values
/// are added in image order, `((p₀ + p₁) + p₂) + …`. No tile or thread boundary enters a sum,
/// so the result is the same bits for every thread count (DESIGN §4).
package enum Conv2dBatchReduction {
    /// Elements of the partials matrix summed per task (columns; each sums down all images).
    package static let columnsPerTile = 4096

    /// Sums `partials` [batch][count] over the batch in image order: columns below
    /// `weightCount` go to `weightGradient`, the rest to `biasGradient` (if non-nil). A batch of
    /// 0 gives zeros.
    package static func sumImages(_ partials: UnsafePointer<Float>, batch: Int, count: Int,
                                  weightCount: Int, weightGradient: UnsafeMutablePointer<Float>,
                                  biasGradient: UnsafeMutablePointer<Float>?, pool: ThreadPool) {
        pool.parallelFor(0..<count, grain: columnsPerTile) { columns in
            // The tile's weight columns, then its bias columns, each summed into its output.
            let weights = columns.clamped(to: 0..<weightCount)
            if !weights.isEmpty {
                sumRows(partials, batch: batch, count: count, columns: weights,
                        into: weightGradient + weights.lowerBound)
            }
            let biases = columns.clamped(to: weightCount..<count)
            if let biasGradient, !biases.isEmpty {
                sumRows(partials, batch: batch, count: count, columns: biases,
                        into: biasGradient + (biases.lowerBound - weightCount))
            }
        }
    }

    /// `target[k] = ((p₀ + p₁) + p₂) + …` of column `columns.lowerBound + k` of `partials`,
    /// taken a whole image row at a time: walking down each column, as this did before session
    /// 24, read one float per 4 KiB page of a large layer's partials (`perf`: ~9 % of a lenet
    /// step); row by row, each column still takes its terms in image order.
    @inline(__always)
    private static func sumRows(_ partials: UnsafePointer<Float>, batch: Int, count: Int,
                                columns: Range<Int>, into target: UnsafeMutablePointer<Float>) {
        let width = columns.count
        guard batch > 0 else {
            target.update(repeating: 0, count: width)
            return
        }
        target.update(from: partials + columns.lowerBound, count: width)
        for n in 1..<batch {
            let row = partials + n * count + columns.lowerBound
            for k in 0..<width { target[k] = target[k] + row[k] }
        }
    }
}
