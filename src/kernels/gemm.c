/*
 * gemm.c — matrix multiply: the portable reference path (the specification),
 * the dispatch to the AVX2 kernels, the split over threads, and the matmul op.
 */
#include "kernels.h"

#include "gemm_impl.h"
#include "simd.h"
#include "threads.h"

#include <stdatomic.h>

/* ---- the portable path -------------------------------------------------- */

/* Columns of C accumulated at once per row. */
#define PCHUNK 64

/* C [m,n] = alpha * op(A) [m,k] @ op(B) [k,n] + beta * C, one row of C and
 * PCHUNK columns at a time: acc[j] = sum over p = 0 .. k-1 of A'(i,p) *
 * B'(p,j), in that order, then C = alpha*acc (+ beta*C unless beta == 0). */
void gf__gemm_portable(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                       const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    /* A'(i,p) is a[i*as + p*ps]; B'(p,j) is b[p*bp + j*bj]. */
    const int64_t as = ta ? 1 : lda, ps = ta ? lda : 1;
    const int64_t bp = tb ? 1 : ldb, bj = tb ? ldb : 1;
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        const float *ai = a + i * as;
        for (int64_t j0 = 0; j0 < n; j0 += PCHUNK) {
            int64_t nj = n - j0 < PCHUNK ? n - j0 : PCHUNK;
            float acc[PCHUNK] = { 0 };
            if (!tb) {
                /* C [1,nj] += A' [1,k] @ B [k,nj]: rows of B are contiguous. */
                for (int64_t p = 0; p < k; p++) {
                    const float av = ai[p * ps];
                    const float *brow = b + p * bp + j0;
                    for (int64_t j = 0; j < nj; j++) acc[j] += av * brow[j];
                }
            } else {
                /* C [1,nj] += A' [1,k] @ B^T, B [nj,k]: dot products of rows. */
                for (int64_t j = 0; j < nj; j++) {
                    const float *bcol = b + (j0 + j) * bj;
                    float s = 0.0f;
                    for (int64_t p = 0; p < k; p++) s += ai[p * ps] * bcol[p];
                    acc[j] = s;
                }
            }
            for (int64_t j = 0; j < nj; j++)
                ci[j0 + j] = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * ci[j0 + j];
        }
    }
}

/* ---- dispatch and threads ---------------------------------------------- */

/* Work (m*n*k multiply-adds) below which one thread does it all, and the
 * least work per extra thread, and per task (an evaluation's [10000,30]
 * @ [30,10], 3M, would otherwise be 3 tasks for 2 threads). */
#define PAR_MIN_WORK (2 * 1000 * 1000)
#define PAR_WORK_PER_THREAD (1000 * 1000)
#define TASKS_PER_THREAD 8
#define PAR_WORK_PER_TASK (250 * 1000)

typedef struct gemm_job {
    int ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t lda, ldb, ldc;
    gf_gemm_plan plan; /* the same for every block */
    int by_rows;
    int64_t step; /* rows or columns per task */
    int b_finite; /* the caller's hint */
    /* What the tasks learnt (see gf_gemm_hint): the number of tasks that
     * found all of the B they read finite, and that wrote only finite
     * values. */
    atomic_int b_checked, c_finite;
} gemm_job;

static void learnt(gemm_job *j, const gf_gemm_hint *h)
{
    if (h->b_checked) atomic_fetch_add_explicit(&j->b_checked, 1, memory_order_relaxed);
    if (h->c_finite) atomic_fetch_add_explicit(&j->c_finite, 1, memory_order_relaxed);
}

static void gemm_task(void *arg, int t)
{
    gemm_job *j = arg;
    int64_t lo = (int64_t)t * j->step;
    if (j->by_rows) { /* C [lo..hi, :] = op(A) [lo..hi, :] @ op(B) */
        int64_t hi = lo + j->step < j->m ? lo + j->step : j->m;
        if (lo >= hi) return;
        const float *a = j->ta ? j->a + lo : j->a + lo * j->lda;
        gf_gemm_hint h = { j->b_finite, 0, 0 };
        gf__gemm_avx2(&j->plan, j->ta, j->tb, hi - lo, j->n, j->k, j->alpha, a, j->lda, j->b, j->ldb, j->beta,
                      j->c + lo * j->ldc, j->ldc, &h);
        learnt(j, &h);
    } else { /* C [:, lo..hi] = op(A) @ op(B) [:, lo..hi] */
        int64_t hi = lo + j->step < j->n ? lo + j->step : j->n;
        if (lo >= hi) return;
        const float *b = j->tb ? j->b + lo * j->ldb : j->b + lo;
        gf_gemm_hint h = { j->b_finite, 0, 0 };
        gf__gemm_avx2(&j->plan, j->ta, j->tb, j->m, hi - lo, j->k, j->alpha, j->a, j->lda, b, j->ldb, j->beta,
                      j->c + lo, j->ldc, &h);
        learnt(j, &h);
    }
}

