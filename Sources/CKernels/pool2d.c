// Average-pooling loops (see weave_pool2d.h for the exact arithmetic).
//
// Why C: in Swift the scalar loops took a third of a cnn-bn training step (perf, session 23),
// one division and four dependent adds per output. Here the interior columns of an output row
// (whole windows inside the plane) are summed as vectors: one accumulator per output, the
// terms added row by row and column by column of the window, the order the scalar loop used,
// so every output keeps its bits. Columns whose window is clipped by padding, and backward
// passes whose windows overlap across a row, keep the scalar loop.
//
// The bodies are written once (always-inline functions); each variant is a target attribute
// that lets the compiler vectorise them for its ISA. Contraction is off, and nothing here
// multiplies: the vector code differs from the scalar one only in how many outputs it does at
// once.
#pragma clang fp contract(off)
#include "CKernels.h"
#include <string.h>

#define WEAVE_INLINE static inline __attribute__((always_inline))
// Outputs of a row summed at once; the accumulators live on the stack.
#define POOL_CHUNK 256

typedef weave_pool2d_geometry geometry;

// The rows of output row i, clipped to the plane.
WEAVE_INLINE void window_rows(const geometry *g, int64_t i, int64_t *first, int64_t *end) {
    int64_t start = i * g->stride_h - g->pad_h;
    *first = start > 0 ? start : 0;
    *end = start + g->kernel_h < g->height ? start + g->kernel_h : g->height;
}

// The columns of output column j, clipped to the plane.
WEAVE_INLINE void window_columns(const geometry *g, int64_t j, int64_t *first, int64_t *end) {
    int64_t start = j * g->stride_w - g->pad_w;
    *first = start > 0 ? start : 0;
    *end = start + g->kernel_w < g->width ? start + g->kernel_w : g->width;
}

// The interior output columns [lo, hi): windows wholly inside the plane, no clipping.
WEAVE_INLINE void interior_columns(const geometry *g, int64_t *lo, int64_t *hi) {
    int64_t first = (g->pad_w + g->stride_w - 1) / g->stride_w;
    int64_t room = g->width - g->kernel_w + g->pad_w;
    int64_t end = room >= 0 ? room / g->stride_w + 1 : 0;
    if (end > g->out_width) end = g->out_width;
    if (first > end) first = end;
    *lo = first;
    *hi = end;
}

// acc[k] += src[k·stride] for k < n; the common strides have their own loops so that the
// compiler sees a constant stride.
WEAVE_INLINE void add_strided(float *restrict acc, const float *restrict src, int64_t n,
                              int64_t stride) {
    switch (stride) {
    case 1:
        for (int64_t k = 0; k < n; k++) acc[k] += src[k];
        break;
    case 2:
        for (int64_t k = 0; k < n; k++) acc[k] += src[2 * k];
        break;
    default:
        for (int64_t k = 0; k < n; k++) acc[k] += src[k * stride];
        break;
    }
}

// dst[k·stride] += share[k] for k < n.
WEAVE_INLINE void scatter_add_strided(float *restrict dst, const float *restrict share, int64_t n,
                                      int64_t stride) {
    switch (stride) {
    case 1:
        for (int64_t k = 0; k < n; k++) dst[k] += share[k];
        break;
    case 2:
        for (int64_t k = 0; k < n; k++) dst[2 * k] += share[k];
        break;
    default:
        for (int64_t k = 0; k < n; k++) dst[k * stride] += share[k];
        break;
    }
}

// One output by the scalar loop (clipped windows).
WEAVE_INLINE float window_sum(const float *x, const geometry *g, int64_t r0, int64_t r1,
                              int64_t j) {
    int64_t c0, c1;
    window_columns(g, j, &c0, &c1);
    float sum = 0.0f;
    for (int64_t h = r0; h < r1; h++)
        for (int64_t w = c0; w < c1; w++) sum += x[h * g->width + w];
    return sum;
}

WEAVE_INLINE void forward_plane(const float *restrict x, float *restrict y, const geometry *g,
                                float divisor, int64_t lo, int64_t hi) {
    const int64_t kw = g->kernel_w, sw = g->stride_w, width = g->width;
    for (int64_t i = 0; i < g->out_height; i++) {
        int64_t r0, r1;
        window_rows(g, i, &r0, &r1);
        float *out = y + i * g->out_width;
        for (int64_t j = 0; j < lo; j++) out[j] = window_sum(x, g, r0, r1, j) / divisor;
        for (int64_t j0 = lo; j0 < hi; j0 += POOL_CHUNK) {
            const int64_t n = hi - j0 < POOL_CHUNK ? hi - j0 : POOL_CHUNK;
            float acc[POOL_CHUNK];
            for (int64_t k = 0; k < n; k++) acc[k] = 0.0f;
            for (int64_t h = r0; h < r1; h++) {
                const float *row = x + h * width + j0 * sw - g->pad_w;
                if (kw == 2 && sw == 2) {
                    // Both columns in one pass (a stride-2 pair the compiler de-interleaves);
                    // each output still adds its left term, then its right one.
                    for (int64_t k = 0; k < n; k++) {
                        acc[k] += row[2 * k];
                        acc[k] += row[2 * k + 1];
                    }
                } else {
                    for (int64_t w = 0; w < kw; w++) add_strided(acc, row + w, n, sw);
                }
            }
            for (int64_t k = 0; k < n; k++) out[j0 + k] = acc[k] / divisor;
        }
        for (int64_t j = hi; j < g->out_width; j++) out[j] = window_sum(x, g, r0, r1, j) / divisor;
    }
}

