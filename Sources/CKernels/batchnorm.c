// Batch-normalisation kernels (see weave_batchnorm.h for the slice layout and the fixed
// 16-lane reduction that makes every variant return the same bits).
#pragma clang fp contract(off)
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// ---------------------------------------------------------------------------------------
// Portable: the reference for the lane layout.

static inline double lanes_total(const double l[16]) {
    double t[8], u[4];
    for (int j = 0; j < 8; j++) t[j] = l[j] + l[j + 8];
    for (int j = 0; j < 4; j++) u[j] = t[j] + t[j + 4];
    double w0 = u[0] + u[2], w1 = u[1] + u[3];
    return w0 + w1;
}

void weave_batchnorm_portable_moments(const float *x, size_t segments, size_t length,
                                      size_t stride, double *mean, double *m2) {
    size_t n = segments * length;
    if (n == 0) { *mean = 0; *m2 = 0; return; }
    double l[16] = {0};
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        for (size_t i = 0; i < length; i++) l[i & 15] += (double)p[i];
    }
    double m = lanes_total(l) / (double)n;
    for (int j = 0; j < 16; j++) l[j] = 0;
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        for (size_t i = 0; i < length; i++) {
            double d = (double)p[i] - m;
            l[i & 15] += d * d;
        }
    }
    *mean = m;
    *m2 = lanes_total(l);
}

void weave_batchnorm_portable_normalize(const float *x, float *y, size_t segments,
                                        size_t length, size_t stride, float mean, float scale,
                                        float shift, int streaming) {
    (void)streaming;
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        float *q = y + s * stride;
        for (size_t i = 0; i < length; i++) q[i] = (p[i] - mean) * scale + shift;
    }
}

void weave_batchnorm_portable_gradient_sums(const float *x, const float *dy, size_t segments,
                                            size_t length, size_t stride, float mean,
                                            double *sum_dy, double *sum_dy_centered) {
    double a[16] = {0}, b[16] = {0};
    double m = (double)mean;
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride, *g = dy + s * stride;
        for (size_t i = 0; i < length; i++) {
            double gi = (double)g[i];
            a[i & 15] += gi;
            b[i & 15] += gi * ((double)p[i] - m);
        }
    }
    *sum_dy = lanes_total(a);
    *sum_dy_centered = lanes_total(b);
}

void weave_batchnorm_portable_input_gradient(const float *x, const float *dy, float *dx,
                                             size_t segments, size_t length, size_t stride,
                                             float mean, float dy_scale, float centered_scale,
                                             float shift, int streaming) {
    (void)streaming;
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride, *g = dy + s * stride;
        float *q = dx + s * stride;
        for (size_t i = 0; i < length; i++)
            q[i] = (g[i] * dy_scale + (p[i] - mean) * centered_scale) + shift;
    }
}

#if defined(__x86_64__)
// ---------------------------------------------------------------------------------------
// AVX-512: lanes 0–7 in one register, 8–15 in another; tails with masks (masked-off lanes
// keep their value, exactly as the portable loop skips them).

__attribute__((target("avx512f")))
static inline double total512(__m512d lo, __m512d hi) {
    __m512d t = _mm512_add_pd(lo, hi);                                         // l_j + l_{j+8}
    __m256d u = _mm256_add_pd(_mm512_castpd512_pd256(t), _mm512_extractf64x4_pd(t, 1));
    __m128d w = _mm_add_pd(_mm256_castpd256_pd128(u), _mm256_extractf128_pd(u, 1));
    return _mm_cvtsd_f64(_mm_add_sd(w, _mm_unpackhi_pd(w, w)));
}

__attribute__((target("avx512f")))
static inline __m256 low256(__m512 v) { return _mm512_castps512_ps256(v); }

__attribute__((target("avx512f")))
static inline __m256 high256(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}

__attribute__((target("avx512f")))
static inline __mmask16 tail_mask(size_t remaining) {
    return (__mmask16)((1u << remaining) - 1u);
}

