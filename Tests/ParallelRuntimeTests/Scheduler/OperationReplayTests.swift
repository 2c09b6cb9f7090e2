import Testing
@testable import ParallelRuntime

@Suite("Operation replay")
struct OperationReplayTests {
    typealias Call = OperationTrace.Call

    @Test("A replayed call draws its way's traced call at its rank in the run, at the same stage after a switch")
    func drawsByRank() throws {
        var draws = OperationReplay.Draws()
        // Split: the first call (a switch) 10, warming up 11 12 13, steady 20 30; inline: a
        // switch 100, warming up 101; split again: a switch 40.
        let calls: [(Bool, UInt64)] = [(true, 10), (true, 11), (true, 12), (true, 13), (true, 20), (true, 30),
                                       (false, 100), (false, 101), (true, 40)]
        for (split, ticks) in calls {
            draws.add(Call(key: 0, split: split, timedByChooser: true, ticks: ticks, waitedTicks: 0))
        }
        #expect((0...3).map(OperationReplay.stage) == [0, 1, 1, 1] && OperationReplay.stage(callsSinceSwitch: 4) == 2)
        // Steady split calls are 20 and 30: the first half of the run (9 calls) draws 20.
        #expect((0..<9).map { draws.draw(split: true, stage: 2, call: $0)?.ticks } == [20, 20, 20, 20, 20, 30, 30, 30, 30])
        #expect((0..<9).map { draws.draw(split: true, stage: 0, call: $0)?.ticks } == [10, 10, 10, 10, 10, 40, 40, 40, 40])
        #expect(draws.draw(split: true, stage: 1, call: 0)?.ticks == 11 && draws.draw(split: true, stage: 1, call: 8)?.ticks == 13)
        // One call on: the offset.
        #expect(draws.draw(split: true, stage: 1, call: 0, offset: 1)?.ticks == 12)
        // Inline has no steady call: its warming-up call stands in, then its switch.
        #expect(draws.draw(split: false, stage: 2, call: 0)?.ticks == 101)
        #expect(draws.draw(split: false, stage: 0, call: 8)?.ticks == 100)
        // Always the way better by steady mean (inline by its nearest stage): 9 calls of 25.
        #expect(draws.bestFixedTicks == 225)

        var onlySwitched = OperationReplay.Draws()
        onlySwitched.add(Call(key: 0, split: true, timedByChooser: true, ticks: 7, waitedTicks: 3))
        #expect(onlySwitched.draw(split: true, stage: 2, call: 0).map { [$0.ticks, $0.waited] } == [7, 3])
        #expect(onlySwitched.draw(split: false, stage: 0, call: 0) == nil)
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
        // A trace that prices both ways (`.alternating`: 64 calls each way in turn): split is
        // 10 % faster by median, but every 100th split call waits 4.5 ms, 50 medians.
        var splitCalls = 0
        let calls = (0..<4_000).map { index -> Call in
            let split = (index / ThreadPool.alternatingRun) % 2 == 0
            var ticks: UInt64 = split ? 90_000 : 100_000, waited: UInt64 = 0
            if split {
                splitCalls += 1
                if splitCalls % 100 == 0 { (ticks, waited) = (ticks + 4_500_000, 4_500_000) }
            }
            return Call(key: 0, split: split, timedByChooser: false, ticks: ticks, waitedTicks: waited,
                        startedTicks: UInt64(index) * 200_000)
        }
        let trace = OperationTrace(keys: ["k"], calls: calls, dropped: 0, ticksPerSecond: 1e9)
        func replayed(waitPrior: UInt64) throws -> OperationReplay.KeyResult {
            let tuning = SplitTuning(waitPrior: waitPrior, waitCalls: 2048, poolPrior: 4096, poolHalfLife: 1)
            return try #require(OperationReplay.run(trace, tuning: tuning, offsets: 8).first)
        }
        let large = try replayed(waitPrior: 2048), small = try replayed(waitPrior: 32)
        #expect(small.replayedSplit < large.replayedSplit)
        #expect(small.replayedOverBest < large.replayedOverBest)
        #expect(small.unpriced == 0 && small.bestFixedTicks == 4_000 * 100_000)
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
