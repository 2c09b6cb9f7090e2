import ArgumentParser
import CPlatform
import Dispatch
import Foundation
import Synchronization
import Weave

/// `weave bench scheduler`: fork-join latency, per-task overhead, steal rate and idle CPU of the
/// work-stealing pool, each beside `DispatchQueue.concurrentPerform` measured in the same run.
struct SchedulerBenchCommand: BenchSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "scheduler",
        abstract: "Fork-join latency, per-task overhead, steal rate and idle CPU, beside Dispatch.")

    @OptionGroup var options: BenchOptions

    func benchmark(into report: inout BenchReport) throws {
        let counts = try threadSweep(options.threads)
        let bench = SchedulerBenchmark(quick: options.quick)
        if let roundTrip = bench.measureCacheLineRoundTrip() { report.figures.append(roundTrip) }
        for threads in counts {
            report.figures += bench.measurePool(threads: threads)
        }
        report.figures += bench.measureDispatch()
        bench.printSummary(report.figures)
    }
}

struct SchedulerBenchmark {
    let quick: Bool

    var batches: Int { quick ? 15 : 41 }

    /// The hardware floor under any fork-join: two threads bouncing one cache line.
    /// A fork that is stolen needs several such one-way transfers (push → steal → complete).
    func measureCacheLineRoundTrip() -> BenchFigure? {
        guard let cpus = CoreToCoreLatency.defaultCPUs(),
              let sample = CoreToCoreLatency.measure(between: cpus, roundTrips: 20_000,
                                                     batches: quick ? 5 : 11)
        else { return nil }
        return BenchFigure(benchmark: "scheduler", metric: "cache-line round trip between two threads",
                           unit: "ns", threads: 2, implementation: "hardware", sample: sample,
                           note: "CPUs \(cpus.0) and \(cpus.1); the floor under a stolen fork-join (it needs ~2–3 round trips)")
    }

    /// All figures for a pool of `threads`.
    func measurePool(threads: Int) -> [BenchFigure] {
        let pool = ThreadPool(threads: threads)
        var figures: [BenchFigure] = []
        func figure(_ metric: String, _ unit: String, _ sample: Sample, note: String? = nil) {
            figures.append(BenchFigure(benchmark: "scheduler", metric: metric, unit: unit,
                                       threads: threads, implementation: "weave", sample: sample,
                                       note: note))
        }

        // 1–2. Fork-join latency, empty and with all threads forced to take part.
        let latency = forkJoinLatency(threads: threads, waitSeconds: 0.01) { n, body in
            pool.parallelFor(0..<n) { body($0.lowerBound) }
        }
        figure("fork-join, empty parallelFor over all threads", "µs", latency.empty)
        figure("fork-join, all threads take part", "µs", latency.forced,
               note: latency.misses == 0 ? "every call ran on \(threads) threads at once"
                   : "\(latency.misses) tile waits timed out (threads did not all run)")

        // 3. Per-task overhead: a binary tree of joins, 2^16 leaves, nothing else.
        let leaves = 1 << 16
        let joins = measure(repeats: quick ? 5 : 11) {
            joinTree(pool, depth: 16)
        }.map { $0 / Double(leaves - 1) * 1e9 }
        figure("per-task overhead, join", "ns per join", joins)
        // Steals while the join trees run: how much work actually migrates.
        let trees = quick ? 3 : 9
        let before = pool.statistics
        let start = now()
        for _ in 0..<trees { joinTree(pool, depth: 16) }
        let elapsed = now() - start
        let steals = zip(pool.statistics.steals, before.steals).map { $0 - $1 }.reduce(0, +)
        figure("steal rate during the join tree", "steals/s", Sample([Double(steals) / elapsed]),
               note: "\(steals) steals in \(trees) trees of \(leaves - 1) joins")

        // 4. Per-tile overhead of a fine-grained parallel-for (1M empty tiles).
        let tiles = 1 << 20
        let perTile = measure(repeats: quick ? 5 : 11) {
            pool.parallelFor(0..<tiles, grain: 1) { _ in }
        }.map { $0 / Double(tiles) * 1e9 }
        figure("per-tile overhead, parallelFor grain 1", "ns per tile", perTile)

        // 5. What `operation` adds to each call; a pool of one thread adds nothing. An empty
        // body has no work to share, so its key is serial: the caller lock, the table lookup
        // and the slot's bookkeeping. A body with two (empty) tiles has, so its key chooses:
        // inline, the faster way, plus the choice and a clock read in one call of four.
        let calls = 1 << 18
        let key = OperationKey("bench scheduler empty operation")
        let perOperation = measure(repeats: quick ? 5 : 11) {
            for _ in 0..<calls { pool.operation(key) {} }
        }.map { $0 / Double(calls) * 1e9 }
        figure("per-operation overhead, pool.operation around nothing", "ns per call", perOperation,
               note: threads > 1 ? "no work to share: runs inline without choosing or timing" : nil)
        let choosingKey = OperationKey("bench scheduler two-tile operation")
        let perChoosingOperation = measure(repeats: quick ? 5 : 11) {
            for _ in 0..<calls { pool.operation(choosingKey) { pool.parallelFor(0..<2) { _ in } } }
        }.map { $0 / Double(calls) * 1e9 }
        figure("per-operation overhead, pool.operation around two empty tiles", "ns per call",
               perChoosingOperation, note: threads > 1 ? "chooses split or inline, timing one call in four" : nil)

        // 6. Idle CPU: the process's CPU time over one second in which nobody uses the pool.
        figure("idle pool CPU", "% of one core", Sample([idleCPUPercent()]),
               note: "getrusage(RUSAGE_SELF) over 1 s of sleep after work")
        withExtendedLifetime(pool) {}
        return figures
    }

