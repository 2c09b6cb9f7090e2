import CKernels
import ParallelRuntime
@testable import TensorKernels

/// Thread counts every kernel's determinism is checked at: serial, the machine's two cores,
/// odd, and oversubscribed.
let kernelThreadCounts = [1, 2, 3, 4, 7]

/// The kernel variants this CPU runs, lowest first.
let supportedISAs: [weave_isa] = [WEAVE_ISA_PORTABLE, WEAVE_ISA_AVX2, WEAVE_ISA_AVX512]
    .filter { weave_cpu_supports($0) != 0 }

/// A seeded tensor of normal values `mean + standardDeviation · n`.
func randomTensor(_ shape: [Int], seed: UInt64, mean: Float = 0,
                  standardDeviation: Float = 1) throws -> Tensor {
    try Tensor(normalShape: shape, mean: mean, standardDeviation: standardDeviation,
               stream: RandomStream(seed: seed, purpose: .custom(stream: 3)))
}

/// Bit patterns, for exact comparisons that also treat NaN as equal to itself.
func bitPatterns(_ tensor: Tensor) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

/// The largest |a − b| over the elements.
func maximumDifference(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
}

/// The largest |b| over the elements (at least 1e-30, to divide by).
func maximumMagnitude(_ b: [Double]) -> Double {
    b.reduce(1e-30) { max($0, abs($1)) }
}

/// Central finite differences of a scalar function of `values`, in `Double`.
func numericGradient(_ values: [Double], step: Double = 1e-5,
                     _ f: ([Double]) -> Double) -> [Double] {
    var x = values
    return values.indices.map { i in
        let saved = x[i]
        x[i] = saved + step
        let up = f(x)
        x[i] = saved - step
        let down = f(x)
        x[i] = saved
        return (up - down) / (2 * step)
    }
}
