import ParallelRuntime
import TensorKernels

/// Adam (Kingma & Ba), as PyTorch's `torch.optim.Adam` with L2 weight decay added to the
/// gradient (weights only):
///
///     g ← ∇ + λ·w,  m ← β₁·m + (1−β₁)·g,  v ← β₂·v + (1−β₂)·g²
///     w ← w − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
///
/// β₁ᵗ and β₂ᵗ are kept as running products (not `pow`), and √ is IEEE-exact, so the
/// update is the same bits on every machine.
public final class Adam: Optimizer {
    /// η.
    public var learningRate: Float
    /// β₁, β₂.
    public let beta1: Float, beta2: Float
    /// ε.
    public let epsilon: Float
    /// λ, applied to weights only.
    public let weightDecay: Float
    private var buffers: [String: Tensor] = [:]
    /// β₁ᵗ, β₂ᵗ and t, stored as a tensor in checkpoints.
    private var powers: (beta1: Float, beta2: Float, steps: Float) = (1, 1, 0)

    /// An Adam optimiser.
    /// - Precondition: η > 0, β's in [0, 1), ε > 0, λ ≥ 0.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        precondition(learningRate > 0 && learningRate.isFinite, "Adam learning rate must be positive, got \(learningRate)")
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must be in [0, 1), got \(beta1), \(beta2)")
        precondition(epsilon > 0, "Adam epsilon must be positive, got \(epsilon)")
        precondition(weightDecay >= 0 && weightDecay.isFinite, "Adam weight decay must be ≥ 0, got \(weightDecay)")
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public var description: String {
        "Adam(lr: \(learningRate), betas: (\(beta1), \(beta2)), eps: \(epsilon), weight decay: \(weightDecay))"
    }

    public func step(_ parameters: [(name: String, parameter: Parameter)], pool: ThreadPool) throws {
        powers = (powers.beta1 * beta1, powers.beta2 * beta2, powers.steps + 1)
        let (eta, b1, b2, eps) = (learningRate, beta1, beta2, epsilon)
        let (correction1, correction2) = (1 - powers.beta1, 1 - powers.beta2)
        for (name, parameter) in parameters {
            let lambda = parameter.decays ? weightDecay : 0
            let count = parameter.value.count
            let (mKey, vKey) = ("optimizer.\(name).exp_avg", "optimizer.\(name).exp_avg_sq")
            // Taken out of the dictionary while written, so they are uniquely referenced.
            var first = try buffers.removeValue(forKey: mKey) ?? Tensor(zeros: parameter.value.shape)
            var second = try buffers.removeValue(forKey: vKey) ?? Tensor(zeros: parameter.value.shape)
            defer { buffers[mKey] = first; buffers[vKey] = second }
            // Restored moments come from a checkpoint; the loop below writes `count` elements.
            guard first.shape == parameter.value.shape else {
                throw ModelStateError.shapeMismatch(name: mKey, expected: parameter.value.shape, actual: first.shape)
            }
            guard second.shape == parameter.value.shape else {
                throw ModelStateError.shapeMismatch(name: vKey, expected: parameter.value.shape, actual: second.shape)
            }
            let w = try parameter.value.uniqueElements(), grad = parameter.gradient.unsafeElements
            let m = try first.uniqueElements(), v = try second.uniqueElements()
            withExtendedLifetime((parameter, first, second)) {
                pool.parallelFor(0..<count, grain: optimizerTileElements) { tile in
                    for i in tile {
                        let g = grad[i] + lambda * w[i]
                        m[i] = b1 * m[i] + (1 - b1) * g
                        v[i] = b2 * v[i] + (1 - b2) * (g * g)
                        let denominator = (v[i] / correction2).squareRoot() + eps
                        w[i] = w[i] - eta * ((m[i] / correction1) / denominator)
                    }
                }
            }
        }
    }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        var result = buffers.keys.sorted().map { (name: $0, tensor: buffers[$0]!) }
        if let powersTensor = try? Tensor([powers.beta1, powers.beta2, powers.steps], shape: [3]) {
            result.append((name: "optimizer.adam_powers", tensor: powersTensor))
        }
        return result
    }

    public func restoreState(_ tensors: [String: Tensor]) throws {
        for (name, tensor) in tensors where name.hasPrefix("optimizer.")
            && (name.hasSuffix(".exp_avg") || name.hasSuffix(".exp_avg_sq")) {
            buffers[name] = tensor
        }
        if let saved = tensors["optimizer.adam_powers"] {
            guard saved.shape == [3] else {
                throw ModelStateError.shapeMismatch(name: "optimizer.adam_powers", expected: [3], actual: saved.shape)
            }
            let values = saved.scalars
            powers = (values[0], values[1], values[2])
        }
    }
}
