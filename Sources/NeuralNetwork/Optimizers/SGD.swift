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
    /// Momentum buffers by parameter. A class, so updating one never goes through the
    /// dictionary's copy-on-write (which would copy the tensor).
    private final class MomentumBuffer {
        let name: String
        var tensor: Tensor
        init(name: String, tensor: Tensor) {
            self.name = name
            self.tensor = tensor
        }
    }
    private var velocity: [ObjectIdentifier: MomentumBuffer] = [:]
    /// Buffers restored from a checkpoint, claimed by name on the next step.
    private var restored: [String: Tensor] = [:]

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
        let (eta, mu) = (learningRate, momentum)
        for (name, parameter) in parameters {
            let lambda = parameter.decays ? weightDecay : 0
            let count = parameter.value.count
            // Pointers valid while `parameter` (and below, `buffer`) lives: the loops run inside
            // `withExtendedLifetime` of both.
            let w = try parameter.value.uniqueElements()
            let g = parameter.gradient.unsafeElements
            guard mu > 0 else {
                withExtendedLifetime(parameter) {
                    pool.parallelFor(0..<count, grain: optimizerTileElements) { tile in
                        for i in tile { w[i] = w[i] - eta * (g[i] + lambda * w[i]) }
                    }
                }
                continue
            }
            let key = ObjectIdentifier(parameter)
            var first = false
            let buffer: MomentumBuffer
            if let existing = velocity[key] {
                buffer = existing
            } else {
                let bufferName = "optimizer.\(name).momentum_buffer"
                if let saved = restored.removeValue(forKey: bufferName) {
                    guard saved.shape == parameter.value.shape else {
                        throw ModelStateError.shapeMismatch(name: bufferName, expected: parameter.value.shape,
                                                            actual: saved.shape)
                    }
                    buffer = MomentumBuffer(name: bufferName, tensor: saved)
                } else {
                    buffer = MomentumBuffer(name: bufferName,
                                            tensor: try Tensor(uninitializedShape: parameter.value.shape) { _ in })
                    first = true
                }
                velocity[key] = buffer
            }
            let v = try buffer.tensor.uniqueElements()
            let nesterov = self.nesterov
            withExtendedLifetime((parameter, buffer)) {
                pool.parallelFor(0..<count, grain: optimizerTileElements) { tile in
                    // One loop per case, so each is a straight vectorisable body.
                    switch (first, nesterov) {
                    case (true, false):
                        for i in tile {
                            let d = g[i] + lambda * w[i]
                            v[i] = d
                            w[i] = w[i] - eta * d
                        }
                    case (true, true):
                        for i in tile {
                            let d = g[i] + lambda * w[i]
                            v[i] = d
                            w[i] = w[i] - eta * (d + mu * d)
                        }
                    case (false, false):
                        for i in tile {
                            let d = mu * v[i] + (g[i] + lambda * w[i])
                            v[i] = d
                            w[i] = w[i] - eta * d
                        }
                    case (false, true):
                        for i in tile {
                            let d = g[i] + lambda * w[i]
                            let next = mu * v[i] + d
                            v[i] = next
                            w[i] = w[i] - eta * (d + mu * next)
                        }
                    }
                }
            }
        }
    }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        (velocity.values.map { (name: $0.name, tensor: $0.tensor) } + restored.map { (name: $0.key, tensor: $0.value) })
            .sorted { $0.name < $1.name }
    }

    public func restoreState(_ tensors: [String: Tensor]) throws {
        velocity.removeAll()
        restored = tensors.filter { $0.key.hasPrefix("optimizer.") && $0.key.hasSuffix(".momentum_buffer") }
    }
}
