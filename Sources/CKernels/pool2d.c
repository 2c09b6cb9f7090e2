// Average-pooling loops (see weave_pool2d.h for the exact arithmetic).
//
// Why C: in Swift the scalar loops took a third of a cnn-bn training step (perf, session 23),
// one division and four dependent adds per output. Here the interior columns of an output row
// (whole windows inside the plane) are summed as vectors: one accumulator per output, the
// terms added row by row and column by column of the window, the order the scalar loop used,
// so every output keeps its bits. Columns whose window is clipped by padding, and backward
// passes whose windows overlap across a row, keep the scalar loop.
//
// The bodies are written once (always-inline functions); each variant is a target attribute
// that lets the compiler vectorise them for its ISA, and brings its own loops for the 2×2,
// stride-2 window of the seed networks (`pair_rows_*`, `pair_shares_*`): their rows are 12 and
// 5 outputs long, too short for a compiler's vector loop, whose scalar remainder did most of
// the work; these end a row with a masked step instead. Contraction is off, and nothing here
// multiplies: the vector code differs from the scalar one only in how many outputs it does at
// once.
#pragma clang fp contract(off)
#include "CKernels.h"
#include "pool2d_window.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define WEAVE_INLINE static inline __attribute__((always_inline))
// Outputs of a row summed at once by the general loops; the accumulators live on the stack.
#define POOL_CHUNK 256

typedef weave_pool2d_geometry geometry;

// acc[k] += src[k·stride] for k < n; the common strides have their own loops so that the
// compiler sees a constant stride.
WEAVE_INLINE void add_strided(float *restrict acc, const float *restrict src, int64_t n,
                              int64_t stride) {
    switch (stride) {
    case 1:
        for (int64_t k = 0; k < n; k++) acc[k] += src[k];
        break;
    case 2:
        for (int64_t k = 0; k < n; k++) acc[k] += src[2 * k];
        break;
    default:
        for (int64_t k = 0; k < n; k++) acc[k] += src[k * stride];
        break;
    }
}

// dst[k·stride] += share[k] for k < n.
WEAVE_INLINE void scatter_add_strided(float *restrict dst, const float *restrict share, int64_t n,
                                      int64_t stride) {
    switch (stride) {
    case 1:
        for (int64_t k = 0; k < n; k++) dst[k] += share[k];
        break;
    case 2:
        for (int64_t k = 0; k < n; k++) dst[2 * k] += share[k];
        break;
    default:
        for (int64_t k = 0; k < n; k++) dst[k * stride] += share[k];
        break;
    }
}

// One output by the scalar loop (clipped windows).
WEAVE_INLINE float window_sum(const float *x, const geometry *g, int64_t r0, int64_t r1,
                              int64_t j) {
    int64_t c0, c1;
    window_columns(g, j, &c0, &c1);
    float sum = 0.0f;
    for (int64_t h = r0; h < r1; h++)
        for (int64_t w = c0; w < c1; w++) sum += x[h * g->width + w];
    return sum;
}

// A 2×2, stride-2 window over outputs [0, n) of one output row, whose window rows start at
// `first` (`rows` of them, `width` apart): out[k] = (+0 + first[2k] + first[2k+1] + the same in
// the next row …) / divisor, added in that order.
typedef void (*pair_rows_fn)(const float *first, int64_t width, int64_t rows, float *out,
                             int64_t n, float divisor);
// The backward of the same: for every row, first[2k] += share and first[2k+1] += share, with
// share = grad[k] / divisor. With `alone` (windows that overlap no other window), the targets
// are known to hold the +0 they were cleared to, and get +0 + share without being read: reading
// them back right after the clearing stores stalled the loads (by `perf`, session 23).
typedef void (*pair_shares_fn)(const float *grad, float *first, int64_t width, int64_t rows,
                               int64_t n, float divisor, int alone);