    /// The same figures for `DispatchQueue.concurrentPerform` (it picks its own thread count).
    func measureDispatch() -> [BenchFigure] {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var figures: [BenchFigure] = []
        func figure(_ metric: String, _ unit: String, _ sample: Sample, note: String? = nil) {
            figures.append(BenchFigure(benchmark: "scheduler", metric: metric, unit: unit,
                                       threads: threads, implementation: "dispatch", sample: sample,
                                       note: note))
        }
        let latency = forkJoinLatency(threads: threads, waitSeconds: 0.001) { n, body in
            DispatchQueue.concurrentPerform(iterations: n, execute: body)
        }
        figure("fork-join, empty parallelFor over all threads", "µs", latency.empty)
        figure("fork-join, all threads take part", "µs", latency.forced,
               note: latency.misses == 0 ? "every call ran on \(threads) threads at once"
                   : "\(latency.misses) of \(latency.calls * threads) iteration waits timed out after 1 ms: "
                     + "those calls ran iterations one after another")

        let tiles = 1 << 20
        let perTile = measure(repeats: quick ? 5 : 11) {
            DispatchQueue.concurrentPerform(iterations: tiles) { _ in }
        }.map { $0 / Double(tiles) * 1e9 }
        figure("per-tile overhead, parallelFor grain 1", "ns per tile", perTile)
        figure("idle pool CPU", "% of one core", Sample([idleCPUPercent()]),
               note: "getrusage(RUSAGE_SELF) over 1 s of sleep after work")
        return figures
    }

    /// Fork-join latency of `forkJoin(n, body)` (which runs `body(0..<n)`, possibly in
    /// parallel) in µs per call: with empty bodies, and with an n-party barrier in the bodies
    /// so that every call really runs on n threads at once. `misses` counts barrier waits that
    /// timed out after `waitSeconds` (iterations that did not run concurrently).
    func forkJoinLatency(threads: Int, waitSeconds: Double,
                         _ forkJoin: (Int, @Sendable (Int) -> Void) -> Void)
        -> (empty: Sample, forced: Sample, misses: Int, calls: Int) {
        let calls = 400
        let empty = measure(repeats: batches, warmup: 3) {
            for _ in 0..<calls { forkJoin(threads) { _ in } }
        }.map { $0 / Double(calls) * 1e6 }
        let barrier = RoundBarrier(parties: threads)
        let forced = measure(repeats: batches, warmup: 3) {
            for _ in 0..<calls {
                let round = barrier.nextRound()
                forkJoin(threads) { _ in
                    if !barrier.arrive(round: round, timeoutSeconds: waitSeconds) { barrier.recordMiss() }
                }
            }
        }.map { $0 / Double(calls) * 1e6 }
        return (empty, forced, barrier.misses, calls * (batches + 3))
    }

    func printSummary(_ figures: [BenchFigure]) {
        let metrics = figures.map(\.metric).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let columns = figures.map { "\($0.implementation) ×\($0.threads)" }
            .reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var rows: [[String]] = []
        for metric in metrics {
            let unit = figures.first { $0.metric == metric }!.unit
            var row = [metric, unit]
            for column in columns {
                if let f = figures.first(where: { $0.metric == metric && "\($0.implementation) ×\($0.threads)" == column }) {
                    row.append(f.sample.count > 1
                               ? "\(formatted(f.sample.median)) [\(formatted(f.sample.min))–\(formatted(f.sample.max))]"
                               : formatted(f.sample.median))
                } else {
                    row.append("")
                }
            }
            rows.append(row)
        }
        print("Scheduler: median [min–max]; weave ×N = pool of N threads (caller + N−1 workers)")
        printTable(["metric", "unit"] + columns, rows)
        for f in figures where f.note != nil {
            print("  \(f.implementation) ×\(f.threads), \(f.metric): \(f.note!)")
        }
    }
}

/// A binary tree of `join`s with 2^depth empty leaves.
private func joinTree(_ pool: ThreadPool, depth: Int) {
    if depth == 0 { return }
    _ = pool.join({ joinTree(pool, depth: depth - 1) }, { joinTree(pool, depth: depth - 1) })
}

/// Process CPU time (all threads) over one second of sleeping, as a percentage of one core.
private func idleCPUPercent() -> Double {
    Thread.sleep(forTimeInterval: 0.2)  // let spinners finish spinning and park
    let cpuBefore = weave_process_rusage_seconds()
    let start = now()
    Thread.sleep(forTimeInterval: 1.0)
    let cpu = weave_process_rusage_seconds() - cpuBefore
    return cpu / (now() - start) * 100
}

/// A barrier reused across calls: round r completes when r·parties arrivals have happened.
private final class RoundBarrier: @unchecked Sendable {
    // Safe because: all shared state is atomic; `round` is touched only by the calling thread.
    let parties: Int
    private let arrivals = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)
    private var round = 0

    init(parties: Int) { self.parties = parties }

    func nextRound() -> Int {
        round += 1
        return round
    }

    /// Arrives for `round` and waits until everyone has; false on timeout.
    func arrive(round: Int, timeoutSeconds: Double) -> Bool {
        arrivals.add(1, ordering: .acquiringAndReleasing)
        let target = round * parties
        if arrivals.load(ordering: .acquiring) >= target { return true }
        let deadline = weave_monotonic_ns() + Int64(timeoutSeconds * 1e9)
        while arrivals.load(ordering: .acquiring) < target {
            if weave_monotonic_ns() > deadline { return false }
            weave_cpu_relax()
        }
        return true
    }

    func recordMiss() { missCount.add(1, ordering: .relaxed) }
    var misses: Int { missCount.load(ordering: .relaxed) }
}
