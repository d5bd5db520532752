/*
 * test_gemm.c — the matrix multiply against a double-precision triple loop:
 * every transpose combination, alpha/beta, odd shapes and strides, NaN/inf,
 * the SIMD paths against the portable one, and bitwise thread independence.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_impl.h"
#include "kernels/kernels.h"
#include "kernels/simd.h"

/* The value the padding of A and B holds (read by mistake, it shows). */
#define PAD_AB NAN
/* The value the padding of C holds (and must still hold afterwards). */
#define PAD_C 12345.0f

typedef struct prob {
    int ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    float *a, *b, *c0; /* inputs; c0 is C before the call */
} prob;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double urand(void) /* uniform in [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Rows and row length of A, B and C as stored. */
static int64_t a_rows(const prob *p) { return p->ta ? p->k : p->m; }
static int64_t a_cols(const prob *p) { return p->ta ? p->m : p->k; }
static int64_t b_rows(const prob *p) { return p->tb ? p->n : p->k; }
static int64_t b_cols(const prob *p) { return p->tb ? p->k : p->n; }

static float *alloc_f(int64_t n)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    assert_non_null(x);
    return x;
}

/* A problem with random values in [-1,1] (a fraction zero_frac of A's zero),
 * pad extra columns in every stride, C filled with c_fill (NaN allowed) or
 * random when c_fill is 0. */
static prob make(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t pad, float alpha, float beta,
                 double zero_frac, float c_fill)
{
    prob p = { ta, tb, m, n, k, 0, 0, 0, alpha, beta, NULL, NULL, NULL };
    p.lda = a_cols(&p) + pad;
    p.ldb = b_cols(&p) + pad;
    p.ldc = n + pad;
    p.a = alloc_f(a_rows(&p) * p.lda);
    p.b = alloc_f(b_rows(&p) * p.ldb);
    p.c0 = alloc_f(m * p.ldc);
    for (int64_t i = 0; i < a_rows(&p); i++)
        for (int64_t j = 0; j < p.lda; j++)
            p.a[i * p.lda + j] = j >= a_cols(&p) ? PAD_AB : urand() < zero_frac ? 0.0f : (float)(2 * urand() - 1);
    for (int64_t i = 0; i < b_rows(&p); i++)
        for (int64_t j = 0; j < p.ldb; j++) p.b[i * p.ldb + j] = j >= b_cols(&p) ? PAD_AB : (float)(2 * urand() - 1);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < p.ldc; j++)
            p.c0[i * p.ldc + j] = j >= n ? PAD_C : c_fill != 0.0f ? c_fill : (float)(2 * urand() - 1);
    return p;
}

static void unmake(prob *p)
{
    free(p->a);
    free(p->b);
    free(p->c0);
}

/* Where op(A)(i,q) and op(B)(q,j) are stored. */
static float *A_at(const prob *p, int64_t i, int64_t q)
{
    return p->ta ? &p->a[q * p->lda + i] : &p->a[i * p->lda + q];
}
static float *B_at(const prob *p, int64_t q, int64_t j)
{
    return p->tb ? &p->b[j * p->ldb + q] : &p->b[q * p->ldb + j];
}
static float A_(const prob *p, int64_t i, int64_t q) { return *A_at(p, i, q); }
static float B_(const prob *p, int64_t q, int64_t j) { return *B_at(p, q, j); }

/* Which implementation a run uses. */
enum {
    IMPL_DEFAULT, IMPL_PORTABLE, IMPL_DIRECT, IMPL_PACKED, IMPL_SKIP, IMPL_SPARSE_ROWS, IMPL_PACKED512, IMPL_DIRECT512,
    IMPL_SKIP512, IMPL_GROUPS512
};

/* Whether this machine runs the AVX-512 path (else it is skipped, and
 * main says so). */
static int have_avx512(void)
{
    return gf__simd_enabled() && gf__cpu_has_avx512();
}

/* The plan chooses AVX-512 paths (not under GF_NO_AVX512=1, which leaves
 * the forced ones to run). */
static int plans_avx512(void)
{
    return have_avx512() && gf__avx512_enabled();
}

