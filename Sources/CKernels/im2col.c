// im2col and col2im-add (see weave_im2col.h). In Swift these were 6 % and 10 % of a LeNet
// training step (perf, session 25): a memmove call per 8-float row for the copies, and a
// scalar add loop with a run-time stride that did not vectorise.
#pragma clang fp contract(off)
#include "CKernels.h"
#include <string.h>

// Output columns [*first, *end) of tap column kx whose input column ox·sW + shift lies
// inside the row; shift = kx·dW − pW.
static inline void valid_columns(const weave_im2col_geometry *g, int64_t shift, int64_t *first,
                                 int64_t *end) {
    const int64_t ow = g->out_width, sw = g->stride_w;
    int64_t lo = shift >= 0 ? 0 : (-shift + sw - 1) / sw;
    if (lo > ow) lo = ow;
    int64_t hi = g->width - 1 - shift >= 0 ? (g->width - 1 - shift) / sw + 1 : 0;
    if (hi > ow) hi = ow;
    if (hi < lo) hi = lo;
    *first = lo;
    *end = hi;
}

// Runs are output rows, 8 to 56 floats in the seed and LeNet layers: too short for the
// compiler's vector loop (16 or 32 floats a step), which left them to its scalar remainder,
// and 4 statements written out got vectorised across iterations, with shuffles. So 4-float
// vectors of clang's vector extension (any target; unaligned), one run step each; the order
// of additions per element is unchanged.
typedef float float4_unaligned __attribute__((vector_size(16), aligned(4)));

static inline void copy_run(float *restrict to, const float *restrict from, int64_t n) {
    int64_t i = 0;
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i + 4 <= n; i += 4) *(float4_unaligned *)(to + i) = *(const float4_unaligned *)(from + i);
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i < n; i++) to[i] = from[i];
}

static inline void add_run(float *restrict to, const float *restrict from, int64_t n) {
    int64_t i = 0;
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i + 4 <= n; i += 4)
        *(float4_unaligned *)(to + i) = *(float4_unaligned *)(to + i) + *(const float4_unaligned *)(from + i);
#pragma clang loop vectorize(disable) unroll(disable)
    for (; i < n; i++) to[i] = to[i] + from[i];
}

void weave_im2col(const float *image, const weave_im2col_geometry *g, int64_t first_row,
                  int64_t rows, float *col) {
    const int64_t ow = g->out_width, sw = g->stride_w, positions = rows * ow;
    for (int64_t c = 0; c < g->channels; c++) {
        for (int64_t ky = 0; ky < g->kernel_h; ky++) {
            for (int64_t kx = 0; kx < g->kernel_w; kx++) {
                const int64_t t = (c * g->kernel_h + ky) * g->kernel_w + kx;
                const int64_t shift = kx * g->dilation_w - g->pad_w;
                int64_t first, end;
                valid_columns(g, shift, &first, &end);
                for (int64_t r = 0; r < rows; r++) {
                    float *row = col + t * positions + r * ow;
                    const int64_t iy = (first_row + r) * g->stride_h + ky * g->dilation_h - g->pad_h;
                    if (iy < 0 || iy >= g->height || first == end) {
                        memset(row, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *source = image + (c * g->height + iy) * g->width + shift;
                    for (int64_t ox = 0; ox < first; ox++) row[ox] = 0;
                    if (sw == 1) {
                        copy_run(row + first, source + first, end - first);
                    } else {
                        for (int64_t ox = first; ox < end; ox++) row[ox] = source[ox * sw];
                    }
                    for (int64_t ox = end; ox < ow; ox++) row[ox] = 0;
                }
            }
        }
    }
}

void weave_col2im_add(const float *col, const weave_im2col_geometry *g, int64_t first_row,
                      int64_t rows, float *dx) {
    const int64_t ow = g->out_width, sw = g->stride_w, positions = rows * ow;
    // Channels inside the kernel offsets, not outside: an element of dx still takes its taps
    // (c, ky, kx) in order (c is its own), but the adds of tap kx + 1, which read what tap kx
    // stored one float over, now come a whole pass over the channels later. Back to back
    // (channels outside), each such load waited for a store it partly overlapped: col2im was
    // 8 % of a LeNet step by perf (session 25).
    for (int64_t ky = 0; ky < g->kernel_h; ky++) {
        for (int64_t kx = 0; kx < g->kernel_w; kx++) {
            const int64_t shift = kx * g->dilation_w - g->pad_w;
            int64_t first, end;
            valid_columns(g, shift, &first, &end);
            if (first == end) continue;
            for (int64_t c = 0; c < g->channels; c++) {
                const int64_t t = (c * g->kernel_h + ky) * g->kernel_w + kx;
                for (int64_t r = 0; r < rows; r++) {
                    const int64_t iy = (first_row + r) * g->stride_h + ky * g->dilation_h - g->pad_h;
                    if (iy < 0 || iy >= g->height) continue;
                    const float *restrict row = col + t * positions + r * ow;
                    float *restrict target = dx + (c * g->height + iy) * g->width + shift;
                    if (sw == 1) {
                        add_run(target + first, row + first, end - first);
                    } else {
                        for (int64_t ox = first; ox < end; ox++)
                            target[ox * sw] = target[ox * sw] + row[ox];
                    }
                }
            }
        }
    }
}
