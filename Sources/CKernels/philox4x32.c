// Philox4x32-10 (Salmon et al., SC'11) fill kernels in stream format v1 (see
// philox4x32_groups.h and ParallelRuntime/Random/README.md). Integer-only, so every variant
// writes the same words.
#pragma clang fp contract(off)
#include "CKernels.h"
#include "philox4x32_groups.h"

void weave_philox4x32_portable_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                    uint64_t first_element, uint32_t *out, size_t count) {
    fill_with(philox_group_portable, key0, key1, step, first_element, out, count);
}

#if defined(__x86_64__)
void weave_philox4x32_avx2_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                uint64_t first_element, uint32_t *out, size_t count) {
    fill_with(philox_group_avx2, key0, key1, step, first_element, out, count);
}
__attribute__((target("avx512f")))
void weave_philox4x32_avx512_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                  uint64_t first_element, uint32_t *out, size_t count) {
    // A partial first group, then whole groups inline (no call per group), then the rest.
    size_t head = (size_t)((64 - (first_element & 63)) & 63);
    if (head > count) head = count;
    if (head > 0) fill_with(philox_group_avx512, key0, key1, step, first_element, out, head);
    uint64_t e = first_element + head;
    size_t done = head;
    for (; count - done >= 64; done += 64, e += 64) {
        __m512i x[4];
        philox16_avx512(e >> 6, key0, key1, step, x);
        for (int w = 0; w < 4; w++) _mm512_storeu_si512((void *)(out + done + 16 * w), x[w]);
    }
    if (done < count) fill_with(philox_group_avx512, key0, key1, step, e, out + done, count - done);
}
#else  // not x86-64: the vector entry points run the portable code.

void weave_philox4x32_avx2_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                uint64_t first_element, uint32_t *out, size_t count) {
    weave_philox4x32_portable_fill(key0, key1, step, first_element, out, count);
}
void weave_philox4x32_avx512_fill(uint32_t key0, uint32_t key1, uint64_t step,
                                  uint64_t first_element, uint32_t *out, size_t count) {
    weave_philox4x32_portable_fill(key0, key1, step, first_element, out, count);
}
#endif
