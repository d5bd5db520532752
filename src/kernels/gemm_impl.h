/*
 * gemm_impl.h — internals shared by the GEMM files (gemm.c, the AVX2
 * files, gemm_avx2.h, and gemm_avx512.c): the plan of a problem's path, the AVX2 block entry,
 * the split grid. Tests and benchmarks force paths through it. (CPU
 * dispatch: simd.h; the thread pool: threads.h.)
 */
#ifndef GF_GEMM_IMPL_H
#define GF_GEMM_IMPL_H

#include <stdint.h>

/* gemm_avx2.c: how to compute a whole problem (decided once, before any
 * split over threads, so that every thread does the same): */
enum {
    GF_GEMM_DIRECT = 1,      /* A and B read in place (op(B) panels on the stack) */
    GF_GEMM_PACKED = 2,      /* cache-blocked, A and B packed in scratch buffers */
    GF_GEMM_DIRECT_SKIP = 3, /* direct, skipping the k where A's row tile is all zero */
    GF_GEMM_SPARSE_ROWS = 4, /* C at most 32 wide: per row of C, only the k where op(A) is not zero */
    GF_GEMM_PACKED512 = 5,   /* as PACKED, with AVX-512 tiles (gemm_avx512.c): chosen instead of PACKED
                                when gf__avx512_enabled(); forced, taken when the CPU has AVX-512 */
    GF_GEMM_DIRECT512 = 6,   /* as DIRECT (!tb), with AVX-512 tiles; likewise */
    GF_GEMM_SKIP512 = 7,     /* as DIRECT_SKIP with op(A) = A (else DIRECT512), AVX-512 tiles; likewise */
    GF_GEMM_GROUPS512 = 8    /* C at least 16 wide: groups of up to 4 rows of C visit only the k where
                                one of their rows of op(A) is not zero (else as SKIP512); likewise */
};
typedef struct gf_gemm_plan {
    int path;    /* GF_GEMM_* */
    int64_t kc;  /* k's blocks: kc long, the last one the rest */
    int learn_b; /* GF_GEMM_DIRECT512: find out whether B is finite (GROUPS512 would pay once known) */
} gf_gemm_plan;
/* a: A as stored, sampled for zeros to choose a skipping path; NULL: A is
 * taken as dense (products that share one plan across many A). b_finite:
 * B is known to hold only finite numbers (a skipping path need not check). */
gf_gemm_plan gf__gemm_avx2_plan(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                int b_finite);
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
/* The same for the AVX-512 paths (their tiles are 12 x 32; a skipping
 * tile lists the k where its 12 rows are not all zero, so the grid keeps
 * the bits of a -0 sum the same for every split). */
#define GF_GEMM512_MR 12
#define GF_GEMM512_SPLIT_ROWS 12
#define GF_GEMM512_SPLIT_COLS 32

/* gemm_avx512.c: the packed path with AVX-512 tiles on one block, one
 * thread, k in blocks of kc_max (the plan's kc); the same bits as the AVX2
 * paths (see gf__gemm_avx2). Requires gf__cpu_has_avx512(). 0 when the
 * scratch buffers cannot be had (nothing written then). */
int gf__gemm_avx512_packed(int64_t kc_max, int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                           int64_t ldc);
/* gemm_avx512.c: the direct path (B in place: !tb), the same contract;
 * skip (op(A) = A only) skips the k where a row tile of A is all zero, as
 * GF_GEMM_DIRECT_SKIP; b_finite: B known finite. What it learns (either
 * may be NULL; each left alone when it learns nothing of it): c_finite
 * set when op(A) = A^T, to 1 when every value written is finite;
 * b_checked, when given, op(A) = A, not skipping and B not known finite,
 * set to 1 when B was found finite (its values summed as they are read:
 * about 4% of a [10,784] @ [784,30]). 0 when the shape does not suit
 * (nothing written then). */
int gf__gemm_avx512_direct(int64_t kc_max, int ta, int skip, int64_t m, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                           int64_t ldc, int b_finite, int *c_finite, int *b_checked);
/* gemm_groups512.c: GF_GEMM_GROUPS512 (B in place), the same contract;
 * b_finite: B known finite. What it learns (either may be NULL):
 * op(A) = A sets b_checked, to 1 when every block of B was found (or
 * known) finite; op(A) = A^T sets c_finite, to 1 when every value written
 * is finite. 0 when the shape does not suit (nothing written then): n <
 * 16, k blocks over KC_MAX long, or (op(A) = A) more than 64 of them. */
int gf__gemm_avx512_groups(int64_t kc_max, int ta, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                           int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int b_finite,
                           int *b_checked, int *c_finite);

#endif
