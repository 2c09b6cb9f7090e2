import Foundation
import Testing
import Weave
@testable import WeaveCommand

@Suite("Scaling tables")
struct ScalingTableTests {
    private func sample(_ median: Double) -> Sample { Sample([median]) }

    @Test("Strong scaling: speed-up is t(1)/t(N), efficiency divides by N, slower counts are flagged")
    func strong() {
        let table = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx512",
                                 contended: false,
                                 measurements: [(4, "s", sample(5)), (1, "s", sample(10)), (2, "s", sample(12))])
        #expect(table.points.map(\.threads) == [1, 2, 4])
        #expect(table.points.map(\.speedup) == [1, 10.0 / 12, 2])
        #expect(table.points.map(\.efficiency) == [1, 10.0 / 12 / 2, 0.5])
        #expect(table.slowerThanBase == [2])
        #expect(table.slowerBeyondNoise == [2])
    }

    @Test("A speed-up just below 1 is slower, but within the noise band")
    func noiseBand() {
        let table = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx512",
                                 contended: true,
                                 measurements: [(1, "s", sample(1)), (2, "s", sample(1.02)), (3, "s", sample(1.2))])
        #expect(table.slowerThanBase == [2, 3])
        #expect(table.slowerBeyondNoise == [3])
    }

    @Test("A second run at the base count is an A/A control: never the base, never flagged")
    func control() {
        // The control measured after the 2-thread run, listed first: order of measurement
        // decides which 1-thread run is the base.
        let a = ScalingTable(kind: .strong, benchmark: "b", operation: "a", unit: "ms", isa: "avx2",
                             contended: true,
                             measurements: [(1, "s", sample(10)), (2, "s", sample(10.3)), (1, "s", sample(10.5))])
        #expect(a.points.map(\.threads) == [1, 1, 2])
        #expect(a.points.map(\.control) == [false, true, false])
        #expect(a.points[0].time.median == 10)
        #expect(a.controlRatio == 10 / 10.5)
        #expect(a.slowerThanBase == [2] && a.slowerBeyondNoise.isEmpty)
        let b = ScalingTable(kind: .weak, benchmark: "b", operation: "b", unit: "ms", isa: "avx2",
                             contended: true,
                             measurements: [(1, "64", sample(10)), (1, "64", sample(9.8)), (2, "128", sample(20))])
        #expect(b.controlRatio == 10 / 9.8)
        let noControl = ScalingTable(kind: .strong, benchmark: "b", operation: "c", unit: "ms", isa: "avx2",
                                     contended: true, measurements: [(1, "s", sample(1)), (2, "s", sample(2))])
        #expect(noControl.controlRatio == nil)
        // Over the tables the A/A ratios span 10/10.5 (0.952) to 10/9.8 (1.020): a's 0.971×
        // and b's 1.00× are within that, c's 0.50× is below it.
        let control = AAControl([a, b, noControl])
        #expect(control?.tables == 2)
        #expect(control?.lowest == 10 / 10.5 && control?.highest == 10 / 9.8)
        #expect(control?.below.count == 1)
        #expect(control?.summary.hasSuffix("\n  b strong: c: 2 threads 0.50×") == true)
        #expect(AAControl([noControl]) == nil)
    }

    @Test("Paired rounds: the speed-up is the median per-round ratio, a drift both runs share cancels")
    func pairedRounds() {
        // Load drifting over the run: every round slower than the last, for both thread counts.
        let base = Sample([10, 12, 14, 16, 18])
        let drifting = Sample([10.2, 11.8, 14.3, 15.7, 18.4])
        let table = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                 contended: true, measurements: [(1, "s", base), (2, "s", drifting)])
        let ratios = [10 / 10.2, 12 / 11.8, 14 / 14.3, 16 / 15.7, 18 / 18.4]
        #expect(table.points[1].speedup == ratios.sorted()[2])
        #expect(table.points[1].speedupInterval == MedianInterval(ratios))
        #expect(table.points[1].speedupInterval?.low == ratios.min())
        #expect(table.points[1].speedupInterval?.high == ratios.max())
        #expect(table.slowerThanBase == [2])
        #expect(table.slowerBeyondNoise.isEmpty)
        // 5 % slower in every round: beyond noise, though less than the old 5 % band.
        let steady = Sample(base.values.map { $0 * 1.04 })
        let slower = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                  contended: true, measurements: [(1, "s", base), (2, "s", steady)])
        #expect(slower.slowerBeyondNoise == [2])
        #expect(slower.points[0].speedupInterval == MedianInterval([1, 1, 1, 1, 1]))
        #expect(speedupCell(slower.points[1]) == "0.96× [0.96–0.96]")
        #expect(intervalBound(0.998) == "0.998" && intervalBound(1) == "1.00" && intervalBound(1.03) == "1.03")
        // Weak scaling scales every ratio by the work.
        let weak = ScalingTable(kind: .weak, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                contended: true, measurements: [(1, "s", base), (2, "s", steady)])
        #expect(abs(weak.points[1].speedup - 2 / 1.04) < 1e-12)
        #expect(abs((weak.points[1].speedupInterval?.high ?? 0) - 2 / 1.04) < 1e-12)
        #expect(abs(weak.points[1].efficiency - 1 / 1.04) < 1e-12)
        #expect(weak.slowerBeyondNoise.isEmpty)
    }

    @Test("The ratio of mean times counts a round's long stall that the median of ratios leaves out")
    func meanSpeedup() {
        // Two threads take 0.8 of the base's time, but one round of five met a stall of 10
        // base calls: the median ratio says 1.25×, the means say 50 / 54 (slower).
        let base = Sample([10, 10, 10, 10, 10])
        let two = Sample([8, 8, 8, 8, 22])
        let table = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                 contended: true, measurements: [(1, "s", base), (2, "s", two)])
        #expect(table.points[1].speedup == 1.25)
        #expect(abs(table.points[1].meanSpeedup - 50.0 / 54) < 1e-12)
        #expect(table.slowerThanBase.isEmpty && table.slowerBeyondNoise.isEmpty)
        #expect(table.slowerOnAverage == [2])
        // Weak scaling scales it by the work, like the median.
        let weak = ScalingTable(kind: .weak, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                contended: true, measurements: [(1, "s", base), (2, "s", two)])
        #expect(abs(weak.points[1].meanSpeedup - 2 * 50.0 / 54) < 1e-12)
        #expect(weak.slowerOnAverage.isEmpty)
    }

    @Test("Samples of different lengths are not paired: ratio of the medians, the noise band decides")
    func unpaired() {
        let table = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                 contended: true,
                                 measurements: [(1, "s", Sample([10, 10, 10])), (2, "s", Sample([10.4, 10.6])),
                                                (3, "s", Sample([11, 12, 11]))])
        #expect(table.points[1].speedupInterval == nil)
        #expect(table.points[1].speedup == 10 / 10.5)
        #expect(table.slowerThanBase == [2, 3])
        #expect(!table.slowerBeyondNoise.contains(2))
        // Paired with the base (same length), but every ratio 10/11 or 10/12.
        #expect(table.points[2].speedupInterval != nil)
        let ratioInterval = table.points[2].speedupInterval!
        #expect(ratioInterval.low == 10.0 / 12 && ratioInterval.high == 10.0 / 11)
        // Three rounds give only 75 % confidence: too little for the interval to decide, so the
        // noise band does (0.87× is beyond it).
        #expect(ratioInterval.confidence == 0.75)
        #expect(table.slowerBeyondNoise == [3])
    }

    @Test("A/A control counts the intervals that held 1×")
    func controlIntervals() {
        let base = Sample([10, 11, 12, 13, 14])
        let same = Sample([10.1, 10.9, 12.2, 12.8, 14.1])
        let slow = Sample(base.values.map { $0 * 1.1 })
        let tables = [same, slow].map { control in
            ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                         contended: false, measurements: [(1, "s", base), (1, "s", control), (2, "s", base)])
        }
        let control = AAControl(tables)
        #expect(control?.intervals == 2)
        #expect(control?.intervalsHoldingOne == 1)
        #expect(control?.expectedHoldingOne == 2 * (1 - 2.0 / 32))
        #expect(control?.summary.contains("held 1× in 1 of 2 (2 expected at their confidences)") == true)
        #expect(abs((control?.meanLowest ?? 0) - 60 / 66) < 1e-12)
        #expect(abs((control?.meanHighest ?? 0) - 60 / 60.1) < 1e-12)
    }

    @Test("Weak scaling: efficiency is t(1)/t(N), speed-up scales it by N")
    func weak() {
        let table = ScalingTable(kind: .weak, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                 contended: true,
                                 measurements: [(1, "64", sample(2)), (2, "128", sample(2.5))])
        #expect(table.points[1].efficiency == 0.8)
        #expect(table.points[1].speedup == 1.6)
        #expect(table.slowerThanBase.isEmpty)
    }

    @Test("The collector makes one table per operation with two or more thread counts, in order")
    func collector() {
        var collector = ScalingCollector(benchmark: "gemm", isa: "avx512")
        collector.add(.strong, operation: "b", threads: 1, shape: "x", time: sample(1))
        collector.add(.strong, operation: "a", threads: 1, shape: "x", time: sample(1))
        collector.add(.strong, operation: "a", threads: 2, shape: "x", time: sample(0.5))
        collector.add(.strong, operation: "b", threads: 2, shape: "x", time: sample(2))
        collector.add(.weak, operation: "c", threads: 1, shape: "x", time: sample(1))
        let tables = collector.tables(contended: false)
        #expect(tables.map(\.operation) == ["b", "a"])
        #expect(tables[0].slowerThanBase == [2])
    }

    @Test("Samples report the median, minimum and maximum, and keep their values in order")
    func samples() {
        let s = Sample([3, 1, 4, 1, 5])
        #expect(s.median == 3 && s.min == 1 && s.max == 5 && s.count == 5)
        #expect(s.values == [3, 1, 4, 1, 5])
        #expect(Sample([1, 2]).median == 1.5)
        // A decreasing map (seconds to a rate) keeps the order of the values.
        let rates = Sample([2, 4, 1]).map { 8 / $0 }
        #expect(rates.values == [4, 2, 8])
        #expect(rates.min == 2 && rates.max == 8 && rates.median == 4)
    }

    @Test("Interleaved timing runs every body once a round, in orders that vary, the same each run")
    func interleavedOrder() {
        final class Log: @unchecked Sendable { var calls: [Int] = [] }
        func run() -> (calls: [Int], samples: [Sample]) {
            let log = Log()
            let samples = measureInterleaved(repeats: 12, warmup: 0,
                                             (0..<3).map { index in { log.calls.append(index) } })
            return (log.calls, samples)
        }
        let first = run()
        #expect(first.samples.map(\.count) == [12, 12, 12])
        let rounds = stride(from: 0, to: 36, by: 3).map { Array(first.calls[$0..<$0 + 3]) }
        #expect(rounds.allSatisfy { $0.sorted() == [0, 1, 2] })
        // Every body leads some round, and the order is not always the same.
        #expect(Set(rounds.map(\.[0])) == [0, 1, 2])
        #expect(Set(rounds).count > 2)
        #expect(run().calls == first.calls)
    }

    @Test("Round trips read between rounds reach every sample, survive a map, stay out of the sample's JSON, and make the table's")
    func roundTripsBetweenRounds() throws {
        let samples = measureInterleaved(repeats: 4, warmup: 0, roundTripCPUs: CoreToCoreLatency.defaultCPUs(),
                                         [{}, {}])
        if CoreToCoreLatency.defaultCPUs() != nil {
            let readings = try #require(samples[0].roundTrips)
            // One reading per round, in nanoseconds: a cache line takes tens to hundreds.
            #expect(readings.count == 4 && readings.allSatisfy { $0 > 1 && $0 < 1e6 })
            #expect(samples[1].roundTrips == readings)
        }
        #expect(measureInterleaved(repeats: 2, warmup: 0, [{}])[0].roundTrips == nil)

        var one = Sample([10, 11, 12]), two = Sample([6, 7, 6])
        one.roundTrips = [90, 310, 95]
        two.roundTrips = one.roundTrips
        let milliseconds = one.map { $0 * 1e3 }
        #expect(milliseconds.roundTrips == [90, 310, 95])
        let encoded = String(decoding: try JSONEncoder().encode(one), as: UTF8.self)
        #expect(!encoded.contains("roundTrips"))
        let table = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                 contended: true, measurements: [(1, "s", milliseconds), (2, "s", two.map { $0 * 1e3 })])
        #expect(table.roundTrip?.values == [90, 310, 95])
        #expect(table.roundTrip?.median == 95)
        // Rounds 0 and 2 read near, round 1 far: each state's median of its rounds' ratios.
        #expect(table.points[0].byHostState == nil)
        let split = try #require(table.points[1].byHostState)
        #expect(split.near?.rounds == 2 && split.near?.speedup == (10.0 / 6 + 2) / 2)
        #expect(split.far?.rounds == 1 && split.far?.speedup == 11.0 / 7 && split.far?.interval == nil)
        #expect(split.cell == "1.83× (2) · 1.57× (1)")
        let untimed = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                   contended: true, measurements: [(1, "s", sample(1)), (2, "s", sample(1))])
        #expect(untimed.roundTrip == nil)
    }

    @Test("Host states: rounds split at 200 ns; a state is judged slower only with 3 rounds or more")
    func hostStates() throws {
        #expect(HostStateSpeedups(ratios: [1, 2], roundTrips: [90]) == nil)
        #expect(HostStateSpeedups(ratios: [], roundTrips: []) == nil)
        // 199.9 ns is near, 200 far.
        let split = try #require(HostStateSpeedups(ratios: [0.9, 0.95, 0.97, 0.8, 1.3, 0.7],
                                                   roundTrips: [199.9, 90, 60, 200, 450, 320]))
        #expect(split.near?.rounds == 3 && split.near?.speedup == 0.95)
        #expect(split.far?.rounds == 3 && split.far?.speedup == 0.8)
        #expect(split.slower == (near: true, far: true))
        let nearOnly = try #require(HostStateSpeedups(ratios: [0.9, 1.2, 1.1, 0.5], roundTrips: [90, 95, 100, 330]))
        #expect(nearOnly.slower == (near: false, far: false))  // one far round: shown, not judged
        #expect(nearOnly.cell == "1.10× (3) · 0.50× (1)")
        #expect(try #require(HostStateSpeedups(ratios: [1.2], roundTrips: [90])).cell == "1.20× (1) · –")
    }

    @Test("The host-state verdict counts tables judged and slower per state, and lists the slower points")
    func hostStateVerdict() throws {
        func table(_ name: String, base: [Double], two: [Double], trips: [Double]) -> ScalingTable {
            var one = Sample(base), other = Sample(two)
            one.roundTrips = trips
            other.roundTrips = trips
            return ScalingTable(kind: .strong, benchmark: "b", operation: name, unit: "ms", isa: "avx2",
                                contended: true, measurements: [(1, "s", one), (2, "s", other)])
        }
        let trips: [Double] = [90, 90, 90, 310, 310, 310]
        // a: 2× on near rounds, 0.9× on far ones; c: 1.1× near, 2 far rounds only (not judged).
        let a = table("a", base: [2, 2, 2, 9, 9, 9], two: [1, 1, 1, 10, 10, 10], trips: trips)
        let b = table("b", base: [1, 1, 1, 1, 1, 1], two: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], trips: trips)
        let c = table("c", base: [1.1, 1.1, 1.1, 1.1, 1, 1], two: [1, 1, 1, 1, 2, 2], trips: [90, 90, 90, 90, 310, 310])
        let untimed = ScalingTable(kind: .strong, benchmark: "b", operation: "d", unit: "ms", isa: "avx2",
                                   contended: true, measurements: [(1, "s", sample(1)), (2, "s", sample(1))])
        let verdict = try #require(HostStateVerdict([a, b, c, untimed]))
        #expect(verdict.nearTables == 3 && verdict.nearSlower == 0)
        #expect(verdict.farTables == 2 && verdict.farSlower == 1)
        #expect(verdict.slower.map(\.operation) == ["a"])
        #expect(verdict.summary.hasSuffix("slower in 0 of 3 tables on near rounds, in 1 of 2 on far rounds\n  b strong: a: 2 threads 2.00× (3) · 0.90× (3)"))
        #expect(HostStateVerdict([untimed]) == nil)
    }

    @Test("Weak scaling against the base count on the same problem splits the scaled speed-up in two")
    func sameProblem() throws {
        // Twice the work takes the base 2.2× as long (a working set past a cache), and 2 threads
        // take 1.1× the base's time on 64 — exactly what 1 thread takes on 128 / 2 threads.
        let base = Sample([10, 12, 10, 11, 10])
        let two = Sample(base.values.map { $0 * 1.1 })
        let reference = Sample(base.values.map { $0 * 2.2 })
        var collector = ScalingCollector(benchmark: "b", isa: "avx2")
        let runs = [(1, "64", base), (1, "64", base), (2, "128", two)]
        for (threads, shape, time) in runs {
            collector.add(.weak, operation: "op", threads: threads, shape: shape, time: time)
        }
        collector.addReference(operation: "op", shape: "128", time: reference)
        collector.addReference(operation: "op", shape: "256", time: reference)
        let table = try #require(collector.tables(contended: true).first)
        #expect(table.points.map(\.threads) == [1, 1, 2])
        #expect(table.points[0].sameProblem == nil && table.points[1].sameProblem == nil)
        let same = try #require(table.points[2].sameProblem)
        #expect(abs(table.points[2].speedup - 2 / 1.1) < 1e-12)
        #expect(abs(same.speedup - 2) < 1e-12)
        #expect(abs(same.costGrowth - 1.1) < 1e-12)
        #expect(same.baseTime.values == reference.values)
        #expect(same.speedupInterval?.confidence == MedianInterval([1, 2, 3, 4, 5])?.confidence)
        #expect(table.slowerOnSameProblem.isEmpty && table.slowerOnSameProblemBeyondNoise.isEmpty)

        // Slower than the base on the same problem in every round: flagged there, whatever the
        // scaled speed-up says.
        let slow = Sample(reference.values.map { $0 * 1.03 })
        let losing = ScalingTable(kind: .weak, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                  contended: true, measurements: [(1, "64", base), (2, "128", slow)],
                                  references: [("128", reference)])
        #expect(losing.slowerOnSameProblem == [2] && losing.slowerOnSameProblemBeyondNoise == [2])
        #expect(losing.slowerBeyondNoise == [2])
        // Strong tables and weak points without a reference have none.
        let strong = ScalingTable(kind: .strong, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                  contended: true, measurements: [(1, "128", base), (2, "128", two)],
                                  references: [("128", reference)])
        #expect(strong.points.allSatisfy { $0.sameProblem == nil })
        let unmatched = ScalingTable(kind: .weak, benchmark: "b", operation: "op", unit: "ms", isa: "avx2",
                                     contended: true, measurements: [(1, "64", base), (2, "128", two)],
                                     references: [("256", reference)])
        #expect(unmatched.points.allSatisfy { $0.sameProblem == nil })
    }

    @Test("Weak runs: every pool on its share, then the base pool on each larger count's problem")
    func weakRuns() {
        let one = ThreadPool(threads: 1), control = ThreadPool(threads: 1), two = ThreadPool(threads: 2),
            three = ThreadPool(threads: 3)
        let runs = WeakScalingRuns(pools: [two, one, control, three, two]).runs
        #expect(runs.map(\.factor) == [2, 1, 1, 3, 2, 2, 3])
        #expect(runs.map(\.isReference) == [false, false, false, false, false, true, true])
        #expect(runs.suffix(2).allSatisfy { $0.pool === one })
        #expect(WeakScalingRuns(pools: [one]).runs.count == 1)
    }

    @Test("Thread lists parse comma-separated counts and reject junk")
    func threadLists() {
        #expect(ThreadList(argument: "1,2,7")?.counts == [1, 2, 7])
        #expect(ThreadList(argument: "1,,2") == nil)
        #expect(ThreadList(argument: "zero") == nil)
        #expect(ThreadList(argument: "0") == nil)
    }
}
