import CPlatform
import Testing
@testable import ParallelRuntime

@Suite("SplitChooser")
struct SplitChooserTests {
    /// Runs `calls` calls through `chooser`, timing each way with `time` the calls it asks to
    /// time, and returns the ways.
    static func run(_ chooser: inout SplitChooser, calls: Int, poolWait: UInt64 = 0,
                    time: (SplitChooser.Way) -> UInt64) -> [SplitChooser.Way] {
        (0..<calls).map { _ in
            let way = chooser.choose(poolWait: poolWait)
            let ticks = time(way)
            if chooser.timesCall {
                chooser.record(way, ticks: ticks)
            } else {
                chooser.skip(way)
            }
            return way
        }
    }

    /// Runs `calls` calls like `run`, with `waited` giving how long a split call of that time
    /// waited for other threads (told to the chooser for untimed calls too, as the pool does).
    static func runWaiting(_ chooser: inout SplitChooser, calls: Int, time: (SplitChooser.Way) -> UInt64,
                           waited: (UInt64) -> UInt64) -> [SplitChooser.Way] {
        (0..<calls).map { _ in
            let way = chooser.choose()
            let ticks = time(way)
            let wait = way == .split ? waited(ticks) : 0
            if chooser.timesCall {
                chooser.record(way, ticks: ticks, waited: wait)
            } else {
                chooser.skip(way, waited: wait)
            }
            return way
        }
    }

    /// Times where inline calls take `inline`, and one split call in `every` stalls for `stall`
    /// while the others take `split`.
    static func stallingSplit(split: UInt64, stall: UInt64, every: Int,
                              inline: UInt64) -> (SplitChooser.Way) -> UInt64 {
        var splitCalls = 0
        return { way in
            if way == .inline { return inline }
            splitCalls += 1
            return splitCalls % every == 0 ? stall : split
        }
    }

