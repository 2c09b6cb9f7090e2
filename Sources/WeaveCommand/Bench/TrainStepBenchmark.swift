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
        var pools: [Int: ThreadPool] = [:]
        for threads in counts { pools[threads] = options.pool(threads: threads) }
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
                let seconds = try Self.stepTimes(preset, runs: counts.map { (size, pools[$0]!) },
                                                 quick: options.quick, rounds: options.rounds)
                for (threads, sample) in zip(counts, seconds) {
                    record(preset, batch: size, threads: threads, seconds: sample)
                    scaling.add(.strong, operation: "\(preset.rawValue) batch \(size)", threads: threads,
                                shape: "batch \(size)", time: sample.map { $0 * 1e3 })
                }
            }
            guard weakBatch > 0, counts.count > 1 else { continue }
            let weak = WeakScalingRuns(pools: counts.map { pools[$0]! })
            let seconds = try Self.stepTimes(preset, runs: weak.runs.map { (weakBatch * $0.factor, $0.pool) },
                                             quick: options.quick, rounds: options.rounds)
            for (run, sample) in zip(weak.runs, seconds) where !batch.values.contains(weakBatch * run.factor) {
                record(preset, batch: weakBatch * run.factor, threads: run.pool.threads, seconds: sample)
            }
            scaling.addWeak(weak, operation: "\(preset.rawValue) batch \(weakBatch) × threads",
                            times: seconds.map { $0.map { $0 * 1e3 } }) { "batch \(weakBatch * $0)" }
        }
        print("Training step (forward, loss, backward, SGD momentum 0.9) on a fixed synthetic batch, "
              + "ISA \(isa): median [min–max]")
        printTable(["model", "batch", "threads", "ms per step", "images/s"], rows)
        report.addScaling(scaling)
        try report.recordActivity(of: counts.map { pools[$0]! }, benchmark: "train-step")
    }

    /// Seconds per training step of `preset` for each run (a batch size on a pool), the runs taking turns (`InterleavedTiming`).
    static func stepTimes(_ preset: ModelPreset, runs: [(batch: Int, pool: ThreadPool)],
                          quick: Bool, rounds: Int?) throws -> [Sample] {
        var failure: (any Error)?
        let steppers: [() -> Void] = try runs.map { run in
            let pool = run.pool
            let data = try Dataset.synthetic(trainCount: run.batch, testCount: 1, seed: 1)
            let model = preset.makeModel()
            _ = try model.validate(inputShape: [run.batch] + ModelPreset.imageShape)
            try model.initializeParameters(seed: 1, pool: pool)
            let trainer = Trainer(model: model, optimizer: SGD(learningRate: 0.01, momentum: 0.9),
                                  pool: pool, seed: 1)
            let images = data.train.images, labels = data.train.labels
            return {
                do { try trainer.trainStep(images: images, labels: labels) } catch { failure = error }
            }
        }
        // Warm-up covers buffers, caches and the pools' workers.
        let timing = InterleavedTiming(quick: quick, repeats: rounds ?? (quick ? 9 : 21),
                                       warmupCalls: quick ? 5 : 10)
        let seconds = timing.secondsPerCall(steppers)
        if let failure { throw failure }
        return seconds
    }
}
