// Direct-convolution inner loops (see weave_conv2d.h for the exact arithmetic). Every
// variant evaluates the same fma chains in the same order, so they all write the same bits;
// only the number of positions and channels handled per step differs (that never changes an
// element's chain). Contraction is off: every fused operation below is explicit.
#pragma clang fp contract(off)
#include "CKernels.h"
#include <math.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define WEAVE_INLINE static inline __attribute__((always_inline))

// The fixed lane tree of the reductions: a[j] += a[j + w] for w = 8, 4, 2, 1.
static inline float lane_tree_portable(float a[16]) {
    for (int w = 8; w >= 1; w /= 2)
        for (int j = 0; j < w; j++) a[j] = a[j] + a[j + w];
    return a[0];
}

void weave_conv2d_portable_correlate(const float *input, const ptrdiff_t *tap_offsets,
                                     size_t taps, const float *weights, size_t weight_stride,
                                     const float *bias, size_t channels, float *output,
                                     size_t output_stride, size_t length) {
    for (size_t o = 0; o < channels; o++) {
        float *out = output + o * output_stride;
        const float *w = weights + o * weight_stride;
        const float start = bias ? bias[o] : 0.0f;
        for (size_t i = 0; i < length; i++) out[i] = start;
        for (size_t t = 0; t < taps; t++) {
            const float *x = input + tap_offsets[t];
            const float wt = w[t];
            for (size_t i = 0; i < length; i++) out[i] = fmaf(wt, x[i], out[i]);
        }
    }
}

void weave_conv2d_portable_weight_gradient(const float *input, const ptrdiff_t *tap_offsets,
                                           size_t taps, const float *gradient,
                                           size_t gradient_stride, size_t channels,
                                           size_t length, float *result, size_t result_stride) {
    for (size_t o = 0; o < channels; o++) {
        const float *g = gradient + o * gradient_stride;
        for (size_t t = 0; t < taps; t++) {
            const float *x = input + tap_offsets[t];
            float lanes[16] = {0};
            for (size_t i = 0; i < length; i++) lanes[i & 15] = fmaf(g[i], x[i], lanes[i & 15]);
            result[o * result_stride + t] = lane_tree_portable(lanes);
        }
    }
}

float weave_conv2d_portable_sum(const float *values, size_t count) {
    float lanes[16] = {0};
    for (size_t i = 0; i < count; i++) lanes[i & 15] = lanes[i & 15] + values[i];
    return lane_tree_portable(lanes);
}

// Splits `count` into ceil(count / max) nearly equal blocks; the size of the next block.
static inline int balanced_block(size_t remaining, int max) {
    size_t blocks = (remaining + (size_t)max - 1) / (size_t)max;
    return (int)((remaining + blocks - 1) / blocks);
}

#if defined(__x86_64__)
#define WEAVE_AVX512 __attribute__((target("avx512f")))
#define WEAVE_AVX2 __attribute__((target("avx2,fma")))

// ---------------------------------------------------------------- AVX-512

// `ob` channels × `pb` vectors of 16 positions from position i; the last vector uses `last`.
WEAVE_AVX512 WEAVE_INLINE void correlate_block_avx512(
    const float *input, const ptrdiff_t *off, size_t taps, const float *w, size_t ws,
    const float *bias, float *out, size_t os, size_t i, int ob, int pb, __mmask16 last) {
    __m512 acc[4][4];
    for (int o = 0; o < ob; o++) {
        const __m512 start = _mm512_set1_ps(bias ? bias[o] : 0.0f);
        for (int p = 0; p < pb; p++) acc[o][p] = start;
    }
    for (size_t t = 0; t < taps; t++) {
        const float *x = input + off[t] + i;
        __m512 v[4];
        for (int p = 0; p < pb; p++)
            v[p] = p == pb - 1 ? _mm512_maskz_loadu_ps(last, x + 16 * p)
                               : _mm512_loadu_ps(x + 16 * p);
        for (int o = 0; o < ob; o++) {
            const __m512 wv = _mm512_set1_ps(w[(size_t)o * ws + t]);
            for (int p = 0; p < pb; p++) acc[o][p] = _mm512_fmadd_ps(wv, v[p], acc[o][p]);
        }
    }
    for (int o = 0; o < ob; o++)
        for (int p = 0; p < pb; p++) {
            float *y = out + (size_t)o * os + i + 16 * (size_t)p;
            if (p == pb - 1) _mm512_mask_storeu_ps(y, last, acc[o][p]);
            else _mm512_storeu_ps(y, acc[o][p]);
        }
}

