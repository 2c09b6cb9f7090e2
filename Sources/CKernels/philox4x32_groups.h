// Philox4x32-10 groups in stream format v1, shared by philox4x32.c (fills) and dropout.c.
// Private to CKernels (not in include/): static inline helpers only.
//   Element e of a (key, step) stream is word w = (e mod 64) / 16 of the block with counter
//   (lo32(b), hi32(b), lo32(step), hi32(step)), b = 16·(e / 64) + (e mod 16).
// So a group of 64 consecutive elements is 16 consecutive blocks, and word w of the 16 blocks
// is elements 16w … 16w+15 of the group: a 16-lane vector needs no transpose, and the 64 keep
// bits of a group form one uint64 mask word (bit r = element 64g + r).
#ifndef WEAVE_PHILOX4X32_GROUPS_H
#define WEAVE_PHILOX4X32_GROUPS_H
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define PHILOX_ROUNDS 10

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
static inline void philox_group_portable(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
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

static inline size_t fill_partial(group_fn fn, uint32_t k0, uint32_t k1, uint64_t step, uint64_t e,
                           uint32_t *out, size_t count) {
    uint32_t words[64];
    fn(e >> 6, k0, k1, step, words);
    size_t offset = (size_t)(e & 63);
    size_t n = 64 - offset;
    if (n > count) n = count;
    memcpy(out, words + offset, n * sizeof(uint32_t));
    return n;
}

static inline void fill_with(group_fn fn, uint32_t k0, uint32_t k1, uint64_t step,
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

#if defined(__x86_64__)
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
static inline void philox_group_avx2(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
                              uint32_t *words) {
    for (int half = 0; half < 2; half++) {
        __m256i x[4];
        philox8_avx2(group * 16 + 8 * (uint64_t)half, k0, k1, step, x);
        for (int w = 0; w < 4; w++)
            _mm256_storeu_si256((__m256i *)(words + 16 * w + 8 * half), x[w]);
    }
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
static inline void philox_group_avx512(uint64_t group, uint32_t k0, uint32_t k1, uint64_t step,
                                uint32_t *words) {
    __m512i x[4];
    philox16_avx512(group, k0, k1, step, x);
    for (int w = 0; w < 4; w++) _mm512_storeu_si512((void *)(words + 16 * w), x[w]);
}
#endif
#endif
