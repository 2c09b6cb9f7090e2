import Glibc

/// The pool-wide average time a split call loses waiting for a stalled thread, which a key's
/// chooser counts in place of the stall-free calls it assumes before it has its own evidence
/// (`RecentTimes.cost(poolWait:)`).
///
/// Why pool-wide (session 13): with a busy process on a worker's CPU, a split call now and
/// then waits a scheduler tick of the busy process (~4 ms here) for the preempted worker. On
/// the 2.5 µs SGEMM 256×48·48×24 one such wait is 1600 calls' worth of running inline, 8% of
/// a 20 000-call benchmark key: a key that has to meet one before it knows has already lost
/// the benchmark, and with its own evidence alone it ran at 0.78–0.85× of one thread in 3 of
/// 5 rounds.
/// The risk is the pool's (the worker's CPU is busy), so the keys learn it together: a new key
/// starts from what the keys before it lost, and its own calls take over as they come.
///
/// Not a floor on every key: traced per key in one run, the waits grew with the op's size
/// (none in 19 000 split calls of a 3 µs SGEMM 64³, one in ~1000 of 25 µs ones, one in ~130 of
/// 90 µs ones), so a pool-wide figure over-prices some keys, and a key's own calls without a
/// wait must be able to outweigh it.
///
/// The figure is a ratio of two sums that fade with wall-clock time (a half-life of 1 s):
/// each split call's wait beyond its usual wait, capped at `cap`, over the split calls plus
/// `prior` calls assumed stall-free (4096; both figures are `SplitTuning`'s). Under steady
/// contention the sums hold thousands of calls and the ratio is the mean (5.5 µs in that
/// run); one hold-up of the host in a quiet run
/// counts `cap / prior` per call at most (1 µs), and fades. When every small key has gone
/// inline, their trials alone feed it; within seconds the prior takes over, and they try
/// splitting again.
struct PoolWaits {
    /// The longest a wait counts, in seconds: a tick of the busy process, the wait seen under
    /// contention here; a 16 ms hold-up of the host counts as 4 ms.
    static let cap = 0.004
    /// Stall-free calls assumed (`SplitTuning.poolPrior`, 4096 in every pool).
    private let prior: Double
    /// The sums are faded at most once per half-life / `fadeSteps` (an `exp2` per call would
    /// cost more than the rest of the bookkeeping).
    static let fadeSteps = 64.0

    private let capTicks: Double
    private let halfLifeTicks: Double
    private let fadeInterval: UInt64
    private var waits = 0.0
    private var calls = 0.0
    private var lastFade: UInt64?
    /// The average wait per split call, in ticks: `waits / (calls + prior)`.
    private(set) var perCall: UInt64 = 0

    /// `tuning.poolHalfLife` is the seconds over which the evidence halves (1 in every pool).
    init(ticksPerSecond: Double = TickRate.perSecond, tuning: SplitTuning = .standard) {
        prior = tuning.poolPrior
        capTicks = Self.cap * ticksPerSecond
        halfLifeTicks = tuning.poolHalfLife * ticksPerSecond
        fadeInterval = UInt64(halfLifeTicks / Self.fadeSteps)
    }

    /// Adds one split call that waited `stall` ticks beyond its usual wait (0 for most calls)
    /// and ended at tick `now`, if the call was timed: the sums fade at timed calls only (one
    /// steady call in four, and every trial), so an untimed call does not read the clock.
    ///
    /// `perCall` is worked out again after a stall and at timed calls, not after every call: an
    /// untimed call without a stall moves it by less than 1 part in `prior`, and the division
    /// was a tenth of an empty operation's bookkeeping (session 18).
    mutating func add(stall: UInt64, now: UInt64?) {
        if let now {
            fade(now: now)
        } else if stall == 0 {
            calls += 1
            return
        }
        waits += min(Double(stall), capTicks)
        calls += 1
        perCall = UInt64(waits / (calls + prior))
    }

    private mutating func fade(now: UInt64) {
        guard let lastFade else {
            lastFade = now
            return
        }
        let elapsed = now &- lastFade
        guard elapsed >= fadeInterval && elapsed < UInt64.max / 2 else { return }
        let factor = exp2(-Double(elapsed) / halfLifeTicks)
        waits *= factor
        calls *= factor
        self.lastFade = now
    }
}
