// Batch-normalisation kernels (see weave_batchnorm.h for the block layout and the fixed
// 16-lane reduction that makes every variant return the same bits).
//
// Each variant supplies per-run kernels (one run = `plane` contiguous floats of one channel of
// one image); the block drivers below are the same text for every variant (a macro), so they
// visit runs in the same order. Runs shorter than 16 go through the portable run kernels in
// every variant.
#pragma clang fp contract(off)
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline double lanes_total(const double l[16]) {
    double t[8], u[4];
    for (int j = 0; j < 8; j++) t[j] = l[j] + l[j + 8];
    for (int j = 0; j < 4; j++) u[j] = t[j] + t[j + 4];
    double w0 = u[0] + u[2], w1 = u[1] + u[3];
    return w0 + w1;
}

// ---------------------------------------------------------------------------------------
// Portable run kernels: the reference for the lane layout.

static inline void run_sum_portable(const float *p, size_t length, double *l) {
    for (size_t i = 0; i < length; i++) l[i & 15] += (double)p[i];
}

static inline void run_squares_portable(const float *p, size_t length, double m, double *l) {
    for (size_t i = 0; i < length; i++) {
        double d = (double)p[i] - m;
        l[i & 15] += d * d;
    }
}

static inline void run_gradient_sums_portable(const float *p, const float *g, size_t length,
                                              double m, double *a, double *b) {
    for (size_t i = 0; i < length; i++) {
        double gi = (double)g[i];
        a[i & 15] += gi;
        b[i & 15] += gi * ((double)p[i] - m);
    }
}

static inline void run_normalize_portable(const float *p, float *q, size_t length, float m,
                                          float s, float b, int streaming) {
    (void)streaming;
    for (size_t i = 0; i < length; i++) q[i] = (p[i] - m) * s + b;
}

static inline void run_input_gradient_portable(const float *p, const float *g, float *q,
                                               size_t length, float m, float a, float b, float c,
                                               int streaming) {
    (void)streaming;
    for (size_t i = 0; i < length; i++) q[i] = (g[i] * a + (p[i] - m) * b) + c;
}

static inline void clear(double *l, size_t count) {
    for (size_t k = 0; k < count; k++) l[k] = 0;
}

