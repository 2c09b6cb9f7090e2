// AVX-512 SGEMM micro-kernels, MR rows × 32 columns (two zmm per row of C).
// Same arithmetic as sgemm_portable.c: per C element one chain starting at β·c (0 when β = 0,
// never reading c; c itself when β = 1), then one vfmadd (a·b + acc, single rounding, exactly
// fmaf) per p in k order. No element is ever split into partial sums, so the bits do not depend
// on MR, NR or the vector width. Contraction off: every fused operation is explicit.
#pragma clang fp contract(off)
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512_NR 32
#define AVX512_MAX_MR 14

// The body of every AVX-512 kernel. `packed`: A is an MR-row micro-panel zero-padded to MR
// rows (element (i, p) at a[p·MR + i]) and B a 32-column micro-panel zero-padded to 32
// columns, so full loads are safe. Otherwise A is strided (a[i·rs + p·cs], only rows < m
// readable) and B row-major with row stride ldb (only columns < n readable).
// `NV` is the number of 16-column vectors computed per row: 2, or 1 for a tile at most 16
// wide (an edge, or a narrow matrix such as n = 48 = 32 + 16), which then costs half as much.
__attribute__((target("avx512f,fma"), always_inline))
static inline void avx512_kernel(const int MR, const int NV, const int packed, int64_t k,
                                 const float *a, int64_t rs, int64_t cs, const float *b,
                                 int64_t ldb, float *c, int64_t ldc, int64_t m, int64_t n,
                                 float beta) {
    const __mmask16 mask0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    const __mmask16 mask1 = n >= 32 ? (__mmask16)0xFFFF
                          : n <= 16 ? (__mmask16)0 : (__mmask16)((1u << (n - 16)) - 1);
    __m512 c0[AVX512_MAX_MR], c1[AVX512_MAX_MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < m && beta != 0.0f) {
            c0[i] = _mm512_maskz_loadu_ps(mask0, c + i * ldc);
            if (NV == 2) c1[i] = _mm512_maskz_loadu_ps(mask1, c + i * ldc + 16);
            if (beta != 1.0f) {
                const __m512 vbeta = _mm512_set1_ps(beta);
                c0[i] = _mm512_mul_ps(c0[i], vbeta);
                if (NV == 2) c1[i] = _mm512_mul_ps(c1[i], vbeta);
            }
        } else {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        }
    }
    if (packed) {
        // The driver's next call is usually the tile MR rows down (BLIS's IR loop): prefetch
        // its C lines, one per iteration, during the first 2·MR iterations, so that its chain
        // does not start with a cache miss. (A prefetch never faults, even past the matrix.)
        const float *next_c = c + MR * ldc;
        int64_t p = 0;
        for (; p < k && p < 2 * MR; p++) {
            _mm_prefetch((const char *)(next_c + (p >> 1) * ldc + (p & 1) * 16), _MM_HINT_T0);
            const __m512 b0 = _mm512_loadu_ps(b);
            const __m512 b1 = NV == 2 ? _mm512_loadu_ps(b + 16) : b0;
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m512 ai = _mm512_set1_ps(a[i]);
                c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
                if (NV == 2) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
            }
            a += MR;
            b += AVX512_NR;
        }
        for (; p < k; p++) {
            const __m512 b0 = _mm512_loadu_ps(b);
            const __m512 b1 = NV == 2 ? _mm512_loadu_ps(b + 16) : b0;
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m512 ai = _mm512_set1_ps(a[i]);
                c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
                if (NV == 2) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
            }
            a += MR;
            b += AVX512_NR;
        }
    } else {
        const float *row[AVX512_MAX_MR];
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) row[i] = a + (i < m ? i : 0) * rs;
        for (int64_t p = 0; p < k; p++) {
            const __m512 b0 = _mm512_maskz_loadu_ps(mask0, b);
            const __m512 b1 = NV == 2 ? _mm512_maskz_loadu_ps(mask1, b + 16) : b0;
#pragma clang loop unroll(full)
            for (int i = 0; i < MR; i++) {
                const __m512 ai = _mm512_set1_ps(row[i][p * cs]);
                c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
                if (NV == 2) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
            }
            b += ldb;
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < m) {
            _mm512_mask_storeu_ps(c + i * ldc, mask0, c0[i]);
            if (NV == 2) _mm512_mask_storeu_ps(c + i * ldc + 16, mask1, c1[i]);
        }
    }
}

#define WEAVE_AVX512_KERNELS(MR)                                                               \
    __attribute__((target("avx512f,fma")))                                                     \
    void weave_sgemm_avx512_##MR##x32(int64_t k, const float *a, const float *b, float *c,    \
                                      int64_t ldc, int64_t m, int64_t n, float beta) {         \
        if (n <= 16) avx512_kernel(MR, 1, 1, k, a, 1, MR, b, AVX512_NR, c, ldc, m, n, beta);   \
        else avx512_kernel(MR, 2, 1, k, a, 1, MR, b, AVX512_NR, c, ldc, m, n, beta);           \
    }                                                                                          \
    __attribute__((target("avx512f,fma")))                                                     \
    void weave_sgemm_avx512_##MR##x32_strided(int64_t k, const float *a, int64_t a_row_stride,\
                                              int64_t a_col_stride, const float *b,            \
                                              int64_t ldb, float *c, int64_t ldc, int64_t m,   \
                                              int64_t n, float beta) {                         \
        if (n <= 16)                                                                           \
            avx512_kernel(MR, 1, 0, k, a, a_row_stride, a_col_stride, b, ldb, c, ldc, m, n,    \
                          beta);                                                               \
        else                                                                                   \
            avx512_kernel(MR, 2, 0, k, a, a_row_stride, a_col_stride, b, ldb, c, ldc, m, n,    \
                          beta);                                                               \
    }

WEAVE_AVX512_KERNELS(8)
WEAVE_AVX512_KERNELS(12)
WEAVE_AVX512_KERNELS(14)

#else  // not x86-64: never selected (weave_cpu_supports is 0); kept so the symbols exist.
#define WEAVE_AVX512_FALLBACK(MR)                                                              \
    void weave_sgemm_avx512_##MR##x32(int64_t k, const float *a, const float *b, float *c,    \
                                      int64_t ldc, int64_t m, int64_t n, float beta) {         \
        (void)k; (void)a; (void)b; (void)c; (void)ldc; (void)m; (void)n; (void)beta;           \
        __builtin_trap();                                                                      \
    }                                                                                          \
    void weave_sgemm_avx512_##MR##x32_strided(int64_t k, const float *a, int64_t a_row_stride,\
                                              int64_t a_col_stride, const float *b,            \
                                              int64_t ldb, float *c, int64_t ldc, int64_t m,   \
                                              int64_t n, float beta) {                         \
        (void)k; (void)a; (void)a_row_stride; (void)a_col_stride; (void)b; (void)ldb;          \
        (void)c; (void)ldc; (void)m; (void)n; (void)beta;                                      \
        __builtin_trap();                                                                      \
    }
WEAVE_AVX512_FALLBACK(8)
WEAVE_AVX512_FALLBACK(12)
WEAVE_AVX512_FALLBACK(14)
#endif