/* Runs the problem; returns a fresh copy of C after the call. */
static float *run(const prob *p, int impl, int threads)
{
    float *c = alloc_f(p->m * p->ldc);
    memcpy(c, p->c0, (size_t)(p->m * p->ldc) * sizeof *c);
    if (impl == IMPL_PORTABLE) {
        gf__gemm_portable(p->ta, p->tb, p->m, p->n, p->k, p->alpha, p->a, p->lda, p->b, p->ldb, p->beta, c, p->ldc);
    } else {
        gf__gemm_avx2_force_path(impl == IMPL_DIRECT   ? GF_GEMM_DIRECT
                                 : impl == IMPL_PACKED ? GF_GEMM_PACKED
                                 : impl == IMPL_SKIP   ? GF_GEMM_DIRECT_SKIP
                                 : impl == IMPL_SPARSE_ROWS ? GF_GEMM_SPARSE_ROWS
                                 : impl == IMPL_PACKED512   ? GF_GEMM_PACKED512
                                 : impl == IMPL_DIRECT512   ? GF_GEMM_DIRECT512
                                 : impl == IMPL_SKIP512     ? GF_GEMM_SKIP512
                                 : impl == IMPL_GROUPS512   ? GF_GEMM_GROUPS512
                                                       : 0);
        gf__gemm(p->ta, p->tb, p->m, p->n, p->k, p->alpha, p->a, p->lda, p->b, p->ldb, p->beta, c, p->ldc, threads);
        gf__gemm_avx2_force_path(0);
    }
    return c;
}

/* Checks c against the double-precision triple loop, and C's padding. */
static void check(const prob *p, const float *c, const char *what)
{
    for (int64_t i = 0; i < p->m; i++) {
        for (int64_t j = 0; j < p->ldc; j++) {
            float got = c[i * p->ldc + j];
            if (j >= p->n) {
                if (got != PAD_C)
                    fail_msg("%s ta=%d tb=%d [%lld,%lld,%lld]: padding C(%lld,%lld) written", what, p->ta, p->tb,
                             (long long)p->m, (long long)p->n, (long long)p->k, (long long)i, (long long)j);
                continue;
            }
            double s = 0, mag = 0;
            for (int64_t q = 0; q < p->k; q++) {
                double t = (double)A_(p, i, q) * (double)B_(p, q, j);
                s += t;
                mag += fabs(t);
            }
            double want = p->alpha * s, bound = fabs(p->alpha) * mag;
            if (p->k == 0) want = bound = 0; /* k == 0: C = beta*C, even for alpha inf */
            if (p->beta != 0.0f) {
                want += (double)p->beta * p->c0[i * p->ldc + j];
                bound += fabs((double)p->beta * p->c0[i * p->ldc + j]);
            }
            double tol = 2.0 * (double)(p->k + 4) * 6e-8 * bound + 1e-37;
            int ok = isnan(want) ? isnan(got) : isinf(want) ? (double)got == want : fabs(got - want) <= tol;
            if (!ok)
                fail_msg("%s ta=%d tb=%d [%lld,%lld,%lld] ld+%lld alpha=%g beta=%g: C(%lld,%lld) = %.9g, want %.9g "
                         "(tol %g)",
                         what, p->ta, p->tb, (long long)p->m, (long long)p->n, (long long)p->k,
                         (long long)(p->ldc - p->n), p->alpha, p->beta, (long long)i, (long long)j, got, want, tol);
        }
    }
}

static void check_all_impls(const prob *p)
{
    static const char *names[] = { "default",   "portable",  "direct",   "packed",   "skip",
                                   "sparse_rows", "packed512", "direct512", "skip512", "groups512" };
    float *simd = NULL;
    for (int impl = IMPL_DEFAULT; impl <= IMPL_GROUPS512; impl++) {
        if (impl >= IMPL_PACKED512 && !have_avx512()) continue;
        float *c = run(p, impl, 1);
        check(p, c, names[impl]);
        if (impl == IMPL_DIRECT) {
            simd = c;
            continue;
        }
        /* The SIMD paths give the same bits: the same FMA chain per
         * element, skipped terms being exact zeros; the AVX-512 tiles
         * too. */
        if (impl >= IMPL_PACKED && memcmp(simd, c, (size_t)(p->m * p->ldc) * sizeof *c) != 0)
            fail_msg("direct and %s differ: ta=%d tb=%d [%lld,%lld,%lld]", names[impl], p->ta, p->tb,
                     (long long)p->m, (long long)p->n, (long long)p->k);
        free(c);
    }
    free(simd);
}

