import Weave

/// What one benchmark's pool did, from the scheduler's counters summed over its threads: how
/// much work moved between threads, how often threads slept, and how often they dozed because
/// two of them shared a CPU. It explains a scaling table: a 2-thread row with many dozes ran
/// on one CPU (another process held the other), one with few steals barely used its workers.
struct PoolActivity: Codable, Sendable {
    var benchmark: String
    var threads: Int
    /// Jobs run by a thread that stole them.
    var steals: Int
    /// Times a thread went to sleep on its futex (each costs a wake-up later).
    var parks: Int
    /// Times a thread dozed because a busy peer shared its CPU.
    var dozes: Int
    /// Times a worker moved itself off a CPU a busy peer was on.
    var moves: Int
    /// Times a waiting thread pulled a preempted worker onto its own CPU.
    var pulls: Int
    /// Pool operations (timed calls, training steps) run split, and run on the caller alone
    /// because that measured faster (`--splitting when-faster`).
    var operationsSplit: Int
    var operationsInline: Int
    /// Per operation key: calls each way and the recent cost of each.
    var operations: [OperationSummary]

    init(benchmark: String, pool: ThreadPool) {
        let statistics = pool.statistics
        self.benchmark = benchmark
        threads = pool.threads
        steals = statistics.steals.reduce(0, +)
        parks = statistics.parks.reduce(0, +)
        dozes = statistics.dozes.reduce(0, +)
        moves = statistics.moves.reduce(0, +)
        pulls = statistics.pulls.reduce(0, +)
        (operationsSplit, operationsInline) = pool.operationCounts
        operations = pool.operationSummaries()
    }
}

extension BenchReport {
    /// Records the counters of `pools`, each used by `benchmark` only, since their creation.
    /// With `--trace-operations`, also appends their traced calls to the trace file.
    mutating func recordActivity(of pools: [ThreadPool], benchmark: String) throws {
        let traced = pools.filter { $0.threads > 1 }
        poolActivity += traced.map { PoolActivity(benchmark: benchmark, pool: $0) }
        if let path = operationTrace {
            for pool in traced {
                try OperationTraceFile.append(pool.operationTrace(), benchmark: benchmark, threads: pool.threads,
                                              to: path)
            }
        }
    }
}

/// One line per pool of more than one thread.
func printPoolActivity(_ report: BenchReport) {
    guard !report.poolActivity.isEmpty else { return }
    print("\nPool activity (scheduler counters over each benchmark; dozes mean two of its threads "
          + "shared a CPU, so the kernel had fewer CPUs to give than the pool has threads; moves count a worker "
          + "moving itself off a CPU it shared with a busy peer; pulls count a waiting thread pulling a worker "
          + "preempted on a busy CPU onto its own; "
          + "inline counts timed calls that ran on the calling thread alone because that measured faster):")
    printTable(["benchmark", "threads", "steals", "parks", "dozes", "moves", "pulls", "calls split", "calls inline"],
               report.poolActivity.map {
        [$0.benchmark, "\($0.threads)", "\($0.steals)", "\($0.parks)", "\($0.dozes)", "\($0.moves)", "\($0.pulls)",
         "\($0.operationsSplit)", "\($0.operationsInline)"]
    })
}

/// One line per operation key of each pool: how its calls went, and why (the recent costs).
func printOperations(_ report: BenchReport) {
    let rows = report.poolActivity.flatMap { activity in
        activity.operations.map { operation in
            [activity.benchmark, "\(activity.threads)", operation.key, "\(operation.callsSplit)",
             "\(operation.callsInline)", "\(operation.switches)",
             operation.serial ? "no work to share"
                : operation.splitOverInline.map { String(format: "%.2f", $0) } ?? "–",
             operation.switchedOverBest.map { String(format: "%.2f", $0) } ?? "–"]
        }
    }
    guard !rows.isEmpty else { return }
    print("\nOperations (--splitting when-faster: each key runs split or inline, whichever has been "
          + "faster lately; never: every call inline, untimed; switches count calls made the other way "
          + "from the call before; split/inline "
          + "is the ratio of the two ways' recent costs (median time plus stalls), below 1 when splitting is faster; "
          + "switch/best is the recent median of a call that switched, over the faster way's cost; a key "
          + "whose calls had no work to share (one tile, no fork) runs inline without choosing or timing):")
    printTable(["benchmark", "threads", "operation", "split", "inline", "switches", "split/inline", "switch/best"], rows)
}
