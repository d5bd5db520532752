/*
 * cpu.c — run-time CPU feature detection for the kernels, and the
 * GF_NO_SIMD switch that forces the portable paths (tests, benchmarks).
 */
#include "simd.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

int gf__cpu_has_avx2_fma(void)
{
#if GF_HAVE_AVX2_KERNELS
    /* libgcc / compiler-rt also check (xgetbv) that the OS saves ymm state. */
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int gf__simd_enabled(void)
{
    /* 0: not yet known, 1: off, 2: on. Racing first calls compute the same. */
    static atomic_int state;
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s == 0) {
        const char *e = getenv("GF_NO_SIMD");
        int off = e && *e && strcmp(e, "0") != 0;
        s = (!off && gf__cpu_has_avx2_fma()) ? 2 : 1;
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s == 2;
}