void gf__gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
              const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int threads)
{
    gf__gemm_hinted(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads, NULL);
}

void gf__gemm_hinted(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int threads,
                     gf_gemm_hint *hint)
{
    int b_finite = hint && hint->b_finite;
    if (hint) hint->b_checked = hint->c_finite = 0;
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || !gf__simd_enabled()) {
        gf__gemm_portable(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    int64_t work = m * n * k;
    int nt = threads;
    if (work < PAR_MIN_WORK) nt = 1;
    else if (nt > work / PAR_WORK_PER_THREAD) nt = (int)(work / PAR_WORK_PER_THREAD);
    /* Split C's rows (or columns) in whole multiples of the tile grid, so
     * every element is computed as one thread would. Several tasks per
     * thread, taken as threads come free, even out the load when one CPU
     * runs slower than the other (a shared VM: 2 tasks per thread ran the
     * 10,000-image evaluation's product in 4.7 ms, 8 in 3.9). Packed
     * products keep 2: each task packs its own B (1024^3: 8 were 14%
     * slower). */
    gf_gemm_plan plan = gf__gemm_avx2_plan(ta, tb, m, n, k, a, lda, b_finite);
    gemm_job j = { ta, tb, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc, plan, 1, 0, b_finite, 0, 0 };
    const int wide = plan.path == GF_GEMM_PACKED512 || plan.path == GF_GEMM_DIRECT512 ||
                     plan.path == GF_GEMM_SKIP512 || plan.path == GF_GEMM_GROUPS512;
    const int64_t split_r = wide ? GF_GEMM512_SPLIT_ROWS : GF_GEMM_SPLIT_ROWS;
    const int64_t split_c = wide ? GF_GEMM512_SPLIT_COLS : GF_GEMM_SPLIT_COLS;
    int64_t units_r = (m + split_r - 1) / split_r;
    int64_t units_c = (n + split_c - 1) / split_c;
    j.by_rows = units_r >= units_c;
    int64_t units = j.by_rows ? units_r : units_c;
    if (nt > units) nt = (int)units;
    if (nt <= 1) {
        gf_gemm_hint h = { b_finite, 0, 0 };
        gf__gemm_avx2(&plan, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, &h);
        if (hint) *hint = h;
        return;
    }
    const int packs = plan.path == GF_GEMM_PACKED || plan.path == GF_GEMM_PACKED512;
    int64_t ntasks = (packs ? 2 : TASKS_PER_THREAD) * (int64_t)nt;
    if (ntasks > work / PAR_WORK_PER_TASK) ntasks = work / PAR_WORK_PER_TASK;
    if (ntasks > units) ntasks = units;
    int64_t per = (units + ntasks - 1) / ntasks;
    j.step = per * (j.by_rows ? split_r : split_c);
    ntasks = ((j.by_rows ? m : n) + j.step - 1) / j.step;
    gf__parallel_for(nt, (int)ntasks, gemm_task, &j);
    /* Every task covers a nonempty part of C: split by rows, each reads all
     * of B (one that found it finite speaks for all); by columns, its own
     * columns of B. Each writes its own part of C. */
    if (hint) {
        int nb = atomic_load(&j.b_checked), nc = atomic_load(&j.c_finite);
        hint->b_checked = j.by_rows ? nb > 0 : nb == ntasks;
        hint->c_finite = nc == ntasks;
    }
}

/* out [m,n] = op(in0) @ op(in1). */
GF_KERNEL(gf__k_matmul)
{
    int ta = n->attrs.matmul.transpose_a, tb = n->attrs.matmul.transpose_b;
    const gf_shape sa = in[0]->shape, sb = in[1]->shape;
    int64_t m = out->shape.dim[0], nn = out->shape.dim[1];
    int64_t k = ta ? sa.dim[0] : sa.dim[1];
    gf_gemm_hint h = { (ctx->finite_in >> 1) & 1, 0, 0 };
    gf__gemm_hinted(ta, tb, m, nn, k, 1.0f, in[0]->data, sa.dim[1], in[1]->data, sb.dim[1], 0.0f, out->data, nn,
                    ctx->threads, &h);
    if (h.b_checked) ctx->finite_seen |= 2u;
}
