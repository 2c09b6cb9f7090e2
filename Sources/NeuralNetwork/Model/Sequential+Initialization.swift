import ParallelRuntime
import TensorKernels

extension Sequential {
    /// Draws every weight from its seed-derived stream (DESIGN §4, §7): He normal
    /// (σ² = 2 / fan_in) for a layer whose next non-normalisation layer is a `ReLU`, Xavier
    /// normal (σ² = 2 / (fan_in + fan_out)) otherwise; biases and BatchNorm shifts zero,
    /// BatchNorm scales one.
    ///
    /// Parameter p (its position in `parameters`) uses the stream
    /// `RandomStream(seed: seed, purpose: .weightInitialization(parameter: p))` at step 0, so
    /// the values do not depend on the thread count, and adding a layer at the end never
    /// changes the others.
    public func initializeParameters(seed: UInt64, pool: ThreadPool? = nil) throws {
        var parameterIndex = 0
        for (index, layer) in layers.enumerated() {
            let relu = isFollowedByReLU(index)
            for parameter in layer.parameters {
                defer { parameterIndex += 1 }
                let shape = parameter.value.shape
                switch parameter.role {
                case .weight:
                    let variance = relu
                        ? 2 / Double(max(parameter.fanIn, 1))
                        : 2 / Double(max(parameter.fanIn + parameter.fanOut, 1))
                    let stream = RandomStream(seed: seed,
                                              purpose: .weightInitialization(parameter: parameterIndex))
                    parameter.value = try Tensor(normalShape: shape,
                                                 standardDeviation: Float(variance.squareRoot()),
                                                 stream: stream, pool: pool)
                case .bias, .normalizationShift:
                    parameter.value = try Tensor(zeros: shape)
                case .normalizationScale:
                    parameter.value = try Tensor(repeating: 1, shape: shape)
                }
                parameter.gradient = try Tensor(zeros: shape)
            }
        }
    }

    /// Whether the first layer after `index` that is not a normalisation or dropout layer is
    /// a ReLU (Conv → BatchNorm → ReLU counts as followed by ReLU).
    func isFollowedByReLU(_ index: Int) -> Bool {
        for next in layers.dropFirst(index + 1) {
            if next is ReLU { return true }
            if next is any NormalizationLayer || next is Dropout { continue }
            return false
        }
        return false
    }
}
