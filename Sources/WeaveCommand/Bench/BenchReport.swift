import Foundation

/// One measured figure: what, on what, how many threads, by whom, and the repeated values.
struct BenchFigure: Codable, Sendable {
    var benchmark: String
    var metric: String
    var unit: String
    var threads: Int
    var implementation: String
    var shape: String?
    var isa: String?
    var sample: Sample
    var note: String?
}

/// Everything one `weave bench` run measured, with the machine it ran on.
struct BenchReport: Codable, Sendable {
    var version = 2
    var date: String
    var command: String
    var machine: Machine
    /// The FMA peak of one core, measured in this run (by the gemm and conv benchmarks).
    var fmaPeakGFLOPSPerCore: Double?
    /// The copy bandwidth measured in this run, by thread count ("1", "2", …), in GB/s.
    var copyBandwidthGBPerSecond: [String: Sample] = [:]
    /// Whether a CPU-bound competitor held one core during the run (`--contended`).
    var contended = false
    /// The competitor, when contended: what it runs and on which CPU.
    var competitor: String?
    var figures: [BenchFigure] = []
    /// Strong and weak scaling tables built from the figures' samples.
    var scaling: [ScalingTable] = []
    /// The scheduler counters of each benchmark's pools.
    var poolActivity: [PoolActivity] = []
    /// The cache-line round trip between the first two CPUs (ns), measured before and after
    /// the benchmarks (`CoreToCoreLatency`): on a VM it changes when the host moves the vCPUs,
    /// and with it what 2 threads gain on small ops.
    var cacheLineRoundTrip: [String: Sample] = [:]
    /// The A/A control over `scaling`, when the sweep ran the base thread count twice.
    var aaControl: AAControl?
    /// The verdict over each host state's rounds, when the round trip was read between rounds.
    var hostStateVerdict: HostStateVerdict?
    /// What the CPUs did over the whole run: this process, the busy loop, other processes,
    /// steal (nil where /proc/stat cannot be read).
    var machineLoad: MachineLoad?
    /// `--trace-operations`: the CSV file every pool's calls were written to.
    var operationTrace: String?

    init(command: String) {
        self.command = command
        date = ISO8601DateFormatter().string(from: Date())
        machine = Machine.current()
    }

    /// Records the copy bandwidth measured at `threads` (the last measurement wins).
    mutating func recordCopyBandwidth(_ sample: Sample, threads: Int) {
        copyBandwidthGBPerSecond["\(threads)"] = sample
    }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Formats a number with a sensible number of digits for a table.
func formatted(_ value: Double) -> String {
    if value == 0 { return "0" }
    let magnitude = abs(value)
    if magnitude >= 1000 { return String(format: "%.0f", value) }
    if magnitude >= 100 { return String(format: "%.1f", value) }
    if magnitude >= 1 { return String(format: "%.2f", value) }
    return String(format: "%.3f", value)
}

/// Prints rows as a left-aligned text table.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }
    print(line(header))
    print(line(widths.map { String(repeating: "-", count: $0) }))
    for row in rows { print(line(row)) }
}
