import ArgumentParser
import Foundation
import Weave

/// `weave train`: trains a preset on MNIST or Fashion-MNIST, with progress, per-epoch test
/// accuracy, checkpoints and exact resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on Fashion-MNIST (default) or MNIST.",
        discussion: """
            The same --seed gives the same bits on any --threads. Checkpoints (--save) are \
            safetensors files holding the parameters, BatchNorm statistics, optimiser state and \
            step counters; --resume continues a run exactly where it stopped.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var hyperparameters: HyperparameterOptions

    @Option(help: "Epochs to train (in total, counting those of a resumed checkpoint). 0 with --save writes the initialised model without training (to start another framework from the same weights).")
    var epochs = 5

    @Option(help: "Worker threads (default: WEAVE_NUM_THREADS, else the CPUs this process may use).")
    var threads: Int?

    @Option(help: "Write a checkpoint to this path after every epoch.")
    var save: String?

    @Option(help: "Resume from this checkpoint.")
    var resume: String?

    @Flag(help: "Write one JSON object per epoch to stdout instead of text.")
    var json = false

    func validate() throws {
        guard epochs >= 0 else { throw ValidationError("--epochs must be 0 or more, got \(epochs)") }
        if epochs == 0 && save == nil {
            throw ValidationError("--epochs 0 trains nothing: add --save FILE to write the initialised model")
        }
        if let threads, threads < 1 || threads > 1024 {
            throw ValidationError("--threads must be in 1…1024, got \(threads)")
        }
    }

    func run() throws {
        try validateEnvironment()
        let threadCount = try threads ?? ThreadCount.defaultValue()
        let dataSet = try loadDataSet(data)
        var run = try TrainingRun(configuration: hyperparameters.configuration, dataSet: dataSet,
                                  threads: threadCount, limit: data.limit)
        if let resume { try run.resume(from: resume) }
        if let save, epochs == 0 {
            try run.saveCheckpoint(to: save)
            return
        }
        let reporter = ProgressReporter(json: json, totalEpochs: epochs)
        reporter.start(run: run, threads: threadCount)
        while run.epoch < epochs {
            do {
                let summary = try run.trainEpoch { progress in reporter.progress(progress) }
                reporter.epochFinished(summary)
            } catch let error as TrainingError {
                reporter.interrupted()
                var message = "weave train: \(error)"
                if let save, FileManager.default.fileExists(atPath: save) {
                    message += "\nthe last good checkpoint is \(save)"
                }
                throw TrainFailure(message: message)
            }
            if let save {
                try run.saveCheckpoint(to: save)
            }
        }
    }
}

/// A failure already phrased for the user; exits 1.
struct TrainFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Loads the data set named by `options`, with a message saying how to get it when missing.
func loadDataSet(_ options: DataOptions) throws -> Dataset {
    try Dataset.load(options.dataset, directory: options.data)
}
