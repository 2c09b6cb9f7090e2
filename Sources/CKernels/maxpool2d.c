// Max-pooling forward loops (see weave_maxpool2d.h for the rule).
//
// Why C: the Swift loop, a compare and a NaN test per element and a branch per window, was
// 5–8 % of a lenet training run (perf, session 24). The 2×2, stride-2 window of the seed
// networks gets vector loops: a row of outputs takes its two input rows as four vectors (even
// and odd columns of each), and each output lane keeps its best value and which of its four
// elements that was, compared in scan order with the scalar rule written as masks:
//     take v  ⇔  v > best  or  (v is NaN and best is not)
// which is the scalar loop's (once best is NaN nothing is taken: its `stop`). Rows of windows
// clipped by padding, and other windows, keep the scalar loop.
#pragma clang fp contract(off)
#include "CKernels.h"
#include "pool2d_window.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define WEAVE_INLINE static inline __attribute__((always_inline))

typedef weave_pool2d_geometry geometry;

// One output by the scalar rule over its clipped window.
WEAVE_INLINE void window_max(const float *x, const geometry *g, int64_t i, int64_t j, float *y,
                             int32_t *argmax) {
    int64_t r0, r1, c0, c1;
    window_rows(g, i, &r0, &r1);
    window_columns(g, j, &c0, &c1);
    int64_t best_index = r0 * g->width + c0;
    float best = x[best_index];
    if (best == best) {
        for (int64_t h = r0; h < r1; h++) {
            for (int64_t w = c0; w < c1; w++) {
                float v = x[h * g->width + w];
                if (v > best || v != v) {
                    best = v;
                    best_index = h * g->width + w;
                    if (v != v) goto done;
                }
            }
        }
    }
done:
    *y = best;
    *argmax = (int32_t)best_index;
}

// Outputs [0, n) of one output row whose 2×2 windows start at column `column` of input rows
// `row` and `row + 1` (both inside the plane): y[k] and argmax[k] for the window at columns
// column + 2k and column + 2k + 1.
typedef void (*pair_max_fn)(const float *x, int64_t width, int64_t row, int64_t column,
                            int64_t n, float *y, int32_t *argmax);

static void pair_max_portable(const float *x, int64_t width, int64_t row, int64_t column,
                              int64_t n, float *y, int32_t *argmax) {
    for (int64_t k = 0; k < n; k++) {
        int64_t at = row * width + column + 2 * k;
        const int64_t candidates[4] = {at, at + 1, at + width, at + width + 1};
        int64_t best_index = at;
        float best = x[at];
        for (int c = 1; c < 4 && best == best; c++) {
            float v = x[candidates[c]];
            if (v > best || v != v) {
                best = v;
                best_index = candidates[c];
            }
        }
        y[k] = best;
        argmax[k] = (int32_t)best_index;
    }
}

// Output columns [lo, hi) are interior: windows wholly inside the plane's width.
WEAVE_INLINE void forward_plane(const float *restrict x, float *restrict y,
                                int32_t *restrict argmax, const geometry *g, int64_t lo,
                                int64_t hi, pair_max_fn pair) {
    const int pairs = g->kernel_h == 2 && g->kernel_w == 2 && g->stride_w == 2;
    for (int64_t i = 0; i < g->out_height; i++) {
        float *out = y + i * g->out_width;
        int32_t *at = argmax + i * g->out_width;
        int64_t top = i * g->stride_h - g->pad_h;
        if (pairs && top >= 0 && top + 2 <= g->height && hi > lo) {
            for (int64_t j = 0; j < lo; j++) window_max(x, g, i, j, out + j, at + j);
            pair(x, g->width, top, 2 * lo - g->pad_w, hi - lo, out + lo, at + lo);
            for (int64_t j = hi; j < g->out_width; j++) window_max(x, g, i, j, out + j, at + j);
        } else {
            for (int64_t j = 0; j < g->out_width; j++) window_max(x, g, i, j, out + j, at + j);
        }
    }
}

WEAVE_INLINE void forward_planes(const float *x, float *y, int32_t *argmax, size_t planes,
                                 const geometry *g, pair_max_fn pair) {
    const int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width;
    if (in_plane == 0 || out_plane == 0) return;
    int64_t lo, hi;
    interior_columns(g, &lo, &hi);
    for (size_t p = 0; p < planes; p++)
        forward_plane(x + p * in_plane, y + p * out_plane, argmax + p * out_plane, g, lo, hi, pair);
}

void weave_maxpool2d_portable_forward(const float *x, float *y, int32_t *argmax, size_t planes,
                                      const weave_pool2d_geometry *g) {
    forward_planes(x, y, argmax, planes, g, pair_max_portable);
}

#if defined(__x86_64__)
#define WEAVE_AVX512 __attribute__((target("avx512f")))
#define WEAVE_AVX2 __attribute__((target("avx2,fma")))

// Lanes of `best` (and `code`) that `v` (candidate `c`) takes by the rule above.
WEAVE_AVX512 WEAVE_INLINE void take512(__m512 v, int32_t c, __m512 *best, __m512i *code) {
    __mmask16 greater = _mm512_cmp_ps_mask(v, *best, _CMP_GT_OQ);
    __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    __mmask16 best_nan = _mm512_cmp_ps_mask(*best, *best, _CMP_UNORD_Q);
    __mmask16 take = greater | (nan & (__mmask16)~best_nan);
    *best = _mm512_mask_mov_ps(*best, take, v);
    *code = _mm512_mask_mov_epi32(*code, take, _mm512_set1_epi32(c));
}