static const int64_t shapes[][3] = {
    { 1, 1, 1 },    { 1, 37, 1 },   { 37, 1, 1 },   { 1, 1, 37 },    { 7, 13, 5 },   { 17, 33, 129 }, { 6, 16, 8 },
    { 12, 32, 17 }, { 5, 9, 300 },  { 10, 30, 784 }, { 784, 30, 10 }, { 10, 10, 30 }, { 30, 10, 10 }, { 10, 30, 10 },
    { 61, 47, 530 }, { 3, 100, 2 },  { 100, 3, 2 },
    /* every row width of the sparse-rows path (8, 17..24), and more rows
     * than it scans at once */
    { 9, 8, 40 },   { 11, 20, 64 }, { 40, 24, 12 }, { 1100, 17, 6 },
    /* the AVX-512 tiles' edges: 12 rows by 32 columns, rows 13 and 25,
     * columns 16, 17, 31, 33, 47, 63, 65; k over one block (k > 256) */
    { 13, 33, 9 },  { 25, 65, 31 }, { 12, 32, 1 }, { 11, 17, 257 }, { 24, 16, 7 }, { 37, 31, 513 },
    { 25, 47, 300 }, { 13, 63, 5 },
};

static void test_shapes(void **state)
{
    (void)state;
    static const float ab[][2] = { { 1.0f, 0.0f }, { -0.5f, 1.0f }, { 2.0f, -0.75f } };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++)
            for (size_t q = 0; q < sizeof ab / sizeof ab[0]; q++)
                for (int pad = 0; pad <= 5; pad += 5) {
                    prob p = make(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], pad, ab[q][0], ab[q][1],
                                  0.5, ab[q][1] == 0.0f ? NAN : 0.0f);
                    check_all_impls(&p);
                    unmake(&p);
                }
}

/* Large enough for the packed path and several k blocks. */
static void test_large(void **state)
{
    (void)state;
    for (int t = 0; t < 4; t++) {
        prob p = make(t & 1, t >> 1, 130, 150, 700, 3, -0.25f, 1.0f, 0.3, 0.0f);
        check_all_impls(&p);
        unmake(&p);
        p = make(t & 1, t >> 1, 257, 1100, 20, 0, 1.0f, 0.0f, 0.0, NAN);
        check_all_impls(&p);
        unmake(&p);
        /* More rows and columns than the AVX-512 path's blocks (240, 512),
         * two k blocks, beta neither 0 nor 1. */
        p = make(t & 1, t >> 1, 253, 545, 270, 1, 0.75f, 0.5f, 0.0, 0.0f);
        check_all_impls(&p);
        unmake(&p);
        /* A batch of 100 half-zero images, as 784-100-10's step: the
         * row groups' and the column groups' column tiles of 32 and the
         * last 16 to 48 (100 = 32 + 32 + 36, 130 = 32 + 32 + 32 + 34),
         * several k blocks of images. */
        p = make(t & 1, t >> 1, 100, 100, 784, 4, 1.0f, 0.0f, 0.5, NAN);
        check_all_impls(&p);
        unmake(&p);
        p = make(t & 1, t >> 1, 784, 130, 100, 5, -0.05f, 1.0f, 0.5, 0.0f);
        check_all_impls(&p);
        unmake(&p);
        /* Mostly zero, as MNIST's digits: whole 12-row tiles skip k. */
        p = make(t & 1, t >> 1, 40, 30, 784, 2, -0.5f, 1.0f, 0.93, 0.0f);
        check_all_impls(&p);
        unmake(&p);
        /* A all zero and C all -0: every tile has nothing to add. With
         * alpha > 0 its terms are +0 and -0 + +0 is +0, so a skipping path
         * may not leave C alone; with alpha < 0 it may (-0 + -0 is -0).
         * The paths are compared bit for bit, signs of zeros included. */
        for (int sign = -1; sign <= 1; sign += 2) {
            p = make(t & 1, t >> 1, 40, 30, 64, 0, 0.5f * (float)sign, 1.0f, 1.0, 0.0f);
            for (int64_t i = 0; i < p.m * p.ldc; i++) p.c0[i] = -0.0f; /* make() takes 0 as "random" */
            check_all_impls(&p);
            unmake(&p);
        }
    }
}

