import Glibc

/// Decides, call by call, whether one operation runs split across the pool or inline on the
/// calling thread alone, from the measured times of its recent calls both ways.
///
/// Why measure instead of a fixed cut-off (PyTorch splits at 32K elements): whether splitting
/// pays depends on things a size cannot see. On this project's 2-vCPU machines the host moves
/// the vCPUs every few seconds between one L3 and two, and the cache-line round trip between
/// them goes from ~120 to ~480 ns; a BatchNorm (64,6,10,10) forward+backward then takes 15 or
/// 30 µs on 2 threads against 22 µs on one. Another process holding a core does the same.
///
/// Policy:
/// - The first call is a warm-up (split, not timed). Then `minimumSamples + 1` calls split
///   and as many inline. The other way from the one learning picked is tried once more
///   `confirmationInterval` calls later, whatever the budget.
/// - After that every call takes the way with the lower cost (`RecentTimes.cost`: the median
///   of its last `window` times plus its tail of stalls; the other way must be `margin` faster
///   to take over, split `splitMargin`: a tie goes to one thread). The other way is tried again
///   for `trialLength` calls in a row, once every `interval` calls: an interval that keeps
///   those trials near `explorationBudget` of the time, switches included (a way twice as slow is
///   tried every 300 calls), but at least `shortestInterval`: two ways within noise of each
///   other would otherwise be tried every few calls.
/// - A trial that loses doubles the shortest interval (up to `longestInterval`), and a change
///   of more than `driftBand` in the steady way's own median brings it back. Two ways within
///   noise of each other cost a switch into the other way and one back per trial whatever the
///   budget: a call after the switch took 1.3× a steady call under contention, and trials
///   every 64 calls cost a 0.1 ms SGEMM 1–2%. When nothing changes, trials thin out to one
///   every `longestInterval` calls; when the steady way's time moves (the vCPUs moved, a
///   competitor came or went), they come back at once.
/// - A trial's first `trialWarmup` calls are not timed as the way's own (the first is timed as
///   a switch, below; the others as `warming`, which prices the trials' interval): after a
///   long run of one way, the other's calls are slow for a few calls. Traced (session 16),
///   split calls 1–3 after 60 or more inline calls took 1.10–1.68× the steady split time on
///   average, calls 4–5 1.04–1.20×, from the 6th on 1.00–1.10×; inline calls 1–3 after split,
///   1.03–1.12×. Trials of 4 calls timed calls 1–3, so they priced the
///   other way up by that much on top of its margin: uncontended, SGEMM 256×48·(24×48)ᵀ split
///   at 2.8 µs against inline at 3.9, but after one spell inline every trial measured split at
///   4.0, and the key stayed inline for the last 4000 of its 20 500 calls.
/// - A split trial also waits for the worker it woke (session 17): from its `trialWarmup + 1`th
///   call on, a call made while a woken worker has not started running yet (`workersArriving`)
///   warms up too, beyond the trial's length (at most `longestArrival` calls). A parked worker
///   took 30–100 µs to start on the other vCPU here, longer than a trial of a 3.6 µs SGEMM, whose
///   trials then timed split at inline's time plus a fork (Scheduler/README.md, "Operations").
///   The last split trial's such calls count in the next one's interval (`interval`).
/// - A call made the other way from the call before it is not timed. Switching has a cost
///   of its own that neither steady state pays: after a run of inline calls the workers have
///   parked (a futex wake-up, tens of µs in a VM) and the data sits in the caller's cache;
///   after split calls, half of it sits in other caches. Timing the switch made splitting
///   look slower than it is in a run of split calls.
///
/// - Steady calls are timed one in `sampledCalls` (`timesCall`): two clock reads and the
///   bookkeeping were a third of an empty operation. Calls while learning, trial calls and
///   the call that switches back after a trial are always timed; a drift of the steady way
///   shows in its median within `sampledCalls · (window + 1) / 2` calls (20) instead of 5.
///
/// Results never depend on the way: the tiles are the same.
struct SplitChooser {
    enum Way: Sendable { case split, inline }

