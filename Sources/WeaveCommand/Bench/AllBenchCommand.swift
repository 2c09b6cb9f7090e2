import ArgumentParser
import Foundation

/// `weave bench all`: every benchmark in one run, into one report (one JSON file).
struct AllBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Run every benchmark (scheduler, random, dropout, gemm, conv, batchnorm, train-step) into one report.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Only these benchmarks, comma-separated (default: all of them).")
    var only: String?

    /// Every benchmark, in the order `all` runs them.
    static let benchmarks: [(name: String, type: any BenchSubcommand.Type)] = [
        ("scheduler", SchedulerBenchCommand.self), ("random", RandomBenchCommand.self),
        ("dropout", DropoutBenchCommand.self), ("gemm", GEMMBenchCommand.self),
        ("conv", ConvBenchCommand.self), ("batchnorm", BatchNormBenchCommand.self),
        ("train-step", TrainStepBenchCommand.self),
    ]

    func validate() throws {
        let known = Self.benchmarks.map(\.name)
        for name in selected where !known.contains(name) {
            throw ValidationError("--only: no benchmark \(name); known: \(known.joined(separator: ", "))")
        }
    }

    var selected: [String] {
        only.map { $0.split(separator: ",").map(String.init) } ?? Self.benchmarks.map(\.name)
    }

    /// The shared options each benchmark gets (not --json: the report is written once, nor
    /// --contended: the one competitor runs around all of them).
    var subcommandArguments: [String] {
        var arguments: [String] = []
        if let threads = options.threads {
            arguments += ["--threads", threads.counts.map(String.init).joined(separator: ",")]
        }
        if options.quick { arguments.append("--quick") }
        if let cpus = options.pinWorkers?.values {
            arguments += ["--pin-workers", cpus.map(String.init).joined(separator: ",")]
        }
        arguments += ["--splitting", options.splitting.rawValue]
        if let rounds = options.rounds { arguments += ["--rounds", "\(rounds)"] }
        if let trace = options.traceOperations { arguments += ["--trace-operations", trace] }
        return arguments
    }

    func run() throws {
        try validateEnvironment()
        let arguments = subcommandArguments
        try runMeasuring(options: options) { report in
            for (name, type) in Self.benchmarks where selected.contains(name) {
                print("\n== weave bench \(name)")
                let command = try type.parse(arguments)
                try command.benchmark(into: &report)
            }
        }
    }
}
