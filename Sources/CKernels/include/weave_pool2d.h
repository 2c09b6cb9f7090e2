// Average-pooling loops (TensorKernels/Pooling). Included by CKernels.h. Each function has a
// portable, an AVX2 and an AVX-512 variant; all three compute the same bits, and the same
// bits as the scalar loops they replaced: every output's sum, and every input gradient's
// sum, takes its terms in the order written below, whatever the vector width.
#ifndef WEAVE_POOL2D_H
#define WEAVE_POOL2D_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One pooling window over planes of `height × width` (row-major), giving planes of
/// `out_height × out_width`. Windows start at i·stride − padding and are clipped to the plane;
/// the divisor is always kernel_h·kernel_w (PyTorch's count_include_pad=True).
typedef struct weave_pool2d_geometry {
    int64_t height, width, out_height, out_width;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
} weave_pool2d_geometry;

/// Forward, for `planes` consecutive planes:
///     sum = +0; for h in rows(i): for w in columns(j): sum += x[h·width + w]
///     y[i·out_width + j] = sum / (kernel_h·kernel_w)
void weave_avgpool2d_portable_forward(const float *x, float *y, size_t planes,
                                      const weave_pool2d_geometry *g);
void weave_avgpool2d_avx2_forward(const float *x, float *y, size_t planes,
                                  const weave_pool2d_geometry *g);
void weave_avgpool2d_avx512_forward(const float *x, float *y, size_t planes,
                                    const weave_pool2d_geometry *g);

/// Backward, for `planes` consecutive planes: dx = +0, then for every output (i, j) in
/// row-major order, share = dy[i·out_width + j] / (kernel_h·kernel_w) and
///     for h in rows(i): for w in columns(j): dx[h·width + w] += share
void weave_avgpool2d_portable_backward(const float *dy, float *dx, size_t planes,
                                       const weave_pool2d_geometry *g);
void weave_avgpool2d_avx2_backward(const float *dy, float *dx, size_t planes,
                                   const weave_pool2d_geometry *g);
void weave_avgpool2d_avx512_backward(const float *dy, float *dx, size_t planes,
                                     const weave_pool2d_geometry *g);

#ifdef __cplusplus
}
#endif

#endif