/* k == 0: C = beta*C (beta 0: zeros even over NaN; beta 1: untouched);
 * m == 0 or n == 0: nothing written. */
static void test_empty(void **state)
{
    (void)state;
    static const float betas[] = { 0.0f, 1.0f, 0.5f };
    for (int t = 0; t < 4; t++)
        for (int impl = IMPL_DEFAULT; impl <= IMPL_PORTABLE; impl++)
            for (size_t q = 0; q < 3; q++) {
                float beta = betas[q];
                prob p = make(t & 1, t >> 1, 7, 9, 0, 2, INFINITY, beta, 0, beta == 0.0f ? NAN : 0.0f);
                float *c = run(&p, impl, 1);
                check(&p, c, "k=0");
                for (int64_t i = 0; i < p.m; i++)
                    for (int64_t j = 0; j < p.n; j++) {
                        float want = beta == 0.0f ? 0.0f : beta * p.c0[i * p.ldc + j];
                        assert_true(c[i * p.ldc + j] == want);
                    }
                free(c);
                unmake(&p);
                for (int z = 0; z < 2; z++) {
                    p = make(t & 1, t >> 1, z ? 0 : 5, z ? 5 : 0, 4, 1, 1.0f, beta, 0, 0.0f);
                    c = run(&p, impl, 2);
                    assert_memory_equal(c, p.c0, (size_t)(p.m * p.ldc) * sizeof *c);
                    free(c);
                    unmake(&p);
                }
            }
}

/* 0*inf and 0*NaN are NaN: zeros in A (MNIST-like) must not hide a B that
 * is not finite, nor zeros in B an A that is not. */
static void test_nan_inf(void **state)
{
    (void)state;
    static const int64_t sh[][3] = {
        { 10, 30, 784 }, { 784, 30, 10 }, { 10, 30, 10 }, { 30, 10, 10 }, { 130, 150, 700 },
    };
    for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
        for (int t = 0; t < 4; t++)
            for (int beta1 = 0; beta1 < 2; beta1++) {
                prob p = make(t & 1, t >> 1, sh[s][0], sh[s][1], sh[s][2], 1, beta1 ? -0.1f : 1.0f,
                              beta1 ? 1.0f : 0.0f, 0.81, beta1 ? 0.0f : NAN);
                /* Zero a whole column of op(A) where B gets inf and NaN, and
                 * a row of op(B) where A gets inf. */
                int64_t q1 = p.k / 3, q2 = p.k - 1, q3 = p.k / 2;
                for (int64_t i = 0; i < p.m; i++) *A_at(&p, i, q1) = *A_at(&p, i, q2) = 0.0f;
                int64_t j1 = p.n / 2, j2 = p.n - 1;
                *B_at(&p, q1, j1) = INFINITY;
                *B_at(&p, q2, j2) = NAN;
                for (int64_t j = 0; j < p.n; j++) *B_at(&p, q3, j) = 0.0f;
                int64_t i1 = p.m / 2;
                *A_at(&p, i1, q3) = -INFINITY;
                check_all_impls(&p);
                /* The NaN columns and row are really there. */
                float *c = run(&p, IMPL_DEFAULT, 1);
                assert_true(isnan(c[0 * p.ldc + j1]) && isnan(c[(p.m - 1) * p.ldc + j2]) && isnan(c[i1 * p.ldc]));
                free(c);
                unmake(&p);
            }
}

