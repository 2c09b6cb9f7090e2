// AVX2 + FMA SGEMM micro-kernel, 6 rows × 16 columns (two ymm per row of C).
// Same arithmetic as sgemm_portable.c (one fma chain per C element, in k order, from β·c);
// contraction off.
#pragma clang fp contract(off)
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2_MR 6
#define AVX2_NR 16

__attribute__((target("avx2,fma"), always_inline))
static inline void avx2_kernel(const int packed, int64_t k, const float *a, int64_t rs,
                               int64_t cs, const float *b, int64_t ldb, float *c, int64_t ldc,
                               int64_t m, int64_t n, float beta) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 16 ? n : 16)), lanes);
    const __m256i mask1 =
        _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 16 ? n : 16) - 8), lanes);
    __m256 c0[AVX2_MR], c1[AVX2_MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < AVX2_MR; i++) {
        if (i < m && beta != 0.0f) {
            c0[i] = _mm256_maskload_ps(c + i * ldc, mask0);
            c1[i] = _mm256_maskload_ps(c + i * ldc + 8, mask1);
            if (beta != 1.0f) {
                const __m256 vbeta = _mm256_set1_ps(beta);
                c0[i] = _mm256_mul_ps(c0[i], vbeta);
                c1[i] = _mm256_mul_ps(c1[i], vbeta);
            }
        } else {
            c0[i] = _mm256_setzero_ps();
            c1[i] = _mm256_setzero_ps();
        }
    }
    if (packed) {
        for (int64_t p = 0; p < k; p++) {
            const __m256 b0 = _mm256_loadu_ps(b);
            const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma clang loop unroll(full)
            for (int i = 0; i < AVX2_MR; i++) {
                const __m256 ai = _mm256_broadcast_ss(a + i);
                c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
                c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
            }
            a += AVX2_MR;
            b += AVX2_NR;
        }
    } else {
        const float *row[AVX2_MR];
#pragma clang loop unroll(full)
        for (int i = 0; i < AVX2_MR; i++) row[i] = a + (i < m ? i : 0) * rs;
        const int full = n >= 16;
        for (int64_t p = 0; p < k; p++) {
            const __m256 b0 = full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, mask0);
            const __m256 b1 = full ? _mm256_loadu_ps(b + 8) : _mm256_maskload_ps(b + 8, mask1);
#pragma clang loop unroll(full)
            for (int i = 0; i < AVX2_MR; i++) {
                const __m256 ai = _mm256_broadcast_ss(row[i] + p * cs);
                c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
                c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
            }
            b += ldb;
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < AVX2_MR; i++) {
        if (i < m) {
            _mm256_maskstore_ps(c + i * ldc, mask0, c0[i]);
            _mm256_maskstore_ps(c + i * ldc + 8, mask1, c1[i]);
        }
    }
}

__attribute__((target("avx2,fma")))
void weave_sgemm_avx2_6x16(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                           int64_t m, int64_t n, float beta) {
    avx2_kernel(1, k, a, 1, AVX2_MR, b, AVX2_NR, c, ldc, m, n, beta);
}

__attribute__((target("avx2,fma")))
void weave_sgemm_avx2_6x16_strided(int64_t k, const float *a, int64_t a_row_stride,
                                   int64_t a_col_stride, const float *b, int64_t ldb, float *c,
                                   int64_t ldc, int64_t m, int64_t n, float beta) {
    avx2_kernel(0, k, a, a_row_stride, a_col_stride, b, ldb, c, ldc, m, n, beta);
}

#else  // not x86-64: never selected (weave_cpu_supports is 0); kept so the symbols exist.
void weave_sgemm_avx2_6x16(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                           int64_t m, int64_t n, float beta) {
    (void)k; (void)a; (void)b; (void)c; (void)ldc; (void)m; (void)n; (void)beta;
    __builtin_trap();
}
void weave_sgemm_avx2_6x16_strided(int64_t k, const float *a, int64_t a_row_stride,
                                   int64_t a_col_stride, const float *b, int64_t ldb, float *c,
                                   int64_t ldc, int64_t m, int64_t n, float beta) {
    (void)k; (void)a; (void)a_row_stride; (void)a_col_stride; (void)b; (void)ldb; (void)c;
    (void)ldc; (void)m; (void)n; (void)beta;
    __builtin_trap();
}
#endif
