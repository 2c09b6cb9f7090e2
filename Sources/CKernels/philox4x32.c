// Philox4x32-10 (Salmon et al., SC'11) and the dropout kernels built on it, in stream
// format v1 (ParallelRuntime/Random/README.md):
//   element e of a (key, step) stream is word w = (e mod 64) / 16 of the block with counter
//   (lo32(b), hi32(b), lo32(step), hi32(step)), b = 16·(e / 64) + (e mod 16).
// So a group of 64 consecutive elements is 16 consecutive blocks, and word w of the 16 blocks
// is elements 16w … 16w+15 of the group: a 16-lane vector needs no transpose, and the 64 keep
// bits of a group form one uint64 mask word (bit r = element 64g + r).
// Every variant is integer-exact, and the only float operation is one multiply per kept
// element, so all variants produce the same bits.
#pragma clang fp contract(off)
#include "CKernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10
#define WEAVE_PREFETCH_ELEMENTS 1024

// ---------------------------------------------------------------------------------------------
// Portable

static inline void philox_block(uint32_t c[4], uint32_t k0, uint32_t k1) {
    uint32_t x0 = c[0], x1 = c[1], x2 = c[2], x3 = c[3];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * x0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * x2;
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0;
        uint32_t y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1;
        uint32_t y3 = (uint32_t)p0;
        x0 = y0; x1 = y1; x2 = y2; x3 = y3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    c[0] = x0; c[1] = x1; c[2] = x2; c[3] = x3;
}

// The 64 words of group `group`, in element order.
static void philox_group_portable(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
                                  uint32_t words[64]) {
    for (uint32_t lane = 0; lane < 16; lane++) {
        uint64_t b = group * 16 + lane;
        uint32_t c[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)step, (uint32_t)(step >> 32)};
        philox_block(c, k0, k1);
        for (int w = 0; w < 4; w++) words[16 * w + lane] = c[w];
    }
}

// Copies words of the group holding element `e` from `e` up to `count` elements; returns how many.
typedef void (*group_fn)(uint64_t, uint32_t, uint32_t, uint64_t, uint32_t *);

static size_t fill_partial(group_fn fn, uint32_t k0, uint32_t k1, uint64_t step, uint64_t e,
                           uint32_t *out, size_t count) {
    uint32_t words[64];
    fn(e >> 6, k0, k1, step, words);
    size_t offset = (size_t)(e & 63);
    size_t n = 64 - offset;
    if (n > count) n = count;
    memcpy(out, words + offset, n * sizeof(uint32_t));
    return n;
}

static void fill_with(group_fn fn, uint32_t k0, uint32_t k1, uint64_t step,
                      uint64_t first_element, uint32_t *out, size_t count) {
    uint64_t e = first_element;
    while (count > 0) {
        size_t n;
        if ((e & 63) == 0 && count >= 64) {
            fn(e >> 6, k0, k1, step, out);
            n = 64;
        } else {
            n = fill_partial(fn, k0, k1, step, e, out, count);
        }
        out += n; e += n; count -= n;
    }
}

void weave_philox4x32_portable_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                    uint64_t first_element, uint32_t *out, size_t count) {
    fill_with(philox_group_portable, key0, key1, step, first_element, out, count);
}

static inline uint64_t group_keep_bits(const uint32_t words[64], uint32_t drop_threshold) {
    uint64_t bits = 0;
    for (int r = 0; r < 64; r++) bits |= (uint64_t)(words[r] >= drop_threshold) << r;
    return bits;
}

// Applies `bits` to `n` ≤ 64 elements: kept ones are input · scale, dropped ones +0.
static inline void apply_bits_portable(const float *input, float *output, uint64_t bits,
                                       size_t n, float scale) {
    for (size_t r = 0; r < n; r++) output[r] = ((bits >> r) & 1) ? input[r] * scale : 0.0f;
}

static void dropout_forward_with(group_fn fn, const float *input, float *output, uint64_t *mask,
                                 size_t count, uint64_t first_element, uint32_t key0,
                                 uint32_t key1, uint64_t step, uint32_t drop_threshold,
                                 float scale) {
    uint32_t words[64];
    uint64_t group = first_element >> 6;
    for (size_t done = 0; done < count; done += 64, group++) {
        size_t n = count - done < 64 ? count - done : 64;
        fn(group, key0, key1, step, words);
        uint64_t bits = group_keep_bits(words, drop_threshold);
        if (n < 64) bits &= ((uint64_t)1 << n) - 1;
        mask[done >> 6] = bits;
        apply_bits_portable(input + done, output + done, bits, n, scale);
    }
}

