import ArgumentParser
import Foundation
import Weave

/// A `weave bench` subcommand: it measures into a report, and the shared `run()` creates the
/// report, runs it (under contention when asked) and writes the JSON. `weave bench all` calls
/// `benchmark(into:)` of every subcommand with one report.
protocol BenchSubcommand: ParsableCommand {
    /// The options every benchmark takes.
    var options: BenchOptions { get }

    /// Measures, prints the tables, and appends every figure to `report`.
    func benchmark(into report: inout BenchReport) throws
}

extension BenchSubcommand {
    func run() throws {
        try validateEnvironment()
        try runMeasuring(options: options) { report in try benchmark(into: &report) }
    }
}

/// Creates the report of this command line, runs `body` (beside a CPU competitor when
/// `--contended`), prints the contention verdict, and writes `--json`.
func runMeasuring(options: BenchOptions, _ body: (inout BenchReport) throws -> Void) throws {
    var report = BenchReport(command: (["weave"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
    if let path = options.traceOperations {
        try OperationTraceFile.create(at: path)
        report.operationTrace = path
    }
    let cpus = CoreToCoreLatency.defaultCPUs()
    if let cpus, let before = CoreToCoreLatency.measure(between: cpus) {
        report.cacheLineRoundTrip["before"] = before
        print("Cache-line round trip between CPUs \(cpus.0) and \(cpus.1): \(formatted(before.median)) ns "
              + "(measured again at the end; see the note there)")
    }
    let loadStart = MachineLoad.read()
    var loadEnd: MachineLoad.Reading?
    if options.contended {
        let competitor = try CPUCompetitor(cpu: CPUCompetitor.defaultCPU())
        defer { competitor.stop() }
        report.contended = true
        print("Contended: a \(competitor.description) competes with every figure below")
        try body(&report)
        loadEnd = MachineLoad.read(competitorSeconds: competitor.cpuSeconds ?? 0)
        report.competitor = competitor.summary
        print("\nCompetitor: \(competitor.summary)")
    } else {
        try body(&report)
        loadEnd = MachineLoad.read()
    }
    if let loadStart, let loadEnd {
        report.machineLoad = MachineLoad(from: loadStart, to: loadEnd, cpus: ThreadCount.affinityCPUs())
    }
    if let cpus, let after = CoreToCoreLatency.measure(between: cpus) {
        report.cacheLineRoundTrip["after"] = after
    }
    report.aaControl = AAControl(report.scaling)
    report.hostStateVerdict = HostStateVerdict(report.scaling)
    printPoolActivity(report)
    printOperations(report)
    printRoundTrip(report)
    if let load = report.machineLoad {
        print("\nMachine during the run: \(load.summary).")
    }
    printScalingVerdict(report)
    if let path = options.json {
        try report.write(to: path)
        print("wrote \(path)")
    }
    if let path = report.operationTrace {
        print("wrote \(path) (every pool operation of the pools of 2 threads or more)")
    }
}

/// The round trip before and after, and what it means for the 2-thread figures.
func printRoundTrip(_ report: BenchReport) {
    guard let before = report.cacheLineRoundTrip["before"], let after = report.cacheLineRoundTrip["after"] else {
        return
    }
    print("\nCache-line round trip between the first two CPUs: \(formatted(before.median)) ns before the "
          + "benchmarks, \(formatted(after.median)) ns after. Every fork, steal and join pays a few of "
          + "these; measured here, a VM's host moved its vCPUs every few seconds between one L3 "
          + "(~90–120 ns) and two (~320–480 ns), and small ops on 2 threads ran up to twice as slowly "
          + "in the second case (1 thread is unaffected). At ~60 ns, 2 threads of FMA-bound work "
          + "(SGEMM 512³) once ran no faster than 1, as hardware threads of one core would. Ratios "
          + "are only comparable at similar round trips; each scaling table gives the readings taken "
          + "between its rounds.")
}

/// One line per scaling table in which more threads got less done than the base count, and
/// the count of those that did not; under `--contended` this is issue 7's target (never).
/// "Beyond noise" is `ScalingTable.slowerBeyondNoise`: the speed-up's whole confidence interval
/// is below 1.
func printScalingVerdict(_ report: BenchReport) {
    guard !report.scaling.isEmpty else { return }
    let slower = report.scaling.filter { !$0.slowerThanBase.isEmpty }
    let beyondNoise = report.scaling.filter { !$0.slowerBeyondNoise.isEmpty }
    let condition = report.contended ? "under contention" : "without a competitor"
    print("\nScaling verdict \(condition): more threads were slower than \(report.scaling[0].baseThreads) "
          + "in \(slower.count) of \(report.scaling.count) tables, beyond noise (the speed-up's whole "
          + "confidence interval below 1) in \(beyondNoise.count)")
    for table in slower {
        let worst = table.points.filter { table.slowerThanBase.contains($0.threads) }
            .map { point in "\(point.threads) threads \(speedupCell(point))"
                + (table.slowerBeyondNoise.contains(point.threads) ? " beyond noise" : "")
                + (point.sameProblem.map { same in
                    "; on the same problem as the base count \(table.sameProblemCell(point) ?? "")"
                        + ", the base's cost per unit of work grew \(intervalBound(same.costGrowth))×"
                } ?? "") }
        print("  \(table.benchmark) \(table.kind.rawValue): \(table.operation): \(worst.joined(separator: ", "))"
              + (table.roundTrip.map { "; round trip \(formatted($0.median)) ns" } ?? ""))
    }
    let weak = report.scaling.filter { $0.points.contains { $0.sameProblem != nil } }
    if !weak.isEmpty {
        let losing = weak.filter { !$0.slowerOnSameProblemBeyondNoise.isEmpty }
        print("Weak tables against the base count on the same (grown) problem: slower in "
              + "\(weak.filter { !$0.slowerOnSameProblem.isEmpty }.count) of \(weak.count), beyond noise in "
              + "\(losing.count)" + losing.map { "\n  \($0.benchmark) weak: \($0.operation)" }.joined())
    }
    if let hostStates = report.hostStateVerdict {
        print(hostStates.summary)
    }
    let slowerOnAverage = report.scaling.filter { !$0.slowerOnAverage.isEmpty }
    print("By the ratio of mean times (stalls included, noisier): slower in \(slowerOnAverage.count) of "
          + "\(report.scaling.count) tables"
          + slowerOnAverage.map { table in
              "\n  \(table.benchmark) \(table.kind.rawValue): \(table.operation): "
                  + table.points.filter { table.slowerOnAverage.contains($0.threads) }
                      .map { "\($0.threads) threads \(intervalBound($0.meanSpeedup))×" }.joined(separator: ", ")
          }.joined())
    if let control = report.aaControl {
        print(control.summary)
    }
}
