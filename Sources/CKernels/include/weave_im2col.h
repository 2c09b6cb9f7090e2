// im2col and its adjoint for the im2col + SGEMM convolution (TensorKernels/Convolution,
// Im2colConv2d). Included by CKernels.h. Plain C: both are copies and single adds per
// element, which the compiler vectorises across positions without changing any element's
// order of additions.
#ifndef WEAVE_IM2COL_H
#define WEAVE_IM2COL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One image [channels, height, width] convolved to out_height × out_width positions.
typedef struct weave_im2col_geometry {
    int64_t channels, height, width, out_width;
    int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} weave_im2col_geometry;

/// The block of output rows first_row ..< first_row + rows:
///     col[t·P + (oy − first_row)·out_width + ox] = xpad[c][oy·sH + ky·dH][ox·sW + kx·dW]
/// for taps t = (c·kernel_h + ky)·kernel_w + kx, P = rows·out_width; 0 in the padding.
void weave_im2col(const float *image, const weave_im2col_geometry *g, int64_t first_row,
                  int64_t rows, float *col);

/// The adjoint, added into the image gradient dx [channels, height, width]: for taps t in
/// order, then output rows in order, then columns in order,
///     dx[c][iy][ix] += col[t·P + (oy − first_row)·out_width + ox]
/// where (iy, ix) is the input element im2col read for (t, oy, ox); padding is dropped.
void weave_col2im_add(const float *col, const weave_im2col_geometry *g, int64_t first_row,
                      int64_t rows, float *dx);

#ifdef __cplusplus
}
#endif

#endif
