import Benchmark
import BenchmarkTolerances
import Weave

/// One training step of the seed models on a fixed synthetic batch: throughput and heap
/// allocations per step (`mallocCountTotal`), checked for regressions (`Tolerances`).
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = Tolerances.configuration(warmupIterations: 20, maxDuration: .seconds(3))

    for preset in [ModelPreset.mlpBN, .cnnBN, .mlpBNDropout] {
        for threads in [1, 2] {
            for batchSize in [64, 256] {
                let tags = ["model": preset.rawValue, "threads": "\(threads)", "batch": "\(batchSize)"]
                Benchmark("train step \(preset.rawValue) b\(batchSize) t\(threads)",
                          configuration: .init(tags: tags)) { benchmark, setup in
                    for _ in benchmark.scaledIterations {
                        blackHole(try setup.trainer.trainStep(images: setup.images, labels: setup.labels))
                    }
                } setup: {
                    try TrainingStepSetup(preset: preset, threads: threads, batchSize: batchSize)
                }
            }
        }
    }
}

struct TrainingStepSetup {
    let trainer: Trainer
    let images: Tensor
    let labels: [Int32]

    init(preset: ModelPreset, threads: Int, batchSize: Int) throws {
        let data = try Dataset.synthetic(trainCount: batchSize, testCount: 1, seed: 1)
        let model = preset.makeModel()
        try model.initializeParameters(seed: 1)
        trainer = Trainer(model: model, optimizer: SGD(learningRate: 0.01, momentum: 0.9),
                          pool: ThreadPool(threads: threads), seed: 1)
        images = data.train.images
        labels = data.train.labels
    }
}
