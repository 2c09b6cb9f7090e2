// SGEMM packing (BLIS "packm"): copies of A and B into the micro-kernels' panel layouts, with
// A scaled by α. Each value is copied, or multiplied once by α (one rounding, as `scale * x` in
// C or Swift), so packing never changes a bit of the result whatever instructions it uses.
//
// Why in C (session 10): packing was 9% of a 1024³ SGEMM on one thread and a quarter of a
// 48×784×256 one (perf). Swift's loops gathered A one scalar at a time, copied with 16-byte
// moves (the Swift build targets baseline x86-64), and let B's rows, 4 KB apart and one page
// each, miss the cache with nothing prefetched. Here gathers are 4×4 SSE transposes (SSE2 is in
// every x86-64), copies use zmm registers when the kernel is AVX-512, and the copy form
// prefetches the rows it reads next.
#pragma clang fp contract(off)
#include "CKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Rows ahead that the copy form prefetches (measured on the AVX-512 machine: 8 beat 4 and
// none by 10–20% when the source is out of L2, and cost nothing when it is in L2).
#define PACK_PREFETCH_ROWS 8

// Copies `count` values (multiplied by `scale` when `scaled`, a constant after inlining, so
// that no loop tests it) and zeros up to `width`.
__attribute__((always_inline))
static inline void copy_line_narrow(const float *source, float *target, int64_t count,
                                    int64_t width, const int scaled, float scale) {
    int64_t i = 0;
#if defined(__x86_64__)
    const __m128 vscale = _mm_set1_ps(scale);
    for (; i + 4 <= count; i += 4) {
        __m128 v = _mm_loadu_ps(source + i);
        if (scaled) v = _mm_mul_ps(v, vscale);
        _mm_storeu_ps(target + i, v);
    }
#endif
    for (; i < count; i++) target[i] = scaled ? scale * source[i] : source[i];
    for (; i < width; i++) target[i] = 0.0f;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"), always_inline))
static inline void copy_line_wide(const float *source, float *target, int64_t count,
                                  int64_t width, const int scaled, float scale) {
    const __m512 vscale = _mm512_set1_ps(scale);
    int64_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 v = _mm512_loadu_ps(source + i);
        if (scaled) v = _mm512_mul_ps(v, vscale);
        _mm512_storeu_ps(target + i, v);
    }
    // The rest of the values and the padding after them, 16 lanes at a time: lanes past
    // `count` load as zero, lanes past `width` are not stored.
    for (; i < width; i += 16) {
        const int64_t values = count - i > 16 ? 16 : (count > i ? count - i : 0);
        const int64_t lanes = width - i > 16 ? 16 : width - i;
        const __mmask16 loaded = (__mmask16)((1u << values) - 1);
        __m512 v = _mm512_maskz_loadu_ps(loaded, source + i);
        // Masked, so that the padding stays +0 (0 · α is −0 for α < 0).
        if (scaled) v = _mm512_maskz_mul_ps(loaded, v, vscale);
        _mm512_mask_storeu_ps(target + i, (__mmask16)((1u << lanes) - 1), v);
    }
}
#endif

// Copy form: element (p, i) at src[p·ld + i]. Panel by panel, so that each panel is written
// in one sequential run (reading the call's whole row at once and writing to every panel was
// 1.5× slower with the source in L2), prefetching the panel's part of row p + 8.
#define PACK_COPY(NAME, COPY_LINE, ATTRIBUTES)                                                 \
    ATTRIBUTES __attribute__((always_inline)) static inline void NAME##_panel(                 \
        const float *source, int64_t ld, int64_t count, int64_t depth, int64_t width,         \
        const int scaled, float scale, float *target) {                                        \
        for (int64_t p = 0; p < depth; p++) {                                                  \
            if (p + PACK_PREFETCH_ROWS < depth) {                                              \
                const float *ahead = source + PACK_PREFETCH_ROWS * ld;                         \
                __builtin_prefetch(ahead);                                                     \
                __builtin_prefetch(ahead + count - 1);                                         \
            }                                                                                  \
            COPY_LINE(source, target, count, width, scaled, scale);                            \
            source += ld;                                                                      \
            target += width;                                                                   \
        }                                                                                      \
    }                                                                                          \
    ATTRIBUTES static void NAME(const float *src, int64_t ld, int64_t extent, int64_t depth,   \
                                int64_t width, int64_t first_panel, int64_t panel_count,       \
                                float scale, float *dest) {                                    \
        for (int64_t q = first_panel; q < first_panel + panel_count; q++) {                    \
            const int64_t start = q * width;                                                   \
            const int64_t count = extent - start < width ? extent - start : width;             \
            float *target = dest + q * width * depth;                                          \
            if (scale == 1.0f) NAME##_panel(src + start, ld, count, depth, width, 0, 1, target); \
            else NAME##_panel(src + start, ld, count, depth, width, 1, scale, target);         \
        }                                                                                      \
    }