WEAVE_AVX512 WEAVE_INLINE void correlate_channels_avx512(
    const float *input, const ptrdiff_t *off, size_t taps, const float *w, size_t ws,
    const float *bias, float *out, size_t os, size_t length, int ob) {
    size_t i = 0;
    for (; i + 64 <= length; i += 64)
        correlate_block_avx512(input, off, taps, w, ws, bias, out, os, i, ob, 4, 0xFFFF);
    size_t rest = length - i;
    if (rest == 0) return;
    __mmask16 last = (__mmask16)(rest % 16 == 0 ? 0xFFFFu : (1u << (rest % 16)) - 1);
    switch ((rest + 15) / 16) {
    case 1: correlate_block_avx512(input, off, taps, w, ws, bias, out, os, i, ob, 1, last); break;
    case 2: correlate_block_avx512(input, off, taps, w, ws, bias, out, os, i, ob, 2, last); break;
    case 3: correlate_block_avx512(input, off, taps, w, ws, bias, out, os, i, ob, 3, last); break;
    default: correlate_block_avx512(input, off, taps, w, ws, bias, out, os, i, ob, 4, last); break;
    }
}

WEAVE_AVX512 void weave_conv2d_avx512_correlate(const float *input, const ptrdiff_t *tap_offsets,
                                                size_t taps, const float *weights,
                                                size_t weight_stride, const float *bias,
                                                size_t channels, float *output,
                                                size_t output_stride, size_t length) {
    for (size_t o = 0; o < channels;) {
        int ob = balanced_block(channels - o, 4);
        const float *w = weights + o * weight_stride;
        const float *b = bias ? bias + o : NULL;
        float *y = output + o * output_stride;
        switch (ob) {
        case 1: correlate_channels_avx512(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 1); break;
        case 2: correlate_channels_avx512(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 2); break;
        case 3: correlate_channels_avx512(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 3); break;
        default: correlate_channels_avx512(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 4); break;
        }
        o += (size_t)ob;
    }
}

// The lane tree on one 16-lane vector (lane j of the low 256 bits + lane j of the high ones, …).
WEAVE_AVX512 WEAVE_INLINE float lane_tree_avx512(__m512 v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

WEAVE_AVX512 WEAVE_INLINE void weight_gradient_block_avx512(
    const float *input, const ptrdiff_t *off, const float *g, size_t gs, size_t length,
    float *result, size_t rs, int ob, int tb) {
    __m512 acc[4][4];
    const float *x[4];
    for (int q = 0; q < tb; q++) x[q] = input + off[q];
    for (int o = 0; o < ob; o++)
        for (int q = 0; q < tb; q++) acc[o][q] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= length; i += 16) {
        __m512 gv[4];
        for (int o = 0; o < ob; o++) gv[o] = _mm512_loadu_ps(g + (size_t)o * gs + i);
        for (int q = 0; q < tb; q++) {
            const __m512 xv = _mm512_loadu_ps(x[q] + i);
            for (int o = 0; o < ob; o++) acc[o][q] = _mm512_fmadd_ps(gv[o], xv, acc[o][q]);
        }
    }
    if (i < length) {
        // Lanes past the end keep their value (never acc + 0, which would turn −0 into +0).
        const __mmask16 m = (__mmask16)((1u << (length - i)) - 1);
        __m512 gv[4];
        for (int o = 0; o < ob; o++) gv[o] = _mm512_maskz_loadu_ps(m, g + (size_t)o * gs + i);
        for (int q = 0; q < tb; q++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x[q] + i);
            for (int o = 0; o < ob; o++) acc[o][q] = _mm512_mask3_fmadd_ps(gv[o], xv, acc[o][q], m);
        }
    }
    for (int o = 0; o < ob; o++)
        for (int q = 0; q < tb; q++) result[(size_t)o * rs + (size_t)q] = lane_tree_avx512(acc[o][q]);
}