    /// Times where inline calls take `inline`, and split calls take `before` until call
    /// `change` (counting calls either way) and `after` from then on.
    static func splitChanging(at change: Int, from before: UInt64, to after: UInt64,
                              inline: UInt64) -> (SplitChooser.Way) -> UInt64 {
        var call = 0
        return { way in
            call += 1
            if way == .split { return call < change ? before : after }
            return inline
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
        #expect(chooser.costs.split == 1_000 && chooser.costs.inline == 2_000)
    }

    @Test("After learning, the faster way runs, whichever it is", arguments: [false, true])
    func picksTheFasterWay(inlineFaster: Bool) {
        var chooser = SplitChooser()
        let fast: SplitChooser.Way = inlineFaster ? .inline : .split
        let ways = Self.run(&chooser, calls: 2_008) { $0 == fast ? 10_000 : 30_000 }
        // Three times as slow: after the confirmation trial, a trial costs 3·20k plus two
        // switches (0 or 20k each over the fast way, depending on which way's time the recent
        // switches took), so four calls are tried every 600–1000 calls: two to four trials.
        let slowTrials = ways.dropFirst(8).filter { $0 != fast }.count
        #expect(slowTrials >= 8 && slowTrials <= 16 && slowTrials % 4 == 0)
    }

    @Test("A way that looked slow while learning is tried again 8 calls later, not 64")
    func confirmsAfterLearning() {
        var chooser = SplitChooser()
        var splitCalls = 0
        // The key's first split calls were slowed by something that then went away (a worker
        // not yet running, first touches of scratch memory): split is really twice as fast.
        let ways = Self.run(&chooser, calls: 60) { way in
            if way == .inline { return 10_000 }
            splitCalls += 1
            return splitCalls <= 4 ? 30_000 : 5_000
        }
        // Learning: 4 split, 4 inline; inline looks faster and runs; then the confirmation
        // trial of split, the 8th call after learning, wins.
        let laterSplit = ways.indices.dropFirst(8).first { ways[$0] == .split }
        #expect(laterSplit == 8 + SplitChooser.confirmationInterval - 1)
        #expect(ways.suffix(30).allSatisfy { $0 == .split })
    }

    @Test("The confirmation trial happens once: when it loses, trials come at the budget's interval")
    func confirmsOnce() {
        var chooser = SplitChooser()
        let ways = Self.run(&chooser, calls: 400) { $0 == .split ? 30_000 : 10_000 }
        let trialStarts = ways.indices.dropFirst(9).filter { ways[$0] == .split && ways[$0 - 1] == .inline }
        // The confirmation at the 8th call after learning; then split, three times as slow,
        // every 3·20k/(0.01·10k) = 600 calls (at least): none more within 400.
        #expect(trialStarts == [8 + SplitChooser.confirmationInterval - 1])
        // Benchmarks warm up through the confirmation: the last warm-up call is the call back.
        let learning = ThreadPool.operationLearningCalls
        #expect(ways[learning - 2] == .split && ways[learning - 1] == .inline)
        #expect(ways[learning..<(learning + 100)].allSatisfy { $0 == .inline })
    }

    @Test("The confirmation trial still comes when the steady way's time drifts first")
    func confirmsDespiteDrift() {
        var chooser = SplitChooser()
        var steadyCalls = 0
        // Split is chosen and its median rises by 30% at once (a drift, which resets the
        // intervals): the confirmation must still come at the 8th call after learning.
        let ways = Self.run(&chooser, calls: 40) { way in
            if way == .inline { return 20_000 }
            steadyCalls += 1
            return steadyCalls <= 4 ? 10_000 : 13_000
        }
        let trialStarts = ways.indices.dropFirst(9).filter { ways[$0] == .inline && ways[$0 - 1] == .split }
        #expect(trialStarts.first == 8 + SplitChooser.confirmationInterval - 1)
    }

    @Test("One outlier does not flip the choice (medians, not means)")
    func ignoresOneOutlier() throws {
        var chooser = SplitChooser()
        var ways: [SplitChooser.Way] = []
        var outlier: Int?
        for call in 0..<100 {
            let way = chooser.choose()
            var ticks: UInt64 = way == .split ? 10_000 : 20_000
            // The first timed call from the 40th on (steady split) is preempted once.
            if call >= 40 && outlier == nil && chooser.timesCall {
                ticks = 5_000_000
                outlier = call
            }
            if chooser.timesCall { chooser.record(way, ticks: ticks) } else { chooser.skip(way) }
            ways.append(way)
        }
        let preempted = try #require(outlier)
        #expect(ways[(preempted + 1)...].allSatisfy { $0 == .split })
    }

    @Test("When the times flip, the choice follows within a bounded number of calls")
    func followsAFlip() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 200) { $0 == .split ? 10_000 : 15_000 }
        // Now splitting becomes three times slower than inline (the vCPUs moved apart).
        let ways = Self.run(&chooser, calls: 200) { $0 == .split ? 45_000 : 15_000 }
        // One steady call in four is timed, so within twelve calls split's median has risen;
        // inline is then tried within the shortest intervals and wins.
        let firstInlineStreak = ways.firstIndex { $0 == .inline } ?? ways.count
        #expect(firstInlineStreak < 20)
        #expect(ways.suffix(100).filter { $0 == .inline }.count >= 95)
    }

    @Test("A way that only becomes faster later is found again")
    func rediscoversTheRareWay() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 100) { $0 == .split ? 20_000 : 10_000 }
        // Inline is best; split is tried for eight calls every 7·10k/(0.01·10k) = 700 calls, and
        // one trial's four timed calls (after its warm-up) move its median.
        let ways = Self.run(&chooser, calls: 1_000) { $0 == .split ? 5_000 : 10_000 }
        #expect(ways.suffix(200).filter { $0 == .split }.count >= 190)
    }

    @Test("Trial intervals keep trials and their two switches near 1% of the time, within 64...4096 calls")
    func intervals() {
        #expect(SplitChooser.interval(best: 100, other: 100, switched: 100) == 64)
        // A trial is 8 calls, the switch and 7 more: 7·30 = 210 over 1 per call.
        #expect(SplitChooser.interval(best: 100, other: 130, switched: 100) == 210)
        // Switching costs as much as the other way's calls: 7·30 + 2·30 = 270.
        #expect(SplitChooser.interval(best: 100, other: 130, switched: 130) == 270)
        #expect(SplitChooser.interval(best: 100, other: 200, switched: 50) == 700)
        #expect(SplitChooser.interval(best: 100, other: 100_000, switched: 100) == 4_096)
        #expect(SplitChooser.interval(best: 0, other: 4, switched: 0) == 2_800)
        // Calls 1–3 of a trial, warming up, cost 200 each: 4·30 + 3·100 = 420.
        #expect(SplitChooser.interval(best: 100, other: 130, switched: 100, warming: 200) == 420)
        // And 64 calls more waiting for a woken worker, at the warming time: 4·30 + 67·30.
        #expect(SplitChooser.interval(best: 100, other: 130, switched: 100, warming: 130, arrivals: 64) == 2_130)
    }

    @Test("Trials that keep losing thin out to one every 4096 calls")
    func lostTrialsBackOff() {
        var chooser = SplitChooser()
        // Two ways within noise of each other: every trial loses (hysteresis).
        let ways = Self.run(&chooser, calls: 20_000) { $0 == .split ? 10_000 : 10_100 }
        let trialStarts = zip(ways.dropFirst(9), ways.dropFirst(10)).filter { $0 == .split && $1 == .inline }.count
        // The confirmation 8 calls after learning (it counts as the first lost trial), then
        // intervals 128, …, 4096 (8064 calls), then 4096 each: 1 + 6 + 2 or 3 trials. A fixed
        // 64-call interval would have made about 290.
        #expect(trialStarts >= 8 && trialStarts <= 11)
    }

    @Test("When the steady way's cost moves by over 10%, trials come back at the shortest interval")
    func driftBringsTrialsBack() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 10_000) { $0 == .split ? 12_000 : 10_000 }
        // Inline is steady and its trials have backed off to thousands of calls. Now inline
        // gets 15% slower, still faster than split: no switch, but the next trial is soon.
        let ways = Self.run(&chooser, calls: 400) { $0 == .split ? 12_000 : 11_500 }
        let firstTrial = ways.firstIndex { $0 == .split } ?? ways.count
        #expect(firstTrial <= 70)
    }

    @Test("A way that stalls now and then loses to one with a slightly higher median")
    func stallsCount() {
        var chooser = SplitChooser()
        // Split's median is 9% lower (beyond `splitMargin`), but one split call in 21 stalls
        // for 100 medians (a worker descheduled mid-tile): 31 capped medians / 21 calls ≈ +150%
        // on average. (21, not 20: one steady call in four is timed, and a period that is a
        // multiple of four would time every stall or none.)
        let ways = Self.run(&chooser, calls: 8_000,
                            time: Self.stallingSplit(split: 10_000, stall: 1_000_000, every: 21, inline: 11_000))
        #expect(ways.suffix(2_000).filter { $0 == .inline }.count >= 1_800)
        #expect(chooser.costs.split! > chooser.costs.inline!)
    }

    @Test("Rare long stalls count in full: a way 20% faster by median loses when it is slower on average")
    func rareLongStallsCount() {
        var chooser = SplitChooser()
        // Traced under contention with the worker on the busy loop's CPU (SGEMM 256×48·48×784):
        // split's median was 0.81 of inline's, but 1–2% of split calls waited ~50 medians for
        // a preempted worker, and split averaged 1.26× inline. Here one split call in 67 takes
        // 50 medians: 8000·66/67 + 400k/67 ≈ 13.9k against inline's 10k.
        let ways = Self.run(&chooser, calls: 30_000,
                            time: Self.stallingSplit(split: 8_000, stall: 400_000, every: 67, inline: 10_000))
        #expect(ways.suffix(10_000).filter { $0 == .inline }.count >= 9_500)
    }

    @Test("When a way stops stalling, the stalls it had are forgotten and it comes back")
    func stallsAreForgotten() {
        var chooser = SplitChooser()
        // Split is steady, stalls included: one call in 21 takes 33 medians, 14.9k on average
        // against inline's 16k, so its tail holds its stalls at the full (capped) weight.
        _ = Self.run(&chooser, calls: 20_000,
                     time: Self.stallingSplit(split: 6_000, stall: 200_000, every: 21, inline: 16_000))
        // Inline gets faster than split's average and takes over.
        _ = Self.run(&chooser, calls: 2_000,
                     time: Self.stallingSplit(split: 6_000, stall: 200_000, every: 21, inline: 10_000))
        // The competitor is gone: split no longer stalls and takes half inline's time. Its old
        // stalls are sampled again only in trials (three calls every few thousand); without
        // ageing they would hold it back for ~100k calls.
        let ways = Self.run(&chooser, calls: 30_000) { $0 == .split ? 5_000 : 10_000 }
        #expect(ways.suffix(5_000).filter { $0 == .split }.count >= 4_900)
    }

    @Test("One steady call in four is timed; learning, trials and the switch back always are")
    func samplesSteadyCalls() {
        var chooser = SplitChooser()
        var previous: SplitChooser.Way?
        var timedSteady = 0, steady = 0, untimedOther = 0
        for call in 0..<4_000 {
            let way = chooser.choose()
            let timed = chooser.timesCall
            if call >= 9 && way == .split && previous == .split {
                steady += 1
                if timed { timedSteady += 1 }
            } else if !timed {
                untimedOther += 1
            }
            if timed { chooser.record(way, ticks: way == .split ? 10_000 : 20_000) } else { chooser.skip(way) }
            previous = way
        }
        // Steady split calls and nothing else go untimed: the warm-up, learning, each trial's
        // inline calls and the split call after them are all timed.
        #expect(untimedOther == 0)
        #expect(steady > 3_900 && abs(timedSteady - steady / SplitChooser.sampledCalls) <= 12)
    }

    @Test("Trials are 8 calls; the calls warming up are timed apart, and a costly warm-up spaces trials out")
    func trialsWarmUp() {
        /// Trial starts and their lengths, inline steady at 10 000 and split at 20 000, with a
        /// trial's calls 1–3 taking `warmUp`.
        func trials(warmUp: UInt64) -> [Int] {
            var chooser = SplitChooser()
            var lengths: [Int] = []
            var previous: SplitChooser.Way?
            for call in 0..<20_000 {
                let way = chooser.choose()
                if call >= 9 && way == .split && previous == .inline { lengths.append(0) }
                let inTrial = call >= 9 && way == .split
                if inTrial { lengths[lengths.count - 1] += 1 }
                // Every trial call is timed (the warm-up apart from split's own times).
                if inTrial { #expect(chooser.timesCall) }
                let position = lengths.last ?? 0
                let ticks: UInt64 = way == .inline ? 10_000 : (inTrial && (2...4).contains(position) ? warmUp : 20_000)
                if chooser.timesCall { chooser.record(way, ticks: ticks) } else { chooser.skip(way) }
                previous = way
            }
            return lengths
        }
        let cheap = trials(warmUp: 20_000), costly = trials(warmUp: 60_000)
        #expect(cheap.count >= 2 && cheap.allSatisfy { $0 == SplitChooser.trialLength })
        #expect(costly.allSatisfy { $0 == SplitChooser.trialLength })
        // 4·10k + 3·10k against 4·10k + 3·50k per trial: trials come 2.7 times as far apart.
        #expect(costly.count < cheap.count)
    }

    @Test("Split, slow for three calls after a run inline and faster after, wins its trial")
    func splitWinsAfterItsWarmUp() {
        var chooser = SplitChooser()
        var splitRun = 0
        // Inline is steady at first: split takes 13 000 ticks (the vCPUs apart).
        _ = Self.run(&chooser, calls: 300) { $0 == .split ? 13_000 : 10_000 }
        // Now split takes 7 000 once warm, but its first four calls after inline take 14 000
        // (a parked worker woken, data in the caller's cache): what trials of four timed calls
        // from the switch on measured, traced uncontended (session 16).
        let ways = Self.run(&chooser, calls: 3_000) { way in
            guard way == .split else {
                splitRun = 0
                return 10_000
            }
            splitRun += 1
            return splitRun <= 4 ? 14_000 : 7_000
        }
        #expect(ways.suffix(1_000).filter { $0 == .split }.count >= 990)
    }

    @Test("A trial does not win on its first timed call: the other way needs a median of its own")
    func trialNeedsItsOwnMedian() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 300) { $0 == .split ? 13_000 : 10_000 }
        // In every split trial from now on, the first timed call is lucky (5 000) and the
        // others are as slow as before.
        var splitRun = 0
        let ways = Self.run(&chooser, calls: 3_000) { way in
            guard way == .split else {
                splitRun = 0
                return 10_000
            }
            splitRun += 1
            return splitRun == SplitChooser.trialWarmup + 1 ? 5_000 : 13_000
        }
        // Every trial loses, so the interval between trials doubles (here 24 split calls in
        // three trials). A trial won on its lucky call would run split until more times came in
        // and start the interval over each time (94 split calls in a dozen trials).
        #expect(ways.filter { $0 == .split }.count <= 50)
    }

    @Test("Split keeps splitting through a worker's short absences (a competitor's time slice)")
    func ridesOutShortPhases() {
        // Split takes 0.85 of inline, except for spells of 12 calls in every 48 in which the
        // worker is descheduled and split costs 1.05 of inline (the caller runs every tile):
        // traced on a contended training step (session 20; ~3 ms spells, a competitor's time
        // slice), where a median of 5 times took inline over in such a spell and kept it for
        // the 64 calls to the next trial. Three timed calls of the spell are not a majority of 9.
        var chooser = SplitChooser()
        var call = 0
        let ways = Self.run(&chooser, calls: 4_000) { way in
            call += 1
            guard way == .split else { return 200 }
            return call % 48 < 12 ? 210 : 170
        }
        #expect(ways.suffix(3_000).filter { $0 == .split }.count >= 2_900)
    }

    /// Runs `calls` calls where split calls take `unhelped` until `arrival` split calls after
    /// a switch from inline (a woken worker still on its way) and `helped` from then on, while
    /// inline calls take 10 000; `tellsArrival` decides whether the chooser hears that a worker
    /// is on its way. Returns the ways.
    static func runWithArrival(_ chooser: inout SplitChooser, calls: Int, arrival: Int,
                               unhelped: UInt64, helped: UInt64, tellsArrival: Bool) -> [SplitChooser.Way] {
        var splitRun = 0
        return (0..<calls).map { _ in
            let way = chooser.choose(workersArriving: { tellsArrival && splitRun < arrival })
            splitRun = way == .split ? splitRun + 1 : 0
            let ticks = way == .inline ? 10_000 : (splitRun <= arrival ? unhelped : helped)
            if chooser.timesCall { chooser.record(way, ticks: ticks) } else { chooser.skip(way) }
            return way
        }
    }

    @Test("A split trial warms up until the worker it woke is running, and then split wins")
    func splitTrialsWaitForTheWorker() {
        // Traced (session 17): after a run inline, a small SGEMM's split calls took inline's
        // time plus a fork for the 30–100 µs a parked worker needed to start running, longer
        // than the whole 8-call trial; once it ran, split took 0.75 of inline.
        for tellsArrival in [true, false] {
            var chooser = SplitChooser()
            _ = Self.run(&chooser, calls: 300) { $0 == .split ? 13_000 : 10_000 }
            let ways = Self.runWithArrival(&chooser, calls: 3_000, arrival: 12, unhelped: 10_300,
                                           helped: 7_500, tellsArrival: tellsArrival)
            let lastSplit = ways.suffix(1_000).filter { $0 == .split }.count
            if tellsArrival {
                // All but the inline trials (8 calls every ~300).
                #expect(lastSplit >= 950)
            } else {
                // Without the signal every trial times unhelped calls: split never takes over.
                #expect(lastSplit <= 50)
            }
        }
    }

    @Test("Split trials that wait for a woken worker still cost about the 1% budget")
    func arrivalsStayWithinTheBudget() {
        // A worker that never arrives makes every split trial 8 + 64 calls. Inline's own time
        // moves by 15% every 500 calls (the host moved the vCPUs, a competitor came), beyond
        // the drift band, so the back-off keeps starting over and the trials come at the
        // budget's interval: priced without the waiting calls, trials took ~10% of the time.
        var chooser = SplitChooser()
        var call = 0
        var excess = 0.0
        var total = 0.0
        for _ in 0..<60_000 {
            call += 1
            let inline: UInt64 = (call / 500) % 2 == 0 ? 10_000 : 11_500
            let way = chooser.choose(workersArriving: { true })
            let ticks = way == .split ? 13_000 : inline
            if chooser.timesCall { chooser.record(way, ticks: ticks) } else { chooser.skip(way) }
            if call > 1_000 {
                total += Double(inline)
                excess += Double(ticks) - Double(inline)
            }
        }
        #expect(excess / total < 2 * SplitChooser.explorationBudget)
    }

    @Test("The wait for a woken worker is capped, and only split trials ask for it")
    func arrivalIsCapped() {
        // A worker that never arrives: each split trial lasts its 8 calls plus the cap.
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 300) { $0 == .split ? 13_000 : 10_000 }
        let ways = Self.runWithArrival(&chooser, calls: 5_000, arrival: .max, unhelped: 10_300,
                                       helped: 10_300, tellsArrival: true)
        var runs: [Int] = []
        for (index, way) in ways.enumerated() where way == .split {
            if index > 0 && ways[index - 1] == .inline { runs.append(0) }
            if !runs.isEmpty { runs[runs.count - 1] += 1 }
        }
        #expect(runs.count >= 2)
        #expect(runs.dropLast().allSatisfy { $0 == SplitChooser.trialLength + SplitChooser.longestArrival })
        // Split steady, inline tried: nobody asks whether a worker is on its way.
        var steadySplit = SplitChooser()
        var asked = 0
        for _ in 0..<3_000 {
            let way = steadySplit.choose(workersArriving: {
                asked += 1
                return true
            })
            if steadySplit.timesCall {
                steadySplit.record(way, ticks: way == .split ? 5_000 : 10_000)
            } else {
                steadySplit.skip(way)
            }
        }
        #expect(asked == 0)
    }

    @Test("Two ways within 3% of each other do not trade places")
    func hysteresis() {
        var chooser = SplitChooser()
        // Split first measures 1% slower, then 1% faster: inline keeps the calls.
        let ways = Self.run(&chooser, calls: 400,
                            time: Self.splitChanging(at: 100, from: 10_100, to: 9_900, inline: 10_000))
        let switchesBack = zip(ways.dropFirst(9), ways.dropFirst(10)).filter { $0 == .split && $1 == .inline }.count
        let trials = ways.dropFirst(9).filter { $0 == .split }.count
        // Only trials (eight calls every 64 or more) split; no switch of the steady way.
        #expect(trials == switchesBack * SplitChooser.trialLength)
        #expect(ways.suffix(20).filter { $0 == .inline }.count >= 16)
    }

    @Test("A tie goes to one thread: split needs to be 6% faster to take over, inline 3%",
          arguments: [(UInt64(9_500), SplitChooser.Way.inline), (UInt64(9_300), SplitChooser.Way.split)])
    func tiesGoInline(splitTicks: UInt64, steady: SplitChooser.Way) {
        var chooser = SplitChooser()
        let ways = Self.run(&chooser, calls: 600) { $0 == .split ? splitTicks : 10_000 }
        // Beyond learning and the confirmation, only trials (4 calls in 64 at most) take the
        // other way.
        #expect(ways.suffix(500).filter { $0 == steady }.count >= 460)
        // From steady split, inline 4% faster takes over.
        var splitFirst = SplitChooser()
        let back = Self.run(&splitFirst, calls: 600,
                            time: Self.splitChanging(at: 100, from: 9_000, to: 10_400, inline: 10_000))
        #expect(back.dropFirst(20).prefix(60).filter { $0 == .split }.count >= 50)
        #expect(back.suffix(400).filter { $0 == .inline }.count >= 360)
    }

    @Test("The median is that of the last `window` times")
    func recentMedian() {
        let window = SplitChooser.window
        var times = RecentTimes()
        times.add(9)
        #expect(times.median == 9)
        times.add(1)
        #expect(times.median == 9)  // upper median of two
        for t: UInt64 in [5, 7, 3] { times.add(t) }
        #expect(times.median == 5)
        for _ in 5..<window { times.add(50) }
        #expect(times.count == window)
        // Each time added now pushes the oldest out; 100s replace the first five times.
        for _ in 0..<(window / 2 + 1) { times.add(100) }
        #expect(times.median == 100)
        #expect(times.count == window)
    }

    @Test("The median follows every sequence of times, ties and all, as the window slides")
    func medianOfSlidingWindow() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var times = RecentTimes()
            var added: [UInt64] = []
            for _ in 0..<40 {
                // Few distinct values: many ties.
                let value = UInt64.random(in: 0...6, using: &generator)
                times.add(value)
                added.append(value)
                let held = added.suffix(SplitChooser.window).sorted()
                #expect(times.median == held[held.count / 2], "\(added)")
            }
        }
    }

    @Test("A restarted window takes its median from the times added since, and keeps the old one until then")
    func restartedWindow() {
        var times = RecentTimes()
        for _ in 0..<SplitChooser.window { times.add(1_000) }
        times.restartWindow()
        #expect(times.median == 1_000)
        #expect(times.held == 0)
        #expect(times.count == SplitChooser.window)  // still judged: stalls count from the first time
        times.add(500)
        #expect(times.median == 500)
        times.add(700)
        times.add(600)
        #expect(times.median == 600)
        for _ in 0..<(2 * SplitChooser.window) { times.add(800) }
        #expect(times.median == 800)
        #expect(times.held == SplitChooser.window)
    }

    @Test("A stall adds to the tail (capped at 32 medians); ordinary calls wear it away")
    func tail() {
        var times = RecentTimes()
        for _ in 0..<5 { times.add(1_000) }
        #expect(times.tail == 0 && times.cost == 1_000)
        times.add(1_000_000)  // capped: (32 − 1)·1000 / 128
        #expect(times.tail == 242)
        #expect(times.median == 1_000)
        for _ in 0..<400 { times.add(1_000) }
        #expect(times.tail < 1_000 / 100)
    }

    @Test("Stall evidence ages with the calls made without sampling the way: it halves every 16384")
    func tailAges() {
        var times = RecentTimes()
        for _ in 0..<5 { times.add(1_000) }
        for _ in 0..<8 { times.add(1_000_000) }
        let before = times.tail
        times.age(calls: 0)
        #expect(times.tail == before)
        times.age(calls: RecentTimes.staleHalfLife)
        #expect(times.tail == before / 2 || times.tail == (before + 1) / 2)
        #expect(times.median == 1_000_000)  // only the tail ages
    }

    @Test("A wait for a stalled thread counts in full, beyond the cap; a stall of the caller alone does not",
          arguments: [true, false])
    func waitsCountInFull(waited: Bool) {
        var chooser = SplitChooser()
        // Traced under contention with the worker on the busy loop's CPU (SGEMM 256×48·48×24,
        // 2.5 µs split): split's median was 0.7 of inline's, but about one split call in 600
        // waited ~1000 medians for the preempted worker, and split averaged 2.2× inline. Capped
        // at 32 medians, that stall is priced at 0.05 of a median per call.
        let ways = Self.runWaiting(&chooser, calls: 60_000,
                                   time: Self.stallingSplit(split: 7_000, stall: 7_000_000, every: 601, inline: 10_000),
                                   waited: { waited && $0 > 1_000_000 ? $0 - 7_000 : 500 })
        let inlineCalls = ways.suffix(20_000).filter { $0 == .inline }.count
        if waited {
            #expect(inlineCalls >= 19_000)
        } else {
            // The same times with the caller itself stalled (no wait): capped, as before.
            #expect(inlineCalls <= 1_000)
        }
    }

    @Test("One early wait does not shut out a way that is faster on average")
    func oneEarlyWaitIsWeighed() {
        var chooser = SplitChooser()
        // Split is twice as fast and stalls 75 medians once in 200 calls (1.37 medians on
        // average against inline's 2): the first stall, within its first hundred calls, must
        // not send it inline for the rest of a short run.
        let ways = Self.runWaiting(&chooser, calls: 2_000,
                                   time: Self.stallingSplit(split: 10_000, stall: 760_000, every: 41 * 5, inline: 20_000),
                                   waited: { $0 > 100_000 ? $0 - 10_000 : 0 })
        #expect(ways.suffix(1_000).filter { $0 == .split }.count >= 950)
    }

    @Test("When a way stops waiting for stalled threads, its waits are forgotten and it comes back")
    func waitsAreForgotten() {
        var chooser = SplitChooser()
        // A competitor makes one split call in 201 wait 330 medians for a preempted worker:
        // split averages 1.6× inline, and inline runs (split comes back now and then: its waits
        // fade between the few that trials and short runs sample).
        let before = Self.runWaiting(&chooser, calls: 20_000,
                                     time: Self.stallingSplit(split: 6_000, stall: 2_000_000, every: 201, inline: 10_000),
                                     waited: { $0 > 1_000_000 ? $0 - 6_000 : 0 })
        #expect(before.suffix(10_000).filter { $0 == .inline }.count >= 9_000)
        // The competitor is gone: split takes half inline's time and must come back.
        let ways = Self.run(&chooser, calls: 20_000) { $0 == .split ? 5_000 : 10_000 }
        #expect(ways.suffix(10_000).filter { $0 == .split }.count >= 9_900)
    }

    @Test("One hold-up of thousands of medians counts as 512 at most")
    func oneHugeWaitIsCapped() {
        var chooser = SplitChooser()
        var splitCalls = 0
        // Split is 1.7× as fast; its 300th call waits 16 ms (5000 medians: the host held the
        // worker's vCPU). Uncapped that is 3 medians per call for thousands of calls; capped, 0.6.
        let ways = Self.runWaiting(&chooser, calls: 3_000, time: { way in
            if way == .inline { return 17_000 }
            splitCalls += 1
            return splitCalls == 300 ? 50_000_000 : 10_000
        }, waited: { $0 > 1_000_000 ? $0 - 10_000 : 0 })
        #expect(ways.suffix(2_000).filter { $0 == .split }.count >= 1_900)
    }

    @Test("A new key starts from the pool's waits: split, faster by median, runs inline while other keys' split calls lose more than it saves")
    func newKeyStartsFromPoolWaits() {
        // Split saves 3000 ticks a call; other keys' split calls have lately lost 8000 on average.
        var contended = SplitChooser()
        let ways = Self.run(&contended, calls: 20_000, poolWait: 8_000) { $0 == .split ? 7_000 : 10_000 }
        #expect(ways.suffix(10_000).filter { $0 == .inline }.count >= 9_900)
        // The same key on a pool whose split calls do not wait.
        var quiet = SplitChooser()
        let quietWays = Self.run(&quiet, calls: 20_000) { $0 == .split ? 7_000 : 10_000 }
        #expect(quietWays.suffix(10_000).filter { $0 == .split }.count >= 9_900)
    }

    @Test("A key's own evidence outweighs the pool's: split calls that never wait keep splitting")
    func ownEvidenceOutweighsPoolWaits() {
        var chooser = SplitChooser()
        _ = Self.run(&chooser, calls: 4_000) { $0 == .split ? 7_000 : 10_000 }
        // Other keys now lose 6000 ticks a split call (twice what this one saves): after 2048
        // calls of its own without a wait, the pool's figure weighs a quarter.
        let ways = Self.run(&chooser, calls: 10_000, poolWait: 6_000) { $0 == .split ? 7_000 : 10_000 }
        #expect(ways.suffix(5_000).filter { $0 == .split }.count >= 4_900)
    }

    @Test("Split calls tell the pool their waits beyond the median; inline calls, switches and learning do not")
    func reportsStallsForThePool() {
        var chooser = SplitChooser()
        var reports: [UInt64?] = []
        for call in 0..<40 {
            let way = chooser.choose()
            let ticks: UInt64 = way == .split ? 7_000 : 10_000
            let waited: UInt64 = way == .split ? (call == 30 ? 900_000 : 1_000) : 0
            reports.append(chooser.timesCall
                ? chooser.record(way, ticks: call == 30 ? 907_000 : ticks, waited: waited)
                : chooser.skip(way, waited: waited))
        }
        // Calls 0–3 split (warm-up and learning), 4–7 inline, 8 switches back to split.
        #expect(reports[0..<9].allSatisfy { $0 == nil })
        // Timed, its wait up to its excess over the median (900 000); untimed, its wait beyond
        // the median (893 000).
        #expect(reports[30] == 900_000 || reports[30] == 893_000)
        #expect(reports[9..<40].compactMap { $0 }.filter { $0 > 0 }.count == 1)
    }
}

