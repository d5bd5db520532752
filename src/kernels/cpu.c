/*
 * cpu.c — run-time CPU feature detection for the kernels, and the
 * GF_NO_SIMD / GF_NO_AVX512 switches that force the portable or the AVX2
 * paths (tests, benchmarks).
 */
#include "simd.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if GF_HAVE_AVX2_KERNELS
#include <cpuid.h>

/* The OS's XCR0 (which register states it saves), 0 without OSXSAVE. */
static uint64_t xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

/* XCR0 bits: SSE (1), AVX (2), opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7). */
static int os_saves_zmm(void)
{
    return (xcr0() & 0xE6) == 0xE6;
}
#endif

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

int gf__cpu_has_avx512(void)
{
#if GF_HAVE_AVX512_KERNELS
    /* __builtin_cpu_supports checks XCR0 too in recent libgcc and
     * compiler-rt; older ones did not, hence xgetbv here. cpuid traps to
     * the hypervisor in a VM (about 1% of a CNN step when asked per GEMM
     * call), so the answer is kept: 0 not yet known, 1 no, 2 yes. */
    static atomic_int state;
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s == 0) {
        s = gf__cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("bmi2") &&
                    os_saves_zmm()
                ? 2
                : 1;
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s == 2;
#else
    return 0;
#endif
}

/* 1 when the environment sets name to a non-empty value other than "0". */
static int env_on(const char *name)
{
    const char *e = getenv(name);
    return e && *e && strcmp(e, "0") != 0;
}

int gf__simd_enabled(void)
{
    /* 0: not yet known, 1: off, 2: on. Racing first calls compute the same. */
    static atomic_int state;
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s == 0) {
        s = (!env_on("GF_NO_SIMD") && gf__cpu_has_avx2_fma()) ? 2 : 1;
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s == 2;
}

int gf__avx512_enabled(void)
{
    static atomic_int state; /* as in gf__simd_enabled */
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s == 0) {
        s = (gf__simd_enabled() && !env_on("GF_NO_AVX512") && gf__cpu_has_avx512()) ? 2 : 1;
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    return s == 2;
}

const char *gf__simd_unit(void)
{
    return gf__avx512_enabled() ? "avx512" : gf__simd_enabled() ? "avx2" : "portable";
}

const char *gf__cpu_isa(void)
{
#if GF_HAVE_AVX2_KERNELS
    static char isa[160];
    static atomic_int done;
    if (atomic_load_explicit(&done, memory_order_acquire)) return isa;
    /* Racing first calls write the same bytes. */
    char buf[sizeof isa] = "x86-64";
    __builtin_cpu_init();
    /* __builtin_cpu_supports takes string literals only. */
#define HAS(name) \
    if (__builtin_cpu_supports(name)) strcat(buf, " " name);
    HAS("sse4.2") HAS("avx") HAS("avx2") HAS("fma")
    if (os_saves_zmm()) {
        HAS("avx512f") HAS("avx512dq") HAS("avx512bw") HAS("avx512vl")
        /* bf16: CPUID leaf 7 subleaf 1, EAX bit 5 (not every compiler's
         * __builtin_cpu_supports knows it). */
        unsigned a, b, c, d;
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5))) strcat(buf, " avx512bf16");
    }
#undef HAS
    memcpy(isa, buf, sizeof isa);
    atomic_store_explicit(&done, 1, memory_order_release);
    return isa;
#else
    return "portable";
#endif
}
