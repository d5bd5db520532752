/*
 * gemm_impl.h — internals shared by the GEMM files (gemm.c, gemm_avx2.c,
 * cpu.c, threads.c): CPU dispatch, the AVX2 block entry, the thread pool.
 */
#ifndef GF_GEMM_IMPL_H
#define GF_GEMM_IMPL_H

#include <stddef.h>
#include <stdint.h>

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

/* gemm_avx2.c: how to compute a whole problem (decided once, before any
 * split over threads, so that every thread does the same): */
enum {
    GF_GEMM_DIRECT = 1,      /* A and B read in place (op(B) panels on the stack) */
    GF_GEMM_PACKED = 2,      /* cache-blocked, A and B packed in scratch buffers */
    GF_GEMM_DIRECT_SKIP = 3, /* direct, skipping the k where A's row tile is all zero */
    GF_GEMM_SPARSE_ROWS = 4  /* C at most 32 wide: per row of C, only the k where op(A) is not zero */
};
typedef struct gf_gemm_plan {
    int path;   /* GF_GEMM_* */
    int64_t kc; /* k's blocks: kc long, the last one the rest */
} gf_gemm_plan;
gf_gemm_plan gf__gemm_avx2_plan(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda);
/* gemm_avx2.c: the AVX2+FMA GEMM on one block (of rows or columns of the
 * problem the plan was made for), one thread; same contract as gf__gemm
 * (k >= 1, m, n >= 1). Requires gf__cpu_has_avx2_fma(). Each C element is
 * alpha * (the FMA chain over its first k block, ascending from 0) + beta*C,
 * then + alpha * (the next block's chain) ...; k's blocks (plan->kc) come
 * from the whole problem's shape, tiles lie on a grid from row and column
 * 0, and every path gives the same bits (skipped terms are exact zeros),
 * save that a sum which underflows to -0 may come out +0 where a term 0*b
 * was skipped. */
struct gf_gemm_hint;
/* hint (kernels.h, may be NULL): b_finite read, b_checked and c_finite
 * set (to 0 unless the call knows better). */
void gf__gemm_avx2(const gf_gemm_plan *plan, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                   const float *a, int64_t lda, const float *b, int64_t ldb,
                   float beta, float *c, int64_t ldc, struct gf_gemm_hint *hint);
/* Forces the path of the plans gf__gemm_avx2_plan makes from now on (for
 * benchmarks and tests; process-wide): 0 automatic, else a GF_GEMM_* value
 * (skipping needs !tb). kc stays what the shape gives. */
void gf__gemm_avx2_force_path(int path);
/* The multiples that a split of C's rows or columns over threads keeps to
 * (the tile grid: MR rows, NR columns), so that every thread sees the
 * tiles one thread would. */
#define GF_GEMM_SPLIT_ROWS 6
#define GF_GEMM_SPLIT_COLS 16

/* threads.c: runs fn(arg, t) for t = 0 .. ntasks-1 on up to nthreads
 * threads, the caller included; returns when all are done. Runs them all
 * in the caller when nthreads <= 1, when the pool is busy with another
 * caller's job, or when no worker thread can be started. */
void gf__parallel_for(int nthreads, int ntasks, void (*fn)(void *arg, int task), void *arg);

/* threads.c: a 64-byte aligned scratch buffer of at least n floats, cached
 * per thread and per slot (0 .. 3), freed when the thread exits; contents
 * are undefined. NULL when it cannot be allocated. From the C library, not
 * gf_set_allocator's: it outlives any change of allocator (gradflow.h). */
float *gf__scratch(int slot, size_t n);

#endif