void weave_dropout_portable_forward(const float *input, float *output, uint64_t *mask,
                                    size_t count, uint64_t first_element, uint32_t key0,
                                    uint32_t key1, uint64_t step, uint32_t drop_threshold,
                                    float scale) {
    dropout_forward_with(philox_group_portable, input, output, mask, count, first_element,
                         key0, key1, step, drop_threshold, scale);
}

void weave_dropout_portable_backward(const float *gradient, float *result, const uint64_t *mask,
                                     size_t count, float scale) {
    for (size_t done = 0; done < count; done += 64) {
        size_t n = count - done < 64 ? count - done : 64;
        apply_bits_portable(gradient + done, result + done, mask[done >> 6], n, scale);
    }
}

#if defined(__x86_64__)
// The forward kernels issue loads sparsely (one group of 64 floats per ~100 cycles of Philox),
// which the hardware prefetcher does not follow well: without this the AVX-512 forward pass
// took 16.5 ms on 16M floats instead of 6.7 ms. Prefetches the group 16 groups (4 KiB) ahead;
// a prefetch never faults, so reading past the end is harmless.
static inline void weave_prefetch_ahead(const float *group) {
    for (int line = 0; line < 4; line++)
        _mm_prefetch((const char *)(group + WEAVE_PREFETCH_ELEMENTS + 16 * line), _MM_HINT_T0);
}

// ---------------------------------------------------------------------------------------------
// AVX2: a group is two passes of 8 blocks.

__attribute__((target("avx2")))
static inline void mulhilo_avx2(__m256i a, __m256i m, __m256i *lo, __m256i *hi) {
    __m256i even = _mm256_mul_epu32(a, m);
    __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Words of blocks b … b+7 (b = 16·group + 8·half): x[w] lane l is word w of block b + l.
__attribute__((target("avx2")))
static inline void philox8_avx2(uint64_t b, uint32_t k0, uint32_t k1, uint64_t step,
                                __m256i x[4]) {
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M1);
    __m256i x0 = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)b),
                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i x1 = _mm256_set1_epi32((int)(uint32_t)(b >> 32));
    __m256i x2 = _mm256_set1_epi32((int)(uint32_t)step);
    __m256i x3 = _mm256_set1_epi32((int)(uint32_t)(step >> 32));
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        __m256i lo0, hi0, lo1, hi1;
        mulhilo_avx2(x0, m0, &lo0, &hi0);
        mulhilo_avx2(x2, m1, &lo1, &hi1);
        x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)k0));
        x1 = lo1;
        x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)k1));
        x3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3;
}

__attribute__((target("avx2")))
static void philox_group_avx2(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
                              uint32_t *words) {
    for (int half = 0; half < 2; half++) {
        __m256i x[4];
        philox8_avx2(group * 16 + 8 * (uint64_t)half, k0, k1, step, x);
        for (int w = 0; w < 4; w++)
            _mm256_storeu_si256((__m256i *)(words + 16 * w + 8 * half), x[w]);
    }
}

void weave_philox4x32_avx2_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                uint64_t first_element, uint32_t *out, size_t count) {
    fill_with(philox_group_avx2, key0, key1, step, first_element, out, count);
}

__attribute__((target("avx2")))
void weave_dropout_avx2_forward(const float *input, float *output, uint64_t *mask, size_t count,
                                uint64_t first_element, uint32_t key0, uint32_t key1,
                                uint64_t step, uint32_t drop_threshold, float scale) {
    const __m256i threshold = _mm256_set1_epi32((int)drop_threshold);
    const __m256 vscale = _mm256_set1_ps(scale);
    size_t full = count & ~(size_t)63;
    uint64_t group = first_element >> 6;
    for (size_t done = 0; done < full; done += 64, group++) {
        weave_prefetch_ahead(input + done);
        uint64_t bits = 0;
        for (int half = 0; half < 2; half++) {
            __m256i x[4];
            philox8_avx2(group * 16 + 8 * (uint64_t)half, key0, key1, step, x);
            for (int w = 0; w < 4; w++) {
                // keep iff word ≥ threshold (unsigned): max(word, threshold) == word
                __m256i keep = _mm256_cmpeq_epi32(_mm256_max_epu32(x[w], threshold), x[w]);
                size_t at = done + 16 * (size_t)w + 8 * (size_t)half;
                __m256 y = _mm256_mul_ps(_mm256_loadu_ps(input + at), vscale);
                _mm256_storeu_ps(output + at, _mm256_and_ps(_mm256_castsi256_ps(keep), y));
                uint64_t lanes = (uint64_t)(uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(keep));
                bits |= lanes << (16 * w + 8 * half);
            }
        }
        mask[done >> 6] = bits;
    }
    if (full < count)
        dropout_forward_with(philox_group_avx2, input + full, output + full, mask + (full >> 6),
                             count - full, first_element + full, key0, key1, step,
                             drop_threshold, scale);
}