// The block drivers, one set per variant. RUN(x) is the run of image n, channel c.
#define WEAVE_BATCHNORM_DRIVERS(ISA, ATTR, SUM, SQUARES, GRADIENT_SUMS, NORMALIZE, INPUT_GRADIENT) \
ATTR void weave_batchnorm_##ISA##_moments(const float *x, size_t images, size_t channels,      \
                                          size_t plane, size_t image_stride, double *lanes,    \
                                          double *mean, double *m2) {                         \
    size_t count = images * plane;                                                             \
    clear(lanes, 16 * channels);                                                               \
    for (size_t n = 0; n < images; n++)                                                        \
        for (size_t c = 0; c < channels; c++)                                                  \
            SUM(x + n * image_stride + c * plane, plane, lanes + 16 * c);                      \
    for (size_t c = 0; c < channels; c++)                                                      \
        mean[c] = count ? lanes_total(lanes + 16 * c) / (double)count : 0;                     \
    clear(lanes, 16 * channels);                                                               \
    for (size_t n = 0; n < images; n++)                                                        \
        for (size_t c = 0; c < channels; c++)                                                  \
            SQUARES(x + n * image_stride + c * plane, plane, mean[c], lanes + 16 * c);         \
    for (size_t c = 0; c < channels; c++) m2[c] = lanes_total(lanes + 16 * c);                 \
}                                                                                              \
ATTR void weave_batchnorm_##ISA##_normalize(const float *x, float *y, size_t images,           \
                                            size_t channels, size_t plane,                     \
                                            size_t image_stride, const float *mean,            \
                                            const float *scale, const float *shift,            \
                                            int streaming) {                                   \
    for (size_t n = 0; n < images; n++)                                                        \
        for (size_t c = 0; c < channels; c++) {                                                \
            size_t at = n * image_stride + c * plane;                                          \
            NORMALIZE(x + at, y + at, plane, mean[c], scale[c], shift[c], streaming);          \
        }                                                                                      \
    WEAVE_FENCE_IF(streaming);                                                                 \
}                                                                                              \
ATTR void weave_batchnorm_##ISA##_gradient_sums(const float *x, const float *dy, size_t images, \
                                                size_t channels, size_t plane,                 \
                                                size_t image_stride, const float *mean,        \
                                                double *lanes, double *sum_dy,                 \
                                                double *sum_dy_centered) {                     \
    double *a = lanes, *b = lanes + 16 * channels;                                             \
    clear(lanes, 32 * channels);                                                               \
    for (size_t n = 0; n < images; n++)                                                        \
        for (size_t c = 0; c < channels; c++) {                                                \
            size_t at = n * image_stride + c * plane;                                          \
            GRADIENT_SUMS(x + at, dy + at, plane, (double)mean[c], a + 16 * c, b + 16 * c);    \
        }                                                                                      \
    for (size_t c = 0; c < channels; c++) {                                                    \
        sum_dy[c] = lanes_total(a + 16 * c);                                                   \
        sum_dy_centered[c] = lanes_total(b + 16 * c);                                          \
    }                                                                                          \
}                                                                                              \
ATTR void weave_batchnorm_##ISA##_input_gradient(const float *x, const float *dy, float *dx,   \
                                                 size_t images, size_t channels, size_t plane, \
                                                 size_t image_stride, const float *mean,       \
                                                 const float *dy_scale,                        \
                                                 const float *centered_scale,                  \
                                                 const float *shift, int streaming) {          \
    for (size_t n = 0; n < images; n++)                                                        \
        for (size_t c = 0; c < channels; c++) {                                                \
            size_t at = n * image_stride + c * plane;                                          \
            INPUT_GRADIENT(x + at, dy + at, dx + at, plane, mean[c], dy_scale[c],              \
                           centered_scale[c], shift[c], streaming);                            \
        }                                                                                      \
    WEAVE_FENCE_IF(streaming);                                                                 \
}

#if defined(__x86_64__)
#define WEAVE_FENCE_IF(streaming) do { if (streaming) _mm_sfence(); } while (0)
#else
#define WEAVE_FENCE_IF(streaming) do { (void)(streaming); } while (0)
#endif

WEAVE_BATCHNORM_DRIVERS(portable, , run_sum_portable, run_squares_portable,
                        run_gradient_sums_portable, run_normalize_portable,
                        run_input_gradient_portable)

#if defined(__x86_64__)
// ---------------------------------------------------------------------------------------
// AVX-512: a channel's lanes 0–7 in one register, 8–15 in another; run tails with masks
// (masked-off lanes keep their value, exactly as the portable loop skips them).

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __m256 low256(__m512 v) { return _mm512_castps512_ps256(v); }
AVX512 static inline __m256 high256(__m512 v) {
    return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
}
AVX512 static inline __mmask16 tail_mask(size_t remaining) {
    return (__mmask16)((1u << remaining) - 1u);
}

AVX512 static inline void run_sum_avx512(const float *p, size_t length, double *l) {
    if (length < 16) { run_sum_portable(p, length, l); return; }
    __m512d lo = _mm512_loadu_pd(l), hi = _mm512_loadu_pd(l + 8);
    size_t full = length & ~(size_t)15;
    for (size_t i = 0; i < full; i += 16) {
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm256_loadu_ps(p + i)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8)));
    }
    if (full < length) {
        __mmask16 k = tail_mask(length - full);
        __m512 v = _mm512_maskz_loadu_ps(k, p + full);
        lo = _mm512_mask_add_pd(lo, (__mmask8)k, lo, _mm512_cvtps_pd(low256(v)));
        hi = _mm512_mask_add_pd(hi, (__mmask8)(k >> 8), hi, _mm512_cvtps_pd(high256(v)));
    }
    _mm512_storeu_pd(l, lo);
    _mm512_storeu_pd(l + 8, hi);
}

