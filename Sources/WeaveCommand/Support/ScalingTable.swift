/// How one operation's time changes with the thread count: strong scaling (the same problem
/// on more threads) or weak scaling (the problem grows with the threads).
///
/// Speedup and efficiency are relative to the smallest thread count measured (normally 1):
/// - strong: speedup = t(base) / t(N), efficiency = speedup / (N / base);
/// - weak: efficiency = t(base) / t(N) (1 when the time stays flat while the work grows),
///   speedup = efficiency × N / base (the scaled speedup: work done per second, relative).
/// Either way a speedup below 1 means N threads got less done per second than the base count.
///
/// The benchmarks time their thread counts in rounds, one batch each, back to back
/// (`measureInterleaved`). Each round then gives one ratio t(base)/t(N) measured under the same
/// conditions, and the speedup quoted is the median of those per-round ratios, with a
/// distribution-free confidence interval (`MedianInterval`). Samples that cannot be paired
/// (different counts) fall back to the ratio of the medians, without an interval.
///
/// A weak table's speed-up mixes two things: what more threads do, and what a bigger problem
/// costs per unit of work on its own (a working set past a cache). So the weak benchmarks also
/// time the base count on every larger problem in the same rounds (`WeakScalingRuns`), and
/// each such point carries `SameProblem`: more threads against the base count on the same
/// work. Scaled speed-up = same-problem speed-up ÷ the base count's cost growth.
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
        /// Where the median per-round speedup lies, with its confidence; nil when the samples
        /// could not be paired.
        var speedupInterval: MedianInterval?
        /// The same ratio from the mean times: what a long run gets, rare long stalls included.
        /// A median ignores a round that met one; when stalls are part of what more threads
        /// cost (a worker preempted by another process), this is the lower, truer figure, and
        /// when they come from the host alone it is only noisier.
        var meanSpeedup: Double
        var efficiency: Double
        /// A second run at the base thread count (`--threads 1,1,2`): an A/A control, whose
        /// "speed-up" is how far two identical runs taking turns differ in this run.
        var control: Bool = false
        /// Weak scaling above the base count, when the base count was also timed on this
        /// point's problem.
        var sameProblem: SameProblem?
        /// The per-round speed-ups split by the round trip read after each round, when it was
        /// (every point but the base).
        var byHostState: HostStateSpeedups?
    }

    /// A weak-scaling point against the base thread count on the same (grown) problem.
    struct SameProblem: Codable, Sendable {
        /// The base count's time on this point's problem.
        var baseTime: Sample
        /// t(base count, this problem) / t(N, this problem), paired by round like `speedup`:
        /// whether the threads themselves gain or lose on this much work.
        var speedup: Double
        var speedupInterval: MedianInterval?
        /// The base count's time per unit of work on this problem over its time per unit of
        /// work on the base problem (median of the per-round ratios). Above 1 the bigger
        /// problem is slower per unit of work whatever the threads: the scaled speed-up is
        /// `speedup / costGrowth`.
        var costGrowth: Double
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
    /// Thread counts slower than the base count by more than this run's noise: the whole
    /// confidence interval of their speedup is below 1; without an interval of at least
    /// `verdictConfidence` (unpaired samples, fewer than 5 rounds), a speedup below
    /// `1 − noiseBand`.
    var slowerBeyondNoise: [Int]
    /// Thread counts whose ratio of mean times is below 1 (`Point.meanSpeedup`).
    var slowerOnAverage: [Int]
    /// Weak scaling: thread counts slower than the base count on their own problem
    /// (`SameProblem.speedup` below 1), and of those, the ones beyond noise (same rule as
    /// `slowerBeyondNoise`).
    var slowerOnSameProblem: [Int] = []
    var slowerOnSameProblemBeyondNoise: [Int] = []
    /// The cache-line round trip (ns) read after each of the rounds that timed this table's
    /// points (`Sample.roundTrips`), values in round order, so value r goes with the points'
    /// value r; nil when it was not read (one CPU, or samples not timed in rounds). It says
    /// which host state the table met: on the development VM ~90–120 ns with both vCPUs on one
    /// L3 and ~320–480 ns on two, where small ops on 2 threads run up to twice as slowly.
    var roundTrip: Sample?

    /// The confidence an interval needs before its being below 1 counts (5 rounds give 93.75 %).
    static let verdictConfidence = 0.9

    /// Without an interval: how far below 1 a speed-up may fall and still count
    /// as "the same". Measured here (`weave bench train-step --threads 1,1`): two identical
    /// 1-thread runs taking turns differed by 0–5 % (cnn-bn batch 64: 0.600 against 0.571 ms).
    static let noiseBand = 0.05

    /// A table from per-thread-count time samples (any order; one per thread count), and for
    /// weak scaling the base count's times on larger problems (`references`, by shape).
    init(kind: Kind, benchmark: String, operation: String, unit: String, isa: String,
         contended: Bool, measurements: [(threads: Int, shape: String, time: Sample)],
         references: [(shape: String, time: Sample)] = []) {
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
        let readings = measurements.lazy.compactMap(\.time.roundTrips).first
        points = sorted.enumerated().map { index, m in
            let threadRatio = Double(m.threads) / Double(base.threads)
            // Strong: t(base)/t(N); weak: the same ratio scaled by the work, N/base.
            let scale = kind == .strong ? 1 : threadRatio
            let (speedup, interval) = Self.speedup(base.time, over: m.time, scale: scale)
            let meanSpeedup = Self.mean(base.time.values) / Self.mean(m.time.values) * scale
            var point = Point(threads: m.threads, shape: m.shape, time: m.time, speedup: speedup,
                              speedupInterval: interval, meanSpeedup: meanSpeedup,
                              efficiency: speedup / threadRatio, control: index > 0 && m.threads == base.threads)
            if index > 0, let readings, let ratios = Self.roundRatios(base.time, over: m.time, scale: scale) {
                point.byHostState = HostStateSpeedups(ratios: ratios, roundTrips: readings)
            }
            if kind == .weak, m.threads > base.threads,
               let reference = references.first(where: { $0.shape == m.shape }) {
                let (sameSpeedup, sameInterval) = Self.speedup(reference.time, over: m.time, scale: 1)
                // Per unit of work: the reference did threadRatio times the base's work.
                let growth = Self.speedup(reference.time, over: base.time, scale: 1 / threadRatio).speedup
                point.sameProblem = SameProblem(baseTime: reference.time, speedup: sameSpeedup,
                                                speedupInterval: sameInterval, costGrowth: growth)
            }
            return point
        }
        roundTrip = readings.map(Sample.init)
        let more = points.filter { $0.threads > base.threads }
        slowerThanBase = more.filter { $0.speedup < 1 }.map(\.threads)
        slowerBeyondNoise = more.filter { Self.isBeyondNoise($0.speedup, $0.speedupInterval) }.map(\.threads)
        slowerOnAverage = more.filter { $0.meanSpeedup < 1 }.map(\.threads)
        let same = more.compactMap { point in point.sameProblem.map { (point.threads, $0) } }
        slowerOnSameProblem = same.filter { $0.1.speedup < 1 }.map(\.0)
        slowerOnSameProblemBeyondNoise = same.filter { Self.isBeyondNoise($0.1.speedup, $0.1.speedupInterval) }
            .map(\.0)
    }

    /// `numerator`'s times over `denominator`'s, times `scale`: the median of the per-round
    /// ratios with its interval when the samples pair up, else the ratio of the medians.
    private static func speedup(_ numerator: Sample, over denominator: Sample,
                                scale: Double) -> (speedup: Double, interval: MedianInterval?) {
        guard let ratios = roundRatios(numerator, over: denominator, scale: scale) else {
            return (numerator.median / denominator.median * scale, nil)
        }
        return (Sample(ratios).median, MedianInterval(ratios))
    }

    /// The per-round ratios of `numerator`'s times over `denominator`'s, times `scale`; nil
    /// when the samples do not pair up (different counts, or fewer than 2 rounds).
    private static func roundRatios(_ numerator: Sample, over denominator: Sample, scale: Double) -> [Double]? {
        guard numerator.values.count == denominator.values.count, denominator.values.count >= 2 else { return nil }
        return zip(numerator.values, denominator.values).map { $0 / $1 * scale }
    }

    /// Whether a speed-up is below 1 beyond this run's noise: its whole interval, when it has
    /// one of at least `verdictConfidence`; else by more than `noiseBand`.
    private static func isBeyondNoise(_ speedup: Double, _ interval: MedianInterval?) -> Bool {
        guard let interval, interval.confidence >= verdictConfidence else { return speedup < 1 - noiseBand }
        return interval.isBelow(1)
    }

    private static func mean(_ values: [Double]) -> Double {
        values.reduce(0, +) / Double(max(values.count, 1))
    }

    /// The base thread count (the smallest measured).
    var baseThreads: Int { points[0].threads }

    /// The A/A control's point, when the sweep ran the base count twice.
    var control: Point? { points.first { $0.control } }

    /// The base's time over the A/A control's, when the sweep ran the base count twice.
    var controlRatio: Double? { control?.speedup }

    /// "0.99× [0.97–1.01]", with " (beyond noise)" when flagged: `point` against the base count
    /// on its own problem; nil without a same-problem reference.
    func sameProblemCell(_ point: Point) -> String? {
        point.sameProblem.map { same in
            speedupCell(same.speedup, same.speedupInterval)
                + (slowerOnSameProblemBeyondNoise.contains(point.threads) ? " (beyond noise)" : "")
        }
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
    private var references: [Key: [(shape: String, time: Sample)]] = [:]

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

    /// Records a weak-scaling run of `operation` that is a reference, not a point: the base
    /// thread count on the problem of a larger count (`WeakScalingRuns`).
    mutating func addReference(operation: String, shape: String, time: Sample) {
        references[Key(kind: .weak, operation: operation), default: []].append((shape, time))
    }

    /// Records each of `runs`' times (`times[i]` is `runs.runs[i]`'s) as a weak-scaling point
    /// or reference of `operation`.
    mutating func addWeak(_ runs: WeakScalingRuns, operation: String, times: [Sample],
                          shape: (Int) -> String) {
        for (run, time) in zip(runs.runs, times) {
            if run.isReference {
                addReference(operation: operation, shape: shape(run.factor), time: time)
            } else {
                add(.weak, operation: operation, threads: run.pool.threads, shape: shape(run.factor), time: time)
            }
        }
    }

    /// One table per operation measured at two thread counts or more, in the order first seen.
    func tables(contended: Bool) -> [ScalingTable] {
        order.compactMap { key in
            guard let list = measurements[key], Set(list.map(\.threads)).count > 1 else { return nil }
            return ScalingTable(kind: key.kind, benchmark: benchmark, operation: key.operation,
                                unit: unit, isa: isa, contended: contended, measurements: list,
                                references: references[key] ?? [])
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

/// Prints strong then weak scaling tables: time, speedup (with its interval) and parallel
/// efficiency per thread count.
func printScalingTables(_ tables: [ScalingTable]) {
    for kind in [ScalingTable.Kind.strong, .weak] {
        let selected = tables.filter { $0.kind == kind }
        guard let first = selected.first else { continue }
        let what = kind == .strong ? "same problem on more threads"
            : "problem grows with the threads; speed-up = scaled (work per second)"
        print("\n\(kind == .strong ? "Strong" : "Weak") scaling, \(first.benchmark)"
              + (first.contended ? ", CONTENDED (a busy loop holds one core)" : "")
              + " (\(what)): \(first.unit) median [min–max]; " + speedupLegend(selected))
        // Weak tables also compare each count with the base count on its own problem.
        let sameProblem = selected.contains { $0.points.contains { $0.sameProblem != nil } }
        let roundTrips = selected.contains { $0.roundTrip != nil }
        var rows: [[String]] = []
        for table in selected {
            for (index, point) in table.points.enumerated() {
                var row = [table.operation, point.shape, "\(point.threads)" + (point.control ? " (A/A)" : ""),
                           cell(point.time), speedupCell(point), intervalBound(point.meanSpeedup) + "×",
                           String(format: "%.0f%%", point.efficiency * 100)
                           + (table.slowerThanBase.contains(point.threads) ? "  SLOWER than \(table.baseThreads)" : "")
                           + (table.slowerBeyondNoise.contains(point.threads) ? " (beyond noise)" : "")]
                if sameProblem {
                    row += point.sameProblem.map { same in
                        [table.sameProblemCell(point) ?? "–", intervalBound(same.costGrowth) + "×"]
                    } ?? ["–", "–"]
                }
                if roundTrips {
                    row.append(index == 0 ? table.roundTrip.map(cell) ?? "–" : "")
                    row.append(point.byHostState?.cell ?? "")
                }
                rows.append(row)
            }
        }
        printTable(["operation", "shape", "threads", first.unit, "speed-up [interval]", "of means",
                    "efficiency"] + (sameProblem ? ["vs base on same problem", "base's cost growth"] : [])
                   + (roundTrips ? ["round trip ns", "by round trip: near · far (rounds)"] : []), rows)
        if sameProblem {
            print("vs base on same problem: the base thread count timed on this row's problem in the same "
                  + "rounds, over this row (below 1: the threads lose); base's cost growth: that time per "
                  + "unit of work over the base problem's (above 1: the bigger problem is slower per unit "
                  + "of work on its own). Scaled speed-up = the first ÷ the second.")
        }
        if roundTrips {
            let far = String(Int(HostStateSpeedups.farRoundTrip))
            print("round trip ns: the cache-line round trip between the first two CPUs, read after each "
                  + "round of the table (fastest of 8 short batches), median [min–max]; by round trip: the "
                  + "median per-round speed-up over the rounds that read below \(far) ns (near: one L3 or "
                  + "socket) and over the rest (far); see the note at the end.")
        }
    }
}

/// "1.72× [1.65–1.80]", or "1.72×" without an interval (0.998×, not 1.00×, for a ratio that
/// counts as slower).
func speedupCell(_ point: ScalingTable.Point) -> String {
    speedupCell(point.speedup, point.speedupInterval)
}

func speedupCell(_ speedup: Double, _ interval: MedianInterval?) -> String {
    var text = intervalBound(speedup) + "×"
    if let interval {
        text += " [\(intervalBound(interval.low))–\(intervalBound(interval.high))]"
    }
    return text
}

/// Two decimals, or three where two would round across 1 (0.998 is not 1.00).
func intervalBound(_ value: Double) -> String {
    let text = String(format: "%.2f", value)
    return text == "1.00" && value != 1 ? String(format: "%.3f", value) : text
}

/// What the speed-up column means, with the confidences its intervals have.
func speedupLegend(_ tables: [ScalingTable]) -> String {
    let levels = Set(tables.flatMap { $0.points.compactMap { $0.speedupInterval?.confidence } })
        .sorted().map { String(format: "%.1f%%", $0 * 100) }
    guard !levels.isEmpty else { return "speed-up = ratio of the medians" }
    return "speed-up = median of the per-round ratios (rounds time every thread count back to back) "
        + "[an interval holding the true median with \(levels.joined(separator: " or ")) confidence]; "
        + "of means = the ratio of the mean times (stalls included)"
}
