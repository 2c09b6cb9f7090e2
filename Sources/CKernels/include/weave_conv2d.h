// Direct-convolution inner loops (Conv2d on small channel counts, TensorKernels/Convolution).
// Included by CKernels.h. Each function has a portable, an AVX2+FMA and an AVX-512 variant;
// all three compute the same bits: the arithmetic below is exactly the chain of fused
// multiply-adds (or adds) written, in that order, whatever the vector width.
#ifndef WEAVE_CONV2D_H
#define WEAVE_CONV2D_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Correlation over a run of positions (the forward pass and the input gradient):
///     acc = bias ? bias[o] : +0
///     acc = fma(weights[o·weight_stride + t], input[tap_offsets[t] + i], acc)  for t = 0 … taps−1
///     output[o·output_stride + i] = acc
/// for every channel o < `channels` and position i < `length`. Positions are contiguous in
/// `input` for every tap, so the loop over i vectorises. `output` must not overlap the inputs.
void weave_conv2d_portable_correlate(const float *input, const ptrdiff_t *tap_offsets,
                                     size_t taps, const float *weights, size_t weight_stride,
                                     const float *bias, size_t channels, float *output,
                                     size_t output_stride, size_t length);
void weave_conv2d_avx2_correlate(const float *input, const ptrdiff_t *tap_offsets, size_t taps,
                                 const float *weights, size_t weight_stride, const float *bias,
                                 size_t channels, float *output, size_t output_stride,
                                 size_t length);
void weave_conv2d_avx512_correlate(const float *input, const ptrdiff_t *tap_offsets,
                                   size_t taps, const float *weights, size_t weight_stride,
                                   const float *bias, size_t channels, float *output,
                                   size_t output_stride, size_t length);

/// Dot products of gradient rows with shifted input runs (the weight gradient):
///     result[o·result_stride + t] = Σ_i gradient[o·gradient_stride + i] · input[tap_offsets[t] + i]
/// over i < `length`, in a fixed lane layout: position i goes to lane i mod 16, each lane is a
/// chain acc = fma(g, x, acc) from +0 in increasing i, and the 16 lanes are combined as
/// a[j] += a[j + w] for w = 8, 4, 2, 1 (j < w); the result is a[0].
void weave_conv2d_portable_weight_gradient(const float *input, const ptrdiff_t *tap_offsets,
                                           size_t taps, const float *gradient,
                                           size_t gradient_stride, size_t channels,
                                           size_t length, float *result, size_t result_stride);
void weave_conv2d_avx2_weight_gradient(const float *input, const ptrdiff_t *tap_offsets,
                                       size_t taps, const float *gradient,
                                       size_t gradient_stride, size_t channels, size_t length,
                                       float *result, size_t result_stride);
void weave_conv2d_avx512_weight_gradient(const float *input, const ptrdiff_t *tap_offsets,
                                         size_t taps, const float *gradient,
                                         size_t gradient_stride, size_t channels,
                                         size_t length, float *result, size_t result_stride);

/// The sum of `count` values in the lane layout of `weave_conv2d_*_weight_gradient`
/// (lane i mod 16, each lane acc = acc + v from +0, the same tree); the bias gradient.
float weave_conv2d_portable_sum(const float *values, size_t count);
float weave_conv2d_avx2_sum(const float *values, size_t count);
float weave_conv2d_avx512_sum(const float *values, size_t count);

#ifdef __cplusplus
}
#endif
#endif
