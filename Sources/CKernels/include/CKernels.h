// CKernels: the innermost compute-bound loops of Weave, in C so that each can carry its
// own target attributes (Swift has none, and SwiftPM forbids unsafeFlags in versioned
// dependencies; DESIGN §2). Every kernel has an AVX-512, an AVX2+FMA and a portable
// variant; callers pick one at run time from `weave_cpu_supports`.
// Floating-point contraction is off in every file (`#pragma clang fp contract(off)`):
// a fused multiply-add is always written as an explicit fma, so every variant computes
// the same bits (DESIGN §4).
#ifndef WEAVE_CKERNELS_H
#define WEAVE_CKERNELS_H

#include <stdint.h>
#include <stddef.h>
#include "weave_conv2d.h"

#include "weave_batchnorm.h"
#include "weave_pool2d.h"
#include "weave_maxpool2d.h"
#include "weave_im2col.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set variants of the kernels, highest last.
typedef enum weave_isa {
    WEAVE_ISA_PORTABLE = 0,
    WEAVE_ISA_AVX2 = 1,    // AVX2 + FMA3
    WEAVE_ISA_AVX512 = 2,  // AVX-512F (+ FMA)
} weave_isa;

/// Whether this CPU and OS can run `isa` (CPUID and XCR0, via __builtin_cpu_supports).
int weave_cpu_supports(weave_isa isa);

/// The highest variant this CPU can run.
weave_isa weave_best_isa(void);

/// CPUID feature flags by name ("avx512f", "avx2", "fma", …): 1 if present.
int weave_cpu_has_feature(const char *name);

/// Runs `iterations` rounds of independent FMA chains with the given variant and returns
/// the number of floating-point operations performed (2 per lane per FMA). `sink` receives a
/// value derived from the accumulators so the work cannot be optimised away.
/// Used by `weave info` and the benchmarks to measure the single-core FMA peak.
double weave_fma_peak_run(weave_isa isa, int64_t iterations, float *sink);

/// Philox4x32-10 words of a stream in format v1 (ParallelRuntime/Random/README.md): writes
/// the words of elements `first_element` … `first_element + count − 1` of the stream with key
/// (`key0`, `key1`) at `step` to `out[0 ..< count]`. Element e is word (e mod 64) / 16 of the
/// block with counter (lo32(b), hi32(b), lo32(step), hi32(step)), b = 16·(e / 64) + (e mod 16).
/// Every variant writes the same words; `out` needs no alignment.
void weave_philox4x32_portable_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                    uint64_t first_element, uint32_t *out, size_t count);
void weave_philox4x32_avx2_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                uint64_t first_element, uint32_t *out, size_t count);
void weave_philox4x32_avx512_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                  uint64_t first_element, uint32_t *out, size_t count);

/// Inverted-dropout forward over elements `first_element` … `first_element + count − 1` of a
/// tensor (`input` and `output` point at the first of them). Element e is kept iff its stream
/// word (as in `weave_philox4x32_*_fill`) is ≥ `drop_threshold`; a kept element becomes
/// `input · scale`, a dropped one +0 (even if the input is NaN). Writes one keep bit per
/// element to `mask` (bit r of `mask[j]` is element 64j + r of this range; bits past `count`
/// are 0). `first_element` must be a multiple of 64, so ranges never share a mask word.
/// `output` may equal `input` (in place) but must not partially overlap it.
/// Every variant writes the same bits.
void weave_dropout_portable_forward(const float *input, float *output, uint64_t *mask,
                                    size_t count, uint64_t first_element, uint32_t key0,
                                    uint32_t key1, uint64_t step, uint32_t drop_threshold,
                                    float scale);
void weave_dropout_avx2_forward(const float *input, float *output, uint64_t *mask, size_t count,
                                uint64_t first_element, uint32_t key0, uint32_t key1,
                                uint64_t step, uint32_t drop_threshold, float scale);
void weave_dropout_avx512_forward(const float *input, float *output, uint64_t *mask,
                                  size_t count, uint64_t first_element, uint32_t key0,
                                  uint32_t key1, uint64_t step, uint32_t drop_threshold,
                                  float scale);