    /// The call after learning, counted from its end, that starts the first trial whatever the
    /// budget: the confirmation. Learning times a key's first calls, which may pay for things
    /// later calls do not (first touches of scratch memory, a worker not yet running, another
    /// process that then stops); without it, a way that looked slow then was tried again only
    /// after 64 calls, 0.7 s of a 1024³ SGEMM run at half speed (session 10).
    static let confirmationInterval = 8
    /// Times a way's median is taken from (5 before session 20). Under contention the worker
    /// is descheduled for a competitor's time slice now and then (~3 ms here), and split calls
    /// in that spell cost what inline ones do, the caller running every tile: traced on a
    /// training step, three timed calls of such a spell made a median of five, inline took
    /// over and kept every call for the 64 calls to the next trial, though split was 12%
    /// faster outside the spells. A spell is no majority of nine. A trial's times are judged
    /// on their own (`RecentTimes.restartWindow`), as the four of them nearly were in five.
    /// Measured in Scheduler/README.md ("A longer window").
    static let window = 9
    static let minimumSamples = 3
    /// Calls of the other way in a trial, the switch included (4 before session 16), of which
    /// the first `trialWarmup` are not timed as the way's own (see above).
    static let trialLength = 8
    static let trialWarmup = 4
    /// The most calls a split trial adds to its warm-up while a worker woken for it has yet to
    /// run (see above): enough for the 30–100 µs of most wake-ups here on ops of 2 µs and up; a worker the host
    /// does not run for longer than that is part of what split costs.
    static let longestArrival = 64
    static let explorationBudget = 0.01
    static let shortestInterval = 64
    static let margin = 0.03
    /// Wider for split than for inline (session 15): with another process on a core, two ways
    /// whose 5-call medians differed by noise traded places every few trials, and each spell
    /// of split calls woke the worker to doze beside the caller. Measured in Scheduler/README.md.
    static let splitMargin = 0.06
    static let longestInterval = 4096
    static let driftBand = 0.10
    static let sampledCalls = 4
    /// The most calls between two workings-out of the budget's interval: a change in the
    /// ways' costs reaches the interval within this many calls.
    static let intervalRecheck = 64

    private var split: RecentTimes
    private var inline: RecentTimes
    /// Calls made the other way from the call before: what a trial costs beyond its ways'
    /// steady times.
    private var switched: RecentTimes
    /// A trial's calls still warming up after its switch (`trialWarmup`): timed, but not as
    /// the way's own; what they cost counts in the trials' interval.
    private var warming: RecentTimes
    /// Whether the call `choose` just chose is one of those.
    private var warmingUp = false
    private var previous: Way?
    /// The way calls take outside trials (nil until learning is over).
    private var current: Way?
    private var trialCallsLeft = 0
    /// Calls of the current or last split trial that warmed up waiting for a woken worker to
    /// arrive, beyond `trialWarmup` (at most `longestArrival`). The last split trial's count
    /// prices the next one (`interval`): inline trials leave it alone.
    private var arrivalCalls = 0
    private var callsSinceTrial = 0
    /// The call (counted like `callsSinceTrial`) before which the budget's interval is not
    /// worked out again.
    private var nextIntervalCheck = 0
    /// The fewest calls between trials now: `shortestInterval`, doubled by each lost trial.
    private var backoff = shortestInterval
    /// Whether the confirmation trial has started (see `confirmationInterval`).
    private var confirmed = false
    /// The steady way's median when `backoff` last changed (0: not yet set).
    private var steadyReference: UInt64 = 0
    /// Steady calls since the last one timed.
    private var untimedCalls = 0
    /// Whether the call `choose` just chose is to be timed (`record`) or not (`skip`).
    private(set) var timesCall = true
    /// The pool-wide wait per split call `choose` was last given.
    private var poolWait: UInt64 = 0
    /// Whether `review` must compare the ways again before the next steady call, and the pool
    /// wait it last compared with. A steady call skips the comparison when neither way's times
    /// have been added to (`record`, `age`) and the pool wait is the same: the comparison was
    /// a fifth of an empty operation (session 18), and 3 steady calls in 4 are not timed. A
    /// wait-free untimed split call (`skip`) only lowers split's cost (its wait tail fades),
    /// which cannot take a steady split call off split; one with a stall asks for a review.
    private var needsReview = true
    private var reviewedPoolWait: UInt64 = 0