/* The same bits for 1, 2 and 3 threads (and row and column splits). */
static void test_threads_bitwise(void **state)
{
    (void)state;
    static const int64_t sh[][3] = { { 784, 100, 100 }, { 300, 300, 300 }, { 40, 1000, 200 }, { 1000, 30, 784 },
                                     { 100, 784, 100 }, { 7001, 30, 10 } };
    for (size_t s = 0; s < sizeof sh / sizeof sh[0]; s++)
        for (int t = 0; t < 4; t++) {
            prob p = make(t & 1, t >> 1, sh[s][0], sh[s][1], sh[s][2], 1, -0.3f, t == 1 ? 1.0f : 0.0f, 0.5,
                          t == 1 ? 0.0f : NAN);
            float *c1 = run(&p, IMPL_DEFAULT, 1);
            if (s == 0) check(&p, c1, "threads 1");
            for (int th = 2; th <= 3; th++) {
                float *cn = run(&p, IMPL_DEFAULT, th);
                if (memcmp(c1, cn, (size_t)(p.m * p.ldc) * sizeof *c1) != 0)
                    fail_msg("threads %d differ from 1: ta=%d tb=%d [%lld,%lld,%lld]", th, p.ta, p.tb,
                             (long long)p.m, (long long)p.n, (long long)p.k);
                free(cn);
            }
            /* The AVX2 packed and the AVX-512 paths, forced, on 1 to 3
             * threads: the same bits again. */
            static const int forced[] = { IMPL_PACKED, IMPL_PACKED512, IMPL_DIRECT512, IMPL_SKIP512,
                                          IMPL_GROUPS512 };
            static const char *fname[] = { "packed", "packed512", "direct512", "skip512", "groups512" };
            for (int th = 1; th <= 3; th++)
                for (int f = 0; f < 5; f++) {
                    if (forced[f] != IMPL_PACKED && !have_avx512()) continue;
                    float *cn = run(&p, forced[f], th);
                    if (memcmp(c1, cn, (size_t)(p.m * p.ldc) * sizeof *c1) != 0)
                        fail_msg("%s on %d threads differs: ta=%d tb=%d [%lld,%lld,%lld]", fname[f], th, p.ta,
                                 p.tb, (long long)p.m, (long long)p.n, (long long)p.k);
                    free(cn);
                }
            free(c1);
            unmake(&p);
        }
}

/* What a call says it learnt of finiteness (the planner trusts it, and
 * then skips zeros of A against B without checking B): a weight update
 * (C += alpha * A^T @ B) says C is finite only when it is; a product of
 * few rows of a mostly-zero A says B is finite only when it is. Every
 * path the machine runs, forced, and as chosen; on AVX-512 the finite
 * cases must be learnt (the planner then skips the check next step). */