__attribute__((target("avx512f")))
void weave_batchnorm_avx512_moments(const float *x, size_t segments, size_t length,
                                    size_t stride, double *mean, double *m2) {
    size_t n = segments * length;
    if (n == 0) { *mean = 0; *m2 = 0; return; }
    size_t full = length & ~(size_t)15;
    __mmask16 k = tail_mask(length - full);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        for (size_t i = 0; i < full; i += 16) {
            lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm256_loadu_ps(p + i)));
            hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8)));
        }
        if (k) {
            __m512 v = _mm512_maskz_loadu_ps(k, p + full);
            lo = _mm512_mask_add_pd(lo, (__mmask8)k, lo, _mm512_cvtps_pd(low256(v)));
            hi = _mm512_mask_add_pd(hi, (__mmask8)(k >> 8), hi, _mm512_cvtps_pd(high256(v)));
        }
    }
    double m = total512(lo, hi) / (double)n;
    __m512d vm = _mm512_set1_pd(m);
    lo = _mm512_setzero_pd();
    hi = _mm512_setzero_pd();
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        for (size_t i = 0; i < full; i += 16) {
            __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i)), vm);
            __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8)), vm);
            lo = _mm512_add_pd(lo, _mm512_mul_pd(d0, d0));
            hi = _mm512_add_pd(hi, _mm512_mul_pd(d1, d1));
        }
        if (k) {
            __m512 v = _mm512_maskz_loadu_ps(k, p + full);
            __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(low256(v)), vm);
            __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(high256(v)), vm);
            lo = _mm512_mask_add_pd(lo, (__mmask8)k, lo, _mm512_mul_pd(d0, d0));
            hi = _mm512_mask_add_pd(hi, (__mmask8)(k >> 8), hi, _mm512_mul_pd(d1, d1));
        }
    }
    *mean = m;
    *m2 = total512(lo, hi);
}

// Elements before `q` reaches 64-byte alignment (at most 15, never more than `length`).
static inline size_t head_to_alignment(const float *q, size_t length) {
    size_t misaligned = ((size_t)q & 63) / sizeof(float);
    size_t head = misaligned ? 16 - misaligned : 0;
    return head < length ? head : length;
}

__attribute__((target("avx512f")))
void weave_batchnorm_avx512_normalize(const float *x, float *y, size_t segments, size_t length,
                                      size_t stride, float mean, float scale, float shift,
                                      int streaming) {
    __m512 vm = _mm512_set1_ps(mean), vs = _mm512_set1_ps(scale), vb = _mm512_set1_ps(shift);
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        float *q = y + s * stride;
        size_t i = 0;
        if (streaming) {
            size_t head = head_to_alignment(q, length);
            if (head) {
                __mmask16 k = tail_mask(head);
                __m512 v = _mm512_maskz_loadu_ps(k, p);
                _mm512_mask_storeu_ps(q, k, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, vm), vs), vb));
                i = head;
            }
            for (; i + 16 <= length; i += 16) {
                __m512 v = _mm512_loadu_ps(p + i);
                _mm512_stream_ps(q + i, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, vm), vs), vb));
            }
        } else {
            for (; i + 16 <= length; i += 16) {
                __m512 v = _mm512_loadu_ps(p + i);
                _mm512_storeu_ps(q + i, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, vm), vs), vb));
            }
        }
        if (i < length) {
            __mmask16 k = tail_mask(length - i);
            __m512 v = _mm512_maskz_loadu_ps(k, p + i);
            _mm512_mask_storeu_ps(q + i, k, _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, vm), vs), vb));
        }
    }
    if (streaming) _mm_sfence();
}

__attribute__((target("avx512f")))
void weave_batchnorm_avx512_gradient_sums(const float *x, const float *dy, size_t segments,
                                          size_t length, size_t stride, float mean,
                                          double *sum_dy, double *sum_dy_centered) {
    size_t full = length & ~(size_t)15;
    __mmask16 k = tail_mask(length - full);
    __m512d vm = _mm512_set1_pd((double)mean);
    __m512d alo = _mm512_setzero_pd(), ahi = _mm512_setzero_pd();
    __m512d blo = _mm512_setzero_pd(), bhi = _mm512_setzero_pd();
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride, *g = dy + s * stride;
        for (size_t i = 0; i < full; i += 16) {
            __m512d g0 = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
            __m512d g1 = _mm512_cvtps_pd(_mm256_loadu_ps(g + i + 8));
            __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i)), vm);
            __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8)), vm);
            alo = _mm512_add_pd(alo, g0);
            ahi = _mm512_add_pd(ahi, g1);
            blo = _mm512_add_pd(blo, _mm512_mul_pd(g0, d0));
            bhi = _mm512_add_pd(bhi, _mm512_mul_pd(g1, d1));
        }
        if (k) {
            __m512 gv = _mm512_maskz_loadu_ps(k, g + full);
            __m512 xv = _mm512_maskz_loadu_ps(k, p + full);
            __m512d g0 = _mm512_cvtps_pd(low256(gv)), g1 = _mm512_cvtps_pd(high256(gv));
            __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(low256(xv)), vm);
            __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(high256(xv)), vm);
            __mmask8 k0 = (__mmask8)k, k1 = (__mmask8)(k >> 8);
            alo = _mm512_mask_add_pd(alo, k0, alo, g0);
            ahi = _mm512_mask_add_pd(ahi, k1, ahi, g1);
            blo = _mm512_mask_add_pd(blo, k0, blo, _mm512_mul_pd(g0, d0));
            bhi = _mm512_mask_add_pd(bhi, k1, bhi, _mm512_mul_pd(g1, d1));
        }
    }
    *sum_dy = total512(alo, ahi);
    *sum_dy_centered = total512(blo, bhi);
}