AVX512 static inline void run_squares_avx512(const float *p, size_t length, double m, double *l) {
    if (length < 16) { run_squares_portable(p, length, m, l); return; }
    __m512d lo = _mm512_loadu_pd(l), hi = _mm512_loadu_pd(l + 8), vm = _mm512_set1_pd(m);
    size_t full = length & ~(size_t)15;
    for (size_t i = 0; i < full; i += 16) {
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i)), vm);
        __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(p + i + 8)), vm);
        lo = _mm512_add_pd(lo, _mm512_mul_pd(d0, d0));
        hi = _mm512_add_pd(hi, _mm512_mul_pd(d1, d1));
    }
    if (full < length) {
        __mmask16 k = tail_mask(length - full);
        __m512 v = _mm512_maskz_loadu_ps(k, p + full);
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(low256(v)), vm);
        __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(high256(v)), vm);
        lo = _mm512_mask_add_pd(lo, (__mmask8)k, lo, _mm512_mul_pd(d0, d0));
        hi = _mm512_mask_add_pd(hi, (__mmask8)(k >> 8), hi, _mm512_mul_pd(d1, d1));
    }
    _mm512_storeu_pd(l, lo);
    _mm512_storeu_pd(l + 8, hi);
}

AVX512 static inline void run_gradient_sums_avx512(const float *p, const float *g, size_t length,
                                                   double m, double *a, double *b) {
    if (length < 16) { run_gradient_sums_portable(p, g, length, m, a, b); return; }
    __m512d alo = _mm512_loadu_pd(a), ahi = _mm512_loadu_pd(a + 8);
    __m512d blo = _mm512_loadu_pd(b), bhi = _mm512_loadu_pd(b + 8), vm = _mm512_set1_pd(m);
    size_t full = length & ~(size_t)15;
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
    if (full < length) {
        __mmask16 k = tail_mask(length - full);
        __mmask8 k0 = (__mmask8)k, k1 = (__mmask8)(k >> 8);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + full), xv = _mm512_maskz_loadu_ps(k, p + full);
        __m512d g0 = _mm512_cvtps_pd(low256(gv)), g1 = _mm512_cvtps_pd(high256(gv));
        __m512d d0 = _mm512_sub_pd(_mm512_cvtps_pd(low256(xv)), vm);
        __m512d d1 = _mm512_sub_pd(_mm512_cvtps_pd(high256(xv)), vm);
        alo = _mm512_mask_add_pd(alo, k0, alo, g0);
        ahi = _mm512_mask_add_pd(ahi, k1, ahi, g1);
        blo = _mm512_mask_add_pd(blo, k0, blo, _mm512_mul_pd(g0, d0));
        bhi = _mm512_mask_add_pd(bhi, k1, bhi, _mm512_mul_pd(g1, d1));
    }
    _mm512_storeu_pd(a, alo);
    _mm512_storeu_pd(a + 8, ahi);
    _mm512_storeu_pd(b, blo);
    _mm512_storeu_pd(b + 8, bhi);
}

// Elements before `q` reaches 64-byte alignment (at most 15, never more than `length`).
static inline size_t head_to_alignment(const float *q, size_t length) {
    size_t misaligned = ((size_t)q & 63) / sizeof(float);
    size_t head = misaligned ? 16 - misaligned : 0;
    return head < length ? head : length;
}

AVX512 static inline __m512 normalize512(__m512 v, __m512 m, __m512 s, __m512 b) {
    return _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(v, m), s), b);
}

AVX512 static inline void run_normalize_avx512(const float *p, float *q, size_t length, float m,
                                               float s, float b, int streaming) {
    if (length < 16) { run_normalize_portable(p, q, length, m, s, b, streaming); return; }
    __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(s), vb = _mm512_set1_ps(b);
    size_t i = 0;
    if (streaming) {
        size_t head = head_to_alignment(q, length);
        if (head) {
            __mmask16 k = tail_mask(head);
            _mm512_mask_storeu_ps(q, k, normalize512(_mm512_maskz_loadu_ps(k, p), vm, vs, vb));
            i = head;
        }
        for (; i + 16 <= length; i += 16)
            _mm512_stream_ps(q + i, normalize512(_mm512_loadu_ps(p + i), vm, vs, vb));
    } else {
        for (; i + 16 <= length; i += 16)
            _mm512_storeu_ps(q + i, normalize512(_mm512_loadu_ps(p + i), vm, vs, vb));
    }
    if (i < length) {
        __mmask16 k = tail_mask(length - i);
        _mm512_mask_storeu_ps(q + i, k, normalize512(_mm512_maskz_loadu_ps(k, p + i), vm, vs, vb));
    }
}

