import ParallelRuntime
import TensorKernels

/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay, as
/// PyTorch's `torch.optim.SGD` (dampening 0):
///
///     g ← ∇ + λ·w          (λ = weightDecay; weights only — never biases or BatchNorm γ/β)
///     v ← g (first step),  v ← μ·v + g (later steps)
///     d ← g + μ·v (Nesterov) or v (classic), or g when μ = 0
///     w ← w − η·d
///
/// Default: no weight decay. Unlike PyTorch's default, decay — when asked for — skips biases
/// and normalisation parameters (`Parameter.decays`), the usual recipe for CNNs.
public final class SGD: Optimizer {
    /// η.
    public var learningRate: Float
    /// μ.
    public let momentum: Float
    /// λ, applied to weights only.
    public let weightDecay: Float
    /// Whether to use Nesterov momentum.
    public let nesterov: Bool
    private var velocity: [String: Tensor] = [:]

    /// An optimiser with learning rate η, momentum μ, weight decay λ.
    /// - Precondition: η > 0, 0 ≤ μ < 1, λ ≥ 0, all finite; Nesterov needs μ > 0.
    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0,
                nesterov: Bool = false) {
        precondition(learningRate > 0 && learningRate.isFinite, "SGD learning rate must be positive, got \(learningRate)")
        precondition(momentum >= 0 && momentum < 1, "SGD momentum must be in [0, 1), got \(momentum)")
        precondition(weightDecay >= 0 && weightDecay.isFinite, "SGD weight decay must be ≥ 0, got \(weightDecay)")
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public var description: String {
        "SGD(lr: \(learningRate), momentum: \(momentum), weight decay: \(weightDecay)\(nesterov ? ", Nesterov" : ""))"
    }

    public func step(_ parameters: [(name: String, parameter: Parameter)], pool: ThreadPool) throws {
        let (eta, mu, nesterov) = (learningRate, momentum, self.nesterov)
        for (name, parameter) in parameters {
            let lambda = parameter.decays ? weightDecay : 0
            let count = parameter.value.count
            let key = "optimizer.\(name).momentum_buffer"
            let first = velocity[key] == nil
            if mu > 0 && first {
                velocity[key] = try Tensor(uninitializedShape: parameter.value.shape) { _ in }
            }
            try parameter.value.makeUnique()
            try velocity[key]?.makeUnique()
            parameter.gradient.withUnsafeBufferPointer { gradient in
                parameter.value.withUnsafeMutableBufferPointer { weight in
                    guard let grad = gradient.baseAddress, let w = weight.baseAddress else { return }
                    if mu == 0 {
                        pool.parallelFor(0..<count, grain: optimizerTileElements) { tile in
                            for i in tile {
                                let g = grad[i] + lambda * w[i]
                                w[i] = w[i] - eta * g
                            }
                        }
                        return
                    }
                    velocity[key]!.withUnsafeMutableBufferPointer { buffer in
                        guard let v = buffer.baseAddress else { return }
                        pool.parallelFor(0..<count, grain: optimizerTileElements) { tile in
                            for i in tile {
                                let g = grad[i] + lambda * w[i]
                                let velocity = first ? g : mu * v[i] + g
                                v[i] = velocity
                                let d = nesterov ? g + mu * velocity : velocity
                                w[i] = w[i] - eta * d
                            }
                        }
                    }
                }
            }
        }
    }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        velocity.keys.sorted().map { (name: $0, tensor: velocity[$0]!) }
    }

    public func restoreState(_ tensors: [String: Tensor]) throws {
        for (name, tensor) in tensors where name.hasPrefix("optimizer.") && name.hasSuffix(".momentum_buffer") {
            velocity[name] = tensor
        }
    }
}
