// Peak FMA throughput probes: many independent accumulator chains so that FMA latency
// (4 cycles) is hidden behind the 2 FMA pipes. The flop count returned is exact.
#pragma clang fp contract(off)
#include "CKernels.h"
#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define WEAVE_PEAK_CHAINS 12

#if defined(__x86_64__)
__attribute__((target("avx512f,fma")))
static double fma_peak_avx512(int64_t iterations, float *sink) {
    __m512 acc[WEAVE_PEAK_CHAINS];
    for (int i = 0; i < WEAVE_PEAK_CHAINS; i++) acc[i] = _mm512_set1_ps(1.0f + 0.001f * (float)i);
    const __m512 m = _mm512_set1_ps(0.999999f);
    const __m512 a = _mm512_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        acc[0] = _mm512_fmadd_ps(acc[0], m, a);   acc[1] = _mm512_fmadd_ps(acc[1], m, a);
        acc[2] = _mm512_fmadd_ps(acc[2], m, a);   acc[3] = _mm512_fmadd_ps(acc[3], m, a);
        acc[4] = _mm512_fmadd_ps(acc[4], m, a);   acc[5] = _mm512_fmadd_ps(acc[5], m, a);
        acc[6] = _mm512_fmadd_ps(acc[6], m, a);   acc[7] = _mm512_fmadd_ps(acc[7], m, a);
        acc[8] = _mm512_fmadd_ps(acc[8], m, a);   acc[9] = _mm512_fmadd_ps(acc[9], m, a);
        acc[10] = _mm512_fmadd_ps(acc[10], m, a); acc[11] = _mm512_fmadd_ps(acc[11], m, a);
    }
    __m512 s = acc[0];
    for (int i = 1; i < WEAVE_PEAK_CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)iterations * WEAVE_PEAK_CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma")))
static double fma_peak_avx2(int64_t iterations, float *sink) {
    __m256 acc[WEAVE_PEAK_CHAINS];
    for (int i = 0; i < WEAVE_PEAK_CHAINS; i++) acc[i] = _mm256_set1_ps(1.0f + 0.001f * (float)i);
    const __m256 m = _mm256_set1_ps(0.999999f);
    const __m256 a = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < iterations; it++) {
        acc[0] = _mm256_fmadd_ps(acc[0], m, a);   acc[1] = _mm256_fmadd_ps(acc[1], m, a);
        acc[2] = _mm256_fmadd_ps(acc[2], m, a);   acc[3] = _mm256_fmadd_ps(acc[3], m, a);
        acc[4] = _mm256_fmadd_ps(acc[4], m, a);   acc[5] = _mm256_fmadd_ps(acc[5], m, a);
        acc[6] = _mm256_fmadd_ps(acc[6], m, a);   acc[7] = _mm256_fmadd_ps(acc[7], m, a);
        acc[8] = _mm256_fmadd_ps(acc[8], m, a);   acc[9] = _mm256_fmadd_ps(acc[9], m, a);
        acc[10] = _mm256_fmadd_ps(acc[10], m, a); acc[11] = _mm256_fmadd_ps(acc[11], m, a);
    }
    __m256 s = acc[0];
    for (int i = 1; i < WEAVE_PEAK_CHAINS; i++) s = _mm256_add_ps(s, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    float total = 0;
    for (int i = 0; i < 8; i++) total += lanes[i];
    *sink = total;
    return (double)iterations * WEAVE_PEAK_CHAINS * 8 * 2;
}
#endif

static double fma_peak_portable(int64_t iterations, float *sink) {
    float acc[WEAVE_PEAK_CHAINS];
    for (int i = 0; i < WEAVE_PEAK_CHAINS; i++) acc[i] = 1.0f + 0.001f * (float)i;
    for (int64_t it = 0; it < iterations; it++) {
        for (int i = 0; i < WEAVE_PEAK_CHAINS; i++) acc[i] = fmaf(acc[i], 0.999999f, 1e-7f);
    }
    float total = 0;
    for (int i = 0; i < WEAVE_PEAK_CHAINS; i++) total += acc[i];
    *sink = total;
    return (double)iterations * WEAVE_PEAK_CHAINS * 2;
}

double weave_fma_peak_run(weave_isa isa, int64_t iterations, float *sink) {
#if defined(__x86_64__)
    if (isa == WEAVE_ISA_AVX512 && weave_cpu_supports(WEAVE_ISA_AVX512))
        return fma_peak_avx512(iterations, sink);
    if (isa >= WEAVE_ISA_AVX2 && weave_cpu_supports(WEAVE_ISA_AVX2))
        return fma_peak_avx2(iterations, sink);
#endif
    return fma_peak_portable(iterations, sink);
}
