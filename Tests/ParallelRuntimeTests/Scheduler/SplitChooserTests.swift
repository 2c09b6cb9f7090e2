import Testing
@testable import ParallelRuntime

@Suite("SplitChooser")
struct SplitChooserTests {
    /// Runs `calls` calls through `chooser`, timing each way with `time`, and returns the ways.
    static func run(_ chooser: inout SplitChooser, calls: Int,
                    time: (SplitChooser.Way) -> UInt64) -> [SplitChooser.Way] {
        (0..<calls).map { _ in
            let way = chooser.choose()
            chooser.record(way, ticks: time(way))
            return way
        }
    }

    @Test("The first call splits and is not timed; then four calls split and four inline, the first of those untimed")
    func warmUpThenLearning() {
        var chooser = SplitChooser()
        var last: SplitChooser.Way?
        let ways = Self.run(&chooser, calls: 9) { way in
            // The warm-up and every switch between ways are slow; they must not count.
            defer { last = way }
            if way != last { return 1_000_000 }
            return way == .split ? 1_000 : 2_000
        }
        #expect(ways == [.split, .split, .split, .split, .inline, .inline, .inline, .inline, .split])
        #expect(chooser.medians.split == 1_000 && chooser.medians.inline == 2_000)
    }

    @Test("After learning, the faster way runs, whichever it is", arguments: [false, true])
    func picksTheFasterWay(inlineFaster: Bool) {
        var chooser = SplitChooser()
        let fast: SplitChooser.Way = inlineFaster ? .inline : .split
        let ways = Self.run(&chooser, calls: 2_008) { $0 == fast ? 10_000 : 30_000 }
        // Three times as slow: four calls tried every 4·(30k − 10k)/(0.01·10k) = 800 calls.
        let slowTrials = ways.dropFirst(8).filter { $0 != fast }.count
        #expect(slowTrials == 8)
    }

    @Test("One outlier does not flip the choice (medians, not means)")
    func ignoresOneOutlier() {
        var chooser = SplitChooser()
        var call = 0
        let ways = Self.run(&chooser, calls: 60) { way in
            call += 1
            if call == 20 { return 5_000_000 }  // preempted once
            return way == .split ? 10_000 : 20_000
        }
        #expect(ways.dropFirst(20).filter { $0 == .inline }.count <= 1)
    }

    @Test("When the times flip, the choice follows within a bounded number of calls")
    func followsAFlip() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 200) { $0 == .split ? 10_000 : 15_000 }
        // Now splitting becomes three times slower than inline (the vCPUs moved apart).
        let ways = Self.run(&chooser, calls: 200) { $0 == .split ? 45_000 : 15_000 }
        // The split times are refreshed on every call, so within three calls its median has
        // risen; inline is then tried within the shortest intervals and wins.
        let firstInlineStreak = ways.firstIndex { $0 == .inline } ?? ways.count
        #expect(firstInlineStreak < 20)
        #expect(ways.suffix(100).filter { $0 == .inline }.count >= 95)
    }

    @Test("A way that only becomes faster later is found again")
    func rediscoversTheRareWay() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 100) { $0 == .split ? 20_000 : 10_000 }
        // Inline is best; split is tried for four calls every 4·10k/(0.01·10k) = 400 calls, and
        // one trial's three timed calls move its median.
        let ways = Self.run(&chooser, calls: 1_000) { $0 == .split ? 5_000 : 10_000 }
        #expect(ways.suffix(200).filter { $0 == .split }.count >= 190)
    }

    @Test("Trial intervals keep trials near 1% of the time, within 64...4096 calls")
    func intervals() {
        #expect(SplitChooser.interval(best: 100, other: 100) == 64)
        #expect(SplitChooser.interval(best: 100, other: 120) == 80)
        #expect(SplitChooser.interval(best: 100, other: 200) == 400)
        #expect(SplitChooser.interval(best: 100, other: 100_000) == 4_096)
        #expect(SplitChooser.interval(best: 0, other: 10) == 4_000)
    }

    @Test("Two ways within 3% of each other do not trade places")
    func hysteresis() {
        var chooser = SplitChooser()
        var call = 0
        // Split first measures 1% slower, then 1% faster: inline keeps the calls.
        let ways = Self.run(&chooser, calls: 400) { way in
            call += 1
            if way == .split { return call < 100 ? 10_100 : 9_900 }
            return 10_000
        }
        let switchesBack = zip(ways.dropFirst(9), ways.dropFirst(10)).filter { $0 == .split && $1 == .inline }.count
        let trials = ways.dropFirst(9).filter { $0 == .split }.count
        // Only trials (four calls every 64) split; no switch of the steady way.
        #expect(trials == switchesBack * 4)
        #expect(ways.suffix(20).filter { $0 == .inline }.count >= 16)
    }

    @Test("The median is that of the last five times")
    func recentMedian() {
        var times = RecentTimes()
        times.add(9)
        #expect(times.median == 9)
        times.add(1)
        #expect(times.median == 9)  // upper median of two
        for t: UInt64 in [5, 7, 3] { times.add(t) }
        #expect(times.median == 5)
        for t: UInt64 in [100, 100, 100] { times.add(t) }  // 9, 1, 5 drop out
        #expect(times.median == 100)
    }
}
