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
    try body(&report)
    if let path = options.json {
        try report.write(to: path)
        print("wrote \(path)")
    }
}
