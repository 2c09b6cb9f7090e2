/// What a sweep that runs the base thread count twice (`--threads 1,1,2`) says about noise:
/// the spread of the A/A ratios over every table, and the speed-ups below the lowest of them.
/// If N threads were exactly as fast as the base, their ratios would spread like the A/A ones.
/// Written to the JSON, where `tools/perf-report` reads it.
struct AAControl: Codable, Sendable {
    /// A speed-up below the lowest A/A ratio.
    struct Below: Codable, Sendable {
        var benchmark: String
        var kind: ScalingTable.Kind
        var operation: String
        var threads: Int
        var speedup: Double
    }

    var tables: Int
    var lowest: Double
    var highest: Double
    var below: [Below]
    /// Of the A/A ratios with a confidence interval, how many intervals held 1 — what they
    /// should do at their confidence (two identical runs have the same median), so this checks
    /// the intervals that the verdict relies on.
    var intervals: Int
    var intervalsHoldingOne: Int
    /// How many should hold 1 on average: the sum of their confidences.
    var expectedHoldingOne: Double
    /// The A/A ratios of mean times, lowest and highest: how noisy `Point.meanSpeedup` is.
    var meanLowest: Double
    var meanHighest: Double

    init?(_ scaling: [ScalingTable]) {
        let controls = scaling.compactMap(\.control)
        let ratios = controls.map(\.speedup)
        guard let lowest = ratios.min(), let highest = ratios.max() else { return nil }
        tables = ratios.count
        self.lowest = lowest
        self.highest = highest
        below = scaling.flatMap { table in
            table.points.filter { !$0.control && $0.threads > table.baseThreads && $0.speedup < lowest }
                .map { Below(benchmark: table.benchmark, kind: table.kind, operation: table.operation,
                             threads: $0.threads, speedup: $0.speedup) }
        }
        let controlIntervals = controls.compactMap(\.speedupInterval)
        intervals = controlIntervals.count
        intervalsHoldingOne = controlIntervals.filter { $0.contains(1) }.count
        expectedHoldingOne = controlIntervals.reduce(0) { $0 + $1.confidence }
        meanLowest = controls.map(\.meanSpeedup).min() ?? 1
        meanHighest = controls.map(\.meanSpeedup).max() ?? 1
    }

    var summary: String {
        var text = "A/A control: a second base-count pool, taking turns with the first, measured "
            + String(format: "%.2f–%.2f×", lowest, highest) + " of it over \(tables) tables (noise in this run); "
            + "more threads fell below the lowest A/A ratio in \(below.count)"
        if intervals > 0 {
            text += "; the A/A confidence intervals held 1× in \(intervalsHoldingOne) of \(intervals) "
                + String(format: "(%.0f expected at their confidences)", expectedHoldingOne)
        }
        text += String(format: "; A/A ratios of mean times %.2f–%.2f×", meanLowest, meanHighest)
        for entry in below {
            text += "\n  \(entry.benchmark) \(entry.kind.rawValue): \(entry.operation): \(entry.threads) threads "
                + String(format: "%.2f×", entry.speedup)
        }
        return text
    }
}
