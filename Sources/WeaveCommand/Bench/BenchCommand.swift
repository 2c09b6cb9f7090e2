import ArgumentParser
import Foundation

/// `weave bench …`: figures measured in one run, medians with min/max, side by side with the
/// baseline each area names.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the runtime and kernels (medians of repeated runs, with min and max).",
        subcommands: [SchedulerBenchCommand.self, RandomBenchCommand.self, DropoutBenchCommand.self,
                      GEMMBenchCommand.self, ConvBenchCommand.self, BatchNormBenchCommand.self,
                      TrainStepBenchCommand.self, AllBenchCommand.self, BusyLoopCommand.self])
}

/// Options every benchmark takes.
struct BenchOptions: ParsableArguments {
    @Option(name: .long, help: "Thread counts to sweep, e.g. 1,2,4 (default: 1 and the default count).")
    var threads: ThreadList?

    @Option(name: .long, help: "Also write every figure, with units and the machine, to this JSON file.")
    var json: String?

    @Flag(help: "Fewer repetitions (for a quick look; figures are noisier).")
    var quick = false

    @Flag(help: "Measure while a busy loop (a child process) holds the last CPU of the affinity mask.")
    var contended = false
}