__attribute__((target("avx2")))
void weave_dropout_avx2_backward(const float *gradient, float *result, const uint64_t *mask,
                                 size_t count, float scale) {
    const __m256 vscale = _mm256_set1_ps(scale);
    const __m256i lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    size_t full = count & ~(size_t)63;
    for (size_t done = 0; done < full; done += 64) {
        uint64_t bits = mask[done >> 6];
        for (int part = 0; part < 8; part++) {
            __m256i byte = _mm256_set1_epi32((int)((bits >> (8 * part)) & 0xFF));
            __m256i keep = _mm256_cmpeq_epi32(_mm256_and_si256(byte, lane_bits), lane_bits);
            size_t at = done + 8 * (size_t)part;
            __m256 y = _mm256_mul_ps(_mm256_loadu_ps(gradient + at), vscale);
            _mm256_storeu_ps(result + at, _mm256_and_ps(_mm256_castsi256_ps(keep), y));
        }
    }
    if (full < count)
        weave_dropout_portable_backward(gradient + full, result + full, mask + (full >> 6),
                                        count - full, scale);
}

// ---------------------------------------------------------------------------------------------
// AVX-512: a group is one pass of 16 blocks.

// 16 blocks as two halves of 8, each block in a 64-bit lane with its 32-bit word in the low
// half: one vpmuludq then gives the full 64-bit product (low half = lo, and a shift gives hi),
// with no blends. The high halves carry garbage that vpmuludq and the final packing ignore.
// 12 instructions per round instead of 16 with 16-lane mulhilo; rounds fully unrolled.
__attribute__((target("avx512f")))
static inline void philox16_avx512(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
                                   __m512i x[4]) {
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi64(PHILOX_M1);
    uint64_t b = group * 16;
    const __m512i base = _mm512_set1_epi64((uint32_t)b);
    __m512i a0 = _mm512_add_epi64(base, _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
    __m512i b0 = _mm512_add_epi64(base, _mm512_setr_epi64(8, 9, 10, 11, 12, 13, 14, 15));
    __m512i a1 = _mm512_set1_epi64((uint32_t)(b >> 32)), b1 = a1;
    __m512i a2 = _mm512_set1_epi64((uint32_t)step), b2 = a2;
    __m512i a3 = _mm512_set1_epi64((uint32_t)(step >> 32)), b3 = a3;
#pragma clang loop unroll(full)
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        const __m512i key0 = _mm512_set1_epi32((int)k0), key1 = _mm512_set1_epi32((int)k1);
        __m512i pa0 = _mm512_mul_epu32(a0, m0), pa1 = _mm512_mul_epu32(a2, m1);
        __m512i pb0 = _mm512_mul_epu32(b0, m0), pb1 = _mm512_mul_epu32(b2, m1);
        // 0x96: three-way exclusive or
        a0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pa1, 32), a1, key0, 0x96);
        a2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pa0, 32), a3, key1, 0x96);
        a1 = pa1;
        a3 = pa0;
        b0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pb1, 32), b1, key0, 0x96);
        b2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(pb0, 32), b3, key1, 0x96);
        b1 = pb1;
        b3 = pb0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    // The low halves of the 8 + 8 lanes, in block order.
    const __m512i low_halves = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                                 16, 18, 20, 22, 24, 26, 28, 30);
    x[0] = _mm512_permutex2var_epi32(a0, low_halves, b0);
    x[1] = _mm512_permutex2var_epi32(a1, low_halves, b1);
    x[2] = _mm512_permutex2var_epi32(a2, low_halves, b2);
    x[3] = _mm512_permutex2var_epi32(a3, low_halves, b3);
}

__attribute__((target("avx512f")))
static void philox_group_avx512(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
                                uint32_t *words) {
    __m512i x[4];
    philox16_avx512(group, k0, k1, step, x);
    for (int w = 0; w < 4; w++) _mm512_storeu_si512((void *)(words + 16 * w), x[w]);
}