/// Inverted-dropout backward: `result[i] = gradient[i] · scale` where bit i of the mask (as
/// written by `weave_dropout_*_forward` for the same range) is set, +0 elsewhere.
/// `result` may equal `gradient`. Every variant writes the same bits.
void weave_dropout_portable_backward(const float *gradient, float *result, const uint64_t *mask,
                                     size_t count, float scale);
void weave_dropout_avx2_backward(const float *gradient, float *result, const uint64_t *mask,
                                 size_t count, float scale);
void weave_dropout_avx512_backward(const float *gradient, float *result, const uint64_t *mask,
                                   size_t count, float scale);

/// SGEMM micro-kernels (BLIS naming: datatype, ISA, MR×NR tile). Each updates an m×n tile of C
/// (m ≤ MR, n ≤ NR; element (i, j) at c[i·ldc + j]) with the product of an m×k block of A and a
/// k×n block of B. The arithmetic is the same in every variant, so they all write the same
/// bits: each element is one chain
///     acc = β·c[i,j]  (exactly 0 when β = 0, and c is then never read; c itself when β = 1)
///     acc = fma(a[i,p], b[p,j], acc)   for p = 0, 1, …, k − 1, in order, one rounding each
///     c[i,j] = acc
/// Calling a kernel twice over consecutive k ranges with β = 1 the second time continues the
/// same chain, so blocking k (KC) does not change any bit either.
///
/// Packed form `weave_sgemm_<isa>_<MR>x<NR>`: `a` is an MR-row micro-panel (element (i, p) at
/// a[p·MR + i]) and `b` an NR-column micro-panel (element (p, j) at b[p·NR + j]), both padded
/// with zeros to the full MR and NR (the padding is read, never stored).
/// Strided form `…_strided`: element (i, p) of A at a[i·a_row_stride + p·a_col_stride], element
/// (p, j) of B at b[p·ldb + j]; only the m rows of A and n columns of B are read.
/// C must not overlap A or B. No alignment is required.
void weave_sgemm_portable_4x16(int64_t k, const float *a, const float *b, float *c,
                               int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_portable_4x16_strided(int64_t k, const float *a, int64_t a_row_stride,
                                       int64_t a_col_stride, const float *b, int64_t ldb,
                                       float *c, int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_avx2_6x16(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                           int64_t m, int64_t n, float beta);
void weave_sgemm_avx2_6x16_strided(int64_t k, const float *a, int64_t a_row_stride,
                                   int64_t a_col_stride, const float *b, int64_t ldb, float *c,
                                   int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_avx512_8x32(int64_t k, const float *a, const float *b, float *c, int64_t ldc,
                             int64_t m, int64_t n, float beta);
void weave_sgemm_avx512_8x32_strided(int64_t k, const float *a, int64_t a_row_stride,
                                     int64_t a_col_stride, const float *b, int64_t ldb,
                                     float *c, int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_avx512_12x32(int64_t k, const float *a, const float *b, float *c,
                              int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_avx512_12x32_strided(int64_t k, const float *a, int64_t a_row_stride,
                                      int64_t a_col_stride, const float *b, int64_t ldb,
                                      float *c, int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_avx512_14x32(int64_t k, const float *a, const float *b, float *c,
                              int64_t ldc, int64_t m, int64_t n, float beta);
void weave_sgemm_avx512_14x32_strided(int64_t k, const float *a, int64_t a_row_stride,
                                      int64_t a_col_stride, const float *b, int64_t ldb,
                                      float *c, int64_t ldc, int64_t m, int64_t n, float beta);

/// SGEMM packing into micro-panels `width` wide (MR for A, NR for B): panel q holds lines
/// q·width ..< q·width + width of the operand (rows of op(A), columns of op(B)), element
/// (p, i) of the panel at dest[q·width·depth + p·width + i], lines at or past `extent` zero.
/// Packs panels first_panel ..< first_panel + panel_count. Element (p, i) of the source is
/// src[i·ld + p] when `contiguous_depth` (A not transposed, B transposed), else src[p·ld + i].
/// Each value is copied, or multiplied once by `scale` (α for A) unless `scale` is 1, so the
/// result is the same for every `isa` (the widest registers it may use; it must be supported).
void weave_sgemm_pack(weave_isa isa, const float *src, int64_t ld, int contiguous_depth,
                      int64_t extent, int64_t depth, int64_t width, int64_t first_panel,
                      int64_t panel_count, float scale, float *dest);

#ifdef __cplusplus
}
#endif
#endif