static void test_hints(void **state)
{
    (void)state;
    static const int impls[] = { IMPL_DEFAULT, IMPL_SPARSE_ROWS, IMPL_DIRECT512, IMPL_SKIP512, IMPL_GROUPS512 };
    static const int paths[] = { 0, GF_GEMM_SPARSE_ROWS, GF_GEMM_DIRECT512, GF_GEMM_SKIP512, GF_GEMM_GROUPS512 };
    for (size_t f = 0; f < sizeof impls / sizeof impls[0]; f++)
        for (int th = 1; th <= 2; th++)
            for (int bad = 0; bad < 8; bad++) {
                if (impls[f] >= IMPL_PACKED512 && !have_avx512()) continue;
                /* The update [784,30] += -0.05 * [10,784]^T @ [10,30]; on 2
                 * threads [7001,30] (enough work to split). Cases 4..7 as
                 * 0..3, 100 wide with a batch of 100 (784-100-10's). */
                const int64_t wide = bad >= 4 ? 100 : 30, batch = bad >= 4 ? 100 : 10;
                prob p = make(1, 0, th == 1 ? 784 : 7001, wide, batch, 0, -0.05f, 1.0f, 0.5, 0.0f);
                if (bad % 4 == 1) p.b[7] = INFINITY;                          /* a term inf: C gets inf */
                if (bad % 4 == 2) p.c0[(p.m - 5) * p.ldc + wide - 1] = NAN;   /* C held NaN already */
                if (bad % 4 == 3) *A_at(&p, 3, 2) = *B_at(&p, 2, 0) = 3e38f; /* a finite product overflows */
                float *c = alloc_f(p.m * p.ldc);
                memcpy(c, p.c0, (size_t)(p.m * p.ldc) * sizeof *c);
                gf_gemm_hint h = { 0, 0, 0 };
                gf__gemm_avx2_force_path(paths[f]);
                gf__gemm_hinted(1, 0, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc, th, &h);
                gf__gemm_avx2_force_path(0);
                int finite = 1;
                for (int64_t i = 0; i < p.m * p.ldc; i++) finite &= isfinite(c[i]) != 0;
                if (h.c_finite && !finite)
                    fail_msg("path %d, %d threads: C said finite, and is not (case %d)", paths[f], th, bad);
                if (bad % 4 == 0 && (impls[f] == IMPL_DIRECT512 || impls[f] == IMPL_GROUPS512 ||
                                 (impls[f] == IMPL_DEFAULT && plans_avx512())) &&
                    !h.c_finite)
                    fail_msg("path %d, %d threads: the update did not say its finite C is finite", paths[f], th);
                free(c);
                unmake(&p);
                /* the forward [10,784] @ [784,30] (on 2 threads [100,784]),
                 * or [100,784] @ [784,100]: B finite, or one inf in a row
                 * of B where A is zero */
                p = make(0, 0, th == 1 ? batch : 100, wide, 784, 0, 1.0f, 0.0f, 0.0, NAN);
                /* Half of A zero, alternately: the plan's sample finds 50%,
                 * where the direct path (B not known finite) learns. */
                for (int64_t i = 0; i < p.m; i++)
                    for (int64_t q = (i & 1); q < p.k; q += 2) *A_at(&p, i, q) = 0.0f;
                const int64_t col = bad % 4 == 3 ? wide - 1 : 4; /* in the first vector of 16 columns, or the last */
                if (bad % 4) {
                    for (int64_t i = 0; i < p.m; i++) *A_at(&p, i, 300) = 0.0f;
                    *B_at(&p, 300, col) = bad % 4 == 2 ? NAN : INFINITY;
                }
                c = alloc_f(p.m * p.ldc);
                h = (gf_gemm_hint){ 0, 0, 0 };
                gf__gemm_avx2_force_path(paths[f]);
                gf__gemm_hinted(0, 0, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc, th, &h);
                gf__gemm_avx2_force_path(0);
                if (h.b_checked && bad % 4)
                    fail_msg("path %d, %d threads: B said finite, and is not (case %d)", paths[f], th, bad);
                /* The row groups check B (chosen for a batch 100 wide);
                 * the direct path, chosen for fewer than 64 rows 16 to 32
                 * wide (B not known finite), learns it as it reads. */
                const int learns = impls[f] == IMPL_GROUPS512 ||
                                   (impls[f] == IMPL_DEFAULT && plans_avx512() && (th == 1 || wide > 32));
                if (bad % 4 == 0 && learns && !h.b_checked)
                    fail_msg("path %d, %d threads did not say its finite B is finite", paths[f], th);
                if (bad % 4 && !isnan(c[col])) fail_msg("path %d: 0 * inf skipped (case %d)", paths[f], bad);
                free(c);
                unmake(&p);
            }
}

/* Several callers at once (sessions on different threads), each asking
 * for 2 threads: the pool serves one, the others run alone; all agree. */
typedef struct caller {
    const prob *p;
    float *c;
} caller;

static void *call_gemm(void *arg)
{
    caller *cl = arg;
    const prob *p = cl->p;
    for (int rep = 0; rep < 4; rep++) {
        memcpy(cl->c, p->c0, (size_t)(p->m * p->ldc) * sizeof *cl->c);
        gf__gemm(p->ta, p->tb, p->m, p->n, p->k, p->alpha, p->a, p->lda, p->b, p->ldb, p->beta, cl->c, p->ldc, 2);
    }
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    prob p = make(1, 0, 784, 100, 100, 0, -0.5f, 1.0f, 0.5, 0.0f);
    float *want = run(&p, IMPL_DEFAULT, 1);
    caller cl[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        cl[i] = (caller){ &p, alloc_f(p.m * p.ldc) };
        assert_int_equal(pthread_create(&th[i], NULL, call_gemm, &cl[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_memory_equal(cl[i].c, want, (size_t)(p.m * p.ldc) * sizeof *want);
        free(cl[i].c);
    }
    free(want);
    unmake(&p);
}

int main(void)
{
    printf("# gemm: SIMD kernels %s\n", gf__simd_enabled() ? "on (AVX2+FMA)" : "off (portable only)");
    if (have_avx512())
        printf("# gemm: AVX-512 packed, direct, skipping and row-group paths tested against the AVX2 paths, bit for "
               "bit\n");
    else printf("# gemm: SKIPPED the AVX-512 paths: %s\n",
                gf__simd_enabled() ? "this CPU (or OS) has no AVX-512F" : "SIMD kernels off");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_nan_inf),
        cmocka_unit_test(test_threads_bitwise),
        cmocka_unit_test(test_concurrent_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
