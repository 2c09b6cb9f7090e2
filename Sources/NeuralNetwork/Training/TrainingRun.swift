import CPlatform
import ParallelRuntime
import TensorKernels

/// A training run of a preset on a data set: the model, optimiser and data order of one
/// recipe, advanced an epoch at a time, saved to and resumed from checkpoints exactly.
public struct TrainingRun {
    /// Test images per forward pass after each epoch. The layers keep buffers for the largest
    /// batch they have seen, so this sets the run's peak memory, and the first evaluation
    /// writes them all for the first time. At 1000 (before session 24) lenet's buffers took
    /// ~400 MiB and its first evaluation 1.2–1.8 s against 0.8 s after; 256 costs no more per
    /// image once the buffers exist (0.80 s against 0.84 for 5000 images on 1 thread).
    public static let evaluationBatchSize = 256

    /// The recipe.
    public let configuration: TrainingConfiguration
    /// The model.
    public let model: Sequential
    /// The trainer (optimiser, step counter).
    public let trainer: Trainer
    /// The next epoch to train (0-based).
    public private(set) var epoch = 0
    private let dataSet: Dataset
    private let trainSplit: DatasetSplit
    private let loader: BatchLoader
    /// Checkpoint format marker.
    static let checkpointFormat = "weave-checkpoint-v1"

    /// A fresh run: the model initialised from the seed, on `threads` workers, training on the
    /// first `limit` training images (all by default).
    /// - Throws: `ShapeError` if the preset does not fit the data's image shape.
    public init(configuration: TrainingConfiguration, dataSet: Dataset, threads: Int,
                limit: Int? = nil) throws {
        self.configuration = configuration
        self.dataSet = dataSet
        trainSplit = limit.map { dataSet.train.prefix($0) } ?? dataSet.train
        let pool = ThreadPool(threads: threads)
        model = configuration.model.makeModel()
        try model.validate(inputShape: [configuration.batchSize] + ModelPreset.imageShape)
        try model.initializeParameters(seed: configuration.seed, pool: pool)
        trainer = Trainer(model: model, optimizer: configuration.makeOptimizer(), pool: pool,
                          seed: configuration.seed)
        loader = BatchLoader(trainSplit, batchSize: configuration.batchSize,
                             seed: configuration.seed, shuffle: configuration.shuffle)
    }

    /// Steps in each epoch.
    public var stepsPerEpoch: Int { loader.stepsPerEpoch }

    /// Trains one epoch, then evaluates on the test set. `progress` is called after each step.
    /// - Throws: `TrainingError` when the loss or a gradient stops being finite.
    public mutating func trainEpoch(progress: (StepProgress) -> Void = { _ in }) throws -> EpochSummary {
        let steps = loader.stepsPerEpoch
        loader.startEpoch(epoch, atStep: 0)
        let start = weave_monotonic_ns()
        var lossSum = 0.0
        var images = 0
        var step = 0
        while let batch = loader.next() {
            let loss = try trainer.trainStep(images: batch.images, labels: batch.labels)
            lossSum += Double(loss)
            images += batch.labels.count
            step += 1
            let elapsed = Double(weave_monotonic_ns() - start) / 1e9
            progress(StepProgress(epoch: epoch, step: step, stepsInEpoch: steps, loss: loss,
                                  imagesPerSecond: Double(images) / max(elapsed, 1e-9),
                                  elapsedSeconds: elapsed))
        }
        let trainSeconds = Double(weave_monotonic_ns() - start) / 1e9
        let evaluationStart = weave_monotonic_ns()
        let test = try trainer.evaluate(images: dataSet.test.images, labels: dataSet.test.labels,
                                        batchSize: Self.evaluationBatchSize)
        let evaluationSeconds = Double(weave_monotonic_ns() - evaluationStart) / 1e9
        defer { epoch += 1 }
        return EpochSummary(epoch: epoch, steps: step, globalStep: trainer.step,
                            trainLoss: lossSum / Double(max(step, 1)), testLoss: test.loss,
                            testAccuracy: test.accuracy,
                            imagesPerSecond: Double(images) / max(trainSeconds, 1e-9),
                            trainSeconds: trainSeconds, evaluationSeconds: evaluationSeconds)
    }

    /// Writes a checkpoint: parameters, BatchNorm statistics, optimiser state, the recipe and
    /// the counters (epoch, global step) that make a resumed run continue bit for bit.
    public func saveCheckpoint(to path: String) throws {
        var tensors = model.namedParameters.map { (name: $0.name, tensor: $0.parameter.value) }
        tensors += model.namedStateTensors
        tensors += trainer.optimizer.stateTensors
        var metadata = configuration.metadata
        metadata["format"] = TrainingRun.checkpointFormat
        metadata["epoch"] = "\(epoch)"
        metadata["step"] = "\(trainer.step)"
        try Checkpoint(tensors: tensors, metadata: metadata).write(to: path)
    }

    /// Restores a checkpoint written by `saveCheckpoint` with the same recipe.
    /// - Throws: `CheckpointError` for an unreadable file or one from a different recipe;
    ///   `ModelStateError` for tensors that don't fit the model.
    public mutating func resume(from path: String) throws {
        let checkpoint = try Checkpoint.read(from: path)
        let metadata = checkpoint.metadata
        guard metadata["format"] == TrainingRun.checkpointFormat else {
            throw CheckpointError(file: path, problem: "not a Weave training checkpoint (format \(metadata["format"] ?? "missing"))")
        }
        for (key, value) in configuration.metadata
        where key != "learning_rate" && key != TrainingConfiguration.shuffleKey && metadata[key] != value {
            throw CheckpointError(file: path, problem: "saved with \(key) = \(metadata[key] ?? "missing"), but this run has \(value)")
        }
        // `shuffle` is in the metadata only when off (see `TrainingConfiguration.metadata`).
        let savedShuffle = metadata[TrainingConfiguration.shuffleKey] != "false"
        if savedShuffle != configuration.shuffle {
            throw CheckpointError(file: path, problem: "saved with shuffle = \(savedShuffle), but this run has \(configuration.shuffle)")
        }
        guard let savedEpoch = metadata["epoch"].flatMap(Int.init), savedEpoch >= 0,
              let savedStep = metadata["step"].flatMap(UInt64.init) else {
            throw CheckpointError(file: path, problem: "epoch/step metadata missing or malformed")
        }
        let tensors = Dictionary(checkpoint.tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { first, _ in first })
        try model.load(tensors)
        try trainer.optimizer.restoreState(tensors)
        trainer.step = savedStep
        epoch = savedEpoch
    }
}

extension TrainingRun {
    /// Trains `count` steps from the start of the current epoch without evaluating (for
    /// `weave repro` and tests); continues into later epochs when an epoch ends.
    public mutating func trainSteps(_ count: Int) throws {
        var remaining = count
        while remaining > 0 {
            loader.startEpoch(epoch, atStep: 0)
            while remaining > 0, let batch = loader.next() {
                try trainer.trainStep(images: batch.images, labels: batch.labels)
                remaining -= 1
            }
            if remaining > 0 { epoch += 1 }
        }
    }
}
