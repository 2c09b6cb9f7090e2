/// How one operation's time changes with the thread count: strong scaling (the same problem
/// on more threads) or weak scaling (the problem grows with the threads).
///
/// Speedup and efficiency are relative to the smallest thread count measured (normally 1):
/// - strong: speedup = t(base) / t(N), efficiency = speedup / (N / base);
/// - weak: efficiency = t(base) / t(N) (1 when the time stays flat while the work grows),
///   speedup = efficiency × N / base (the scaled speedup: work done per second, relative).
/// Either way a speedup below 1 means N threads got less done per second than the base count.
struct ScalingTable: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        case strong, weak
    }

    /// One thread count's row.
    struct Point: Codable, Sendable {
        var threads: Int
        /// The problem at this thread count (weak scaling: it grows with `threads`).
        var shape: String
        /// Time per operation, in the table's `unit`: median, min, max of the repeated runs.
        var time: Sample
        var speedup: Double
        var efficiency: Double
        /// A second run at the base thread count (`--threads 1,1,2`): an A/A control, whose
        /// "speed-up" is how far two identical runs taking turns differ in this run.
        var control: Bool = false
    }

    var kind: Kind
    var benchmark: String
    var operation: String
    var unit: String
    var isa: String
    /// Measured while a CPU-bound competitor held one core (`--contended`).
    var contended: Bool
    var points: [Point]
    /// Thread counts whose speedup over the base count is below 1 (they got less done).
    var slowerThanBase: [Int]
    /// Thread counts whose speedup is below `1 − noiseBand`: slower by more than run-to-run
    /// noise.
    var slowerBeyondNoise: [Int]

    /// How far below 1 a speed-up may fall and still count as "the same". Measured here
    /// (`weave bench train-step --threads 1,1`): two identical 1-thread runs taking turns
    /// differed by 0–5 % (cnn-bn batch 64: 0.600 against 0.571 ms).
    static let noiseBand = 0.05

    /// A table from per-thread-count time samples (any order; one per thread count).
    init(kind: Kind, benchmark: String, operation: String, unit: String, isa: String,
         contended: Bool, measurements: [(threads: Int, shape: String, time: Sample)]) {
        precondition(!measurements.isEmpty, "a scaling table needs at least one measurement")
        self.kind = kind
        self.benchmark = benchmark
        self.operation = operation
        self.unit = unit
        self.isa = isa
        self.contended = contended
        // By thread count, then in the order measured: the first run at the base count is the
        // base, a later one the control.
        let sorted = measurements.enumerated().sorted { ($0.element.threads, $0.offset) < ($1.element.threads, $1.offset) }
            .map(\.element)
        let base = sorted[0]
        points = sorted.enumerated().map { index, m in
            let ratio = base.time.median / m.time.median
            let threadRatio = Double(m.threads) / Double(base.threads)
            var point: Point
            switch kind {
            case .strong:
                point = Point(threads: m.threads, shape: m.shape, time: m.time, speedup: ratio,
                              efficiency: ratio / threadRatio)
            case .weak:
                point = Point(threads: m.threads, shape: m.shape, time: m.time,
                              speedup: ratio * threadRatio, efficiency: ratio)
            }
            point.control = index > 0 && m.threads == base.threads
            return point
        }
        slowerThanBase = points.filter { $0.threads > base.threads && $0.speedup < 1 }.map(\.threads)
        slowerBeyondNoise = points.filter { $0.threads > base.threads && $0.speedup < 1 - Self.noiseBand }
            .map(\.threads)
    }

    /// The base thread count (the smallest measured).
    var baseThreads: Int { points[0].threads }

    /// The base's time over the A/A control's, when the sweep ran the base count twice.
    var controlRatio: Double? { points.first { $0.control }?.speedup }
}

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

    init?(_ scaling: [ScalingTable]) {
        let ratios = scaling.compactMap(\.controlRatio)
        guard let lowest = ratios.min(), let highest = ratios.max() else { return nil }
        tables = ratios.count
        self.lowest = lowest
        self.highest = highest
        below = scaling.flatMap { table in
            table.points.filter { !$0.control && $0.threads > table.baseThreads && $0.speedup < lowest }
                .map { Below(benchmark: table.benchmark, kind: table.kind, operation: table.operation,
                             threads: $0.threads, speedup: $0.speedup) }
        }
    }

    var summary: String {
        var text = "A/A control: a second base-count pool, taking turns with the first, measured "
            + String(format: "%.2f–%.2f×", lowest, highest) + " of it over \(tables) tables (noise in this run); "
            + "more threads fell below the lowest A/A ratio in \(below.count)"
        for entry in below {
            text += "\n  \(entry.benchmark) \(entry.kind.rawValue): \(entry.operation): \(entry.threads) threads "
                + String(format: "%.2f×", entry.speedup)
        }
        return text
    }
}

