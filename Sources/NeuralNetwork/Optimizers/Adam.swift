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
    /// The moment estimates of one parameter under their checkpoint names. A class, so that a
    /// step updates the tensors where they are: nothing moves in or out of a dictionary, and the
    /// names are built once, so a step after the first allocates nothing (as in `SGD`).
    private final class Moments {
        let firstName: String
        let secondName: String
        var first: Tensor
        var second: Tensor

        init(firstName: String, first: Tensor, secondName: String, second: Tensor) {
            self.firstName = firstName
            self.first = first
            self.secondName = secondName
            self.second = second
        }
    }
    /// Moments in use, by parameter name: like a checkpoint, Adam knows parameters by name.
    private var moments: [String: Moments] = [:]
    /// Moments from a checkpoint, by checkpoint name, until a step claims them; names that no
    /// parameter claims are kept and saved again.
    private var restored: [String: Tensor] = [:]
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
            let state = try moments[name] ?? claimMoments(name: name, shape: parameter.value.shape)
            // Restored moments come from a checkpoint; the loop below writes `count` elements.
            // A misshapen one stays in the state, so every step reports it until it is replaced.
            guard state.first.shape == parameter.value.shape else {
                throw ModelStateError.shapeMismatch(name: state.firstName, expected: parameter.value.shape,
                                                    actual: state.first.shape)
            }
            guard state.second.shape == parameter.value.shape else {
                throw ModelStateError.shapeMismatch(name: state.secondName, expected: parameter.value.shape,
                                                    actual: state.second.shape)
            }
            let w = try parameter.value.uniqueElements(), grad = parameter.gradient.unsafeElements
            let m = try state.first.uniqueElements(), v = try state.second.uniqueElements()
            withExtendedLifetime((parameter, state)) {
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

    /// The moments of the parameter called `name`, the first time a step sees it: those restored
    /// under its checkpoint names, or zeros.
    private func claimMoments(name: String, shape: [Int]) throws -> Moments {
        let firstName = "optimizer.\(name).exp_avg", secondName = "optimizer.\(name).exp_avg_sq"
        let first = try restored.removeValue(forKey: firstName) ?? Tensor(zeros: shape)
        let second = try restored.removeValue(forKey: secondName) ?? Tensor(zeros: shape)
        let state = Moments(firstName: firstName, first: first, secondName: secondName, second: second)
        moments[name] = state
        return state
    }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        var result = moments.values.flatMap { [(name: $0.firstName, tensor: $0.first),
                                               (name: $0.secondName, tensor: $0.second)] }
        result += restored.map { (name: $0.key, tensor: $0.value) }
        result.sort { $0.name < $1.name }
        if let powersTensor = try? Tensor([powers.beta1, powers.beta2, powers.steps], shape: [3]) {
            result.append((name: "optimizer.adam_powers", tensor: powersTensor))
        }
        return result
    }

    public func restoreState(_ tensors: [String: Tensor]) throws {
        // The moments in use go back under their checkpoint names, so that the checkpoint's
        // replace them name by name and the others stay; the next step claims them again.
        for state in moments.values {
            restored[state.firstName] = state.first
            restored[state.secondName] = state.second
        }
        moments.removeAll()
        for (name, tensor) in tensors where name.hasPrefix("optimizer.")
            && (name.hasSuffix(".exp_avg") || name.hasSuffix(".exp_avg_sq")) {
            restored[name] = tensor
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
