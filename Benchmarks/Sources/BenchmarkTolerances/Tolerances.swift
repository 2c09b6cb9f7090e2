import Benchmark

/// The tolerances every suite checks regressions with (`swift package benchmark baseline
/// check`, `thresholds check`; Benchmarks/README.md), and the metrics they apply to.
///
/// A metric without tolerances is compared strictly: any difference fails. So every metric the
/// suites measure has one here, set from an A/A check on the development machine (two runs of
/// one build, one after the other; Benchmarks/README.md): a gate that flags the machine itself
/// is one nobody reads.
public enum Tolerances {
    /// What each benchmark measures. Not `cpuTotal`: on Linux it comes in steps of 10 ms here
    /// (`getrusage`), so an iteration of a few ms reads 0 or 10 000 µs, and its median flips
    /// between the two from run to run.
    public static var metrics: [BenchmarkMetric] {
        [.wallClock, .throughput, .mallocCountTotal]
    }

    /// Time and throughput: the best iteration (`p0`; the best throughput is `p0` too), 15%.
    /// Noise only ever adds time, so the best of a few hundred iterations is the steadiest
    /// figure: in the A/A check it moved 0–14% (one 2-thread benchmark 46%, a run spent on the
    /// host's slower vCPU placement), where the median moved up to 3× on 2 threads and 21% on
    /// one. So this catches regressions of the best case beyond ~15%; smaller ones need the
    /// binaries measured by turns (`weave bench`, README.md there).
    public static var timing: BenchmarkThresholds {
        BenchmarkThresholds(relative: [.p0: 15])
    }

    /// Heap allocations per iteration: none more than the baseline's, at the median. Counted,
    /// not timed, so the one metric the host cannot move: 1-thread iterations make none beyond
    /// the harness's 16, and a new allocation in a hot path shows here before it shows in time.
    public static var allocations: BenchmarkThresholds {
        BenchmarkThresholds(absolute: [.p50: 0])
    }

    /// The tolerances of `metrics`.
    public static var thresholds: [BenchmarkMetric: BenchmarkThresholds] {
        [.wallClock: timing, .throughput: timing, .mallocCountTotal: allocations]
    }

    /// A suite's default configuration: `metrics`, `thresholds`, and how long to measure.
    public static func configuration(warmupIterations: Int, maxDuration: Duration) -> Benchmark.Configuration {
        Benchmark.Configuration(metrics: metrics, warmupIterations: warmupIterations,
                                maxDuration: maxDuration, thresholds: thresholds)
    }
}
