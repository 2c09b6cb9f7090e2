import Testing
@testable import ParallelRuntime

@Suite("Operation replay")
struct OperationReplayTests {
    typealias Call = OperationTrace.Call

    @Test("A replayed call draws its way's traced call at its rank in the run, steady from steady and switched from switched")
    func drawsByRank() throws {
        var draws = OperationReplay.Draws()
        // split 10 (first: switched), 20, 30; inline 100 (switched), 200; split 40 (switched).
        for (split, ticks) in [(true, 10), (true, 20), (true, 30), (false, 100), (false, 200), (true, 40)] {
            draws.add(Call(key: 0, split: split, timedByChooser: true, ticks: UInt64(ticks), waitedTicks: 0))
        }
        // Steady split calls are 20 and 30: the first half of the run draws 20, the second 30.
        #expect((0..<6).map { draws.draw(split: true, switched: false, call: $0)?.ticks } == [20, 20, 20, 30, 30, 30])
        #expect((0..<6).map { draws.draw(split: true, switched: true, call: $0)?.ticks } == [10, 10, 10, 40, 40, 40])
        #expect(draws.draw(split: false, switched: true, call: 5)?.ticks == 100)
        #expect(draws.draw(split: false, switched: false, call: 0)?.ticks == 200)
        // Always the way better by steady mean: 6 calls of 25.
        #expect(draws.bestFixedTicks == 150)

        var onlySwitched = OperationReplay.Draws()
        onlySwitched.add(Call(key: 0, split: true, timedByChooser: true, ticks: 7, waitedTicks: 3))
        #expect(onlySwitched.draw(split: true, switched: false, call: 0).map { [$0.ticks, $0.waited] } == [7, 3])
        #expect(onlySwitched.draw(split: false, switched: true, call: 0) == nil)
        #expect(onlySwitched.bestFixedTicks == 7)
    }

    /// Runs `calls` calls of one key through a chooser with `tuning`, as the pool would, and
    /// traces them: `time(way, n)` and `waited(way, n)` give the n-th call of that way.
    static func trace(calls: Int, tuning: SplitTuning = .standard, key: Int = 0, startingAt start: UInt64 = 0,
                      time: (SplitChooser.Way, Int) -> UInt64,
                      waited: (SplitChooser.Way, Int) -> UInt64 = { _, _ in 0 }) -> [Call] {
        var chooser = SplitChooser(tuning: tuning)
        var counts = (split: 0, inline: 0)
        var clock = start
        return (0..<calls).map { _ in
            let way = chooser.choose()
            let n = way == .split ? counts.split : counts.inline
            if way == .split { counts.split += 1 } else { counts.inline += 1 }
            let ticks = time(way, n), wait = waited(way, n)
            let timed = chooser.timesCall
            if timed { chooser.record(way, ticks: ticks, waited: wait) } else { chooser.skip(way, waited: wait) }
            defer { clock += ticks + 1_000 }
            return Call(key: key, split: way == .split, timedByChooser: timed, ticks: ticks, waitedTicks: wait,
                        startedTicks: clock)
        }
    }

    @Test("A way clearly faster throughout: the replay takes it and costs about the best fixed way")
    func clearWinner() throws {
        let calls = Self.trace(calls: 3_000) { way, _ in way == .split ? 10_000 : 17_000 }
        let trace = OperationTrace(keys: ["k"], calls: calls, dropped: 0, ticksPerSecond: 1e9)
        let result = try #require(OperationReplay.run(trace, tuning: .standard).first)
        #expect(result.calls == 3_000 && result.unpriced == 0)
        #expect(result.tracedSplit == calls.filter(\.split).count)
        #expect(result.replayedSplit >= 2_900)
        #expect(result.replayedOverBest >= 1 && result.replayedOverBest < 1.02)
        #expect(result.tracedTicks == Double(calls.reduce(0) { $0 + $1.ticks }))
        // The same trace replays to the same figures.
        #expect(OperationReplay.run(trace, tuning: .standard) == [result])
    }

    /// The lead of session 15: a 90 µs key split 10 % faster by median, but one split call in
    /// 100 waits 45 medians for a preempted worker, so split is 35 % slower on average.
    static func stallingKey(calls: Int, key: Int = 0, startingAt start: UInt64 = 0) -> [Call] {
        trace(calls: calls, key: key, startingAt: start, time: { way, n in
            way == .inline ? 100_000 : (n % 100 == 99 ? 90_000 + 4_500_000 : 90_000)
        }, waited: { way, n in way == .split && n % 100 == 99 ? 4_500_000 : 0 })
    }

    @Test("The weights under test reach the chooser: fewer stall-free calls assumed find a rarely stalling split out sooner")
    func waitPriorMatters() throws {
        let trace = OperationTrace(keys: ["k"], calls: Self.stallingKey(calls: 700), dropped: 0, ticksPerSecond: 1e9)
        func replayed(waitPrior: UInt64) throws -> OperationReplay.KeyResult {
            let tuning = SplitTuning(waitPrior: waitPrior, waitCalls: 2048, poolPrior: 4096, poolHalfLife: 1)
            return try #require(OperationReplay.run(trace, tuning: tuning).first)
        }
        let standard = try replayed(waitPrior: 512), small = try replayed(waitPrior: 32)
        #expect(small.replayedSplit < standard.replayedSplit)
        #expect(small.replayedOverBest < standard.replayedOverBest)
    }

    @Test("The pool's prior reaches the pool's figure: with fewer calls assumed, a new key learns other keys' waits sooner")
    func poolPriorMatters() throws {
        let first = Self.stallingKey(calls: 3_000)
        let end = first.last.map { $0.startedTicks + $0.ticks } ?? 0
        let trace = OperationTrace(keys: ["a", "b"], calls: first + Self.stallingKey(calls: 300, key: 1, startingAt: end),
                                   dropped: 0, ticksPerSecond: 1e9)
        func newKeySplit(poolPrior: Double) -> Int {
            let tuning = SplitTuning(waitPrior: 512, waitCalls: 2048, poolPrior: poolPrior, poolHalfLife: 1)
            return OperationReplay.run(trace, tuning: tuning)[1].replayedSplit
        }
        #expect(newKeySplit(poolPrior: 64) < newKeySplit(poolPrior: 1_000_000))
    }

    @Test("A way the trace never took for a key is priced at the traced call and counted")
    func unpricedCalls() throws {
        let calls = (0..<50).map { Call(key: 0, split: true, timedByChooser: true, ticks: 1_000, waitedTicks: 0,
                                         startedTicks: UInt64($0) * 2_000) }
        let trace = OperationTrace(keys: ["k"], calls: calls, dropped: 0, ticksPerSecond: 1e9)
        let result = try #require(OperationReplay.run(trace, tuning: .standard).first)
        #expect(result.unpriced == result.calls - result.replayedSplit && result.unpriced > 0)
        #expect(result.replayedTicks == 50_000 && result.replayedOverBest == 1)
    }
}