WEAVE_INLINE void forward_plane(const float *restrict x, float *restrict y, const geometry *g,
                                float divisor, int64_t lo, int64_t hi, pair_rows_fn pair_rows) {
    const int64_t kw = g->kernel_w, sw = g->stride_w, width = g->width;
    for (int64_t i = 0; i < g->out_height; i++) {
        int64_t r0, r1;
        window_rows(g, i, &r0, &r1);
        float *out = y + i * g->out_width;
        for (int64_t j = 0; j < lo; j++) out[j] = window_sum(x, g, r0, r1, j) / divisor;
        if (kw == 2 && sw == 2) {
            // (Without interior columns, `first` could point before the plane.)
            if (hi > lo)
                pair_rows(x + r0 * width + 2 * lo - g->pad_w, width, r1 - r0, out + lo, hi - lo,
                          divisor);
        } else {
            for (int64_t j0 = lo; j0 < hi; j0 += POOL_CHUNK) {
                const int64_t n = hi - j0 < POOL_CHUNK ? hi - j0 : POOL_CHUNK;
                float acc[POOL_CHUNK];
                for (int64_t k = 0; k < n; k++) acc[k] = 0.0f;
                for (int64_t h = r0; h < r1; h++) {
                    const float *row = x + h * width + j0 * sw - g->pad_w;
                    for (int64_t w = 0; w < kw; w++) add_strided(acc, row + w, n, sw);
                }
                for (int64_t k = 0; k < n; k++) out[j0 + k] = acc[k] / divisor;
            }
        }
        for (int64_t j = hi; j < g->out_width; j++) out[j] = window_sum(x, g, r0, r1, j) / divisor;
    }
}

// One output's share added to its clipped window (the scalar loop).
WEAVE_INLINE void window_scatter(float *dx, const geometry *g, int64_t r0, int64_t r1, int64_t j,
                                 float share) {
    int64_t c0, c1;
    window_columns(g, j, &c0, &c1);
    for (int64_t h = r0; h < r1; h++)
        for (int64_t w = c0; w < c1; w++) dx[h * g->width + w] += share;
}

WEAVE_INLINE void backward_plane(const float *restrict dy, float *restrict dx, const geometry *g,
                                 float divisor, int64_t lo, int64_t hi,
                                 pair_shares_fn pair_shares) {
    const int64_t kw = g->kernel_w, sw = g->stride_w, width = g->width;
    memset(dx, 0, (size_t)(g->height * width) * sizeof(float));
    // With sw < kw the windows of one row overlap, and an input gradient takes its terms in
    // output order: only the scalar loop keeps that order.
    if (sw < kw) {
        lo = 0;
        hi = 0;
    }
    // No two windows overlap: every input gradient takes one term at most (see pair_shares_fn).
    const int alone = g->stride_h >= g->kernel_h;
    for (int64_t i = 0; i < g->out_height; i++) {
        int64_t r0, r1;
        window_rows(g, i, &r0, &r1);
        const float *grad = dy + i * g->out_width;
        // Windows of one row do not overlap here (sw ≥ kw, or all scalar), so each input
        // gradient takes at most one term from this row: the order across j is free, and
        // across rows it is i's.
        for (int64_t j = 0; j < lo; j++) window_scatter(dx, g, r0, r1, j, grad[j] / divisor);
        if (kw == 2 && sw == 2) {
            if (hi > lo)
                pair_shares(grad + lo, dx + r0 * width + 2 * lo - g->pad_w, width, r1 - r0,
                            hi - lo, divisor, alone);
        } else {
            for (int64_t j0 = lo; j0 < hi; j0 += POOL_CHUNK) {
                const int64_t n = hi - j0 < POOL_CHUNK ? hi - j0 : POOL_CHUNK;
                float share[POOL_CHUNK];
                for (int64_t k = 0; k < n; k++) share[k] = grad[j0 + k] / divisor;
                for (int64_t h = r0; h < r1; h++) {
                    float *row = dx + h * width + j0 * sw - g->pad_w;
                    for (int64_t w = 0; w < kw; w++) scatter_add_strided(row + w, share, n, sw);
                }
            }
        }
        for (int64_t j = hi; j < g->out_width; j++)
            window_scatter(dx, g, r0, r1, j, grad[j] / divisor);
    }
}

// ---------------------------------------------------------------- the 2×2 stride-2 rows

static void pair_rows_portable(const float *first, int64_t width, int64_t rows, float *out,
                               int64_t n, float divisor) {
    for (int64_t k = 0; k < n; k++) {
        float acc = 0.0f;
        for (int64_t h = 0; h < rows; h++) {
            acc += first[h * width + 2 * k];
            acc += first[h * width + 2 * k + 1];
        }
        out[k] = acc / divisor;
    }
}