WEAVE_AVX512 WEAVE_INLINE void weight_gradient_channels_avx512(
    const float *input, const ptrdiff_t *off, size_t taps, const float *g, size_t gs,
    size_t length, float *result, size_t rs, int ob) {
    for (size_t t = 0; t < taps;) {
        int tb = balanced_block(taps - t, 4);
        switch (tb) {
        case 1: weight_gradient_block_avx512(input, off + t, g, gs, length, result + t, rs, ob, 1); break;
        case 2: weight_gradient_block_avx512(input, off + t, g, gs, length, result + t, rs, ob, 2); break;
        case 3: weight_gradient_block_avx512(input, off + t, g, gs, length, result + t, rs, ob, 3); break;
        default: weight_gradient_block_avx512(input, off + t, g, gs, length, result + t, rs, ob, 4); break;
        }
        t += (size_t)tb;
    }
}

WEAVE_AVX512 void weave_conv2d_avx512_weight_gradient(const float *input,
                                                      const ptrdiff_t *tap_offsets, size_t taps,
                                                      const float *gradient,
                                                      size_t gradient_stride, size_t channels,
                                                      size_t length, float *result,
                                                      size_t result_stride) {
    for (size_t o = 0; o < channels;) {
        int ob = balanced_block(channels - o, 4);
        const float *g = gradient + o * gradient_stride;
        float *r = result + o * result_stride;
        switch (ob) {
        case 1: weight_gradient_channels_avx512(input, tap_offsets, taps, g, gradient_stride, length, r, result_stride, 1); break;
        case 2: weight_gradient_channels_avx512(input, tap_offsets, taps, g, gradient_stride, length, r, result_stride, 2); break;
        case 3: weight_gradient_channels_avx512(input, tap_offsets, taps, g, gradient_stride, length, r, result_stride, 3); break;
        default: weight_gradient_channels_avx512(input, tap_offsets, taps, g, gradient_stride, length, r, result_stride, 4); break;
        }
        o += (size_t)ob;
    }
}

WEAVE_AVX512 float weave_conv2d_avx512_sum(const float *values, size_t count) {
    __m512 acc = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) acc = _mm512_add_ps(acc, _mm512_loadu_ps(values + i));
    if (i < count) {
        const __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        acc = _mm512_mask_add_ps(acc, m, acc, _mm512_maskz_loadu_ps(m, values + i));
    }
    return lane_tree_avx512(acc);
}

// ---------------------------------------------------------------- AVX2 + FMA

// All-ones in the first n lanes (0 ≤ n ≤ 8).
WEAVE_AVX2 WEAVE_INLINE __m256i lane_mask_avx2(size_t n) {
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(table + 8 - n));
}

// `ob` channels × `pb` vectors of 8 positions from position i; the last vector uses `last`.
WEAVE_AVX2 WEAVE_INLINE void correlate_block_avx2(
    const float *input, const ptrdiff_t *off, size_t taps, const float *w, size_t ws,
    const float *bias, float *out, size_t os, size_t i, int ob, int pb, int masked,
    __m256i last) {
    __m256 acc[4][2];
    for (int o = 0; o < ob; o++) {
        const __m256 start = _mm256_set1_ps(bias ? bias[o] : 0.0f);
        for (int p = 0; p < pb; p++) acc[o][p] = start;
    }
    for (size_t t = 0; t < taps; t++) {
        const float *x = input + off[t] + i;
        __m256 v[2];
        for (int p = 0; p < pb; p++)
            v[p] = masked && p == pb - 1 ? _mm256_maskload_ps(x + 8 * p, last)
                                         : _mm256_loadu_ps(x + 8 * p);
        for (int o = 0; o < ob; o++) {
            const __m256 wv = _mm256_set1_ps(w[(size_t)o * ws + t]);
            for (int p = 0; p < pb; p++) acc[o][p] = _mm256_fmadd_ps(wv, v[p], acc[o][p]);
        }
    }
    for (int o = 0; o < ob; o++)
        for (int p = 0; p < pb; p++) {
            float *y = out + (size_t)o * os + i + 8 * (size_t)p;
            if (masked && p == pb - 1) _mm256_maskstore_ps(y, last, acc[o][p]);
            else _mm256_storeu_ps(y, acc[o][p]);
        }
}

