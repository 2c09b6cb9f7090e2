import CKernels
import Testing

@Test("The portable variant is always supported and the best ISA is supported")
func bestISAIsSupported() {
    #expect(weave_cpu_supports(WEAVE_ISA_PORTABLE) == 1)
    #expect(weave_cpu_supports(weave_best_isa()) == 1)
}

@Test("FMA peak probes count their flops exactly and agree across variants")
func fmaPeakProbeCountsFlops() {
    var sinkPortable: Float = 0
    let flopsPortable = weave_fma_peak_run(WEAVE_ISA_PORTABLE, 1000, &sinkPortable)
    #expect(flopsPortable == 1000 * 12 * 2)
    #expect(sinkPortable.isFinite && sinkPortable > 0)
    if weave_cpu_supports(WEAVE_ISA_AVX2) == 1 {
        var sink: Float = 0
        #expect(weave_fma_peak_run(WEAVE_ISA_AVX2, 1000, &sink) == 1000 * 12 * 8 * 2)
        // Same chains in every lane: the lane sum is 8× the portable one up to rounding.
        #expect(abs(sink - 8 * sinkPortable) <= 1e-3 * abs(sink))
    }
    if weave_cpu_supports(WEAVE_ISA_AVX512) == 1 {
        var sink: Float = 0
        #expect(weave_fma_peak_run(WEAVE_ISA_AVX512, 1000, &sink) == 1000 * 12 * 16 * 2)
        #expect(abs(sink - 16 * sinkPortable) <= 1e-3 * abs(sink))
    }
}
