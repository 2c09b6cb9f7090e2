// Window clipping shared by the average- and max-pooling loops (pool2d.c, maxpool2d.c).
// Private to CKernels: not in include/.
#ifndef WEAVE_POOL2D_WINDOW_H
#define WEAVE_POOL2D_WINDOW_H

#include "weave_pool2d.h"

// The rows of output row i, clipped to the plane.
static inline __attribute__((always_inline)) void window_rows(const weave_pool2d_geometry *g,
                                                              int64_t i, int64_t *first,
                                                              int64_t *end) {
    int64_t start = i * g->stride_h - g->pad_h;
    *first = start > 0 ? start : 0;
    *end = start + g->kernel_h < g->height ? start + g->kernel_h : g->height;
}

// The columns of output column j, clipped to the plane.
static inline __attribute__((always_inline)) void window_columns(const weave_pool2d_geometry *g,
                                                                 int64_t j, int64_t *first,
                                                                 int64_t *end) {
    int64_t start = j * g->stride_w - g->pad_w;
    *first = start > 0 ? start : 0;
    *end = start + g->kernel_w < g->width ? start + g->kernel_w : g->width;
}

// The interior output columns [lo, hi): windows wholly inside the plane, no clipping.
static inline __attribute__((always_inline)) void interior_columns(const weave_pool2d_geometry *g,
                                                                   int64_t *lo, int64_t *hi) {
    int64_t first = (g->pad_w + g->stride_w - 1) / g->stride_w;
    int64_t room = g->width - g->kernel_w + g->pad_w;
    int64_t end = room >= 0 ? room / g->stride_w + 1 : 0;
    if (end > g->out_width) end = g->out_width;
    if (first > end) first = end;
    *lo = first;
    *hi = end;
}

#endif
