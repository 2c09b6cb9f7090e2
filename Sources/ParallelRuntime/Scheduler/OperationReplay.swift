/// Replays one pool's traced calls (`OperationTrace`) through a fresh `SplitChooser` per key and
/// a fresh `PoolWaits`, with a given `SplitTuning`, and prices the ways it chooses with the
/// times the trace measured: what those calls would have cost had the pool chosen that way.
///
/// Why replay rather than rerun: the host's state (which placement the vCPUs are in, when the
/// competitor's time slices fall) changes from run to run by more than the tuning's effect,
/// so two tunings are compared on the same calls. Sessions 9, 12 and 13 chose the chooser's
/// weights this way with temporary builds; this is the committed form (Scheduler/README.md).
///
/// How a call is priced: the replay's n-th call of a key (of N) that takes way W draws the
/// trace's call of that way at rank ⌊n · count / N⌋ of its calls, in order. Each traced call of
/// a way is then drawn as often as any other when the replay takes that way throughout, so
/// its stalls count at their traced frequency, and a replay that takes a way for a phase of the
/// run draws from that phase. Calls are drawn from traced calls at the same stage after a
/// switch of way: the switch itself (and each key's first call), the calls still warming up
/// after it (`SplitChooser.trialWarmup`), or steady calls; so trials pay what they cost. The pool's clock (for `PoolWaits`' fading) is the traced
/// call's start plus the drawn time.
///
/// A replay is chaotic: one call drawn differently early on (a stall in a trial, say) can send
/// a key the other way for hundreds of calls, so one replay of a key differs from the trace,
/// and from the replay of a nearly equal tuning, by several percent either way. `offset`
/// shifts every draw by that many calls of its list; tunings are compared on the mean of
/// several offsets (`weave trace-replay --offsets`), each a different path through the same
/// calls.
///
/// What a replay cannot know: how a way the trace never took for a key would have gone (such
/// calls are priced at their traced time, and counted in `unpriced`), and how choices change
/// what follows (a worker that parked because calls went inline, caches). The second makes a
/// replay a comparison of tunings on equal terms, not a prediction of a benchmark's figure.
package enum OperationReplay {
    /// One key's calls, traced and replayed.
    package struct KeyResult: Sendable, Equatable {
        package var key: String
        package var calls: Int
        package var tracedSplit: Int
        package var replayedSplit: Int
        /// Sums of the calls' times, in the trace's ticks.
        package var tracedTicks: Double
        package var replayedTicks: Double
        /// `calls` times the lower of the two ways' mean steady times: the cost of always taking
        /// the way that was better on average over the run.
        package var bestFixedTicks: Double
        /// Replayed calls that took a way the trace has no call of for this key.
        package var unpriced: Int

        /// The replay's cost over the best fixed way's (1: as good as knowing the better way
        /// in advance).
        package var replayedOverBest: Double { bestFixedTicks > 0 ? replayedTicks / bestFixedTicks : 1 }
        package var tracedOverBest: Double { bestFixedTicks > 0 ? tracedTicks / bestFixedTicks : 1 }
    }

    /// A call's stage after the last switch of way: 0 for the switch (and a key's first call),
    /// 1 while warming up, 2 once steady.
    static func stage(callsSinceSwitch: Int) -> Int {
        callsSinceSwitch == 0 ? 0 : (callsSinceSwitch < SplitChooser.trialWarmup ? 1 : 2)
    }

    /// Follows one key's ways call by call and gives each call's `stage`.
    struct Stages {
        private var previous: Bool?
        private var callsSinceSwitch = 0

        mutating func next(split: Bool) -> Int {
            callsSinceSwitch = previous == split ? callsSinceSwitch + 1 : 0
            previous = split
            return OperationReplay.stage(callsSinceSwitch: callsSinceSwitch)
        }
    }

    /// The traced calls of one key, split into what the replay draws from.
    struct Draws {
        /// By way (split first) and then stage (`stage`): (ticks, waited).
        var times: [[[(ticks: UInt64, waited: UInt64)]]] = Array(repeating: Array(repeating: [], count: 3), count: 2)
        var calls = 0
        var tracedSplit = 0
        var tracedTicks = 0.0
        private var stages = Stages()

        mutating func add(_ call: OperationTrace.Call) {
            times[call.split ? 0 : 1][stages.next(split: call.split)].append((call.ticks, call.waitedTicks))
            calls += 1
            tracedSplit += call.split ? 1 : 0
            tracedTicks += Double(call.ticks)
        }

        /// The n-th call's draw the way `split` at `stage`, from the nearest stage with calls
        /// when that one has none.
        func draw(split: Bool, stage: Int, call n: Int, offset: Int = 0) -> (ticks: UInt64, waited: UInt64)? {
            let way = times[split ? 0 : 1]
            let order = [[0, 1, 2], [1, 2, 0], [2, 1, 0]][stage]
            guard let list = order.lazy.map({ way[$0] }).first(where: { !$0.isEmpty }) else { return nil }
            return list[(n * list.count / calls + offset) % list.count]
        }

        /// `calls` times the lower of the ways' mean steady times (the nearest stage's when a
        /// way has no steady call).
        var bestFixedTicks: Double {
            let means = times.compactMap { way -> Double? in
                guard let list = [2, 1, 0].lazy.map({ way[$0] }).first(where: { !$0.isEmpty }) else { return nil }
                return list.reduce(0.0) { $0 + Double($1.ticks) } / Double(list.count)
            }
            return Double(calls) * (means.min() ?? 0)
        }
    }

    /// Replays `trace` with `tuning` once for each offset in `0..<offsets`; per key, the
    /// replays' mean time and split calls (rounded).
    package static func run(_ trace: OperationTrace, tuning: SplitTuning, offsets: Int) -> [KeyResult] {
        precondition(offsets >= 1, "OperationReplay.run needs at least one offset, got \(offsets)")
        // What the replays draw from depends on the trace alone.
        let draws = Self.draws(of: trace)
        var mean = replay(trace, draws: draws, tuning: tuning, offset: 0)
        guard offsets > 1 else { return mean }
        var splitSums = mean.map(\.replayedSplit), unpricedSums = mean.map(\.unpriced)
        for offset in 1..<offsets {
            for (index, result) in replay(trace, draws: draws, tuning: tuning, offset: offset).enumerated() {
                mean[index].replayedTicks += result.replayedTicks
                splitSums[index] += result.replayedSplit
                unpricedSums[index] += result.unpriced
            }
        }
        for index in mean.indices {
            mean[index].replayedTicks /= Double(offsets)
            mean[index].replayedSplit = (splitSums[index] + offsets / 2) / offsets
            mean[index].unpriced = (unpricedSums[index] + offsets / 2) / offsets
        }
        return mean
    }

    /// Replays `trace` with `tuning`, each call drawn `offset` calls on (see above); one result
    /// per key, in the trace's key order.
    package static func run(_ trace: OperationTrace, tuning: SplitTuning, offset: Int = 0) -> [KeyResult] {
        precondition(offset >= 0, "OperationReplay.run needs a non-negative offset, got \(offset)")
        return replay(trace, draws: draws(of: trace), tuning: tuning, offset: offset)
    }

    /// Each key's traced calls, sorted for drawing.
    private static func draws(of trace: OperationTrace) -> [Draws] {
        var draws = Array(repeating: Draws(), count: trace.keys.count)
        for call in trace.calls { draws[call.key].add(call) }
        return draws
    }

    private static func replay(_ trace: OperationTrace, draws: [Draws], tuning: SplitTuning,
                               offset: Int) -> [KeyResult] {
        var choosers = Array(repeating: SplitChooser(tuning: tuning), count: trace.keys.count)
        var poolWaits = PoolWaits(ticksPerSecond: trace.ticksPerSecond, tuning: tuning)
        var seen = Array(repeating: 0, count: trace.keys.count)
        var stages = Array(repeating: Stages(), count: trace.keys.count)
        var results = trace.keys.indices.map { index in
            KeyResult(key: trace.keys[index], calls: draws[index].calls, tracedSplit: draws[index].tracedSplit,
                      replayedSplit: 0, tracedTicks: draws[index].tracedTicks, replayedTicks: 0,
                      bestFixedTicks: draws[index].bestFixedTicks, unpriced: 0)
        }
        for call in trace.calls {
            let key = call.key
            let split = choosers[key].choose(poolWait: poolWaits.perCall) == .split
            let way: SplitChooser.Way = split ? .split : .inline
            let stage = stages[key].next(split: split)
            let drawn: (ticks: UInt64, waited: UInt64)
            if let priced = draws[key].draw(split: split, stage: stage, call: seen[key], offset: offset) {
                drawn = priced
            } else {
                drawn = (call.ticks, split ? call.waitedTicks : 0)
                results[key].unpriced += 1
            }
            // As `SplitDecisions.end` does after the call.
            let stall: UInt64?
            var now: UInt64?
            if choosers[key].timesCall {
                now = call.startedTicks &+ drawn.ticks
                stall = choosers[key].record(way, ticks: drawn.ticks, waited: drawn.waited)
            } else {
                stall = choosers[key].skip(way, waited: drawn.waited)
            }
            if let stall { poolWaits.add(stall: stall, now: now) }

            seen[key] += 1
            results[key].replayedSplit += split ? 1 : 0
            results[key].replayedTicks += Double(drawn.ticks)
        }
        return results
    }
}