    init(tuning: SplitTuning = .standard) {
        split = RecentTimes(tuning: tuning)
        inline = RecentTimes(tuning: tuning)
        switched = RecentTimes(tuning: tuning)
        warming = RecentTimes(tuning: tuning)
    }

    /// The way for the next call; sets `timesCall`. `poolWait` is what a split call of any key
    /// has lately lost waiting for stalled threads, on average (`PoolWaits`): it stands in for
    /// this key's own split waits until the key has evidence of them (`RecentTimes.cost(poolWait:)`).
    ///
    /// `workersArriving` tells whether a worker woken for an earlier call has yet to start
    /// running (`PoolCore.workersArriving`); it is asked only in a split trial, after its
    /// `trialWarmup` calls.
    mutating func choose(poolWait: UInt64 = 0, workersArriving: () -> Bool = { false }) -> Way {
        timesCall = true
        warmingUp = false
        self.poolWait = poolWait
        guard let previous else { return .split }
        if split.count < Self.minimumSamples || inline.count < Self.minimumSamples {
            // Learning: stay with a way until it has its samples, then take the other.
            let previousCount = previous == .split ? split.count : inline.count
            if previousCount < Self.minimumSamples { return previous }
            return previous == .split ? .inline : .split
        }
        // Hysteresis: the other way must be `margin` faster to take over, so two ways within
        // noise of each other do not trade places (each switch costs a call; see `record`).
        // Split must be `splitMargin` faster: a tie goes to one thread.
        let best: Way
        if let steady = current, !needsReview, poolWait == reviewedPoolWait {
            // Nothing that could change the comparison below has happened since it last ran.
            best = steady
        } else {
            best = review()
        }
        let other = opposite(best)
        if trialCallsLeft > 0 {
            // The trial's calls after the switch that are still warming up are timed apart.
            let position = Self.trialLength - trialCallsLeft
            warmingUp = position < Self.trialWarmup
            if !warmingUp && other == .split && arrivalCalls < Self.longestArrival && workersArriving() {
                // A worker woken for the trial is not running yet: this call warms up too, on
                // top of the trial's timed calls.
                arrivalCalls += 1
                warmingUp = true
                return other
            }
            trialCallsLeft -= 1
            if trialCallsLeft == 0 {
                // The trial's last call: it did not win (a win ends the trial above).
                backoff = min(2 * backoff, Self.longestInterval)
                steadyReference = times(best).median
            }
            return other
        }
        callsSinceTrial += 1
        // The interval is at least `backoff`, so the budget's interval (floating point) is
        // only worked out once that many calls have passed, and then again only at the call it
        // names or `intervalRecheck` calls later, whichever is first: worked out on every call
        // past `backoff`, its division was a quarter of the choice (`perf`, session 23). The
        // confirmation ignores all of these.
        if callsSinceTrial >= (confirmed ? max(backoff, nextIntervalCheck) : Self.confirmationInterval) {
            let fast = cost(best)
            let slow = max(fast, cost(other))
            let switchTime = switched.count > 0 ? switched.median : fast
            let warmingTime = warming.count > 0 ? warming.median : slow
            let interval = Self.interval(best: fast, other: slow, switched: switchTime, warming: warmingTime,
                                         arrivals: other == .split ? arrivalCalls : 0)
            nextIntervalCheck = min(interval, callsSinceTrial + Self.intervalRecheck)
            if !confirmed || callsSinceTrial >= interval {
                confirmed = true
                // The other way's stalls were last sampled before these calls: let them fade
                // (a competitor that made its calls stall may have gone).
                needsReview = true
                // And its times: a trial is judged on its own calls alone.
                if other == .split {
                    split.age(calls: callsSinceTrial)
                    split.restartWindow()
                } else {
                    inline.age(calls: callsSinceTrial)
                    inline.restartWindow()
                }
                callsSinceTrial = 0
                nextIntervalCheck = 0
                trialCallsLeft = Self.trialLength - 1
                if other == .split { arrivalCalls = 0 }
                return other
            }
        }
        if previous == best {
            untimedCalls += 1
            if untimedCalls < Self.sampledCalls {
                timesCall = false
            } else {
                untimedCalls = 0
            }
        }
        return best
    }

