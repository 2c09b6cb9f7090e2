#include "CKernels.h"
#include <string.h>

int weave_cpu_supports(weave_isa isa) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    switch (isa) {
    case WEAVE_ISA_PORTABLE: return 1;
    case WEAVE_ISA_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case WEAVE_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    }
    return 0;
#else
    return isa == WEAVE_ISA_PORTABLE;
#endif
}

weave_isa weave_best_isa(void) {
    if (weave_cpu_supports(WEAVE_ISA_AVX512)) return WEAVE_ISA_AVX512;
    if (weave_cpu_supports(WEAVE_ISA_AVX2)) return WEAVE_ISA_AVX2;
    return WEAVE_ISA_PORTABLE;
}

int weave_cpu_has_feature(const char *name) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // __builtin_cpu_supports needs a string literal, hence the table.
#define WEAVE_FEATURE(lit) if (strcmp(name, lit) == 0) return __builtin_cpu_supports(lit) ? 1 : 0;
    WEAVE_FEATURE("sse4.2")
    WEAVE_FEATURE("avx")
    WEAVE_FEATURE("avx2")
    WEAVE_FEATURE("fma")
    WEAVE_FEATURE("f16c")
    WEAVE_FEATURE("avx512f")
    WEAVE_FEATURE("avx512dq")
    WEAVE_FEATURE("avx512bw")
    WEAVE_FEATURE("avx512vl")
    WEAVE_FEATURE("avx512vnni")
    WEAVE_FEATURE("avx512bf16")
#undef WEAVE_FEATURE
#endif
    return 0;
}
