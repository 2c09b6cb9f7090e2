// Batch-normalisation kernels over one channel's slice of an NCHW tensor (included by
// CKernels.h). A slice is `segments` runs of `length` contiguous floats, run s starting at
// `x + s · stride` (for channel c of [N, C, H, W]: segments = images, length = H·W,
// stride = C·H·W, x = base + c·H·W).
//
// Reductions use a fixed lane layout whatever the vector width (DESIGN §4): 16 double lanes;
// element i of a run (counted from the run's start) goes to lane i mod 16, runs are visited in
// order, and the lanes are combined by the tree t_j = l_j + l_{j+8}, u_j = t_j + t_{j+4},
// w_j = u_j + u_{j+2}, total = w_0 + w_1. Every variant therefore returns the same bits.
// Element-wise kernels use no fused operations (contraction is off), so they agree too.
#ifndef WEAVE_BATCHNORM_H
#define WEAVE_BATCHNORM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Two-pass moments of a slice: `*mean` = Σx / n (n = segments · length, Σ in double) and
/// `*m2` = Σ (x − *mean)² (in double). Both are 0 for an empty slice.
void weave_batchnorm_portable_moments(const float *x, size_t segments, size_t length,
                                      size_t stride, double *mean, double *m2);
void weave_batchnorm_avx2_moments(const float *x, size_t segments, size_t length,
                                  size_t stride, double *mean, double *m2);
void weave_batchnorm_avx512_moments(const float *x, size_t segments, size_t length,
                                    size_t stride, double *mean, double *m2);

/// y = (x − mean) · scale + shift, in float, element-wise (y may equal x). `y` has the same
/// run layout as `x`. `streaming` != 0 writes y with non-temporal stores where the variant has
/// them (same values; for slices too large to stay in cache).
void weave_batchnorm_portable_normalize(const float *x, float *y, size_t segments,
                                        size_t length, size_t stride, float mean, float scale,
                                        float shift, int streaming);
void weave_batchnorm_avx2_normalize(const float *x, float *y, size_t segments, size_t length,
                                    size_t stride, float mean, float scale, float shift,
                                    int streaming);
void weave_batchnorm_avx512_normalize(const float *x, float *y, size_t segments, size_t length,
                                      size_t stride, float mean, float scale, float shift,
                                      int streaming);

/// Backward sums of a slice: `*sum_dy` = Σ dy and `*sum_dy_centered` = Σ dy · (x − mean), in
/// double with the fixed lane layout. `dy` has the same run layout as `x`.
void weave_batchnorm_portable_gradient_sums(const float *x, const float *dy, size_t segments,
                                            size_t length, size_t stride, float mean,
                                            double *sum_dy, double *sum_dy_centered);
void weave_batchnorm_avx2_gradient_sums(const float *x, const float *dy, size_t segments,
                                        size_t length, size_t stride, float mean,
                                        double *sum_dy, double *sum_dy_centered);
void weave_batchnorm_avx512_gradient_sums(const float *x, const float *dy, size_t segments,
                                          size_t length, size_t stride, float mean,
                                          double *sum_dy, double *sum_dy_centered);

/// dx = (dy · dy_scale + (x − mean) · centered_scale) + shift, in float, evaluated in that
/// order (dx may equal dy). `streaming` as for normalize.
void weave_batchnorm_portable_input_gradient(const float *x, const float *dy, float *dx,
                                             size_t segments, size_t length, size_t stride,
                                             float mean, float dy_scale, float centered_scale,
                                             float shift, int streaming);
void weave_batchnorm_avx2_input_gradient(const float *x, const float *dy, float *dx,
                                         size_t segments, size_t length, size_t stride,
                                         float mean, float dy_scale, float centered_scale,
                                         float shift, int streaming);
void weave_batchnorm_avx512_input_gradient(const float *x, const float *dy, float *dx,
                                           size_t segments, size_t length, size_t stride,
                                           float mean, float dy_scale, float centered_scale,
                                           float shift, int streaming);

#ifdef __cplusplus
}
#endif
#endif
