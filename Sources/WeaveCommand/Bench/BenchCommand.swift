import ArgumentParser
import Foundation
import Weave

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

    @Option(help: ArgumentHelp(
        "Pin the pools' workers to these CPUs, comma-separated (the calling thread stays free).",
        discussion: "For placement studies: with --contended, --pin-workers set to the busy loop's CPU makes a worker share it."))
    var pinWorkers: CommaSeparated<Int>?

    @Option(help: ArgumentHelp(
        "when-faster, always, never or alternating: whether a timed call runs split or on the calling thread alone (default: when-faster).",
        discussion: "Each timed call is one pool operation. when-faster runs it split or inline, whichever has measured faster lately, as training does; always splits every call, for the scaling of the parallel kernels themselves; never runs every call inline through the same per-call path, a control: when-faster against never is what the pool's choices gain or lose. alternating runs each key 64 calls split, then 64 inline, and so on: with --trace-operations, a trace that prices both ways for weave trace-replay (its speed-ups mean nothing; with a worker on a busy CPU its split calls wait less than in a steady run, Scheduler/README.md)."))
    var splitting: SplittingOption = .whenFaster

    @Option(help: ArgumentHelp(
        "Rounds per measurement, each timing every thread count once (default: 5 with --quick, 15 otherwise; 3–21 by benchmark).",
        discussion: "Every scaling speed-up is the median of the per-round ratios; more rounds narrow its confidence interval (5 give [min, max] at 93.75 %, 15 the 4th smallest to the 4th largest at 96.5 %)."))
    var rounds: Int?

    @Option(help: ArgumentHelp(
        "Also write every pool operation's way and time to this CSV file, a row per call (pools of 2 threads or more).",
        discussion: "For explaining a scaling figure call by call: which way each call ran, how long it took, how long the caller waited for other threads, and whether the chooser learned from it. Tracing adds two clock reads per call; the choices are the same."))
    var traceOperations: String?

    /// Calls each pool's trace keeps (`--trace-operations`): 32 bytes each, reserved up front
    /// so that growing the buffer never lands in a traced call.
    static let traceCapacity = 1 << 19

    /// `--rounds`, or the benchmark's own count for `--quick` or a full run.
    func rounds(quick: Int, full: Int) -> Int { rounds ?? (self.quick ? quick : full) }

    func validate() throws {
        if let rounds, rounds < 2 {
            throw ValidationError("--rounds must be at least 2 (a speed-up's interval needs two rounds), got \(rounds)")
        }
        guard let cpus = pinWorkers?.values else { return }
        let allowed = ThreadCount.affinityCPUs()
        for cpu in cpus where !allowed.contains(cpu) {
            throw ValidationError("--pin-workers: CPU \(cpu) is not in this process's affinity mask \(allowed)")
        }
    }

    /// One pool per thread count of the sweep, workers pinned as asked.
    func pools() throws -> [ThreadPool] {
        try threadSweep(threads).map(pool(threads:))
    }

    func pool(threads: Int) -> ThreadPool {
        let pool: ThreadPool
        if let cpus = pinWorkers?.values, !cpus.isEmpty {
            pool = ThreadPool(threads: threads, pinning: .cpus(cpus), splitting: splitting.value)
        } else {
            pool = ThreadPool(threads: threads, splitting: splitting.value)
        }
        if traceOperations != nil && threads > 1 { pool.traceOperations(capacity: Self.traceCapacity) }
        return pool
    }
}

/// `--splitting`: `ThreadPool.Splitting` as a flag value.
enum SplittingOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case always
    case whenFaster = "when-faster"
    case never
    case alternating

    var value: ThreadPool.Splitting {
        switch self {
        case .always: .always
        case .whenFaster: .whenFaster
        case .never: .never
        case .alternating: .alternating
        }
    }
}
