/*
 * simd.h — which SIMD kernels this build has and whether to use them:
 * compile-time support (GF_HAVE_AVX2_KERNELS) and run-time dispatch
 * (cpu.c). Included by every kernel file with an AVX2 path.
 */
#ifndef GF_SIMD_H
#define GF_SIMD_H

/* An x86-64 compiler that takes __attribute__((target("avx2,fma"))). */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define GF_HAVE_AVX2_KERNELS 1
#else
#define GF_HAVE_AVX2_KERNELS 0
#endif

/* cpu.c: 1 when the CPU has AVX2 and FMA (and the OS saves ymm registers). */
int gf__cpu_has_avx2_fma(void);
/* cpu.c: 1 when the SIMD kernels are to be used: the CPU has them and the
 * environment does not set GF_NO_SIMD to a non-empty value other than "0".
 * Read once per process. */
int gf__simd_enabled(void);

#endif
