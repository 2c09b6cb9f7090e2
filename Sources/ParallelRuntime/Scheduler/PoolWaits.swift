import Glibc

/// The pool-wide average time a split call loses waiting for a stalled thread: what every
/// key's chooser adds to the cost of splitting, at least (`SplitChooser.choose(poolWait:)`).
///
/// Why pool-wide (session 13): with a busy process on a worker's CPU, about one split call in
/// 600 waited a time slice of the busy process (0.9–4 ms) for the preempted worker, whatever
/// the op's size. On a 2.5 µs SGEMM one such wait is 800 calls' worth of running inline, 4% of
/// a 20 000-call benchmark: a key that must see a few of them to learn they are there has lost
/// the benchmark by the time it knows. Every key pays the same risk per call, so the keys learn
/// it together: a 2.5 µs op starts from what the 100 µs ones before it found.
///
/// The estimate is a ratio of two sums that fade with wall-clock time (half-life `halfLife`):
/// the waits beyond each call's usual wait, each capped at `cap`, over the split calls plus
/// `prior` calls assumed stall-free. Under steady contention the sums hold thousands of calls
/// and the ratio is the mean; one hold-up of the host in an otherwise quiet run counts as
/// `cap / prior` per call at most (1 µs), and fades. When every small key has gone inline, only
/// their trials feed it: the evidence fades over seconds, the prior takes over, and splitting
/// is tried again — a few stalls every several seconds while contention lasts.
struct PoolWaits {
    /// The longest a wait counts, in seconds: the busy loop's time slice, the longest wait seen
    /// under contention here; a 16 ms hold-up of the host counts as 4 ms.
    static let cap = 0.004
    static let prior = 4096.0
    /// Seconds over which the evidence halves.
    static let halfLife = 1.0
    /// The sums are faded at most once per `halfLife / fadeSteps` (an `exp2` per call would
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

    init(ticksPerSecond: Double = TickRate.perSecond) {
        capTicks = Self.cap * ticksPerSecond
        halfLifeTicks = Self.halfLife * ticksPerSecond
        fadeInterval = UInt64(halfLifeTicks / Self.fadeSteps)
    }

    /// Adds one split call that ended at tick `now` and waited `stall` ticks beyond its usual
    /// wait (0 for most calls).
    mutating func add(stall: UInt64, now: UInt64) {
        if let lastFade {
            let elapsed = now &- lastFade
            if elapsed >= fadeInterval && elapsed < UInt64.max / 2 {
                let factor = exp2(-Double(elapsed) / halfLifeTicks)
                waits *= factor
                calls *= factor
                self.lastFade = now
            }
        } else {
            lastFade = now
        }
        waits += min(Double(stall), capTicks)
        calls += 1
        perCall = UInt64(waits / (calls + Self.prior))
    }
}