__attribute__((target("avx512f")))
static inline __m512 input_gradient512(__m512 x, __m512 g, __m512 vm, __m512 a, __m512 b,
                                       __m512 c) {
    return _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(g, a), _mm512_mul_ps(_mm512_sub_ps(x, vm), b)), c);
}

__attribute__((target("avx512f")))
void weave_batchnorm_avx512_input_gradient(const float *x, const float *dy, float *dx,
                                           size_t segments, size_t length, size_t stride,
                                           float mean, float dy_scale, float centered_scale,
                                           float shift, int streaming) {
    __m512 vm = _mm512_set1_ps(mean), a = _mm512_set1_ps(dy_scale);
    __m512 b = _mm512_set1_ps(centered_scale), c = _mm512_set1_ps(shift);
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride, *g = dy + s * stride;
        float *q = dx + s * stride;
        size_t i = 0;
        if (streaming) {
            size_t head = head_to_alignment(q, length);
            if (head) {
                __mmask16 k = tail_mask(head);
                __m512 r = input_gradient512(_mm512_maskz_loadu_ps(k, p), _mm512_maskz_loadu_ps(k, g),
                                             vm, a, b, c);
                _mm512_mask_storeu_ps(q, k, r);
                i = head;
            }
            for (; i + 16 <= length; i += 16)
                _mm512_stream_ps(q + i, input_gradient512(_mm512_loadu_ps(p + i),
                                                          _mm512_loadu_ps(g + i), vm, a, b, c));
        } else {
            for (; i + 16 <= length; i += 16)
                _mm512_storeu_ps(q + i, input_gradient512(_mm512_loadu_ps(p + i),
                                                          _mm512_loadu_ps(g + i), vm, a, b, c));
        }
        if (i < length) {
            __mmask16 k = tail_mask(length - i);
            __m512 r = input_gradient512(_mm512_maskz_loadu_ps(k, p + i),
                                         _mm512_maskz_loadu_ps(k, g + i), vm, a, b, c);
            _mm512_mask_storeu_ps(q + i, k, r);
        }
    }
    if (streaming) _mm_sfence();
}

// ---------------------------------------------------------------------------------------
// AVX2: lanes 0–3, 4–7, 8–11, 12–15 in four registers. A run's tail (length mod 16) goes
// through the portable per-lane loop on the spilled lanes.

__attribute__((target("avx2")))
static inline double total256(__m256d a0, __m256d a1, __m256d a2, __m256d a3) {
    __m256d t_lo = _mm256_add_pd(a0, a2), t_hi = _mm256_add_pd(a1, a3);  // l_j + l_{j+8}
    __m256d u = _mm256_add_pd(t_lo, t_hi);                                 // t_j + t_{j+4}
    __m128d w = _mm_add_pd(_mm256_castpd256_pd128(u), _mm256_extractf128_pd(u, 1));
    return _mm_cvtsd_f64(_mm_add_sd(w, _mm_unpackhi_pd(w, w)));
}

#define SPILL4(l, a0, a1, a2, a3) do { _mm256_storeu_pd(l, a0); _mm256_storeu_pd(l + 4, a1); \
    _mm256_storeu_pd(l + 8, a2); _mm256_storeu_pd(l + 12, a3); } while (0)
#define RELOAD4(l, a0, a1, a2, a3) do { a0 = _mm256_loadu_pd(l); a1 = _mm256_loadu_pd(l + 4); \
    a2 = _mm256_loadu_pd(l + 8); a3 = _mm256_loadu_pd(l + 12); } while (0)

