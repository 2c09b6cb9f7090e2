// Portable SGEMM micro-kernels: the reference every vector variant matches bit for bit.
// Arithmetic contract (shared by all sgemm_*.c files, see CKernels.h): each C element is one
// chain acc = β·c (0 when β = 0, c when β = 1), then acc = fmaf(a[i,p], b[p,j], acc) for
// p = 0, 1, …, k − 1 in order, then c = acc. Written with explicit fmaf; contraction off.
#pragma clang fp contract(off)
#include "CKernels.h"
#include <math.h>

#define PORTABLE_MR 4
#define PORTABLE_NR 16

static inline void portable_kernel(int64_t k, const float *a, int64_t a_row_stride,
                                   int64_t a_col_stride, const float *b, int64_t b_row_stride,
                                   float *c, int64_t ldc, int64_t m, int64_t n, float beta) {
    float acc[PORTABLE_MR][PORTABLE_NR];
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            if (beta == 0.0f) acc[i][j] = 0.0f;
            else if (beta == 1.0f) acc[i][j] = c[i * ldc + j];
            else acc[i][j] = beta * c[i * ldc + j];
        }
    }
    for (int64_t p = 0; p < k; p++) {
        const float *bp = b + p * b_row_stride;
        for (int64_t i = 0; i < m; i++) {
            float ai = a[i * a_row_stride + p * a_col_stride];
            for (int64_t j = 0; j < n; j++) acc[i][j] = fmaf(ai, bp[j], acc[i][j]);
        }
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c[i * ldc + j] = acc[i][j];
}

void weave_sgemm_portable_4x16(int64_t k, const float *a, const float *b, float *c,
                               int64_t ldc, int64_t m, int64_t n, float beta) {
    portable_kernel(k, a, 1, PORTABLE_MR, b, PORTABLE_NR, c, ldc, m, n, beta);
}

void weave_sgemm_portable_4x16_strided(int64_t k, const float *a, int64_t a_row_stride,
                                       int64_t a_col_stride, const float *b, int64_t ldb,
                                       float *c, int64_t ldc, int64_t m, int64_t n,
                                       float beta) {
    portable_kernel(k, a, a_row_stride, a_col_stride, b, ldb, c, ldc, m, n, beta);
}