@Suite("PoolWaits")
struct PoolWaitsTests {
    /// Ticks of a clock counting nanoseconds.
    static let millisecond: UInt64 = 1_000_000

    @Test("One 16 ms hold-up counts as 4 ms over 4096 calls assumed stall-free: under 1 µs a call")
    func oneHoldUpIsWeighed() {
        var waits = PoolWaits(ticksPerSecond: 1e9)
        waits.add(stall: 16 * Self.millisecond, now: 1)
        #expect(waits.perCall == 4 * Self.millisecond / 4097)
    }

    @Test("Under steady contention the figure approaches the mean wait per split call")
    func steadyStallsGiveTheMean() {
        var waits = PoolWaits(ticksPerSecond: 1e9)
        // One split call in 600 waits 2 ms (3.3 µs a call on average); a call every 10 µs.
        for call in 1...60_000 {
            waits.add(stall: call % 600 == 0 ? 2 * Self.millisecond : 0, now: UInt64(call) * 10_000)
        }
        #expect(waits.perCall > 2_800 && waits.perCall < 3_400)
    }

    @Test("When the waits stop, they fade over seconds even if few split calls come")
    func waitsFade() {
        var waits = PoolWaits(ticksPerSecond: 1e9)
        var now: UInt64 = 0
        for call in 1...60_000 {
            now += 10_000
            waits.add(stall: call % 600 == 0 ? 2 * Self.millisecond : 0, now: now)
        }
        let contended = waits.perCall
        // Trials only: one split call every 10 ms for 10 s (ten half-lives).
        for _ in 0..<1_000 {
            now += 10 * Self.millisecond
            waits.add(stall: 0, now: now)
        }
        #expect(waits.perCall < contended / 10)
    }
}