__attribute__((target("avx512f")))
void weave_philox4x32_avx512_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                  uint64_t first_element, uint32_t *out, size_t count) {
    // A partial first group, then whole groups inline (no call per group), then the rest.
    size_t head = (size_t)((64 - (first_element & 63)) & 63);
    if (head > count) head = count;
    if (head > 0) fill_with(philox_group_avx512, key0, key1, step, first_element, out, head);
    uint64_t e = first_element + head;
    size_t done = head;
    for (; count - done >= 64; done += 64, e += 64) {
        __m512i x[4];
        philox16_avx512(e >> 6, key0, key1, step, x);
        for (int w = 0; w < 4; w++) _mm512_storeu_si512((void *)(out + done + 16 * w), x[w]);
    }
    if (done < count) fill_with(philox_group_avx512, key0, key1, step, e, out + done, count - done);
}

__attribute__((target("avx512f")))
void weave_dropout_avx512_forward(const float *input, float *output, uint64_t *mask,
                                  size_t count, uint64_t first_element, uint32_t key0,
                                  uint32_t key1, uint64_t step, uint32_t drop_threshold,
                                  float scale) {
    const __m512i threshold = _mm512_set1_epi32((int)drop_threshold);
    const __m512 vscale = _mm512_set1_ps(scale);
    size_t full = count & ~(size_t)63;
    uint64_t group = first_element >> 6;
    for (size_t done = 0; done < full; done += 64, group++) {
        weave_prefetch_ahead(input + done);
        __m512i x[4];
        philox16_avx512(group, key0, key1, step, x);
        uint64_t bits = 0;
        for (int w = 0; w < 4; w++) {
            __mmask16 keep = _mm512_cmpge_epu32_mask(x[w], threshold);
            size_t at = done + 16 * (size_t)w;
            _mm512_storeu_ps(output + at,
                             _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(input + at), vscale));
            bits |= (uint64_t)keep << (16 * w);
        }
        mask[done >> 6] = bits;
    }
    if (full < count)
        dropout_forward_with(philox_group_avx512, input + full, output + full,
                             mask + (full >> 6), count - full, first_element + full, key0,
                             key1, step, drop_threshold, scale);
}

__attribute__((target("avx512f")))
void weave_dropout_avx512_backward(const float *gradient, float *result, const uint64_t *mask,
                                   size_t count, float scale) {
    const __m512 vscale = _mm512_set1_ps(scale);
    size_t full = count & ~(size_t)63;
    for (size_t done = 0; done < full; done += 64) {
        uint64_t bits = mask[done >> 6];
        for (int w = 0; w < 4; w++) {
            __mmask16 keep = (__mmask16)(bits >> (16 * w));
            size_t at = done + 16 * (size_t)w;
            _mm512_storeu_ps(result + at,
                             _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(gradient + at), vscale));
        }
    }
    if (full < count)
        weave_dropout_portable_backward(gradient + full, result + full, mask + (full >> 6),
                                        count - full, scale);
}

#else  // not x86-64: the vector entry points run the portable code.

void weave_philox4x32_avx2_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                uint64_t first_element, uint32_t *out, size_t count) {
    weave_philox4x32_portable_fill(key0, key1, step, first_element, out, count);
}
void weave_philox4x32_avx512_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                  uint64_t first_element, uint32_t *out, size_t count) {
    weave_philox4x32_portable_fill(key0, key1, step, first_element, out, count);
}
void weave_dropout_avx2_forward(const float *input, float *output, uint64_t *mask, size_t count,
                                uint64_t first_element, uint32_t key0, uint32_t key1,
                                uint64_t step, uint32_t drop_threshold, float scale) {
    weave_dropout_portable_forward(input, output, mask, count, first_element, key0, key1, step,
                                   drop_threshold, scale);
}
void weave_dropout_avx512_forward(const float *input, float *output, uint64_t *mask,
                                  size_t count, uint64_t first_element, uint32_t key0,
                                  uint32_t key1, uint64_t step, uint32_t drop_threshold,
                                  float scale) {
    weave_dropout_portable_forward(input, output, mask, count, first_element, key0, key1, step,
                                   drop_threshold, scale);
}
void weave_dropout_avx2_backward(const float *gradient, float *result, const uint64_t *mask,
                                 size_t count, float scale) {
    weave_dropout_portable_backward(gradient, result, mask, count, scale);
}
void weave_dropout_avx512_backward(const float *gradient, float *result, const uint64_t *mask,
                                   size_t count, float scale) {
    weave_dropout_portable_backward(gradient, result, mask, count, scale);
}
#endif
