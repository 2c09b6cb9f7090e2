import Weave

/// The runs of one weak-scaling measurement: every pool on its share of the work (the problem
/// grown by its thread count), and the base pool (the fewest threads) on each larger problem
/// as well, the same-problem references of `ScalingTable.SameProblem`. All of them are timed
/// in the same rounds, so each reference pairs with its point as the base does.
///
/// Without the references a weak speed-up below 1 could be the threads' fault or the bigger
/// problem's: BatchNorm on twice the batch, 26 MB instead of 13, takes more than twice as long
/// on one thread too.
struct WeakScalingRuns {
    struct Run {
        /// How many times the base problem this run works on (its pool's thread count for the
        /// points, and the larger count's for a reference).
        var factor: Int
        var pool: ThreadPool
        var isReference: Bool
    }

    let runs: [Run]

    /// The points in `pools`' order, then one reference per thread count above the base's,
    /// ascending.
    init(pools: [ThreadPool]) {
        precondition(!pools.isEmpty, "weak scaling needs a pool")
        let base = pools.min { $0.threads < $1.threads }!
        let larger = Set(pools.map(\.threads)).filter { $0 > base.threads }.sorted()
        runs = pools.map { Run(factor: $0.threads, pool: $0, isReference: false) }
            + larger.map { Run(factor: $0, pool: base, isReference: true) }
    }
}