AVX512 static inline __m512 input_gradient512(__m512 x, __m512 g, __m512 m, __m512 a, __m512 b,
                                              __m512 c) {
    return _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(g, a), _mm512_mul_ps(_mm512_sub_ps(x, m), b)), c);
}

AVX512 static inline void run_input_gradient_avx512(const float *p, const float *g, float *q,
                                                    size_t length, float m, float a, float b,
                                                    float c, int streaming) {
    if (length < 16) { run_input_gradient_portable(p, g, q, length, m, a, b, c, streaming); return; }
    __m512 vm = _mm512_set1_ps(m), va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    __m512 vc = _mm512_set1_ps(c);
    size_t i = 0;
    if (streaming) {
        size_t head = head_to_alignment(q, length);
        if (head) {
            __mmask16 k = tail_mask(head);
            _mm512_mask_storeu_ps(q, k, input_gradient512(_mm512_maskz_loadu_ps(k, p),
                                                          _mm512_maskz_loadu_ps(k, g), vm, va, vb, vc));
            i = head;
        }
        for (; i + 16 <= length; i += 16)
            _mm512_stream_ps(q + i, input_gradient512(_mm512_loadu_ps(p + i), _mm512_loadu_ps(g + i),
                                                      vm, va, vb, vc));
    } else {
        for (; i + 16 <= length; i += 16)
            _mm512_storeu_ps(q + i, input_gradient512(_mm512_loadu_ps(p + i), _mm512_loadu_ps(g + i),
                                                      vm, va, vb, vc));
    }
    if (i < length) {
        __mmask16 k = tail_mask(length - i);
        _mm512_mask_storeu_ps(q + i, k, input_gradient512(_mm512_maskz_loadu_ps(k, p + i),
                                                          _mm512_maskz_loadu_ps(k, g + i),
                                                          vm, va, vb, vc));
    }
}

WEAVE_BATCHNORM_DRIVERS(avx512, AVX512, run_sum_avx512, run_squares_avx512,
                        run_gradient_sums_avx512, run_normalize_avx512,
                        run_input_gradient_avx512)

// ---------------------------------------------------------------------------------------
// AVX2: a channel's lanes 0–3, 4–7, 8–11, 12–15 in four registers; a run's tail
// (length mod 16) goes through the portable per-lane loop on the stored lanes.

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline void run_sum_avx2(const float *p, size_t length, double *l) {
    size_t full = length & ~(size_t)15;
    if (full) {
        __m256d a[4];
        for (int j = 0; j < 4; j++) a[j] = _mm256_loadu_pd(l + 4 * j);
        for (size_t i = 0; i < full; i += 16)
            for (int j = 0; j < 4; j++)
                a[j] = _mm256_add_pd(a[j], _mm256_cvtps_pd(_mm_loadu_ps(p + i + 4 * j)));
        for (int j = 0; j < 4; j++) _mm256_storeu_pd(l + 4 * j, a[j]);
    }
    for (size_t i = full; i < length; i++) l[i & 15] += (double)p[i];
}

AVX2 static inline void run_squares_avx2(const float *p, size_t length, double m, double *l) {
    size_t full = length & ~(size_t)15;
    if (full) {
        __m256d a[4], vm = _mm256_set1_pd(m);
        for (int j = 0; j < 4; j++) a[j] = _mm256_loadu_pd(l + 4 * j);
        for (size_t i = 0; i < full; i += 16)
            for (int j = 0; j < 4; j++) {
                __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 4 * j)), vm);
                a[j] = _mm256_add_pd(a[j], _mm256_mul_pd(d, d));
            }
        for (int j = 0; j < 4; j++) _mm256_storeu_pd(l + 4 * j, a[j]);
    }
    for (size_t i = full; i < length; i++) {
        double d = (double)p[i] - m;
        l[i & 15] += d * d;
    }
}