__attribute__((target("avx2")))
void weave_batchnorm_avx2_moments(const float *x, size_t segments, size_t length,
                                  size_t stride, double *mean, double *m2) {
    size_t n = segments * length;
    if (n == 0) { *mean = 0; *m2 = 0; return; }
    size_t full = length & ~(size_t)15;
    double l[16];
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        for (size_t i = 0; i < full; i += 16) {
            a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm_loadu_ps(p + i)));
            a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_loadu_ps(p + i + 4)));
            a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm_loadu_ps(p + i + 8)));
            a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm_loadu_ps(p + i + 12)));
        }
        if (full < length) {
            SPILL4(l, a0, a1, a2, a3);
            for (size_t i = full; i < length; i++) l[i & 15] += (double)p[i];
            RELOAD4(l, a0, a1, a2, a3);
        }
    }
    double m = total256(a0, a1, a2, a3) / (double)n;
    __m256d vm = _mm256_set1_pd(m);
    a0 = _mm256_setzero_pd(); a1 = a0; a2 = a0; a3 = a0;
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        for (size_t i = 0; i < full; i += 16) {
            __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i)), vm);
            __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 4)), vm);
            __m256d d2 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 8)), vm);
            __m256d d3 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 12)), vm);
            a0 = _mm256_add_pd(a0, _mm256_mul_pd(d0, d0));
            a1 = _mm256_add_pd(a1, _mm256_mul_pd(d1, d1));
            a2 = _mm256_add_pd(a2, _mm256_mul_pd(d2, d2));
            a3 = _mm256_add_pd(a3, _mm256_mul_pd(d3, d3));
        }
        if (full < length) {
            SPILL4(l, a0, a1, a2, a3);
            for (size_t i = full; i < length; i++) {
                double d = (double)p[i] - m;
                l[i & 15] += d * d;
            }
            RELOAD4(l, a0, a1, a2, a3);
        }
    }
    *mean = m;
    *m2 = total256(a0, a1, a2, a3);
}

__attribute__((target("avx2")))
void weave_batchnorm_avx2_normalize(const float *x, float *y, size_t segments, size_t length,
                                    size_t stride, float mean, float scale, float shift,
                                    int streaming) {
    __m256 vm = _mm256_set1_ps(mean), vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(shift);
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride;
        float *q = y + s * stride;
        size_t i = 0;
        if (streaming) {
            // Align q to 32 bytes for the streaming stores.
            while (i < length && ((size_t)(q + i) & 31) != 0) {
                q[i] = (p[i] - mean) * scale + shift;
                i++;
            }
            if (((size_t)(q + i) & 31) == 0)
                for (; i + 8 <= length; i += 8) {
                    __m256 v = _mm256_loadu_ps(p + i);
                    _mm256_stream_ps(q + i, _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v, vm), vs), vb));
                }
        } else {
            for (; i + 8 <= length; i += 8) {
                __m256 v = _mm256_loadu_ps(p + i);
                _mm256_storeu_ps(q + i, _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(v, vm), vs), vb));
            }
        }
        for (; i < length; i++) q[i] = (p[i] - mean) * scale + shift;
    }
    if (streaming) _mm_sfence();
}

__attribute__((target("avx2")))
void weave_batchnorm_avx2_gradient_sums(const float *x, const float *dy, size_t segments,
                                        size_t length, size_t stride, float mean,
                                        double *sum_dy, double *sum_dy_centered) {
    size_t full = length & ~(size_t)15;
    double m = (double)mean;
    __m256d vm = _mm256_set1_pd(m);
    __m256d a[4], b[4];
    for (int j = 0; j < 4; j++) { a[j] = _mm256_setzero_pd(); b[j] = _mm256_setzero_pd(); }
    double la[16], lb[16];
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride, *g = dy + s * stride;
        for (size_t i = 0; i < full; i += 16) {
            for (int j = 0; j < 4; j++) {
                __m256d gj = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4 * j));
                __m256d dj = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 4 * j)), vm);
                a[j] = _mm256_add_pd(a[j], gj);
                b[j] = _mm256_add_pd(b[j], _mm256_mul_pd(gj, dj));
            }
        }
        if (full < length) {
            SPILL4(la, a[0], a[1], a[2], a[3]);
            SPILL4(lb, b[0], b[1], b[2], b[3]);
            for (size_t i = full; i < length; i++) {
                double gi = (double)g[i];
                la[i & 15] += gi;
                lb[i & 15] += gi * ((double)p[i] - m);
            }
            RELOAD4(la, a[0], a[1], a[2], a[3]);
            RELOAD4(lb, b[0], b[1], b[2], b[3]);
        }
    }
    *sum_dy = total256(a[0], a[1], a[2], a[3]);
    *sum_dy_centered = total256(b[0], b[1], b[2], b[3]);
}

