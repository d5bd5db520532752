/*
 * simd.h — which SIMD kernels this build has and whether to use them:
 * compile-time support (GF_HAVE_AVX2_KERNELS) and run-time dispatch
 * (cpu.c). Included by every kernel file with an AVX2 or AVX-512 path.
 */
#ifndef GF_SIMD_H
#define GF_SIMD_H

/* An x86-64 compiler that takes __attribute__((target("avx2,fma"))) and
 * target("avx512f,...") (both GCC and clang do). */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define GF_HAVE_AVX2_KERNELS 1
#define GF_HAVE_AVX512_KERNELS 1
#else
#define GF_HAVE_AVX2_KERNELS 0
#define GF_HAVE_AVX512_KERNELS 0
#endif

/* cpu.c: 1 when the CPU has AVX2 and FMA (and the OS saves ymm registers). */
int gf__cpu_has_avx2_fma(void);
/* cpu.c: 1 when the CPU has AVX2, FMA, AVX-512F and BMI2 (which every
 * AVX-512 CPU has; the AVX-512 kernels use pext) and the OS saves the zmm
 * registers and mask registers (XCR0, read with xgetbv). */
int gf__cpu_has_avx512(void);
/* cpu.c: 1 when the SIMD kernels are to be used: the CPU has them and the
 * environment does not set GF_NO_SIMD to a non-empty value other than "0".
 * Read once per process. */
int gf__simd_enabled(void);
/* cpu.c: 1 when the AVX-512 kernels are to be used: gf__simd_enabled(),
 * gf__cpu_has_avx512(), and the environment does not set GF_NO_AVX512 to a
 * non-empty value other than "0" (which leaves the AVX2 kernels). Read once
 * per process. */
int gf__avx512_enabled(void);
/* cpu.c: the widest vector unit the kernels use now: "avx512", "avx2" or
 * "portable" (after GF_NO_SIMD and GF_NO_AVX512). */
const char *gf__simd_unit(void);
/* cpu.c: the CPU's instruction set as far as the kernels care, a static
 * string: "x86-64" then the extensions it has among sse4.2, avx, avx2,
 * fma, avx512f, avx512dq, avx512bw, avx512vl, avx512bf16 (avx512* only
 * when the OS saves zmm state), space-separated; elsewhere "portable". */
const char *gf__cpu_isa(void);

/* Three copies of a task body(void *arg, int task) (an always-inline
 * function): name_c, and on x86 name_avx2 and name_avx512, the compiler's
 * vectors of the same code for each unit; GF_SIMD_PICK(name) is the one
 * the SIMD kernels' dispatch takes. */
#define GF_SIMD_TASKS(name, body)                                                                                \
    static void name##_c(void *arg, int task) { body(arg, task); }                                             \
    GF_SIMD_TASKS_X86(name, body)
#if GF_HAVE_AVX2_KERNELS
#define GF_SIMD_TASKS_X86(name, body)                                                                            \
    __attribute__((target("avx2"))) static void name##_avx2(void *arg, int task) { body(arg, task); }         \
    __attribute__((target("avx512f"))) static void name##_avx512(void *arg, int task) { body(arg, task); }
#define GF_SIMD_PICK(name) (gf__avx512_enabled() ? name##_avx512 : gf__simd_enabled() ? name##_avx2 : name##_c)
#else
#define GF_SIMD_TASKS_X86(name, body)
#define GF_SIMD_PICK(name) (name##_c)
#endif

#endif