WEAVE_AVX2 WEAVE_INLINE void correlate_channels_avx2(
    const float *input, const ptrdiff_t *off, size_t taps, const float *w, size_t ws,
    const float *bias, float *out, size_t os, size_t length, int ob) {
    const __m256i all = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; i + 16 <= length; i += 16)
        correlate_block_avx2(input, off, taps, w, ws, bias, out, os, i, ob, 2, 0, all);
    size_t rest = length - i;
    if (rest == 0) return;
    if (rest > 8)
        correlate_block_avx2(input, off, taps, w, ws, bias, out, os, i, ob, 2, 1,
                             lane_mask_avx2(rest - 8));
    else
        correlate_block_avx2(input, off, taps, w, ws, bias, out, os, i, ob, 1, 1,
                             lane_mask_avx2(rest));
}

WEAVE_AVX2 void weave_conv2d_avx2_correlate(const float *input, const ptrdiff_t *tap_offsets,
                                            size_t taps, const float *weights,
                                            size_t weight_stride, const float *bias,
                                            size_t channels, float *output,
                                            size_t output_stride, size_t length) {
    for (size_t o = 0; o < channels;) {
        int ob = balanced_block(channels - o, 4);
        const float *w = weights + o * weight_stride;
        const float *b = bias ? bias + o : NULL;
        float *y = output + o * output_stride;
        switch (ob) {
        case 1: correlate_channels_avx2(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 1); break;
        case 2: correlate_channels_avx2(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 2); break;
        case 3: correlate_channels_avx2(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 3); break;
        default: correlate_channels_avx2(input, tap_offsets, taps, w, weight_stride, b, y, output_stride, length, 4); break;
        }
        o += (size_t)ob;
    }
}

// The lane tree on lanes 0–7 (`lo`) and 8–15 (`hi`).
WEAVE_AVX2 WEAVE_INLINE float lane_tree_avx2(__m256 lo, __m256 hi) {
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

// One 16-position step: half h covers lanes 8h … 8h+7, with `mask[h]` when `masked`.
WEAVE_AVX2 WEAVE_INLINE void weight_gradient_step_avx2(
    const float *const x[3], const float *g, size_t gs, size_t i, __m256 acc[2][3][2],
    int ob, int tb, int masked, const __m256i mask[2]) {
    for (int h = 0; h < 2; h++) {
        const size_t at = i + 8 * (size_t)h;
        __m256 gv[2];
        for (int o = 0; o < ob; o++)
            gv[o] = masked ? _mm256_maskload_ps(g + (size_t)o * gs + at, mask[h])
                           : _mm256_loadu_ps(g + (size_t)o * gs + at);
        for (int q = 0; q < tb; q++) {
            const __m256 xv = masked ? _mm256_maskload_ps(x[q] + at, mask[h])
                                     : _mm256_loadu_ps(x[q] + at);
            for (int o = 0; o < ob; o++) {
                const __m256 next = _mm256_fmadd_ps(gv[o], xv, acc[o][q][h]);
                // Lanes past the end keep their value (as the AVX-512 masked fma does).
                acc[o][q][h] = masked ? _mm256_blendv_ps(acc[o][q][h], next, _mm256_castsi256_ps(mask[h]))
                                      : next;
            }
        }
    }
}

WEAVE_AVX2 WEAVE_INLINE void weight_gradient_block_avx2(
    const float *input, const ptrdiff_t *off, const float *g, size_t gs, size_t length,
    float *result, size_t rs, int ob, int tb) {
    __m256 acc[2][3][2];
    const float *x[3];
    for (int q = 0; q < tb; q++) x[q] = input + off[q];
    for (int o = 0; o < ob; o++)
        for (int q = 0; q < tb; q++) acc[o][q][0] = acc[o][q][1] = _mm256_setzero_ps();
    const __m256i all[2] = {_mm256_set1_epi32(-1), _mm256_set1_epi32(-1)};
    size_t i = 0;
    for (; i + 16 <= length; i += 16) weight_gradient_step_avx2(x, g, gs, i, acc, ob, tb, 0, all);
    if (i < length) {
        size_t rest = length - i;
        const __m256i mask[2] = {lane_mask_avx2(rest < 8 ? rest : 8),
                                 lane_mask_avx2(rest > 8 ? rest - 8 : 0)};
        weight_gradient_step_avx2(x, g, gs, i, acc, ob, tb, 1, mask);
    }
    for (int o = 0; o < ob; o++)
        for (int q = 0; q < tb; q++)
            result[(size_t)o * rs + (size_t)q] = lane_tree_avx2(acc[o][q][0], acc[o][q][1]);
}

WEAVE_AVX2 WEAVE_INLINE void weight_gradient_channels_avx2(
    const float *input, const ptrdiff_t *off, size_t taps, const float *g, size_t gs,
    size_t length, float *result, size_t rs, int ob) {
    for (size_t t = 0; t < taps;) {
        int tb = balanced_block(taps - t, 3);
        switch (tb) {
        case 1: weight_gradient_block_avx2(input, off + t, g, gs, length, result + t, rs, ob, 1); break;
        case 2: weight_gradient_block_avx2(input, off + t, g, gs, length, result + t, rs, ob, 2); break;
        default: weight_gradient_block_avx2(input, off + t, g, gs, length, result + t, rs, ob, 3); break;
        }
        t += (size_t)tb;
    }
}

WEAVE_AVX2 void weave_conv2d_avx2_weight_gradient(const float *input,
                                                  const ptrdiff_t *tap_offsets, size_t taps,
                                                  const float *gradient, size_t gradient_stride,
                                                  size_t channels, size_t length, float *result,
                                                  size_t result_stride) {
    for (size_t o = 0; o < channels;) {
        int ob = balanced_block(channels - o, 2);
        const float *g = gradient + o * gradient_stride;
        float *r = result + o * result_stride;
        if (ob == 1)
            weight_gradient_channels_avx2(input, tap_offsets, taps, g, gradient_stride, length, r, result_stride, 1);
        else
            weight_gradient_channels_avx2(input, tap_offsets, taps, g, gradient_stride, length, r, result_stride, 2);
        o += (size_t)ob;
    }
}

WEAVE_AVX2 float weave_conv2d_avx2_sum(const float *values, size_t count) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(values + i));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(values + i + 8));
    }
    if (i < count) {
        size_t rest = count - i;
        __m256i mlo = lane_mask_avx2(rest < 8 ? rest : 8);
        __m256i mhi = lane_mask_avx2(rest > 8 ? rest - 8 : 0);
        __m256 nlo = _mm256_add_ps(lo, _mm256_maskload_ps(values + i, mlo));
        __m256 nhi = _mm256_add_ps(hi, _mm256_maskload_ps(values + i + 8, mhi));
        lo = _mm256_blendv_ps(lo, nlo, _mm256_castsi256_ps(mlo));
        hi = _mm256_blendv_ps(hi, nhi, _mm256_castsi256_ps(mhi));
    }
    return lane_tree_avx2(lo, hi);
}

