import ArgumentParser
import Foundation

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
    if options.contended {
        let competitor = try CPUCompetitor(cpu: CPUCompetitor.defaultCPU())
        defer { competitor.stop() }
        report.contended = true
        print("Contended: a \(competitor.description) competes with every figure below")
        try body(&report)
        report.competitor = competitor.summary
        print("\nCompetitor: \(competitor.summary)")
    } else {
        try body(&report)
    }
    printPoolActivity(report)
    printScalingVerdict(report)
    if let path = options.json {
        try report.write(to: path)
        print("wrote \(path)")
    }
}

/// One line per scaling table in which more threads got less done than the base count, and
/// the count of those that did not; under `--contended` this is issue 7's target (never).
func printScalingVerdict(_ report: BenchReport) {
    guard !report.scaling.isEmpty else { return }
    let slower = report.scaling.filter { !$0.slowerThanBase.isEmpty }
    let beyondNoise = report.scaling.filter { !$0.slowerBeyondNoise.isEmpty }
    let condition = report.contended ? "under contention" : "without a competitor"
    print("\nScaling verdict \(condition): more threads were slower than \(report.scaling[0].baseThreads) "
          + "in \(slower.count) of \(report.scaling.count) tables, by more than "
          + String(format: "%.0f%%", ScalingTable.noiseBand * 100) + " in \(beyondNoise.count)")
    for table in slower {
        let worst = table.points.filter { table.slowerThanBase.contains($0.threads) }
            .map { "\($0.threads) threads \(String(format: "%.2f×", $0.speedup))" }
        print("  \(table.benchmark) \(table.kind.rawValue): \(table.operation): \(worst.joined(separator: ", "))")
    }
}