static void pair_shares_portable(const float *grad, float *first, int64_t width, int64_t rows,
                                 int64_t n, float divisor, int alone) {
    (void)alone;  // the scalar loop's stores forward to its loads
    for (int64_t k = 0; k < n; k++) {
        const float share = grad[k] / divisor;
        for (int64_t h = 0; h < rows; h++) {
            first[h * width + 2 * k] += share;
            first[h * width + 2 * k + 1] += share;
        }
    }
}

#if defined(__x86_64__)
#define WEAVE_AVX512 __attribute__((target("avx512f")))
#define WEAVE_AVX2 __attribute__((target("avx2,fma")))

// 16 outputs a step: 32 inputs of a row in two masked loads, split into left and right terms.
WEAVE_AVX512 static void pair_rows_avx512(const float *first, int64_t width, int64_t rows,
                                          float *out, int64_t n, float divisor) {
    const __m512i left = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i right = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 d = _mm512_set1_ps(divisor);
    for (int64_t k = 0; k < n; k += 16) {
        const unsigned m = (unsigned)(n - k < 16 ? n - k : 16);
        const __mmask16 low = (__mmask16)(m >= 8 ? 0xFFFFu : (1u << (2 * m)) - 1);
        const __mmask16 high = (__mmask16)(m > 8 ? (1u << (2 * (m - 8))) - 1 : 0);
        __m512 acc = _mm512_setzero_ps();
        for (int64_t h = 0; h < rows; h++) {
            const float *p = first + h * width + 2 * k;
            const __m512 a = _mm512_maskz_loadu_ps(low, p), b = _mm512_maskz_loadu_ps(high, p + 16);
            acc = _mm512_add_ps(acc, _mm512_permutex2var_ps(a, left, b));
            acc = _mm512_add_ps(acc, _mm512_permutex2var_ps(a, right, b));
        }
        _mm512_mask_storeu_ps(out + k, (__mmask16)((1u << m) - 1), _mm512_div_ps(acc, d));
    }
}

WEAVE_AVX512 static void pair_shares_avx512(const float *grad, float *first, int64_t width,
                                            int64_t rows, int64_t n, float divisor, int alone) {
    const __m512i low_pairs = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i high_pairs = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    const __m512 d = _mm512_set1_ps(divisor);
    for (int64_t k = 0; k < n; k += 16) {
        const unsigned m = (unsigned)(n - k < 16 ? n - k : 16);
        const __mmask16 low = (__mmask16)(m >= 8 ? 0xFFFFu : (1u << (2 * m)) - 1);
        const __mmask16 high = (__mmask16)(m > 8 ? (1u << (2 * (m - 8))) - 1 : 0);
        const __m512 share = _mm512_div_ps(_mm512_maskz_loadu_ps((__mmask16)((1u << m) - 1), grad + k), d);
        const __m512 a = _mm512_permutexvar_ps(low_pairs, share), b = _mm512_permutexvar_ps(high_pairs, share);
        const __m512 zero = _mm512_setzero_ps();
        for (int64_t h = 0; h < rows; h++) {
            float *p = first + h * width + 2 * k;
            const __m512 low_old = alone ? zero : _mm512_maskz_loadu_ps(low, p);
            const __m512 high_old = alone ? zero : _mm512_maskz_loadu_ps(high, p + 16);
            _mm512_mask_storeu_ps(p, low, _mm512_add_ps(low_old, a));
            _mm512_mask_storeu_ps(p + 16, high, _mm512_add_ps(high_old, b));
        }
    }
}

// The first `count` of 8 lanes, as an AVX2 load/store mask.
WEAVE_AVX2 static inline __m256i lanes_avx2(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// 8 outputs a step: 16 inputs in two masked loads; the shuffle takes the left (right) terms
// of each 128-bit half, the permute puts the halves in order.
WEAVE_AVX2 static void pair_rows_avx2(const float *first, int64_t width, int64_t rows,
                                      float *out, int64_t n, float divisor) {
    const __m256 d = _mm256_set1_ps(divisor);
    for (int64_t k = 0; k < n; k += 8) {
        const int m = (int)(n - k < 8 ? n - k : 8);
        const __m256i low = lanes_avx2(2 * m), high = lanes_avx2(2 * m - 8);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t h = 0; h < rows; h++) {
            const float *p = first + h * width + 2 * k;
            const __m256 a = _mm256_maskload_ps(p, low), b = _mm256_maskload_ps(p + 8, high);
            const __m256 l = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
            const __m256 r = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
            acc = _mm256_add_ps(acc, l);
            acc = _mm256_add_ps(acc, r);
        }
        _mm256_maskstore_ps(out + k, lanes_avx2(m), _mm256_div_ps(acc, d));
    }
}