    /// Compares the ways' costs (hysteresis, a trial that won) and the steady way's median
    /// with its reference (drift); returns the steady way, now `current`.
    private mutating func review() -> Way {
        needsReview = false
        reviewedPoolWait = poolWait
        // Hysteresis: the other way must be `margin` faster to take over, so two ways within
        // noise of each other do not trade places (each switch costs a call; see `record`).
        // Split must be `splitMargin` faster: a tie goes to one thread.
        var best = current ?? (takesOver(.split, from: .inline) ? .split : .inline)
        if takesOver(opposite(best), from: best) {
            best = opposite(best)
            // A trial that won is over: its way is now the steady one, and the next trial comes
            // as soon as the budget allows.
            trialCallsLeft = 0
            callsSinceTrial = 0
            resetBackoff(steady: times(best).median)
        } else {
            // Drift is judged on the median, not the cost: one stall moves the tail a little,
            // and should not bring trials back.
            let steady = times(best).median
            if Double(steady) > Double(steadyReference) * (1 + Self.driftBand)
                || Double(steady) < Double(steadyReference) * (1 - Self.driftBand) {
                resetBackoff(steady: steady)
            }
        }
        current = best
        return best
    }

    @inline(__always)
    private func times(_ way: Way) -> RecentTimes { way == .split ? split : inline }

    /// What a call `way` costs (`RecentTimes.cost`), split's with the pool's waits as its prior.
    @inline(__always)
    private func cost(_ way: Way) -> UInt64 {
        way == .split ? split.cost(poolWait: poolWait) : inline.cost
    }

    @inline(__always)
    private func opposite(_ way: Way) -> Way { way == .split ? .inline : .split }

    /// Whether `way` costs enough less than `steady` to take over from it.
    @inline(__always)
    private func takesOver(_ way: Way, from steady: Way) -> Bool {
        // A trial's way is judged once it has a median of its own, not on its first call.
        times(way).held >= Self.minimumSamples
            && Double(cost(way)) * (1 + (way == .split ? Self.splitMargin : Self.margin)) < Double(cost(steady))
    }

    private mutating func resetBackoff(steady: UInt64) {
        backoff = Self.shortestInterval
        nextIntervalCheck = 0
        steadyReference = steady
    }

    /// Notes a call made the given way that was not timed (`timesCall` was false, or it threw),
    /// in which the calling thread waited `waited` for other threads: a steady split call's
    /// wait counts (`RecentTimes.addWait`) whether or not the call was timed. Returns the
    /// part of the wait that was a stall (uncapped) for `PoolWaits`, or nil for a call that
    /// tells nothing about split's waits (inline, a switch, split not yet timed).
    @discardableResult
    mutating func skip(_ way: Way, waited: UInt64 = 0) -> UInt64? {
        defer { previous = way }
        guard way == .split && previous == .split && split.count >= Self.minimumSamples else { return nil }
        let stall = split.addWait(waited)
        if stall > 0 || current != .split { needsReview = true }
        return stall
    }

    /// Records how long a call made the given way took, in any unit that is the same for
    /// every call (`weave_ticks`); ignored for the warm-up, and kept apart for a call that
    /// switched ways (`switched`) or is warming up in a trial (`warming`).
    ///
    /// `waited` is how long the calling thread waited for other threads in the call (0 for an
    /// inline call): the part of a stall it explains counts beyond the usual cap
    /// (`RecentTimes.add`). Returns that part (uncapped) for `PoolWaits`, or nil like `skip`.
    @discardableResult
    mutating func record(_ way: Way, ticks: UInt64, waited: UInt64 = 0) -> UInt64? {
        defer { previous = way }
        needsReview = true
        guard let previous else { return nil }  // the warm-up
        guard previous == way else {
            switched.add(ticks)
            return nil
        }
        if warmingUp {
            warming.add(ticks)
            // Its wait for other threads counts for split as an untimed call's would.
            return way == .split && split.count >= Self.minimumSamples ? split.addWait(waited) : nil
        }
        switch way {
        case .split:
            let judged = split.count >= Self.minimumSamples
            let stall = split.add(ticks, waited: waited)
            return judged ? stall : nil
        case .inline:
            inline.add(ticks, waited: waited)
            return nil
        }
    }