#else  // not x86-64: the vector entry points run the portable code.

void weave_conv2d_avx2_correlate(const float *input, const ptrdiff_t *tap_offsets, size_t taps,
                                 const float *weights, size_t weight_stride, const float *bias,
                                 size_t channels, float *output, size_t output_stride,
                                 size_t length) {
    weave_conv2d_portable_correlate(input, tap_offsets, taps, weights, weight_stride, bias,
                                    channels, output, output_stride, length);
}
void weave_conv2d_avx512_correlate(const float *input, const ptrdiff_t *tap_offsets,
                                   size_t taps, const float *weights, size_t weight_stride,
                                   const float *bias, size_t channels, float *output,
                                   size_t output_stride, size_t length) {
    weave_conv2d_portable_correlate(input, tap_offsets, taps, weights, weight_stride, bias,
                                    channels, output, output_stride, length);
}
void weave_conv2d_avx2_weight_gradient(const float *input, const ptrdiff_t *tap_offsets,
                                       size_t taps, const float *gradient,
                                       size_t gradient_stride, size_t channels, size_t length,
                                       float *result, size_t result_stride) {
    weave_conv2d_portable_weight_gradient(input, tap_offsets, taps, gradient, gradient_stride,
                                          channels, length, result, result_stride);
}
void weave_conv2d_avx512_weight_gradient(const float *input, const ptrdiff_t *tap_offsets,
                                         size_t taps, const float *gradient,
                                         size_t gradient_stride, size_t channels,
                                         size_t length, float *result, size_t result_stride) {
    weave_conv2d_portable_weight_gradient(input, tap_offsets, taps, gradient, gradient_stride,
                                          channels, length, result, result_stride);
}
float weave_conv2d_avx2_sum(const float *values, size_t count) {
    return weave_conv2d_portable_sum(values, count);
}
float weave_conv2d_avx512_sum(const float *values, size_t count) {
    return weave_conv2d_portable_sum(values, count);
}
#endif
