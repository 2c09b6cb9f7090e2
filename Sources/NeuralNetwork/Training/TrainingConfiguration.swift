/// A training recipe: what `weave train` and `weave repro` run, and what a checkpoint records.
public struct TrainingConfiguration: Sendable, Equatable {
    /// Which optimiser.
    public enum OptimizerKind: String, Sendable, Equatable, CaseIterable {
        case sgd, adam
    }

    /// The model preset.
    public var model: ModelPreset
    /// Images per step.
    public var batchSize: Int
    /// The optimiser.
    public var optimizer: OptimizerKind
    /// Learning rate.
    public var learningRate: Float
    /// SGD momentum.
    public var momentum: Float
    /// Nesterov momentum (SGD).
    public var nesterov: Bool
    /// L2 weight decay on weights (not biases or BatchNorm parameters).
    public var weightDecay: Float
    /// The seed of initialisation, shuffling and dropout.
    public var seed: UInt64
    /// Whether each epoch visits the training images in a seeded shuffled order (the default)
    /// or in file order (`--no-shuffle`: lets another framework follow the same batches).
    public var shuffle: Bool

    /// A recipe; the defaults are `weave train`'s.
    public init(model: ModelPreset = .cnnBN, batchSize: Int = 64, optimizer: OptimizerKind = .sgd,
                learningRate: Float = 0.05, momentum: Float = 0.9, nesterov: Bool = false,
                weightDecay: Float = 0, seed: UInt64 = 1, shuffle: Bool = true) {
        self.model = model
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.seed = seed
        self.shuffle = shuffle
    }

    /// A new optimiser of this recipe.
    public func makeOptimizer() -> any Optimizer {
        switch optimizer {
        case .sgd: SGD(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        case .adam: Adam(learningRate: learningRate, weightDecay: weightDecay)
        }
    }

    /// The recipe as checkpoint metadata. `shuffle` is written only when off, so checkpoints
    /// from before the option (which always shuffled) still resume; a missing key reads as on.
    var metadata: [String: String] {
        var values = ["model": model.rawValue, "batch_size": "\(batchSize)", "optimizer": optimizer.rawValue,
                      "learning_rate": "\(learningRate)", "momentum": "\(momentum)", "nesterov": "\(nesterov)",
                      "weight_decay": "\(weightDecay)", "seed": "\(seed)"]
        if !shuffle { values[Self.shuffleKey] = "false" }
        return values
    }

    /// The metadata key of `shuffle`.
    static let shuffleKey = "shuffle"
}