AVX2 static inline void run_gradient_sums_avx2(const float *p, const float *g, size_t length,
                                               double m, double *a, double *b) {
    size_t full = length & ~(size_t)15;
    if (full) {
        __m256d va[4], vb[4], vm = _mm256_set1_pd(m);
        for (int j = 0; j < 4; j++) {
            va[j] = _mm256_loadu_pd(a + 4 * j);
            vb[j] = _mm256_loadu_pd(b + 4 * j);
        }
        for (size_t i = 0; i < full; i += 16)
            for (int j = 0; j < 4; j++) {
                __m256d gj = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4 * j));
                __m256d dj = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(p + i + 4 * j)), vm);
                va[j] = _mm256_add_pd(va[j], gj);
                vb[j] = _mm256_add_pd(vb[j], _mm256_mul_pd(gj, dj));
            }
        for (int j = 0; j < 4; j++) {
            _mm256_storeu_pd(a + 4 * j, va[j]);
            _mm256_storeu_pd(b + 4 * j, vb[j]);
        }
    }
    for (size_t i = full; i < length; i++) {
        double gi = (double)g[i];
        a[i & 15] += gi;
        b[i & 15] += gi * ((double)p[i] - m);
    }
}

AVX2 static inline void run_normalize_avx2(const float *p, float *q, size_t length, float m,
                                           float s, float b, int streaming) {
    __m256 vm = _mm256_set1_ps(m), vs = _mm256_set1_ps(s), vb = _mm256_set1_ps(b);
    size_t i = 0;
    if (streaming) {
        for (; i < length && ((size_t)(q + i) & 31) != 0; i++) q[i] = (p[i] - m) * s + b;
        for (; i + 8 <= length; i += 8)
            _mm256_stream_ps(q + i, _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), vs), vb));
    } else {
        for (; i + 8 <= length; i += 8)
            _mm256_storeu_ps(q + i, _mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(p + i), vm), vs), vb));
    }
    for (; i < length; i++) q[i] = (p[i] - m) * s + b;
}

AVX2 static inline __m256 input_gradient256(__m256 x, __m256 g, __m256 m, __m256 a, __m256 b,
                                            __m256 c) {
    return _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(g, a), _mm256_mul_ps(_mm256_sub_ps(x, m), b)), c);
}

AVX2 static inline void run_input_gradient_avx2(const float *p, const float *g, float *q,
                                                size_t length, float m, float a, float b, float c,
                                                int streaming) {
    __m256 vm = _mm256_set1_ps(m), va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    __m256 vc = _mm256_set1_ps(c);
    size_t i = 0;
    if (streaming) {
        for (; i < length && ((size_t)(q + i) & 31) != 0; i++) q[i] = (g[i] * a + (p[i] - m) * b) + c;
        for (; i + 8 <= length; i += 8)
            _mm256_stream_ps(q + i, input_gradient256(_mm256_loadu_ps(p + i), _mm256_loadu_ps(g + i),
                                                      vm, va, vb, vc));
    } else {
        for (; i + 8 <= length; i += 8)
            _mm256_storeu_ps(q + i, input_gradient256(_mm256_loadu_ps(p + i), _mm256_loadu_ps(g + i),
                                                      vm, va, vb, vc));
    }
    for (; i < length; i++) q[i] = (g[i] * a + (p[i] - m) * b) + c;
}

WEAVE_BATCHNORM_DRIVERS(avx2, AVX2, run_sum_avx2, run_squares_avx2, run_gradient_sums_avx2,
                        run_normalize_avx2, run_input_gradient_avx2)

#else  // not x86-64: the vector variants are the portable code.

WEAVE_BATCHNORM_DRIVERS(avx2, , run_sum_portable, run_squares_portable,
                        run_gradient_sums_portable, run_normalize_portable,
                        run_input_gradient_portable)
WEAVE_BATCHNORM_DRIVERS(avx512, , run_sum_portable, run_squares_portable,
                        run_gradient_sums_portable, run_normalize_portable,
                        run_input_gradient_portable)
#endif
