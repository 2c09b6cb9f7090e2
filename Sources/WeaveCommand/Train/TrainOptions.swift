import ArgumentParser
import Weave

/// Where the training data comes from: `--dataset` and `--data`.
struct DataOptions: ParsableArguments {
    @Option(help: "Data set: fashion-mnist (default) or mnist.")
    var dataset: DatasetKind = .fashionMNIST

    @Option(help: "Directory of the four IDX files (raw or .gz). Default for fashion-mnist: /usr/share/datasets/fashion-mnist (tools/setup installs it); mnist needs --data.")
    var data: String?

    @Option(help: "Use only the first N training images (for quick runs).")
    var limit: Int?

    func validate() throws {
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive, got \(limit)") }
    }
}

// The library's enums are the flags' values: their raw values are the spellings.
extension ModelPreset: ExpressibleByArgument {}
extension DatasetKind: ExpressibleByArgument {}
extension TrainingConfiguration.OptimizerKind: ExpressibleByArgument {}

/// Training hyper-parameters shared by `weave train` and `weave repro`.
struct HyperparameterOptions: ParsableArguments {
    @Option(help: "Model preset: \(ModelPreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var model: ModelPreset = .cnnBN

    @Option(name: .customLong("batch-size"), help: "Images per step.")
    var batchSize = 64

    @Option(help: "Learning rate.")
    var lr: Float = 0.05

    @Option(help: "SGD momentum (0 for plain SGD).")
    var momentum: Float = 0.9

    @Flag(help: "Use Nesterov momentum.")
    var nesterov = false

    @Option(name: .customLong("weight-decay"), help: "L2 weight decay, applied to weights only (not biases or BatchNorm parameters). Default 0.")
    var weightDecay: Float = 0

    @Option(help: "Optimiser: sgd or adam.")
    var optimizer: TrainingConfiguration.OptimizerKind = .sgd

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 1

    @Flag(name: .customLong("no-shuffle"), help: "Visit the training images in file order every epoch (default: a seeded shuffle per epoch), e.g. to follow the same batches in another framework.")
    var noShuffle = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive, got \(batchSize)") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number, got \(lr)") }
        guard momentum >= 0, momentum < 1 else { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw ValidationError("--weight-decay must be ≥ 0, got \(weightDecay)") }
        if nesterov && momentum == 0 { throw ValidationError("--nesterov needs --momentum > 0") }
    }

    /// The recipe these flags describe.
    var configuration: TrainingConfiguration {
        TrainingConfiguration(model: model, batchSize: batchSize,
                              optimizer: optimizer, learningRate: lr,
                              momentum: momentum, nesterov: nesterov, weightDecay: weightDecay,
                              seed: seed, shuffle: !noShuffle)
    }
}
