import CKernels
import CPlatform
import ParallelRuntime

/// Measures the single-core FMA throughput of this machine, the ceiling that GEMM and conv
/// figures are quoted against ("% of peak" is always relative to a peak measured in the same run).
public enum FMAPeak {
    /// GFLOP/s of one thread running independent FMA chains with `isa`: the best of `repeats`
    /// runs of about `secondsPerRun` each (the best, not the median: the peak is a ceiling, and
    /// interference only ever lowers a run).
    public static func measure(isa: KernelISA = .current, secondsPerRun: Double = 0.05,
                               repeats: Int = 3) -> Double {
        var sink: Float = 0
        // Calibrate the iteration count to the requested duration.
        var iterations: Int64 = 10_000
        while true {
            let start = weave_monotonic_ns()
            _ = weave_fma_peak_run(isa.cValue, iterations, &sink)
            let elapsed = Double(weave_monotonic_ns() - start) * 1e-9
            if elapsed >= secondsPerRun / 4 || iterations > 1 << 40 {
                iterations = Int64(Double(iterations) * secondsPerRun / max(elapsed, 1e-9))
                break
            }
            iterations *= 4
        }
        var best = 0.0
        for _ in 0..<max(1, repeats) {
            let start = weave_monotonic_ns()
            let flops = weave_fma_peak_run(isa.cValue, max(iterations, 1), &sink)
            let elapsed = Double(weave_monotonic_ns() - start) * 1e-9
            best = max(best, flops / elapsed / 1e9)
        }
        precondition(sink.isFinite, "FMA peak probe produced \(sink)")
        return best
    }
}
