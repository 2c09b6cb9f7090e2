import Testing
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

    @Test("Samples report the median, minimum and maximum")
    func samples() {
        let s = Sample([3, 1, 4, 1, 5])
        #expect(s.median == 3 && s.min == 1 && s.max == 5 && s.count == 5)
        #expect(Sample([1, 2]).median == 1.5)
    }

    @Test("Thread lists parse comma-separated counts and reject junk")
    func threadLists() {
        #expect(ThreadList(argument: "1,2,7")?.counts == [1, 2, 7])
        #expect(ThreadList(argument: "1,,2") == nil)
        #expect(ThreadList(argument: "zero") == nil)
        #expect(ThreadList(argument: "0") == nil)
    }
}
