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
            for j in columns {
                var total: Float = 0
                if batch > 0 {
                    total = partials[j]
                    for n in 1..<batch { total = total + partials[n * count + j] }
                }
                if j < weightCount {
                    weightGradient[j] = total
                } else {
                    biasGradient?[j - weightCount] = total
                }
            }
        }
    }
}