@Suite("SplitDecisions")
struct SplitDecisionsTests {
    /// Makes `calls` calls of `key`: an inline call spins `inlineSpin` seconds (so that
    /// splitting, which does nothing, is faster), and every `waitEvery`-th split call reports
    /// that the caller waited `waited` ticks, as its slot would. Every call has work to share (a
    /// serial key would not choose). Returns how many split.
    static func call(_ decisions: SplitDecisions, _ key: StaticString, calls: Int, inlineSpin: Double = 0,
                     waited: UInt64, waitEvery: Int = 10, completed: Bool = true) -> Int {
        var splitCalls = 0
        for _ in 0..<calls {
            let way = decisions.begin(OperationKey(key), restoringAfterwards: nil)
            decisions.startClock()
            var wait: UInt64 = 0
            if way == .split {
                splitCalls += 1
                if splitCalls % waitEvery == 0 { wait = waited }
            } else {
                let end = weave_ticks() &+ UInt64(inlineSpin * TickRate.perSecond)
                while weave_ticks() < end {}
            }
            _ = decisions.end(completed: completed, waited: wait, shared: true)
        }
        return splitCalls
    }

    @Test("Split calls of any key feed the pool's waits, capped at 4 ms each; calls that threw do not")
    func splitCallsFeedPoolWaits() {
        let tenMilliseconds = UInt64(0.01 * TickRate.perSecond)
        let quiet = SplitDecisions()
        _ = Self.call(quiet, "a", calls: 100, inlineSpin: 50e-6, waited: 0)
        #expect(quiet.poolWaitPerCall == 0)
        let threw = SplitDecisions()
        _ = Self.call(threw, "a", calls: 100, inlineSpin: 50e-6, waited: tenMilliseconds, completed: false)
        #expect(threw.poolWaitPerCall == 0)

        let contended = SplitDecisions()
        let splitCalls = Self.call(contended, "a", calls: 100, inlineSpin: 50e-6, waited: tenMilliseconds)
        let cap = Double(PoolWaits.cap * TickRate.perSecond)
        // Split is 50 µs faster than inline, so it runs steadily: of its 10 ms waits (one call in
        // ten), those after learning count, 4 ms each; but not in the one steady call in four
        // that is timed (a timed call's wait counts only when the call took over twice its
        // median, and these calls report a wait they did not spend).
        #expect(splitCalls > 80)
        let stalls = Double(splitCalls / 10 - 1)
        #expect(Double(contended.poolWaitPerCall) >= stalls / 2 * cap / (4096 + Double(splitCalls)))
        #expect(Double(contended.poolWaitPerCall) <= stalls * cap / 4096)
        // A new key starts from them: its split and inline calls both do nothing, and the
        // pool's waits send it inline once it has learnt.
        let before = contended.poolWaitPerCall
        let newKeySplits = Self.call(contended, "b", calls: 200, waited: 0)
        #expect(newKeySplits < 40)
        #expect(contended.poolWaitPerCall < before)  // its split calls did not wait
    }
}