WEAVE_AVX512 static void pair_max_avx512(const float *x, int64_t width, int64_t row,
                                         int64_t column, int64_t n, float *y, int32_t *argmax) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i twice = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const float *a = x + row * width + column, *b = a + width;
    const int32_t base = (int32_t)(row * width + column);
    for (int64_t k = 0; k < n; k += 16) {
        const int64_t left = n - k < 16 ? n - k : 16;
        // Masks of the inputs in each half and of the outputs (1u << 16 keeps a full 16).
        const int64_t inputs = 2 * left;
        const __mmask16 low = inputs >= 16 ? 0xFFFF : (__mmask16)((1u << inputs) - 1);
        const __mmask16 high = inputs > 16 ? (__mmask16)((1u << (inputs - 16)) - 1) : 0;
        const __mmask16 outs = (__mmask16)((1u << left) - 1);
        __m512 a0 = _mm512_maskz_loadu_ps(low, a + 2 * k), a1 = _mm512_maskz_loadu_ps(high, a + 2 * k + 16);
        __m512 b0 = _mm512_maskz_loadu_ps(low, b + 2 * k), b1 = _mm512_maskz_loadu_ps(high, b + 2 * k + 16);
        __m512 best = _mm512_permutex2var_ps(a0, even, a1);
        __m512i code = _mm512_setzero_si512();
        take512(_mm512_permutex2var_ps(a0, odd, a1), 1, &best, &code);
        take512(_mm512_permutex2var_ps(b0, even, b1), (int32_t)width, &best, &code);
        take512(_mm512_permutex2var_ps(b0, odd, b1), (int32_t)width + 1, &best, &code);
        __m512i index = _mm512_add_epi32(_mm512_add_epi32(_mm512_set1_epi32(base + (int32_t)(2 * k)), twice), code);
        _mm512_mask_storeu_ps(y + k, outs, best);
        _mm512_mask_storeu_epi32(argmax + k, outs, index);
    }
}

// The same with 8 outputs a step. Even and odd columns: shuffle within 128-bit lanes, then
// put the 64-bit pairs in order.
WEAVE_AVX2 WEAVE_INLINE void take256(__m256 v, int32_t c, __m256 *best, __m256i *code) {
    __m256 greater = _mm256_cmp_ps(v, *best, _CMP_GT_OQ);
    __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    __m256 best_nan = _mm256_cmp_ps(*best, *best, _CMP_UNORD_Q);
    __m256 take = _mm256_or_ps(greater, _mm256_andnot_ps(best_nan, nan));
    *best = _mm256_blendv_ps(*best, v, take);
    *code = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(*code),
                                                 _mm256_castsi256_ps(_mm256_set1_epi32(c)), take));
}

WEAVE_AVX2 WEAVE_INLINE __m256i lanes_below(int64_t count) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(count < 8 ? (count < 0 ? 0 : count) : 8)), iota);
}

WEAVE_AVX2 WEAVE_INLINE __m256 columns_of(__m256 lo, __m256 hi, int odd) {
    __m256 mixed = odd ? _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))
                       : _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

WEAVE_AVX2 static void pair_max_avx2(const float *x, int64_t width, int64_t row, int64_t column,
                                     int64_t n, float *y, int32_t *argmax) {
    const __m256i twice = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const float *a = x + row * width + column, *b = a + width;
    const int32_t base = (int32_t)(row * width + column);
    for (int64_t k = 0; k < n; k += 8) {
        const int64_t left = n - k < 8 ? n - k : 8;
        const __m256i low = lanes_below(2 * left), high = lanes_below(2 * left - 8);
        __m256 a0 = _mm256_maskload_ps(a + 2 * k, low), a1 = _mm256_maskload_ps(a + 2 * k + 8, high);
        __m256 b0 = _mm256_maskload_ps(b + 2 * k, low), b1 = _mm256_maskload_ps(b + 2 * k + 8, high);
        __m256 best = columns_of(a0, a1, 0);
        __m256i code = _mm256_setzero_si256();
        take256(columns_of(a0, a1, 1), 1, &best, &code);
        take256(columns_of(b0, b1, 0), (int32_t)width, &best, &code);
        take256(columns_of(b0, b1, 1), (int32_t)width + 1, &best, &code);
        __m256i index = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(base + (int32_t)(2 * k)), twice), code);
        const __m256i outs = lanes_below(left);
        _mm256_maskstore_ps(y + k, outs, best);
        _mm256_maskstore_epi32(argmax + k, outs, index);
    }
}

WEAVE_AVX512 void weave_maxpool2d_avx512_forward(const float *x, float *y, int32_t *argmax,
                                                 size_t planes, const weave_pool2d_geometry *g) {
    forward_planes(x, y, argmax, planes, g, pair_max_avx512);
}

WEAVE_AVX2 void weave_maxpool2d_avx2_forward(const float *x, float *y, int32_t *argmax,
                                             size_t planes, const weave_pool2d_geometry *g) {
    forward_planes(x, y, argmax, planes, g, pair_max_avx2);
}
#else
void weave_maxpool2d_avx512_forward(const float *x, float *y, int32_t *argmax, size_t planes,
                                    const weave_pool2d_geometry *g) {
    forward_planes(x, y, argmax, planes, g, pair_max_portable);
}

void weave_maxpool2d_avx2_forward(const float *x, float *y, int32_t *argmax, size_t planes,
                                  const weave_pool2d_geometry *g) {
    forward_planes(x, y, argmax, planes, g, pair_max_portable);
}
#endif