    /// Calls between trials of the slower way. A trial is two switches (into the other way and
    /// back, each costing `switched`), `trialWarmup − 1 + arrivals` calls warming up (`warming`,
    /// `other` when not yet timed; `arrivals`: the calls the last split trial added waiting for
    /// its woken worker) and `trialLength − trialWarmup` steady calls of the other way, so it
    /// costs `excess = (trialLength − trialWarmup)·(other − best) + (trialWarmup − 1 +
    /// arrivals)·(warming − best) + 2·(switched − best)` more than calls the best way; one
    /// every `excess / (budget · best)` calls costs `budget` of the time.
    ///
    /// The arrivals were left out before session 24: a worker that took its 64 calls to start
    /// made a trial 9 times as long as priced, and a two-empty-tile body spent ~8 % of its
    /// time in trials (a simulated 30 % slower split with drifting times, 6 %).
    static func interval(best: UInt64, other: UInt64, switched: UInt64, warming: UInt64? = nil,
                         arrivals: Int = 0) -> Int {
        let warming = warming ?? other
        let excess = Double(trialLength - trialWarmup) * Double(other &- best)
            + Double(trialWarmup - 1 + arrivals) * Double(warming > best ? warming - best : 0)
            + 2 * Double(switched > best ? switched - best : 0)
        let calls = excess / (explorationBudget * Double(max(best, 1)))
        return Int(min(max(calls, Double(shortestInterval)), Double(longestInterval)))
    }

    /// The cost of each way (`RecentTimes.cost`) and the median of calls that switched ways
    /// (nil before there are any).
    var costs: (split: UInt64?, inline: UInt64?, switched: UInt64?) {
        (split.count > 0 ? cost(.split) : nil, inline.count > 0 ? cost(.inline) : nil,
         switched.count > 0 ? switched.median : nil)
    }
}

/// The last `SplitChooser.window` times of one way, in a fixed-size ring (no allocation), and
/// the average cost of its stalls.
///
/// Why a tail on top of the median: the median ignores the call preempted once, which is what
/// it is for, but a way can also stall now and then as a matter of course. Under contention a
/// worker sharing a CPU with a busy process is descheduled in the middle of a tile now and
/// then, and the split call waits for it. What the way costs is its mean, stalls included:
/// `tail` is a moving average (over about `tailCalls` timed calls) of each call's time beyond
/// twice the median, capped at `stallCap` medians, less what the calling thread spent waiting
/// for other threads; that goes to `waitTail`, with a far higher cap (below).
///
/// Why 32 medians over 128 calls, not 8 over 64 (session 9): traced per call with the worker
/// on the busy loop's CPU, SGEMM 256×48·48×784 split had 0.81 of inline's median but 1.26×
/// its mean (1–2% of split calls waited ~50 medians for a preempted worker); capped at 8, the
/// tail priced split at 0.88 of inline, and the pool split most calls at 0.80–0.86× the speed
/// of one thread. A higher cap prices such stalls closer to their weight, but makes one rare
/// stall count for more, and a way that loses on a stall is sampled again only in trials.
/// Replaying traced times through the chooser (Scheduler/README.md, "Operations"), its calls
/// took 1–3% longer than the best fixed way's with 32 over 128 (0–2% with 8 over 64), and 2–7%
/// longer once 1.5% of split calls stall for 50 medians (10–22% with 8 over 64). One preemption alone adds a
/// quarter of a median (with 16 medians over 32 calls it added half a median, and on a 3 µs
/// SGEMM, where an interrupt is several medians, inline and split traded places on noise).
///
/// Waits for other threads count beyond the cap, up to `waitCap` (session 12). With the
/// worker on the busy loop's CPU, traced per call, SGEMM 256×48·48×24 split had 0.7 of inline's median (2.5
/// µs) while 0.2–0.7% of its calls waited 0.9–4 ms (up to 1600 medians, a time slice of the busy
/// loop) for a preempted worker: split averaged 0.9–2.2× inline, the capped tail priced it at
/// 0.7, and the benchmark ran 2 threads at 0.78–0.95× of one. But the same cap is right for a
/// stall of the calling thread itself (an interrupt, a preemption), which hits either way. So the
/// pool tells the two apart: a split call's caller counts how long it waited for other threads
/// (`WorkerSlot.waitedTicks`), and that part of a stall goes to `waitTail` (up to `waitCap`
/// medians, 16 times the other cap; see its note); 93–99% of
/// the time lost in stalls was such waits under contention, 0–42% without. `waitTail` is a
/// running mean over every split call, timed or not (waits are rare: sampling one call in four
/// would see a quarter of them), of `waitCalls` calls, starting from `waitPrior` stall-free
/// calls assumed: one early wait of 75 medians then weighs 0.15 of a median, not enough to shut
/// out a way twice as fast, and the longer window keeps one stall from pricing a way out long
/// after it (a way left after a stall is sampled again only in trials). Traced times of 15
/// benchmark runs replayed through the chooser (calls against the best fixed way's mean,
/// geometric mean over keys; waits of timed calls only, and no `waitCap`, then): spread
/// 1.019–1.092 → 1.030–1.037, worst key 1.15–2.24 → 1.14–1.18; packed 1.005–1.035 →
/// 1.005–1.019; uncontended 1.006–1.010 unchanged.
///
/// The `waitPrior` calls assumed before a way has evidence of its own wait stall-free in
/// `cost`, and at the pool's figure in `cost(poolWait:)` (split's; `PoolWaits`, session 13): a
/// new small key then starts from what other keys' split calls lost, instead of first meeting
/// a 4 ms wait itself.
///
/// Stalls of the way not taken are sampled only in trials, a few calls every few thousand, so
/// their memory would hardly fade: `age` halves it every `staleHalfLife` calls of the key
/// without a sample, so a way that stalled while a competitor was there is tried on its merits
/// again once the competitor has gone.
struct RecentTimes {
    static let tailCalls: UInt64 = 128
    static let stallCap: UInt64 = 32

