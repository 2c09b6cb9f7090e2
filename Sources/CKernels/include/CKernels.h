// CKernels: the innermost compute-bound loops of Weave, in C so that each can carry its
// own target attributes (Swift has none, and SwiftPM forbids unsafeFlags in versioned
// dependencies; DESIGN §2). Every kernel has an AVX-512, an AVX2+FMA and a portable
// variant; callers pick one at run time from `weave_cpu_supports`.
// Floating-point contraction is off in every file (`#pragma clang fp contract(off)`):
// a fused multiply-add is always written as an explicit fma, so every variant computes
// the same bits (DESIGN §4).
#ifndef WEAVE_CKERNELS_H
#define WEAVE_CKERNELS_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set variants of the kernels, highest last.
typedef enum weave_isa {
    WEAVE_ISA_PORTABLE = 0,
    WEAVE_ISA_AVX2 = 1,    // AVX2 + FMA3
    WEAVE_ISA_AVX512 = 2,  // AVX-512F (+ FMA)
} weave_isa;

/// Whether this CPU and OS can run `isa` (CPUID and XCR0, via __builtin_cpu_supports).
int weave_cpu_supports(weave_isa isa);

/// The highest variant this CPU can run.
weave_isa weave_best_isa(void);

/// CPUID feature flags by name ("avx512f", "avx2", "fma", …): 1 if present.
int weave_cpu_has_feature(const char *name);

/// Runs `iterations` rounds of independent FMA chains with the given variant and returns
/// the number of floating-point operations performed (2 per lane per FMA). `sink` receives a
/// value derived from the accumulators so the work cannot be optimised away.
/// Used by `weave info` and the benchmarks to measure the single-core FMA peak.
double weave_fma_peak_run(weave_isa isa, int64_t iterations, float *sink);

#ifdef __cplusplus
}
#endif
#endif
