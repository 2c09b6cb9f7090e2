import Foundation
import NeuralNetwork
import ParallelRuntime
import TensorKernels
import Testing

/// Seeded synthetic data: enough to check bits, not learning.
private let syntheticData = Result { try Dataset.synthetic(trainCount: 64 * 4, testCount: 50, seed: 17) }

private func fingerprint(_ preset: ModelPreset, threads: Int, seed: UInt64 = 1, steps: Int = 4) throws -> String {
    var run = try TrainingRun(configuration: TrainingConfiguration(model: preset, batchSize: 64, seed: seed),
                              dataSet: try syntheticData.get(), threads: threads)
    try run.trainSteps(steps)
    return run.model.fingerprint()
}

@Suite("Bitwise reproducibility of training")
struct TrainingReproducibilityTests {
    @Test("mlp-bn-dropout and cnn-bn give the same parameter bits on 1, 2, 3 and 4 threads",
          arguments: [ModelPreset.mlpBNDropout, .cnnBN])
    func sameBitsOnAnyThreadCount(preset: ModelPreset) throws {
        let reference = try fingerprint(preset, threads: 1)
        for threads in [2, 3, 4] {
            #expect(try fingerprint(preset, threads: threads) == reference, "\(preset.rawValue) at \(threads) threads")
        }
    }

    @Test("Two runs with the same seed match; a different seed differs")
    func seeds() throws {
        let a = try fingerprint(.mlpBNDropout, threads: 2, seed: 5)
        #expect(try fingerprint(.mlpBNDropout, threads: 2, seed: 5) == a)
        #expect(try fingerprint(.mlpBNDropout, threads: 2, seed: 6) != a)
    }

    @Test("Training 2 epochs equals training 1, saving, resuming and training 1 more")
    func resumeIsExact() throws {
        let data = try Dataset.synthetic(trainCount: 64 * 3 + 10, testCount: 20, seed: 3)
        let configuration = TrainingConfiguration(model: .mlpBNDropout, batchSize: 64, seed: 8)
        var straight = try TrainingRun(configuration: configuration, dataSet: data, threads: 2)
        _ = try straight.trainEpoch()
        _ = try straight.trainEpoch()

        let path = "/tmp/weave-resume-test-\(getpid()).safetensors"
        defer { unlink(path) }
        var first = try TrainingRun(configuration: configuration, dataSet: data, threads: 3)
        _ = try first.trainEpoch()
        try first.saveCheckpoint(to: path)
        var resumed = try TrainingRun(configuration: configuration, dataSet: data, threads: 1)
        try resumed.resume(from: path)
        #expect(resumed.epoch == 1)
        _ = try resumed.trainEpoch()
        #expect(resumed.model.fingerprint() == straight.model.fingerprint())
        #expect(resumed.trainer.step == straight.trainer.step)
    }

    @Test("Resuming with a different recipe is a clear error")
    func resumeMismatch() throws {
        let data = try syntheticData.get()
        let path = "/tmp/weave-resume-mismatch-\(getpid()).safetensors"
        defer { unlink(path) }
        try TrainingRun(configuration: TrainingConfiguration(model: .mlp), dataSet: data, threads: 1).saveCheckpoint(to: path)
        var other = try TrainingRun(configuration: TrainingConfiguration(model: .mlpBN), dataSet: data, threads: 1)
        #expect(throws: CheckpointError.self) { try other.resume(from: path) }
    }

    @Test("Without shuffling, an epoch trains on the batches in file order")
    func fileOrder() throws {
        let data = try Dataset.synthetic(trainCount: 64 * 3 + 10, testCount: 20, seed: 3)
        var unshuffled = try TrainingRun(configuration: TrainingConfiguration(model: .mlpBN, seed: 4, shuffle: false),
                                         dataSet: data, threads: 2)
        _ = try unshuffled.trainEpoch()

        let model = ModelPreset.mlpBN.makeModel()
        try model.initializeParameters(seed: 4)
        let trainer = Trainer(model: model, optimizer: TrainingConfiguration().makeOptimizer(),
                              pool: ThreadPool(threads: 1), seed: 4)
        let pixels = data.train.images.scalars, imageSize = data.train.exampleShape.reduce(1, *)
        for start in stride(from: 0, to: data.train.count, by: 64) {
            let end = min(start + 64, data.train.count)
            let images = try Tensor(Array(pixels[start * imageSize ..< end * imageSize]),
                                    shape: [end - start] + data.train.exampleShape)
            _ = try trainer.trainStep(images: images, labels: Array(data.train.labels[start ..< end]))
        }
        #expect(unshuffled.model.fingerprint() == model.fingerprint())

        var shuffled = try TrainingRun(configuration: TrainingConfiguration(model: .mlpBN, seed: 4),
                                       dataSet: data, threads: 2)
        _ = try shuffled.trainEpoch()
        #expect(shuffled.model.fingerprint() != model.fingerprint())
    }

    @Test("A checkpoint resumes only with the shuffling it was saved with")
    func resumeKeepsShuffling() throws {
        let data = try syntheticData.get()
        let path = "/tmp/weave-resume-shuffle-\(getpid()).safetensors"
        defer { unlink(path) }
        for saved in [false, true] {
            try TrainingRun(configuration: TrainingConfiguration(model: .mlp, shuffle: saved), dataSet: data,
                            threads: 1).saveCheckpoint(to: path)
            var same = try TrainingRun(configuration: TrainingConfiguration(model: .mlp, shuffle: saved),
                                       dataSet: data, threads: 1)
            try same.resume(from: path)
            var other = try TrainingRun(configuration: TrainingConfiguration(model: .mlp, shuffle: !saved),
                                        dataSet: data, threads: 1)
            #expect(throws: CheckpointError.self) { try other.resume(from: path) }
        }
    }

    @Test("A diverging run stops with the step and the loss named")
    func divergenceIsReported() throws {
        var run = try TrainingRun(configuration: TrainingConfiguration(model: .mlp, learningRate: 1e30, momentum: 0),
                                  dataSet: try syntheticData.get(), threads: 2)
        do {
            try run.trainSteps(4)
            Issue.record("training with lr 1e30 did not diverge")
        } catch let error as TrainingError {
            #expect(error.step >= 1 && error.step <= 3)
            #expect(error.description.contains("step \(error.step)"))
        }
    }
}