PACK_COPY(pack_copy_narrow, copy_line_narrow, )
#if defined(__x86_64__)
PACK_COPY(pack_copy_wide, copy_line_wide, __attribute__((target("avx512f"))))
#endif

// Transpose form: element (p, i) at src[i·ld + p]: each of a panel's `width` lines is
// contiguous over p. Groups of four lines go through 4×4 transposes; the rest one by one.
static void pack_transpose(const float *src, int64_t ld, int64_t extent, int64_t depth,
                           int64_t width, int64_t first_panel, int64_t panel_count, float scale,
                           float *dest) {
    for (int64_t q = first_panel; q < first_panel + panel_count; q++) {
        const int64_t start = q * width;
        const int64_t count = extent - start < width ? extent - start : width;
        float *panel = dest + q * width * depth;
        int64_t i = 0;
#if defined(__x86_64__)
        const __m128 vscale = _mm_set1_ps(scale);
        for (; i + 4 <= count; i += 4) {
            const float *l0 = src + (start + i) * ld, *l1 = l0 + ld, *l2 = l1 + ld, *l3 = l2 + ld;
            int64_t p = 0;
            for (; p + 4 <= depth; p += 4) {
                __m128 r0 = _mm_loadu_ps(l0 + p), r1 = _mm_loadu_ps(l1 + p);
                __m128 r2 = _mm_loadu_ps(l2 + p), r3 = _mm_loadu_ps(l3 + p);
                _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                if (scale != 1.0f) {
                    r0 = _mm_mul_ps(r0, vscale); r1 = _mm_mul_ps(r1, vscale);
                    r2 = _mm_mul_ps(r2, vscale); r3 = _mm_mul_ps(r3, vscale);
                }
                float *target = panel + p * width + i;
                _mm_storeu_ps(target, r0);
                _mm_storeu_ps(target + width, r1);
                _mm_storeu_ps(target + 2 * width, r2);
                _mm_storeu_ps(target + 3 * width, r3);
            }
            for (; p < depth; p++) {
                float *target = panel + p * width + i;
                target[0] = scale == 1.0f ? l0[p] : scale * l0[p];
                target[1] = scale == 1.0f ? l1[p] : scale * l1[p];
                target[2] = scale == 1.0f ? l2[p] : scale * l2[p];
                target[3] = scale == 1.0f ? l3[p] : scale * l3[p];
            }
        }
#endif
        for (; i < count; i++) {
            const float *line = src + (start + i) * ld;
            for (int64_t p = 0; p < depth; p++) {
                panel[p * width + i] = scale == 1.0f ? line[p] : scale * line[p];
            }
        }
        if (count < width) {
            for (int64_t p = 0; p < depth; p++) {
                for (int64_t j = count; j < width; j++) panel[p * width + j] = 0.0f;
            }
        }
    }
}

void weave_sgemm_pack(weave_isa isa, const float *src, int64_t ld, int contiguous_depth,
                      int64_t extent, int64_t depth, int64_t width, int64_t first_panel,
                      int64_t panel_count, float scale, float *dest) {
    if (contiguous_depth) {
        pack_transpose(src, ld, extent, depth, width, first_panel, panel_count, scale, dest);
        return;
    }
#if defined(__x86_64__)
    if (isa == WEAVE_ISA_AVX512) {
        pack_copy_wide(src, ld, extent, depth, width, first_panel, panel_count, scale, dest);
        return;
    }
#endif
    (void)isa;
    pack_copy_narrow(src, ld, extent, depth, width, first_panel, panel_count, scale, dest);
}
