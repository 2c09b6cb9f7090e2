// Batch-normalisation kernels over a block of an [N, C, spatial…] tensor (included by
// CKernels.h). A block is `images` × `channels` runs of `plane` contiguous floats: run (n, c)
// starts at `x + n · image_stride + c · plane` (for images n0… and channels c0… of a tensor
// [N, C, H, W]: x = base + n0·C·H·W + c0·H·W, plane = H·W, image_stride = C·H·W). Kernels visit
// memory in that order (images outer, channels inner: sequential within an image), and
// per-channel arrays (`mean`, `scale`, …, outputs) are indexed by the channel within the block.
//
// Reductions use a fixed lane layout whatever the vector width (DESIGN §4): per channel, 16
// double lanes; element i of a run goes to lane i mod 16, runs are added in image order, and the
// lanes are combined by the tree t_j = l_j + l_{j+8}, u_j = t_j + t_{j+4}, w_j = u_j + u_{j+2},
// total = w_0 + w_1. Every variant therefore returns the same bits, and so does any traversal
// that keeps each channel's image order. Element-wise kernels use no fused operations
// (contraction is off). Runs shorter than 16 use the portable loops in every variant.
// `lanes` is caller scratch of 16 · channels doubles (32 · channels for gradient sums).
#ifndef WEAVE_BATCHNORM_H
#define WEAVE_BATCHNORM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Two-pass moments of each channel of a block: mean[c] = Σx / n (n = images · plane, Σ in
/// double) and m2[c] = Σ (x − mean[c])² (in double). Both 0 when n = 0.
void weave_batchnorm_portable_moments(const float *x, size_t images, size_t channels,
                                      size_t plane, size_t image_stride, double *lanes,
                                      double *mean, double *m2);
void weave_batchnorm_avx2_moments(const float *x, size_t images, size_t channels, size_t plane,
                                  size_t image_stride, double *lanes, double *mean, double *m2);
void weave_batchnorm_avx512_moments(const float *x, size_t images, size_t channels,
                                    size_t plane, size_t image_stride, double *lanes,
                                    double *mean, double *m2);

/// y = (x − mean[c]) · scale[c] + shift[c], in float, element-wise (y may equal x; it has x's
/// layout). `streaming` != 0 writes y with non-temporal stores where the variant has them (the
/// same values; for tensors far larger than the caches).
void weave_batchnorm_portable_normalize(const float *x, float *y, size_t images, size_t channels,
                                        size_t plane, size_t image_stride, const float *mean,
                                        const float *scale, const float *shift, int streaming);
void weave_batchnorm_avx2_normalize(const float *x, float *y, size_t images, size_t channels,
                                    size_t plane, size_t image_stride, const float *mean,
                                    const float *scale, const float *shift, int streaming);
void weave_batchnorm_avx512_normalize(const float *x, float *y, size_t images, size_t channels,
                                      size_t plane, size_t image_stride, const float *mean,
                                      const float *scale, const float *shift, int streaming);

/// Backward sums of each channel of a block: sum_dy[c] = Σ dy and sum_dy_centered[c] =
/// Σ dy · (x − mean[c]), in double with the fixed lane layout. `dy` has x's layout.
void weave_batchnorm_portable_gradient_sums(const float *x, const float *dy, size_t images,
                                            size_t channels, size_t plane, size_t image_stride,
                                            const float *mean, double *lanes, double *sum_dy,
                                            double *sum_dy_centered);
void weave_batchnorm_avx2_gradient_sums(const float *x, const float *dy, size_t images,
                                        size_t channels, size_t plane, size_t image_stride,
                                        const float *mean, double *lanes, double *sum_dy,
                                        double *sum_dy_centered);
void weave_batchnorm_avx512_gradient_sums(const float *x, const float *dy, size_t images,
                                          size_t channels, size_t plane, size_t image_stride,
                                          const float *mean, double *lanes, double *sum_dy,
                                          double *sum_dy_centered);

/// dx = (dy · dy_scale[c] + (x − mean[c]) · centered_scale[c]) + shift[c], in float, evaluated
/// in that order (dx may equal dy). `streaming` as for normalize.
void weave_batchnorm_portable_input_gradient(const float *x, const float *dy, float *dx,
                                             size_t images, size_t channels, size_t plane,
                                             size_t image_stride, const float *mean,
                                             const float *dy_scale, const float *centered_scale,
                                             const float *shift, int streaming);
void weave_batchnorm_avx2_input_gradient(const float *x, const float *dy, float *dx,
                                         size_t images, size_t channels, size_t plane,
                                         size_t image_stride, const float *mean,
                                         const float *dy_scale, const float *centered_scale,
                                         const float *shift, int streaming);
void weave_batchnorm_avx512_input_gradient(const float *x, const float *dy, float *dx,
                                           size_t images, size_t channels, size_t plane,
                                           size_t image_stride, const float *mean,
                                           const float *dy_scale, const float *centered_scale,
                                           const float *shift, int streaming);

#ifdef __cplusplus
}
#endif
#endif