    /// The ring of the last `SplitChooser.window` times, then the same times in order
    /// (`insert`); room for windows up to 16.
    private var slots: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var next = 0
    /// Times added so far, up to `SplitChooser.window`: whether the way has been timed enough
    /// to judge (learning, stalls). `restartWindow` leaves it alone.
    private(set) var count = 0
    /// Times in the window now (`count`, or fewer since `restartWindow`).
    private(set) var held = 0

    /// The median of the times held (the upper one of an even count), kept up to date by
    /// `add`: `choose` reads it on every call. 0 before the first time.
    private(set) var median: UInt64 = 0
    /// The average time per call lost to stalls lately (see above).
    private(set) var tail: UInt64 = 0

    /// Calls of the key over which stall evidence not refreshed by samples halves (`age`).
    static let staleHalfLife = 16_384
    /// The same for `waitTail`, which averages over more calls (`waitCalls`). At 16384 a way
    /// that waited 1000 medians once in 600 calls (twice inline's mean) still ran 15% of calls
    /// in a test; at 32768, none beyond its trials.
    static let staleWaitHalfLife = 32_768

    /// The average time per call lost waiting for other threads that stalled (see above),
    /// over about `waitCalls` calls.
    private(set) var waitTail: UInt64 = 0
    /// Calls that fed `waitTail`, up to `waitCalls`, counting `waitPrior` calls without a stall
    /// before the first.
    private var waitSamples: UInt64
    /// `SplitTuning.waitCalls` and `waitPrior` (2048 and 512 in every pool).
    private let waitCalls: UInt64
    private let waitPrior: UInt64
    /// The most a wait counts, in medians: far above the stalls of a preempted worker on small
    /// ops (~360 medians on average, 1600 at most, on a 2.5 µs SGEMM), but one 16 ms hold-up
    /// of the host, met once in an uncontended run, no longer shuts out a way 1.7× as fast.
    static let waitCap: UInt64 = 512

    init(tuning: SplitTuning = .standard) {
        assert(2 * SplitChooser.window <= MemoryLayout.size(ofValue: slots) / 8,
               "RecentTimes.slots holds the ring and its sorted copy: room for windows up to 16")
        waitCalls = tuning.waitCalls
        waitPrior = tuning.waitPrior
        waitSamples = tuning.waitPrior
    }