__attribute__((target("avx2")))
void weave_batchnorm_avx2_input_gradient(const float *x, const float *dy, float *dx,
                                         size_t segments, size_t length, size_t stride,
                                         float mean, float dy_scale, float centered_scale,
                                         float shift, int streaming) {
    __m256 vm = _mm256_set1_ps(mean), a = _mm256_set1_ps(dy_scale);
    __m256 b = _mm256_set1_ps(centered_scale), c = _mm256_set1_ps(shift);
    for (size_t s = 0; s < segments; s++) {
        const float *p = x + s * stride, *g = dy + s * stride;
        float *q = dx + s * stride;
        size_t i = 0;
        if (streaming) {
            while (i < length && ((size_t)(q + i) & 31) != 0) {
                q[i] = (g[i] * dy_scale + (p[i] - mean) * centered_scale) + shift;
                i++;
            }
            if (((size_t)(q + i) & 31) == 0)
                for (; i + 8 <= length; i += 8) {
                    __m256 r = _mm256_add_ps(
                        _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(g + i), a),
                                      _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), b)), c);
                    _mm256_stream_ps(q + i, r);
                }
        } else {
            for (; i + 8 <= length; i += 8) {
                __m256 r = _mm256_add_ps(
                    _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(g + i), a),
                                  _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), b)), c);
                _mm256_storeu_ps(q + i, r);
            }
        }
        for (; i < length; i++)
            q[i] = (g[i] * dy_scale + (p[i] - mean) * centered_scale) + shift;
    }
    if (streaming) _mm_sfence();
}

#else  // not x86-64: the vector entry points run the portable code.

void weave_batchnorm_avx2_moments(const float *x, size_t segments, size_t length,
                                  size_t stride, double *mean, double *m2) {
    weave_batchnorm_portable_moments(x, segments, length, stride, mean, m2);
}
void weave_batchnorm_avx512_moments(const float *x, size_t segments, size_t length,
                                    size_t stride, double *mean, double *m2) {
    weave_batchnorm_portable_moments(x, segments, length, stride, mean, m2);
}
void weave_batchnorm_avx2_normalize(const float *x, float *y, size_t segments, size_t length,
                                    size_t stride, float mean, float scale, float shift,
                                    int streaming) {
    weave_batchnorm_portable_normalize(x, y, segments, length, stride, mean, scale, shift,
                                       streaming);
}
void weave_batchnorm_avx512_normalize(const float *x, float *y, size_t segments, size_t length,
                                      size_t stride, float mean, float scale, float shift,
                                      int streaming) {
    weave_batchnorm_portable_normalize(x, y, segments, length, stride, mean, scale, shift,
                                       streaming);
}
void weave_batchnorm_avx2_gradient_sums(const float *x, const float *dy, size_t segments,
                                        size_t length, size_t stride, float mean,
                                        double *sum_dy, double *sum_dy_centered) {
    weave_batchnorm_portable_gradient_sums(x, dy, segments, length, stride, mean, sum_dy,
                                           sum_dy_centered);
}
void weave_batchnorm_avx512_gradient_sums(const float *x, const float *dy, size_t segments,
                                          size_t length, size_t stride, float mean,
                                          double *sum_dy, double *sum_dy_centered) {
    weave_batchnorm_portable_gradient_sums(x, dy, segments, length, stride, mean, sum_dy,
                                           sum_dy_centered);
}
void weave_batchnorm_avx2_input_gradient(const float *x, const float *dy, float *dx,
                                         size_t segments, size_t length, size_t stride,
                                         float mean, float dy_scale, float centered_scale,
                                         float shift, int streaming) {
    weave_batchnorm_portable_input_gradient(x, dy, dx, segments, length, stride, mean,
                                            dy_scale, centered_scale, shift, streaming);
}
void weave_batchnorm_avx512_input_gradient(const float *x, const float *dy, float *dx,
                                           size_t segments, size_t length, size_t stride,
                                           float mean, float dy_scale, float centered_scale,
                                           float shift, int streaming) {
    weave_batchnorm_portable_input_gradient(x, dy, dx, segments, length, stride, mean,
                                            dy_scale, centered_scale, shift, streaming);
}
#endif