WEAVE_AVX2 static void pair_shares_avx2(const float *grad, float *first, int64_t width,
                                        int64_t rows, int64_t n, float divisor, int alone) {
    const __m256i low_pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256i high_pairs = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    const __m256 d = _mm256_set1_ps(divisor);
    for (int64_t k = 0; k < n; k += 8) {
        const int m = (int)(n - k < 8 ? n - k : 8);
        const __m256i low = lanes_avx2(2 * m), high = lanes_avx2(2 * m - 8);
        const __m256 share = _mm256_div_ps(_mm256_maskload_ps(grad + k, lanes_avx2(m)), d);
        const __m256 a = _mm256_permutevar8x32_ps(share, low_pairs);
        const __m256 b = _mm256_permutevar8x32_ps(share, high_pairs);
        const __m256 zero = _mm256_setzero_ps();
        for (int64_t h = 0; h < rows; h++) {
            float *p = first + h * width + 2 * k;
            const __m256 low_old = alone ? zero : _mm256_maskload_ps(p, low);
            const __m256 high_old = alone ? zero : _mm256_maskload_ps(p + 8, high);
            _mm256_maskstore_ps(p, low, _mm256_add_ps(low_old, a));
            _mm256_maskstore_ps(p + 8, high, _mm256_add_ps(high_old, b));
        }
    }
}
#endif

// What both passes work out once per call: the divisor, the interior columns, the plane sizes.
typedef struct plane_walk {
    float divisor;
    int64_t lo, hi, in_plane, out_plane;
} plane_walk;

WEAVE_INLINE plane_walk walk_planes(const geometry *g) {
    plane_walk walk = {(float)(g->kernel_h * g->kernel_w), 0, 0, g->height * g->width,
                       g->out_height * g->out_width};
    interior_columns(g, &walk.lo, &walk.hi);
    return walk;
}

#define WEAVE_POOL2D_VARIANT(ISA, ATTR, PAIR_ROWS, PAIR_SHARES)                                \
    ATTR void weave_avgpool2d_##ISA##_forward(const float *x, float *y, size_t planes,         \
                                              const geometry *g) {                            \
        const plane_walk w = walk_planes(g);                                                   \
        for (size_t p = 0; p < planes; p++)                                                    \
            forward_plane(x + (int64_t)p * w.in_plane, y + (int64_t)p * w.out_plane, g,        \
                          w.divisor, w.lo, w.hi, PAIR_ROWS);                                   \
    }                                                                                          \
    ATTR void weave_avgpool2d_##ISA##_backward(const float *dy, float *dx, size_t planes,      \
                                               const geometry *g) {                           \
        const plane_walk w = walk_planes(g);                                                   \
        for (size_t p = 0; p < planes; p++)                                                    \
            backward_plane(dy + (int64_t)p * w.out_plane, dx + (int64_t)p * w.in_plane, g,     \
                           w.divisor, w.lo, w.hi, PAIR_SHARES);                                \
    }

WEAVE_POOL2D_VARIANT(portable, , pair_rows_portable, pair_shares_portable)

#if defined(__x86_64__)
WEAVE_POOL2D_VARIANT(avx2, WEAVE_AVX2, pair_rows_avx2, pair_shares_avx2)
WEAVE_POOL2D_VARIANT(avx512, WEAVE_AVX512, pair_rows_avx512, pair_shares_avx512)
#else
// Other architectures have only the portable loops; the x86 names call them.
WEAVE_POOL2D_VARIANT(avx2, , pair_rows_portable, pair_shares_portable)
WEAVE_POOL2D_VARIANT(avx512, , pair_rows_portable, pair_shares_portable)
#endif