/// Collects per-thread-count time samples of several operations as a benchmark's loops produce
/// them (in any nesting order), then turns each operation's list into a `ScalingTable`.
struct ScalingCollector {
    private struct Key: Hashable {
        var kind: ScalingTable.Kind
        var operation: String
    }

    let benchmark: String
    let unit: String
    let isa: String
    private var order: [Key] = []
    private var measurements: [Key: [(threads: Int, shape: String, time: Sample)]] = [:]

    init(benchmark: String, unit: String = "ms", isa: String) {
        self.benchmark = benchmark
        self.unit = unit
        self.isa = isa
    }

    /// Records `operation`'s time at `threads` on `shape` (in the collector's unit).
    mutating func add(_ kind: ScalingTable.Kind, operation: String, threads: Int, shape: String,
                      time: Sample) {
        let key = Key(kind: kind, operation: operation)
        if measurements[key] == nil { order.append(key) }
        measurements[key, default: []].append((threads, shape, time))
    }

    /// One table per operation measured at two thread counts or more, in the order first seen.
    func tables(contended: Bool) -> [ScalingTable] {
        order.compactMap { key in
            guard let list = measurements[key], Set(list.map(\.threads)).count > 1 else { return nil }
            return ScalingTable(kind: key.kind, benchmark: benchmark, operation: key.operation,
                                unit: unit, isa: isa, contended: contended, measurements: list)
        }
    }
}

extension BenchReport {
    /// Builds the collector's tables, prints them, and adds them to the report.
    mutating func addScaling(_ collector: ScalingCollector) {
        let tables = collector.tables(contended: contended)
        guard !tables.isEmpty else { return }
        scaling += tables
        printScalingTables(tables)
    }
}

/// Prints strong then weak scaling tables: time, speedup and parallel efficiency per thread count.
func printScalingTables(_ tables: [ScalingTable]) {
    for kind in [ScalingTable.Kind.strong, .weak] {
        let selected = tables.filter { $0.kind == kind }
        guard let first = selected.first else { continue }
        let what = kind == .strong ? "same problem on more threads"
            : "problem grows with the threads; speed-up = scaled (work per second)"
        print("\n\(kind == .strong ? "Strong" : "Weak") scaling, \(first.benchmark)"
              + (first.contended ? ", CONTENDED (a busy loop holds one core)" : "")
              + " (\(what)): \(first.unit) median [min–max]")
        var rows: [[String]] = []
        for table in selected {
            for point in table.points {
                rows.append([table.operation, point.shape, "\(point.threads)" + (point.control ? " (A/A)" : ""),
                             cell(point.time),
                             String(format: "%.2f×", point.speedup),
                             String(format: "%.0f%%", point.efficiency * 100)
                             + (table.slowerThanBase.contains(point.threads) ? "  SLOWER than \(table.baseThreads)" : "")])
            }
        }
        printTable(["operation", "shape", "threads", first.unit, "speed-up", "efficiency"], rows)
    }
}
