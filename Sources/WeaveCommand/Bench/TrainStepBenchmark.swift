import ArgumentParser
import Foundation
import Weave

/// `weave bench train-step`: one SGD training step (forward, loss, backward, update) of the
/// presets on a fixed synthetic batch, after warm-up: time per step and images/s, per model ×
/// batch × threads, with strong scaling (same batch) and weak scaling (64 images per thread).
struct TrainStepBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "One training step (SGD, momentum 0.9) of model presets: ms per step and images/s.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Model presets, comma-separated (\(ModelPreset.allCases.map(\.rawValue).joined(separator: ", "))).")
    var models = CommaSeparated<ModelPreset>([.mlpBN, .cnnBN])

    @Option(help: "Batch sizes, comma-separated.")
    var batch = CommaSeparated<Int>([64, 256])

    @Option(help: "Weak scaling: images per thread (the batch is this × threads); 0 skips it.")
    var weakBatch = 64

    func validate() throws {
        for size in batch.values where size < 1 {
            throw ValidationError("--batch sizes must be positive, got \(size)")
        }
        guard weakBatch >= 0 else { throw ValidationError("--weak-batch must be ≥ 0, got \(weakBatch)") }
    }

    func benchmark(into report: inout BenchReport) throws {
        let counts = try threadSweep(options.threads)
        let isa = KernelISA.current.rawValue
        var scaling = ScalingCollector(benchmark: "train-step", isa: isa)
        var rows: [[String]] = []
        func record(_ preset: ModelPreset, batch: Int, threads: Int, seconds: Sample) {
            let shape = "\(preset.rawValue), batch \(batch)"
            let milliseconds = seconds.map { $0 * 1e3 }
            let images = seconds.map { Double(batch) / $0 }
            for (metric, sample, unit) in [("step time", milliseconds, "ms"),
                                           ("images per second", images, "images/s")] {
                report.figures.append(BenchFigure(
                    benchmark: "train-step", metric: metric, unit: unit, threads: threads,
                    implementation: "weave", shape: shape, isa: isa, sample: sample,
                    note: "SGD lr 0.01 momentum 0.9, fixed synthetic batch, seed 1"))
            }
            rows.append([preset.rawValue, "\(batch)", "\(threads)", cell(milliseconds), cell(images)])
        }
        for preset in models.values {
            for size in batch.values {
                for threads in counts {
                    let seconds = try Self.stepTime(preset, batch: size, threads: threads, quick: options.quick)
                    record(preset, batch: size, threads: threads, seconds: seconds)
                    scaling.add(.strong, operation: "\(preset.rawValue) batch \(size)", threads: threads,
                                shape: "batch \(size)", time: seconds.map { $0 * 1e3 })
                }
            }
            guard weakBatch > 0, counts.count > 1 else { continue }
            for threads in counts {
                let size = weakBatch * threads
                let seconds = batch.values.contains(size)
                    ? report.figures.last { $0.benchmark == "train-step" && $0.metric == "step time"
                                            && $0.shape == "\(preset.rawValue), batch \(size)"
                                            && $0.threads == threads }!.sample.map { $0 / 1e3 }
                    : try Self.stepTime(preset, batch: size, threads: threads, quick: options.quick)
                if !batch.values.contains(size) {
                    record(preset, batch: size, threads: threads, seconds: seconds)
                }
                scaling.add(.weak, operation: "\(preset.rawValue) batch \(weakBatch) × threads",
                            threads: threads, shape: "batch \(size)", time: seconds.map { $0 * 1e3 })
            }
        }
        print("Training step (forward, loss, backward, SGD momentum 0.9) on a fixed synthetic batch, "
              + "ISA \(isa): median [min–max]")
        printTable(["model", "batch", "threads", "ms per step", "images/s"], rows)
        report.addScaling(scaling)
    }

    /// Seconds per training step of `preset` at `batch` images on a pool of `threads`: steps are
    /// timed in groups of at least a few milliseconds after warm-up; one value per group.
    static func stepTime(_ preset: ModelPreset, batch: Int, threads: Int, quick: Bool) throws -> Sample {
        let pool = ThreadPool(threads: threads)
        let data = try Dataset.synthetic(trainCount: batch, testCount: 1, seed: 1)
        let model = preset.makeModel()
        _ = try model.validate(inputShape: [batch] + ModelPreset.imageShape)
        try model.initializeParameters(seed: 1, pool: pool)
        let trainer = Trainer(model: model, optimizer: SGD(learningRate: 0.01, momentum: 0.9),
                              pool: pool, seed: 1)
        let images = data.train.images, labels = data.train.labels
        var failure: (any Error)?
        func step() {
            do { try trainer.trainStep(images: images, labels: labels) } catch { failure = error }
        }
        // Warm-up (buffers, caches, the pool's workers), then find a group size that lasts at
        // least `groupSeconds`.
        for _ in 0..<(quick ? 5 : 10) { step() }
        let groupSeconds = quick ? 0.01 : 0.02
        var steps = 1
        while steps < 1 << 12 {
            let start = now()
            for _ in 0..<steps { step() }
            if now() - start >= groupSeconds { break }
            steps *= 2
        }
        if let failure { throw failure }
        let groups = quick ? 9 : 21
        let sample = measure(repeats: groups, warmup: 0) {
            for _ in 0..<steps { step() }
        }
        if let failure { throw failure }
        return sample.map { $0 / Double(steps) }
    }
}