    /// Wears the tails away as if `calls` calls had passed without a sample of this way.
    mutating func age(calls: Int) {
        guard calls > 0 && (tail > 0 || waitTail > 0) else { return }
        tail = UInt64((Double(tail) * exp2(-Double(calls) / Double(Self.staleHalfLife))).rounded())
        waitTail = UInt64((Double(waitTail) * exp2(-Double(calls) / Double(Self.staleWaitHalfLife))).rounded())
    }

    /// What a call this way costs on average: the recent median plus the tails of stalls.
    var cost: UInt64 { median &+ tail &+ waitTail }

    /// `cost` with the `waitPrior` calls assumed in `waitTail` waiting `poolWait` each instead
    /// of none: what other keys' split calls have lost lately stands in for this way's own
    /// evidence until it has some (a quarter of the weight once it has `waitCalls` samples).
    @inline(__always)
    func cost(poolWait: UInt64) -> UInt64 {
        cost &+ (poolWait == 0 ? 0 : poolWait &* waitPrior / waitSamples)
    }

    /// Adds the wait of a call not timed: what it waited beyond a median is a stall (a call
    /// that waited that long took longer still, the caller's own share included). Returns
    /// that stall, uncapped.
    @discardableResult
    mutating func addWait(_ waited: UInt64) -> UInt64 {
        guard count >= SplitChooser.minimumSamples else { return 0 }
        let stall = waited > median ? waited - median : 0
        addWaitStall(stall)
        return stall
    }

    @inline(__always)
    private mutating func addWaitStall(_ uncapped: UInt64) {
        let waitStall = min(uncapped, Self.waitCap * median)
        // A running mean (after `waitPrior` stall-free calls assumed) until there are
        // `waitCalls` samples, a moving average after.
        waitSamples = min(waitSamples + 1, waitCalls)
        waitTail = waitTail - (waitTail + waitSamples - 1) / waitSamples + waitStall / waitSamples
    }

    /// Adds one call's time, of which `waited` was spent waiting for other threads; returns
    /// the part of its stall that was such a wait, uncapped.
    @discardableResult
    mutating func add(_ time: UInt64, waited: UInt64 = 0) -> UInt64 {
        var stall: UInt64 = 0
        var waitStall: UInt64 = 0
        if count >= SplitChooser.minimumSamples && time / 2 > median {
            let excess = time - median
            waitStall = min(waited, excess)
            stall = min(excess - waitStall, (Self.stallCap - 1) * median)
        }
        // Rounding the decay up wears a small tail away to 0 rather than leaving it stuck.
        tail = tail - (tail + Self.tailCalls - 1) / Self.tailCalls + stall / Self.tailCalls
        addWaitStall(waitStall)
        insert(time)
        return waitStall
    }

    /// Puts `time` in the ring in place of the oldest time once the window is full, and keeps
    /// `sorted` (the same times in order) and `median` in step: one pass that removes the oldest
    /// time from the order and one that inserts the new one, a few ns for `window` times.
    private mutating func insert(_ time: UInt64) {
        let window = SplitChooser.window
        let held = self.held
        median = withUnsafeMutableBytes(of: &slots) { raw in
            let values = raw.bindMemory(to: UInt64.self)
            // values[0..<window]: the ring; values[window..<2·window]: the same times in order.
            var end = window + held
            if held == window {
                let oldest = values[next]
                var i = window
                while values[i] != oldest { i += 1 }
                while i + 1 < end {
                    values[i] = values[i + 1]
                    i += 1
                }
                end -= 1
            }
            values[next] = time
            var j = end
            while j > window && values[j - 1] > time {
                values[j] = values[j - 1]
                j -= 1
            }
            values[j] = time
            return values[window + (held == window ? window : held + 1) / 2]
        }
        next = (next + 1) % window
        self.held = min(held + 1, window)
        count = min(count + 1, window)
    }

    /// Empties the window: the next time added is the only one the median is taken from, and
    /// the median stays what it was until then. For a trial of the way not taken, whose old
    /// times predate everything since (see `SplitChooser.window`).
    mutating func restartWindow() {
        held = 0
        next = 0
    }
}
