// Max-pooling forward loops (TensorKernels/Pooling). Included by CKernels.h. A portable, an
// AVX2 and an AVX-512 variant; all three choose the same element for every output, the one
// the scalar loop below chooses.
#ifndef WEAVE_MAXPOOL2D_H
#define WEAVE_MAXPOOL2D_H

#include <stddef.h>
#include <stdint.h>
#include "weave_pool2d.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Forward, for `planes` consecutive planes (geometry as for average pooling; padding is never
/// chosen, only input elements are scanned). For each output (i, j), in row-major scan order of
/// its clipped window:
///     best = the first element; unless best is NaN:
///         for each element v after it: if v > best or v is NaN { best = v; if NaN, stop }
///     y[i·out_width + j] = best; argmax[i·out_width + j] = h·width + w of best
/// so ties go to the first element, and the first NaN wins (PyTorch's rule).
void weave_maxpool2d_portable_forward(const float *x, float *y, int32_t *argmax, size_t planes,
                                      const weave_pool2d_geometry *g);
void weave_maxpool2d_avx2_forward(const float *x, float *y, int32_t *argmax, size_t planes,
                                  const weave_pool2d_geometry *g);
void weave_maxpool2d_avx512_forward(const float *x, float *y, int32_t *argmax, size_t planes,
                                    const weave_pool2d_geometry *g);

#ifdef __cplusplus
}
#endif

#endif