// One output's share added to its clipped window (the scalar loop).
WEAVE_INLINE void window_scatter(float *dx, const geometry *g, int64_t r0, int64_t r1, int64_t j,
                                 float share) {
    int64_t c0, c1;
    window_columns(g, j, &c0, &c1);
    for (int64_t h = r0; h < r1; h++)
        for (int64_t w = c0; w < c1; w++) dx[h * g->width + w] += share;
}

WEAVE_INLINE void backward_plane(const float *restrict dy, float *restrict dx, const geometry *g,
                                 float divisor, int64_t lo, int64_t hi) {
    const int64_t kw = g->kernel_w, sw = g->stride_w, width = g->width;
    memset(dx, 0, (size_t)(g->height * width) * sizeof(float));
    // With sw < kw the windows of one row overlap, and an input gradient takes its terms in
    // output order: only the scalar loop keeps that order.
    if (sw < kw) {
        lo = 0;
        hi = 0;
    }
    for (int64_t i = 0; i < g->out_height; i++) {
        int64_t r0, r1;
        window_rows(g, i, &r0, &r1);
        const float *grad = dy + i * g->out_width;
        // Windows of one row do not overlap here (sw ≥ kw, or all scalar), so each input
        // gradient takes at most one term from this row: the order across j is free, and
        // across rows it is i's.
        for (int64_t j = 0; j < lo; j++) window_scatter(dx, g, r0, r1, j, grad[j] / divisor);
        for (int64_t j0 = lo; j0 < hi; j0 += POOL_CHUNK) {
            const int64_t n = hi - j0 < POOL_CHUNK ? hi - j0 : POOL_CHUNK;
            float share[POOL_CHUNK];
            for (int64_t k = 0; k < n; k++) share[k] = grad[j0 + k] / divisor;
            for (int64_t h = r0; h < r1; h++) {
                float *row = dx + h * width + j0 * sw - g->pad_w;
                if (kw == 2 && sw == 2) {
                    for (int64_t k = 0; k < n; k++) {
                        row[2 * k] += share[k];
                        row[2 * k + 1] += share[k];
                    }
                } else {
                    for (int64_t w = 0; w < kw; w++) scatter_add_strided(row + w, share, n, sw);
                }
            }
        }
        for (int64_t j = hi; j < g->out_width; j++)
            window_scatter(dx, g, r0, r1, j, grad[j] / divisor);
    }
}

#define WEAVE_POOL2D_VARIANT(ISA, ATTR)                                                        \
    ATTR void weave_avgpool2d_##ISA##_forward(const float *x, float *y, size_t planes,         \
                                              const geometry *g) {                            \
        const float divisor = (float)(g->kernel_h * g->kernel_w);                             \
        const int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width; \
        int64_t lo, hi;                                                                        \
        interior_columns(g, &lo, &hi);                                                         \
        for (size_t p = 0; p < planes; p++)                                                    \
            forward_plane(x + (int64_t)p * in_plane, y + (int64_t)p * out_plane, g, divisor,   \
                          lo, hi);                                                             \
    }                                                                                          \
    ATTR void weave_avgpool2d_##ISA##_backward(const float *dy, float *dx, size_t planes,      \
                                               const geometry *g) {                           \
        const float divisor = (float)(g->kernel_h * g->kernel_w);                             \
        const int64_t in_plane = g->height * g->width, out_plane = g->out_height * g->out_width; \
        int64_t lo, hi;                                                                        \
        interior_columns(g, &lo, &hi);                                                         \
        for (size_t p = 0; p < planes; p++)                                                    \
            backward_plane(dy + (int64_t)p * out_plane, dx + (int64_t)p * in_plane, g, divisor, \
                           lo, hi);                                                            \
    }

WEAVE_POOL2D_VARIANT(portable, )

#if defined(__x86_64__)
WEAVE_POOL2D_VARIANT(avx2, __attribute__((target("avx2,fma"))))
WEAVE_POOL2D_VARIANT(avx512, __attribute__((target("avx512f"))))
#else
// Other architectures have only the portable loops; the x86 names call them.
WEAVE_POOL2D_VARIANT(avx2, )
WEAVE_POOL2D_VARIANT(avx512, )
#endif
