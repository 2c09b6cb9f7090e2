import ArgumentParser
import Foundation
import Weave

/// `weave repro`: trains the same steps at several thread counts and compares SHA-256
/// fingerprints of every parameter and statistic; exits 1 if any differ.
struct ReproCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repro",
        abstract: "Check that the same seed gives the same bits at every thread count.",
        discussion: """
            Trains --steps steps of --model from --seed at each --threads count (on the real \
            data set when present, else on seeded synthetic images), prints a SHA-256 of all \
            parameters and BatchNorm statistics for each, and exits 1 if any differ.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var hyperparameters: HyperparameterOptions

    @Option(help: "Training steps per thread count.")
    var steps = 20

    @Option(help: "Thread counts to compare, e.g. 1,2,3,4.")
    var threads = ThreadList(counts: [1, 2, 3, 4])

    func validate() throws {
        guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }
    }

    func run() throws {
        try validateEnvironment()
        let configuration = hyperparameters.configuration
        let dataSet: Dataset
        do {
            dataSet = try loadDataSet(data)
        } catch let error as DataError {
            print("weave repro: \(error.problem); using seeded synthetic images instead")
            dataSet = try Dataset.synthetic(trainCount: steps * configuration.batchSize,
                                            testCount: 100, seed: configuration.seed)
        }
        print("weave repro: \(configuration.model.rawValue), \(steps) steps of batch "
              + "\(configuration.batchSize), seed \(configuration.seed), ISA \(KernelISA.current)")
        var fingerprints: [(threads: Int, hash: String)] = []
        for count in threads.counts {
            var run = try TrainingRun(configuration: configuration, dataSet: dataSet, threads: count,
                                      limit: steps * configuration.batchSize)
            let start = Date()
            try run.trainSteps(steps)
            let hash = run.model.fingerprint()
            fingerprints.append((count, hash))
            print("  \(count) thread\(count == 1 ? " " : "s"): \(hash)  "
                  + "(\(String(format: "%.2f", Date().timeIntervalSince(start))) s)")
        }
        let distinct = Set(fingerprints.map(\.hash))
        if distinct.count == 1 {
            print("identical: the same bits at \(threads.counts.map(String.init).joined(separator: ", ")) threads")
        } else {
            print("DIFFERENT: \(distinct.count) distinct results across thread counts")
            throw ExitCode(1)
        }
    }
}
