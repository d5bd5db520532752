/*
 * test_ops.c — every op's forward value against hand-computed values: elementwise ops, sigmoid
 * extremes, matmul, transpose, reductions, argmax, equal, cast, assign, broadcasting, open batches.
 */
#include "testutil.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Expected arrays below were computed by hand and checked with a plain
 * python3 one-off (no numpy): straightforward loops over the same inputs,
 * printed with "%.9g". Where a value is an exact small integer it is exact. */

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

static void expect_tensor(const gf_tensor *t, gf_dtype dt, gf_shape s, const float *want, double tol)
{
    assert_non_null(t);
    assert_int_equal(gf_tensor_dtype(t), dt);
    gf_test_assert_shape(gf_tensor_shape(t), s);
    int64_t n = gf_shape_count(s);
    assert_int_equal(gf_tensor_count(t), n);
    gf_test_assert_close(gf_tensor_data(t), want, n, tol);
}

/* ---- elementwise ---- */

static void test_binary_same_shape(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float a[6] = { 1, 2, 3, 4, 5, 6 };
    static const float b[6] = { 0.5f, -1, 2, 8, -2.5f, 3 };
    gf_node *A = gf_test_const(g, gf_dims(2, 2, 3), a), *B = gf_test_const(g, gf_dims(2, 2, 3), b);
    /* a[i] op b[i], by hand */
    static const float add[6] = { 1.5f, 1, 5, 12, 2.5f, 9 };
    static const float sub[6] = { 0.5f, 3, 1, -4, 7.5f, 3 };
    static const float mul[6] = { 0.5f, -2, 6, 32, -12.5f, 18 };
    static const float dvd[6] = { 2, -2, 1.5f, 0.5f, -2, 2 };
    gf_node *na = gf_add(A, B), *ns = gf_sub(A, B), *nm = gf_mul(A, B), *nd = gf_div(A, B);
    assert_string_equal(gf_node_op(na), "add");
    assert_string_equal(gf_node_op(ns), "sub");
    assert_string_equal(gf_node_op(nm), "mul");
    assert_string_equal(gf_node_op(nd), "div");
    gf_test_check_node(g, na, GF_F32, gf_dims(2, 2, 3), add, 0);
    gf_test_check_node(g, ns, GF_F32, gf_dims(2, 2, 3), sub, 0);
    gf_test_check_node(g, nm, GF_F32, gf_dims(2, 2, 3), mul, 0);
    gf_test_check_node(g, nd, GF_F32, gf_dims(2, 2, 3), dvd, 0);
    /* Division by zero follows IEEE: 1/0 = inf, -1/0 = -inf. */
    static const float num[2] = { 1, -1 }, zero[2] = { 0, 0 };
    gf_node *inf = gf_div(gf_test_const(g, gf_dims(1, 2), num), gf_test_const(g, gf_dims(1, 2), zero));
    gf_session *s = gf_session_new(g, NULL);
    const float *v = gf_tensor_data(gf_test_run1(s, NULL, 0, inf));
    assert_true(isinf(v[0]) && v[0] > 0);
    assert_true(isinf(v[1]) && v[1] < 0);
    gf_session_free(s);
    gf_graph_free(g);
}

static void test_unary(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[6] = { -2, -0.5f, 0, 1, 3.5f, 10 };
    gf_node *X = gf_test_const(g, gf_dims(2, 3, 2), x);
    static const float neg[6] = { 2, 0.5f, 0, -1, -3.5f, -10 };
    /* python: math.exp(v) */
    static const float ex[6] = { 0.135335283f, 0.60653066f, 1, 2.71828183f, 33.115452f, 22026.4658f };
    gf_node *nn = gf_neg(X), *ne = gf_exp(X);
    assert_string_equal(gf_node_op(nn), "neg");
    assert_string_equal(gf_node_op(ne), "exp");
    gf_test_check_node(g, nn, GF_F32, gf_dims(2, 3, 2), neg, 0);
    gf_test_check_node(g, ne, GF_F32, gf_dims(2, 3, 2), ex, 1e-6);
    /* rank 0 */
    gf_test_check_node(g, gf_neg(gf_scalar(g, 4.25f)), GF_F32, gf_dims(0), (const float[]){ -4.25f }, 0);
    gf_graph_free(g);
}

static void test_sigmoid(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[9] = { -100, 0, 100, 1e30f, -1e30f, -2, 2, -20, 0.5f };
    /* python: 1/(1+exp(-v)) for v >= 0, exp(v)/(1+exp(v)) otherwise. sigmoid(-100)
     * is 3.7e-44 (a float denormal): "0" within the tolerance. */
    static const float want[9] = { 0, 0.5f, 1, 1, 0, 0.119202922f, 0.880797078f, 2.06115362e-09f,
                                   0.622459331f };
    gf_node *sg = gf_sigmoid(gf_test_const(g, gf_dims(1, 9), x));
    assert_string_equal(gf_node_op(sg), "sigmoid");
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *t = gf_test_run1(s, NULL, 0, sg);
    const float *v = gf_tensor_data(t);
    for (int i = 0; i < 9; i++) {
        assert_true(isfinite(v[i]));
        assert_true(v[i] >= 0.0f && v[i] <= 1.0f);
    }
    assert_true(v[1] == 0.5f);
    assert_true(v[2] == 1.0f && v[3] == 1.0f);
    assert_true(v[4] == 0.0f);
    assert_true(v[0] < 1e-30f);
    expect_tensor(t, GF_F32, gf_dims(1, 9), want, 1e-6);
    /* relative accuracy far in the tail: sigmoid(-20) = 2.06115362e-09 */
    assert_true(fabs(v[7] - 2.06115362e-09) < 1e-15);
    gf_session_free(s);
    gf_graph_free(g);
}

/* The article's sigma from primitives equals the fused sigmoid. */
static void test_sigma_from_primitives(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[5] = { -3, -0.25f, 0, 0.75f, 4 };
    gf_node *X = gf_test_const(g, gf_dims(1, 5), x);
    gf_node *one = gf_scalar(g, 1.0f);
    gf_node *sigma = gf_div(one, gf_add(gf_scalar(g, 1.0f), gf_exp(gf_neg(X))));
    /* python: 1/(1+exp(-v)) */
    static const float want[5] = { 0.0474258732f, 0.437823499f, 0.5f, 0.679178699f, 0.982013790f };
    gf_test_check_node(g, sigma, GF_F32, gf_dims(1, 5), want, 1e-6);
    gf_test_check_node(g, gf_sigmoid(X), GF_F32, gf_dims(1, 5), want, 1e-6);
    gf_graph_free(g);
}

/* ---- matmul ---- */

static void test_matmul_transposes(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    /* A [2,3], B [3,4]; AT, BT their transposes stored row-major. */
    static const float a[6] = { 1, 2, 3, 4, 5, 6 };
    static const float b[12] = { 1, -1, 0, 2, 0.5f, 3, -2, 1, -1, 0, 4, 0.25f };
    static const float at[6] = { 1, 4, 2, 5, 3, 6 };
    static const float bt[12] = { 1, 0.5f, -1, -1, 3, 0, 0, -2, 4, 2, 1, 0.25f };
    /* C = A @ B by hand: row 0 = 1*b0 + 2*b1 + 3*b2, row 1 = 4*b0 + 5*b1 + 6*b2 */
    static const float c[8] = { -1, 5, 8, 4.75f, 0.5f, 11, 14, 14.5f };
    gf_node *A = gf_test_const(g, gf_dims(2, 2, 3), a), *B = gf_test_const(g, gf_dims(2, 3, 4), b);
    gf_node *AT = gf_test_const(g, gf_dims(2, 3, 2), at), *BT = gf_test_const(g, gf_dims(2, 4, 3), bt);
    gf_node *m00 = gf_matmul(A, B);
    gf_node *m10 = gf_matmul_t(AT, B, 1, 0);
    gf_node *m01 = gf_matmul_t(A, BT, 0, 1);
    gf_node *m11 = gf_matmul_t(AT, BT, 1, 1);
    assert_string_equal(gf_node_op(m00), "matmul");
    gf_test_assert_shape(gf_node_shape(m11), gf_dims(2, 2, 4));
    gf_test_check_node(g, m00, GF_F32, gf_dims(2, 2, 4), c, 0);
    gf_test_check_node(g, m10, GF_F32, gf_dims(2, 2, 4), c, 0);
    gf_test_check_node(g, m01, GF_F32, gf_dims(2, 2, 4), c, 0);
    gf_test_check_node(g, m11, GF_F32, gf_dims(2, 2, 4), c, 0);
    /* B^T @ A^T = (A B)^T, [4,2] */
    static const float ct[8] = { -1, 0.5f, 5, 11, 8, 14, 4.75f, 14.5f };
    gf_test_check_node(g, gf_matmul(BT, AT), GF_F32, gf_dims(2, 4, 2), ct, 0);
    gf_test_check_node(g, gf_matmul_t(B, A, 1, 1), GF_F32, gf_dims(2, 4, 2), ct, 0);
    gf_graph_free(g);
}

/* Fills n floats in [-1,1) from a seeded generator. */
static void fill_random(float *p, int64_t n, uint64_t seed)
{
    gf_rng r;
    gf_rng_seed(&r, seed, 7);
    for (int64_t i = 0; i < n; i++) p[i] = (float)(2.0 * gf_rng_uniform(&r) - 1.0);
}

/* element (i,j) of op(x) where x is stored [rows,cols] */
static double at_op(const float *x, int64_t cols, int t, int64_t i, int64_t j)
{
    return t ? (double)x[j * cols + i] : (double)x[i * cols + j];
}

/* 30x784 @ 784x10 style, all four transpose flags, vs a naive double loop. */
static void test_matmul_large_random(void **state)
{
    (void)state;
    const int64_t M = 30, K = 784, N = 10;
    float *a = malloc((size_t)(M * K) * sizeof *a), *b = malloc((size_t)(K * N) * sizeof *b);
    double *want = malloc((size_t)(M * N) * sizeof *want);
    float *wantf = malloc((size_t)(M * N) * sizeof *wantf);
    assert_non_null(a); assert_non_null(b); assert_non_null(want); assert_non_null(wantf);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* A is stored [M,K] or [K,M]; B [K,N] or [N,K]. */
            int64_t acols = ta ? M : K, bcols = tb ? K : N;
            fill_random(a, M * K, 11 + (uint64_t)(2 * ta + tb));
            fill_random(b, K * N, 97 + (uint64_t)(2 * ta + tb));
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double acc = 0;
                    for (int64_t p = 0; p < K; p++)
                        acc += at_op(a, acols, ta, i, p) * at_op(b, bcols, tb, p, j);
                    want[i * N + j] = acc;
                    wantf[i * N + j] = (float)acc;
                }
            gf_graph *g = gf_graph_new();
            gf_node *A = gf_test_const(g, ta ? gf_dims(2, (int)K, (int)M) : gf_dims(2, (int)M, (int)K), a);
            gf_node *B = gf_test_const(g, tb ? gf_dims(2, (int)N, (int)K) : gf_dims(2, (int)K, (int)N), b);
            gf_node *C = gf_matmul_t(A, B, ta, tb);
            gf_session *s = gf_session_new(g, NULL);
            const gf_tensor *t = gf_test_run1(s, NULL, 0, C);
            gf_test_assert_shape(gf_tensor_shape(t), gf_dims(2, (int)M, (int)N));
            const float *v = gf_tensor_data(t);
            for (int64_t i = 0; i < M * N; i++) {
                /* sums of 784 products of magnitude < 1: float error well below 1e-4 */
                if (fabs(v[i] - want[i]) > 1e-4)
                    fail_msg("ta=%d tb=%d element %lld: got %.9g want %.9g", ta, tb, (long long)i,
                             (double)v[i], want[i]);
            }
            gf_test_assert_close(v, wantf, M * N, 1e-4);
            gf_session_free(s);
            gf_graph_free(g);
        }
    free(a); free(b); free(want); free(wantf);
}

/* ---- transpose ---- */

static void test_transpose(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x2[6] = { 1, 2, 3, 4, 5, 6 };
    static const float x2t[6] = { 1, 4, 2, 5, 3, 6 };
    gf_node *t2 = gf_transpose(gf_test_const(g, gf_dims(2, 2, 3), x2));
    assert_string_equal(gf_node_op(t2), "transpose");
    gf_test_check_node(g, t2, GF_F32, gf_dims(2, 3, 2), x2t, 0);
    gf_test_check_node(g, gf_transpose_perm(gf_test_const(g, gf_dims(2, 2, 3), x2), (const int[]){ 1, 0 }), GF_F32,
               gf_dims(2, 3, 2), x2t, 0);
    gf_test_check_node(g, gf_transpose_perm(gf_test_const(g, gf_dims(2, 2, 3), x2), (const int[]){ 0, 1 }), GF_F32,
               gf_dims(2, 2, 3), x2, 0);

    /* rank 3: x [2,3,4] = 0..23, x[i][j][k] = 12i + 4j + k */
    float x3[24];
    for (int i = 0; i < 24; i++) x3[i] = (float)i;
    gf_node *X3 = gf_test_const(g, gf_dims(3, 2, 3, 4), x3);
    /* perm {2,0,1}: out [4,2,3], out[i][j][k] = x[j][k][i] */
    static const float p201[24] = { 0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21,
                                    2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23 };
    gf_test_check_node(g, gf_transpose_perm(X3, (const int[]){ 2, 0, 1 }), GF_F32, gf_dims(3, 4, 2, 3), p201, 0);
    /* reversed: out [4,3,2], out[i][j][k] = x[k][j][i] */
    static const float rev[24] = { 0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21,
                                   2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23 };
    gf_test_check_node(g, gf_transpose(X3), GF_F32, gf_dims(3, 4, 3, 2), rev, 0);

    /* rank 0 and 1 are the identity */
    gf_test_check_node(g, gf_transpose(gf_scalar(g, 7)), GF_F32, gf_dims(0), (const float[]){ 7 }, 0);
    static const float v3[3] = { 3, -1, 2 };
    gf_test_check_node(g, gf_transpose(gf_test_const(g, gf_dims(1, 3), v3)), GF_F32, gf_dims(1, 3), v3, 0);
    gf_test_check_node(g, gf_transpose_perm(gf_test_const(g, gf_dims(1, 3), v3), (const int[]){ 0 }), GF_F32,
               gf_dims(1, 3), v3, 0);
    gf_graph_free(g);
}

/* A 2-D transpose larger than the kernel's 32x32 tiles, vs the definition. */
static void test_transpose_large(void **state)
{
    (void)state;
    enum { R = 70, C = 45 };
    static float x[R * C], want[C * R];
    fill_random(x, R * C, 5);
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++) want[j * R + i] = x[i * C + j];
    gf_graph *g = gf_graph_new();
    gf_test_check_node(g, gf_transpose(gf_test_const(g, gf_dims(2, R, C), x)), GF_F32, gf_dims(2, C, R), want, 0);
    gf_graph_free(g);
}

/* ---- reductions ---- */

static void test_reduce_2d(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[6] = { 1, 2, 3, 4, 5, 6 }; /* [2,3] */
    gf_node *X = gf_test_const(g, gf_dims(2, 2, 3), x);
    static const float s0[3] = { 5, 7, 9 }, s1[2] = { 6, 15 }, sall[1] = { 21 };
    static const float m0[3] = { 2.5f, 3.5f, 4.5f }, m1[2] = { 2, 5 }, mall[1] = { 3.5f };
    const int ax0[1] = { 0 }, ax1[1] = { 1 }, axm1[1] = { -1 }, axm2[1] = { -2 }, both[2] = { 1, 0 };

    gf_node *r = gf_reduce_sum(X, ax0, 1, 0);
    assert_string_equal(gf_node_op(r), "reduce_sum");
    gf_test_check_node(g, r, GF_F32, gf_dims(1, 3), s0, 0);
    gf_test_check_node(g, gf_reduce_sum(X, ax0, 1, 1), GF_F32, gf_dims(2, 1, 3), s0, 0);
    gf_test_check_node(g, gf_reduce_sum(X, ax1, 1, 0), GF_F32, gf_dims(1, 2), s1, 0);
    gf_test_check_node(g, gf_reduce_sum(X, ax1, 1, 1), GF_F32, gf_dims(2, 2, 1), s1, 0);
    gf_test_check_node(g, gf_reduce_sum(X, axm1, 1, 0), GF_F32, gf_dims(1, 2), s1, 0);
    gf_test_check_node(g, gf_reduce_sum(X, axm2, 1, 0), GF_F32, gf_dims(1, 3), s0, 0);
    gf_test_check_node(g, gf_reduce_sum(X, both, 2, 0), GF_F32, gf_dims(0), sall, 0);
    gf_test_check_node(g, gf_reduce_sum(X, NULL, 0, 0), GF_F32, gf_dims(0), sall, 0);
    gf_test_check_node(g, gf_reduce_sum(X, NULL, 0, 1), GF_F32, gf_dims(2, 1, 1), sall, 0);

    r = gf_reduce_mean(X, ax0, 1, 0);
    assert_string_equal(gf_node_op(r), "reduce_mean");
    gf_test_check_node(g, r, GF_F32, gf_dims(1, 3), m0, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, ax0, 1, 1), GF_F32, gf_dims(2, 1, 3), m0, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, ax1, 1, 0), GF_F32, gf_dims(1, 2), m1, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, axm1, 1, 1), GF_F32, gf_dims(2, 2, 1), m1, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, axm2, 1, 0), GF_F32, gf_dims(1, 3), m0, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, both, 2, 1), GF_F32, gf_dims(2, 1, 1), mall, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, NULL, 0, 0), GF_F32, gf_dims(0), mall, 1e-7);

    /* rank 0 and rank 1 inputs */
    gf_test_check_node(g, gf_reduce_sum(gf_scalar(g, 2.5f), NULL, 0, 0), GF_F32, gf_dims(0), (const float[]){ 2.5f }, 0);
    static const float v[4] = { 1, -2, 3.5f, 0.5f };
    gf_test_check_node(g, gf_reduce_sum(gf_test_const(g, gf_dims(1, 4), v), ax0, 1, 0), GF_F32, gf_dims(0),
               (const float[]){ 3 }, 0);
    gf_test_check_node(g, gf_reduce_mean(gf_test_const(g, gf_dims(1, 4), v), axm1, 1, 1), GF_F32, gf_dims(1, 1),
               (const float[]){ 0.75f }, 0);
    gf_graph_free(g);
}

static void test_reduce_3d(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    float x[24]; /* [2,3,4], x[i][j][k] = 12i + 4j + k */
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    gf_node *X = gf_test_const(g, gf_dims(3, 2, 3, 4), x);
    /* python loops over the same indices */
    static const float s02[3] = { 60, 92, 124 };
    static const float s1[8] = { 12, 15, 18, 21, 48, 51, 54, 57 };
    static const float m12[2] = { 5.5f, 17.5f };
    static const float m0[12] = { 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
    /* sum over axes 0 and 1: out[k] = sum_{i<2,j<3} (12i + 4j + k) = 36 + 24 + 6k */
    static const float s01[4] = { 60, 66, 72, 78 };
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ 0, 2 }, 2, 0), GF_F32, gf_dims(1, 3), s02, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ 0, 2 }, 2, 1), GF_F32, gf_dims(3, 1, 3, 1), s02, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ -1, 0 }, 2, 0), GF_F32, gf_dims(1, 3), s02, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ 1 }, 1, 0), GF_F32, gf_dims(2, 2, 4), s1, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ -2 }, 1, 1), GF_F32, gf_dims(3, 2, 1, 4), s1, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ 1, 0 }, 2, 0), GF_F32, gf_dims(1, 4), s01, 0);
    gf_test_check_node(g, gf_reduce_mean(X, (const int[]){ 1, 2 }, 2, 0), GF_F32, gf_dims(1, 2), m12, 1e-7);
    gf_test_check_node(g, gf_reduce_mean(X, (const int[]){ 0 }, 1, 0), GF_F32, gf_dims(2, 3, 4), m0, 1e-7);
    gf_test_check_node(g, gf_reduce_sum(X, NULL, 0, 0), GF_F32, gf_dims(0), (const float[]){ 276 }, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ 0, 1, 2 }, 3, 1), GF_F32, gf_dims(3, 1, 1, 1),
               (const float[]){ 276 }, 0);
    gf_test_check_node(g, gf_reduce_mean(X, NULL, 0, 1), GF_F32, gf_dims(3, 1, 1, 1), (const float[]){ 11.5f }, 1e-7);
    gf_graph_free(g);
}

/* ---- argmax, equal, cast ---- */

/* Rows of 1..40 with ties, -0 and +0, infinities and NaN: the first
 * maximum (the first NaN when there is one), on whichever kernel path
 * this run dispatches to (ctest runs this file on each: AVX-512, AVX2,
 * portable). */
static void argmax_rows_random(void **state)
{
    (void)state;
    gf_rng r;
    gf_rng_seed(&r, 17, 5);
    static const float pool[] = { 1, 2, 2, 3, 3, -0.0f, 0.0f, -1, INFINITY, -INFINITY, NAN };
    for (int len = 1; len <= 40; len++) {
        enum { ROWS = 60 };
        float x[ROWS * 40], want[ROWS];
        for (int i = 0; i < ROWS; i++) {
            for (int k = 0; k < len; k++) {
                uint32_t pick = gf_rng_below(&r, 40);
                x[i * len + k] = pick < 11 && (pick != 10 || i % 7 == 0) ? pool[pick] : (float)gf_rng_below(&r, 3);
            }
            int best = 0;
            for (int k = 1; k < len; k++) {
                float a = x[i * len + k], b = x[i * len + best];
                if (isnan(b)) break;
                if (isnan(a) || a > b) best = k;
            }
            want[i] = (float)best;
        }
        gf_graph *g = gf_graph_new();
        gf_node *y = gf_argmax(gf_test_const(g, gf_dims(2, ROWS, len), x), 1);
        gf_session *s = gf_session_new(g, NULL);
        const gf_tensor *t = gf_test_run1(s, NULL, 0, y);
        for (int i = 0; i < ROWS; i++)
            if (gf_tensor_data(t)[i] != want[i])
                fail_msg("len %d row %d: argmax %g, want %g", len, i, (double)gf_tensor_data(t)[i], (double)want[i]);
        gf_session_free(s);
        gf_graph_free(g);
    }
}

static void test_argmax(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    /* [3,4] with ties:
     *   row 0:  1  5  5  0   -> 1 (first of the two 5s)
     *   row 1:  7  2  7  7   -> 0
     *   row 2: -1 -1 -1 -1   -> 0
     * columns: (1,7,-1) -> 1, (5,2,-1) -> 0, (5,7,-1) -> 1, (0,7,-1) -> 1 */
    static const float x[12] = { 1, 5, 5, 0, 7, 2, 7, 7, -1, -1, -1, -1 };
    gf_node *X = gf_test_const(g, gf_dims(2, 3, 4), x);
    gf_node *a1 = gf_argmax(X, 1), *a0 = gf_argmax(X, 0), *am1 = gf_argmax(X, -1);
    assert_string_equal(gf_node_op(a1), "argmax");
    assert_int_equal(gf_node_dtype(a1), GF_I32);
    gf_test_assert_shape(gf_node_shape(a1), gf_dims(1, 3));
    gf_test_assert_shape(gf_node_shape(a0), gf_dims(1, 4));
    gf_test_check_node(g, a1, GF_I32, gf_dims(1, 3), (const float[]){ 1, 0, 0 }, 0);
    gf_test_check_node(g, am1, GF_I32, gf_dims(1, 3), (const float[]){ 1, 0, 0 }, 0);
    gf_test_check_node(g, a0, GF_I32, gf_dims(1, 4), (const float[]){ 1, 0, 1, 1 }, 0);
    /* [2,3] along axis 0: columns (3,1) -> 0, (3,3) tie -> 0, (9,9) tie -> 0 */
    static const float y[6] = { 3, 3, 9, 1, 3, 9 };
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(2, 2, 3), y), 0), GF_I32, gf_dims(1, 3),
               (const float[]){ 0, 0, 0 }, 0);
    /* rank 1 -> scalar; max last */
    static const float v[5] = { -3, 0, 2, 1, 4 };
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(1, 5), v), 0), GF_I32, gf_dims(0), (const float[]){ 4 }, 0);
    /* rank 3 [2,3,4]: z = 100 - i on the j = 0 rows (largest, decreasing in k),
     * z = i elsewhere (increasing in k); axis 1 -> 0 everywhere */
    float z[24];
    for (int i = 0; i < 24; i++) z[i] = (float)(i % 12 < 4 ? 100 - i : i);
    float want1[8];
    for (int i = 0; i < 8; i++) want1[i] = 0;
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(3, 2, 3, 4), z), 1), GF_I32, gf_dims(2, 2, 4), want1, 0);
    /* axis 2 of the same: j=0 rows decrease (max at k=0), others increase (k=3) */
    static const float want2[6] = { 0, 3, 3, 0, 3, 3 };
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(3, 2, 3, 4), z), 2), GF_I32, gf_dims(2, 2, 3), want2, 0);
    /* NaN wins, the first one (as NumPy): [1,NaN,5,NaN] -> 1, [NaN,9] -> 0,
     * [2,-inf,inf] -> 2 */
    static const float n1[4] = { 1, NAN, 5, NAN }, n2[2] = { NAN, 9 }, n3[3] = { 2, -INFINITY, INFINITY };
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(1, 4), n1), 0), GF_I32, gf_dims(0), (const float[]){ 1 }, 0);
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(1, 2), n2), 0), GF_I32, gf_dims(0), (const float[]){ 0 }, 0);
    gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(1, 3), n3), 0), GF_I32, gf_dims(0), (const float[]){ 2 }, 0);
    gf_graph_free(g);
}

/* gf__rng_fill_u32 (dropout's draws) gives exactly the stream of
 * gf_rng_u32 calls and leaves the generator where they would, for counts
 * around its four interleaved chains, from several seeds and streams. */
static void test_rng_fill_matches_draws(void **state)
{
    (void)state;
    static const int64_t counts[] = { 0, 1, 3, 4, 5, 8, 255, 256, 1001 };
    for (int seed = 0; seed < 3; seed++)
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            gf_rng a, b;
            gf_rng_seed(&a, 1234567ull * (uint64_t)seed + 9, (uint64_t)seed * 3 + 1);
            b = a;
            uint32_t got[1001], want[1001];
            gf__rng_fill_u32(&a, got, counts[ci]);
            for (int64_t i = 0; i < counts[ci]; i++) want[i] = gf_rng_u32(&b);
            if (counts[ci]) assert_memory_equal(got, want, (size_t)counts[ci] * sizeof got[0]);
            assert_true(a.state == b.state && a.inc == b.inc);
            assert_int_equal(gf_rng_u32(&a), gf_rng_u32(&b));
        }
}

/* argmax along rows of [rows,len] for lengths around the kernels' 8-float
 * blocks, with ties, NaN, infinities and -0 among small integers: against
 * the definition (first maximum; the first NaN wins), written out here. */
static void test_argmax_many_rows(void **state)
{
    (void)state;
    static const int64_t lens[] = { 1, 2, 3, 8, 10, 16, 17 };
    const float special[4] = { NAN, INFINITY, -INFINITY, -0.0f };
    gf_rng r;
    gf_rng_seed(&r, 7, 0);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int64_t rows = 45, len = lens[li];
        float x[45 * 17], want[45];
        for (int64_t i = 0; i < rows * len; i++) {
            uint32_t u = gf_rng_u32(&r);
            x[i] = u % 9 == 0 ? special[u / 9 % 4] : (float)(u % 5); /* ties likely */
        }
        for (int64_t i = 0; i < rows; i++) {
            const float *p = x + i * len;
            int64_t best = 0;
            for (int64_t k = 1; k < len && !isnan(p[best]); k++)
                if (isnan(p[k]) || p[k] > p[best]) best = k;
            want[i] = (float)best;
        }
        gf_graph *g = gf_graph_new();
        gf_test_check_node(g, gf_argmax(gf_test_const(g, gf_dims(2, rows, len), x), 1), GF_I32, gf_dims(1, rows),
                           want, 0);
        gf_graph_free(g);
    }
    /* Big enough to be split over two threads (by rows, in uneven tasks):
     * the same answers as the definition. */
    enum { ROWS = 5003, LEN = 10 };
    float *x = malloc(ROWS * LEN * sizeof *x), *want = malloc(ROWS * sizeof *want);
    assert_non_null(x);
    assert_non_null(want);
    for (int64_t i = 0; i < ROWS * LEN; i++) x[i] = (float)(gf_rng_u32(&r) % 7);
    x[4000 * LEN + 3] = NAN;
    for (int64_t i = 0; i < ROWS; i++) {
        int64_t best = 0;
        for (int64_t k = 1; k < LEN && !isnan(x[i * LEN + best]); k++)
            if (isnan(x[i * LEN + k]) || x[i * LEN + k] > x[i * LEN + best]) best = k;
        want[i] = (float)best;
    }
    gf_graph *g = gf_graph_new();
    gf_node *xp = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, LEN)); /* fed: not folded at plan time */
    gf_node *am = gf_argmax(xp, 1);
    gf_tensor *xt = gf_tensor_wrap(GF_F32, gf_dims(2, ROWS, LEN), x, NULL);
    gf_session *s2 = gf_session_new(g, &(gf_session_options){ .threads = 2 });
    const gf_tensor *t = gf_test_run1(s2, (gf_feed[]){ { xp, xt } }, 1, am);
    gf_test_assert_close(gf_tensor_data(t), want, ROWS, 0);
    gf_session_free(s2);
    gf_tensor_free(xt);
    gf_graph_free(g);
    free(x);
    free(want);
}

static void test_equal(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float a[6] = { 1, 2, 3, 3, 2, 1 }; /* [2,3] */
    static const float b[3] = { 1, 0, 1 };          /* [3] */
    gf_node *e = gf_equal(gf_test_const(g, gf_dims(2, 2, 3), a), gf_test_const(g, gf_dims(1, 3), b));
    assert_string_equal(gf_node_op(e), "equal");
    assert_int_equal(gf_node_dtype(e), GF_BOOL);
    gf_test_check_node(g, e, GF_BOOL, gf_dims(2, 2, 3), (const float[]){ 1, 0, 0, 0, 0, 1 }, 0);
    /* [2,1] vs [1,3] -> [2,3] */
    static const float c[2] = { 2, 3 }, d[3] = { 3, 2, 2 };
    gf_test_check_node(g, gf_equal(gf_test_const(g, gf_dims(2, 2, 1), c), gf_test_const(g, gf_dims(2, 1, 3), d)), GF_BOOL,
               gf_dims(2, 2, 3), (const float[]){ 0, 1, 1, 1, 0, 0 }, 0);
    /* scalar vs matrix */
    gf_test_check_node(g, gf_equal(gf_scalar(g, 3), gf_test_const(g, gf_dims(2, 2, 3), a)), GF_BOOL, gf_dims(2, 2, 3),
               (const float[]){ 0, 0, 1, 1, 0, 0 }, 0);
    /* int32 vs int32 (the article's accuracy): argmax rows of p and q */
    static const float p[6] = { 0.1f, 0.7f, 0.2f, 0.9f, 0.05f, 0.05f };
    static const float q[6] = { 0, 1, 0, 0, 0, 1 };
    gf_node *acc = gf_equal(gf_argmax(gf_test_const(g, gf_dims(2, 2, 3), p), 1), gf_argmax(gf_test_const(g, gf_dims(2, 2, 3), q), 1));
    gf_test_check_node(g, acc, GF_BOOL, gf_dims(1, 2), (const float[]){ 1, 0 }, 0);
    gf_test_check_node(g, gf_reduce_sum(gf_cast(acc, GF_F32), NULL, 0, 0), GF_F32, gf_dims(0), (const float[]){ 1 }, 0);
    gf_graph_free(g);
}

static void test_cast(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[8] = { 0, -0.0f, 2.5f, -1, 1e-30f, 3, -2.7f, 0.5f };
    gf_node *X = gf_test_const(g, gf_dims(1, 8), x);
    gf_node *b = gf_cast(X, GF_BOOL);
    assert_string_equal(gf_node_op(b), "cast");
    assert_int_equal(gf_node_dtype(b), GF_BOOL);
    static const float wb[8] = { 0, 0, 1, 1, 1, 1, 1, 1 };
    gf_test_check_node(g, b, GF_BOOL, gf_dims(1, 8), wb, 0);
    gf_test_check_node(g, gf_cast(b, GF_F32), GF_F32, gf_dims(1, 8), wb, 0);
    /* to int32: truncation toward zero */
    static const float y[8] = { 2.7f, -2.7f, 0.5f, -0.5f, 3, -3, 1234567.75f, -0.999f };
    static const float wi[8] = { 2, -2, 0, 0, 3, -3, 1234567, 0 };
    gf_node *i = gf_cast(gf_test_const(g, gf_dims(2, 2, 4), y), GF_I32);
    assert_int_equal(gf_node_dtype(i), GF_I32);
    gf_test_check_node(g, i, GF_I32, gf_dims(2, 2, 4), wi, 0);
    /* int32 -> float32 keeps the values; int32 -> bool */
    gf_test_check_node(g, gf_cast(i, GF_F32), GF_F32, gf_dims(2, 2, 4), wi, 0);
    gf_test_check_node(g, gf_cast(i, GF_BOOL), GF_BOOL, gf_dims(2, 2, 4), (const float[]){ 1, 1, 0, 0, 1, 1, 1, 0 }, 0);
    /* float -> float is the identity */
    gf_test_check_node(g, gf_cast(X, GF_F32), GF_F32, gf_dims(1, 8), x, 0);
    gf_graph_free(g);
}

/* ---- sources ---- */

static void test_sources(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float c[4] = { 1, 2, 3, 4 };
    gf_node *C = gf_test_const(g, gf_dims(2, 2, 2), c);
    assert_string_equal(gf_node_op(C), "constant");
    gf_test_check_node(g, C, GF_F32, gf_dims(2, 2, 2), c, 0);
    gf_node *z = gf_zeros(g, gf_dims(2, 3, 1));
    assert_string_equal(gf_node_op(z), "zeros");
    gf_test_check_node(g, z, GF_F32, gf_dims(2, 3, 1), (const float[]){ 0, 0, 0 }, 0);
    gf_node *v = gf_variable(g, "v", C);
    assert_string_equal(gf_node_op(v), "variable");
    assert_string_equal(gf_node_name(v), "v");
    gf_test_check_node(g, v, GF_F32, gf_dims(2, 2, 2), c, 0);
    gf_node *s = gf_scalar(g, -1.5f);
    gf_test_assert_shape(gf_node_shape(s), gf_dims(0));
    gf_test_check_node(g, s, GF_F32, gf_dims(0), (const float[]){ -1.5f }, 0);
    /* a variable initialised from an expression of another variable */
    gf_node *w = gf_variable(g, "w", gf_mul(v, gf_scalar(g, 2)));
    gf_test_check_node(g, w, GF_F32, gf_dims(2, 2, 2), (const float[]){ 2, 4, 6, 8 }, 0);
    /* a placeholder fetched is its fed value */
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(1, GF_ANY));
    assert_string_equal(gf_node_op(p), "placeholder");
    float pv[3] = { 9, 8, 7 };
    gf_tensor *pt = gf_tensor_wrap(GF_F32, gf_dims(1, 3), pv, NULL);
    gf_session *sess = gf_session_new(g, NULL);
    gf_feed f = { p, pt };
    expect_tensor(gf_test_run1(sess, &f, 1, p), GF_F32, gf_dims(1, 3), pv, 0);
    gf_session_free(sess);
    gf_tensor_free(pt);
    gf_graph_free(g);
}

/* ---- assign ---- */

static void test_assign(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float init[3] = { 1, 2, 3 };
    gf_node *v = gf_variable(g, "v", gf_test_const(g, gf_dims(1, 3), init));
    gf_node *as = gf_assign(v, gf_mul(v, gf_scalar(g, 2)));
    assert_string_equal(gf_node_op(as), "assign");
    gf_test_assert_shape(gf_node_shape(as), gf_dims(1, 3));
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    /* fetch {assign, v}: the assign gives the new value, v the value from before the run */
    gf_node *fetch[2] = { as, v };
    const gf_tensor *out[2];
    assert_int_equal(gf_session_run(s, NULL, 0, fetch, 2, NULL, 0, out), GF_OK);
    expect_tensor(out[0], GF_F32, gf_dims(1, 3), (const float[]){ 2, 4, 6 }, 0);
    expect_tensor(out[1], GF_F32, gf_dims(1, 3), init, 0);
    /* after the run the variable holds the new value */
    expect_tensor(gf_session_variable(s, v), GF_F32, gf_dims(1, 3), (const float[]){ 2, 4, 6 }, 0);
    /* again: doubles again */
    expect_tensor(gf_test_run1(s, NULL, 0, as), GF_F32, gf_dims(1, 3), (const float[]){ 4, 8, 12 }, 0);
    expect_tensor(gf_test_run1(s, NULL, 0, v), GF_F32, gf_dims(1, 3), (const float[]){ 4, 8, 12 }, 0);
    /* as a target (no fetch) */
    assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, &as, 1, NULL), GF_OK);
    expect_tensor(gf_session_variable(s, v), GF_F32, gf_dims(1, 3), (const float[]){ 8, 16, 24 }, 0);
    /* a second session starts from the initial value */
    gf_session *s2 = gf_session_new(g, NULL);
    expect_tensor(gf_session_variable(s2, v), GF_F32, gf_dims(1, 3), init, 0);
    gf_session_free(s2);
    gf_session_free(s);
    gf_graph_free(g);
}

/* ---- broadcasting ---- */

static void test_broadcast(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float m[6] = { 1, 2, 3, 4, 5, 6 }; /* [2,3] */
    static const float r[3] = { 10, 20, 30 };       /* [1,3] or [3] */
    static const float c[2] = { 100, 200 };         /* [2,1] */
    gf_node *M = gf_test_const(g, gf_dims(2, 2, 3), m);
    gf_node *R13 = gf_test_const(g, gf_dims(2, 1, 3), r), *R3 = gf_test_const(g, gf_dims(1, 3), r);
    gf_node *C21 = gf_test_const(g, gf_dims(2, 2, 1), c);
    static const float m_plus_r[6] = { 11, 22, 33, 14, 25, 36 };
    /* [n,m]+[1,m], both operand orders */
    gf_test_check_node(g, gf_add(M, R13), GF_F32, gf_dims(2, 2, 3), m_plus_r, 0);
    gf_test_check_node(g, gf_add(R13, M), GF_F32, gf_dims(2, 2, 3), m_plus_r, 0);
    /* non-commutative: [1,m]-[n,m] and [n,m]/[1,m] */
    gf_test_check_node(g, gf_sub(R13, M), GF_F32, gf_dims(2, 2, 3), (const float[]){ 9, 18, 27, 6, 15, 24 }, 0);
    gf_test_check_node(g, gf_div(M, R13), GF_F32, gf_dims(2, 2, 3),
               (const float[]){ 0.1f, 0.1f, 0.1f, 0.4f, 0.25f, 0.2f }, 1e-7);
    /* [n,m]+[m] */
    gf_test_check_node(g, gf_add(M, R3), GF_F32, gf_dims(2, 2, 3), m_plus_r, 0);
    gf_test_check_node(g, gf_sub(M, R3), GF_F32, gf_dims(2, 2, 3), (const float[]){ -9, -18, -27, -6, -15, -24 }, 0);
    /* [n,1]+[1,m] -> [n,m]: out[i][j] = c[i] + r[j] */
    gf_test_check_node(g, gf_add(C21, R13), GF_F32, gf_dims(2, 2, 3), (const float[]){ 110, 120, 130, 210, 220, 230 }, 0);
    gf_test_check_node(g, gf_sub(R13, C21), GF_F32, gf_dims(2, 2, 3),
               (const float[]){ -90, -80, -70, -190, -180, -170 }, 0);
    /* [n,m]*[n,1] */
    gf_test_check_node(g, gf_mul(M, C21), GF_F32, gf_dims(2, 2, 3), (const float[]){ 100, 200, 300, 800, 1000, 1200 }, 0);
    /* scalar+[n,m], [n,m]-scalar, scalar/[n,m] */
    gf_node *two = gf_scalar(g, 2);
    gf_test_check_node(g, gf_add(two, M), GF_F32, gf_dims(2, 2, 3), (const float[]){ 3, 4, 5, 6, 7, 8 }, 0);
    gf_test_check_node(g, gf_sub(M, two), GF_F32, gf_dims(2, 2, 3), (const float[]){ -1, 0, 1, 2, 3, 4 }, 0);
    gf_test_check_node(g, gf_div(two, M), GF_F32, gf_dims(2, 2, 3),
               (const float[]){ 2, 1, 0.666666667f, 0.5f, 0.4f, 0.333333333f }, 1e-7);
    /* rank 3 [2,1,3] * [4,1] -> [2,4,3]; python loops out[i][j][k] = P[i][0][k] * Q[j][0] */
    static const float P[6] = { 1, 2, 3, -1, 0.5f, 2 };
    static const float Q[4] = { 1, 2, -3, 0.5f };
    static const float pq[24] = { 1, 2, 3, 2, 4, 6, -3, -6, -9, 0.5f, 1, 1.5f,
                                  -1, 0.5f, 2, -2, 1, 4, 3, -1.5f, -6, -0.5f, 0.25f, 1 };
    gf_node *PQ = gf_mul(gf_test_const(g, gf_dims(3, 2, 1, 3), P), gf_test_const(g, gf_dims(2, 4, 1), Q));
    gf_test_assert_shape(gf_node_shape(PQ), gf_dims(3, 2, 4, 3));
    gf_test_check_node(g, PQ, GF_F32, gf_dims(3, 2, 4, 3), pq, 0);
    gf_test_check_node(g, gf_mul(gf_test_const(g, gf_dims(2, 4, 1), Q), gf_test_const(g, gf_dims(3, 2, 1, 3), P)), GF_F32,
               gf_dims(3, 2, 4, 3), pq, 0);
    /* rank 4 [2,1,1,2] + [1,2,1] -> [2,1,2,2] */
    static const float e4a[4] = { 1, 2, 3, 4 }, e4b[2] = { 10, 20 };
    gf_test_check_node(g, gf_add(gf_test_const(g, gf_dims(4, 2, 1, 1, 2), e4a), gf_test_const(g, gf_dims(3, 1, 2, 1), e4b)), GF_F32,
               gf_dims(4, 2, 1, 2, 2), (const float[]){ 11, 12, 21, 22, 13, 14, 23, 24 }, 0);
    gf_graph_free(g);
}

/* A placeholder [?,3] fed with different batch sizes in successive runs of
 * one session: the cached plan's buffers follow the fed shape. */
static void test_open_batch_reuse(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    static const float bias[3] = { 1, 2, 3 };
    static const float w[6] = { 1, 0, 0, 1, 1, 1 }; /* [3,2] */
    gf_node *z = gf_add(x, gf_test_const(g, gf_dims(2, 1, 3), bias));
    gf_node *y = gf_matmul(z, gf_test_const(g, gf_dims(2, 3, 2), w));
    gf_node *col = gf_reduce_sum(y, (const int[]){ 0 }, 1, 0);
    gf_node *am = gf_argmax(z, 1);
    gf_test_assert_shape(gf_node_shape(z), gf_dims(2, GF_ANY, 3));
    gf_test_assert_shape(gf_node_shape(y), gf_dims(2, GF_ANY, 2));
    gf_test_assert_shape(gf_node_shape(am), gf_dims(1, GF_ANY));
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    const int batches[5] = { 2, 5, 1, 2, 7 };
    for (int r = 0; r < 5; r++) {
        int n = batches[r];
        float xv[21], yw[14], cw[2] = { 0, 0 }, aw[7];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 3; j++) xv[i * 3 + j] = (float)((i + 1) * (j == r % 3 ? -1 : 1) * (j + 1 + r));
            /* z = x + bias; y[i] = (z0 + z2, z1 + z2) */
            float z0 = xv[i * 3] + 1, z1 = xv[i * 3 + 1] + 2, z2 = xv[i * 3 + 2] + 3;
            yw[i * 2] = z0 + z2;
            yw[i * 2 + 1] = z1 + z2;
            cw[0] += yw[i * 2];
            cw[1] += yw[i * 2 + 1];
            aw[i] = (float)(z0 >= z1 && z0 >= z2 ? 0 : z1 >= z2 ? 1 : 2);
        }
        gf_tensor *xt = gf_tensor_wrap(GF_F32, gf_dims(2, n, 3), xv, NULL);
        assert_non_null(xt);
        gf_feed f = { x, xt };
        gf_node *fetch[3] = { y, col, am };
        const gf_tensor *out[3];
        gf_status st = gf_session_run(s, &f, 1, fetch, 3, NULL, 0, out);
        if (st != GF_OK) fail_msg("batch %d: %s", n, gf_session_error(s));
        expect_tensor(out[0], GF_F32, gf_dims(2, n, 2), yw, 0);
        expect_tensor(out[1], GF_F32, gf_dims(1, 2), cw, 0);
        expect_tensor(out[2], GF_I32, gf_dims(1, n), aw, 0);
        gf_tensor_free(xt);
    }
    gf_session_free(s);
    gf_graph_free(g);
}

/* The article's forward pass shape-wise: [?,784] @ [784,30] + [1,30] with a
 * batch of 3, vs a naive double loop. */
static void test_dense_layer(void **state)
{
    (void)state;
    enum { B = 3, I = 784, H = 30 };
    static float xv[B * I], wv[I * H], bv[H], want[B * H];
    fill_random(xv, B * I, 1);
    fill_random(wv, I * H, 2);
    fill_random(bv, H, 3);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < H; j++) {
            double acc = bv[j];
            for (int p = 0; p < I; p++) acc += (double)xv[i * I + p] * wv[p * H + j];
            want[i * H + j] = (float)(1.0 / (1.0 + exp(-acc)));
        }
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "a_0", GF_F32, gf_dims(2, GF_ANY, I));
    gf_node *w = gf_variable(g, "w_1", gf_test_const(g, gf_dims(2, I, H), wv));
    gf_node *b = gf_variable(g, "b_1", gf_test_const(g, gf_dims(2, 1, H), bv));
    gf_node *a1 = gf_sigmoid(gf_add(gf_matmul(x, w), b));
    gf_test_assert_shape(gf_node_shape(a1), gf_dims(2, GF_ANY, H));
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *xt = gf_tensor_wrap(GF_F32, gf_dims(2, B, I), xv, NULL);
    gf_feed f = { x, xt };
    expect_tensor(gf_test_run1(s, &f, 1, a1), GF_F32, gf_dims(2, B, H), want, 1e-5);
    gf_tensor_free(xt);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Rank 4: transpose with a perm, reductions, argmax. x [2,1,3,2] = 0..11. */
static void test_rank4(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)i;
    gf_node *X = gf_test_const(g, gf_dims(4, 2, 1, 3, 2), x);
    /* perm {3,2,0,1}: out [2,3,2,1], out[a][b][c][d] = x[c][d][b][a] (python loops) */
    static const float tp[12] = { 0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11 };
    gf_test_check_node(g, gf_transpose_perm(X, (const int[]){ 3, 2, 0, 1 }), GF_F32, gf_dims(4, 2, 3, 2, 1), tp, 0);
    /* sum over axes 1 and 3: x[i][0][k][0] + x[i][0][k][1] */
    static const float s13[6] = { 1, 5, 9, 13, 17, 21 };
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ 1, 3 }, 2, 1), GF_F32, gf_dims(4, 2, 1, 3, 1), s13, 0);
    gf_test_check_node(g, gf_reduce_sum(X, (const int[]){ -1, -3 }, 2, 0), GF_F32, gf_dims(2, 2, 3), s13, 0);
    gf_test_check_node(g, gf_reduce_mean(X, NULL, 0, 0), GF_F32, gf_dims(0), (const float[]){ 5.5f }, 1e-7);
    /* along axis 2 the values increase: index 2 everywhere */
    gf_test_check_node(g, gf_argmax(X, 2), GF_I32, gf_dims(3, 2, 1, 2), (const float[]){ 2, 2, 2, 2 }, 0);
    /* [2,1,3,2] + [3,1] broadcast: adds 100*k to x[i][0][k][l] */
    static const float k100[3] = { 0, 100, 200 };
    static const float bc[12] = { 0, 1, 102, 103, 204, 205, 6, 7, 108, 109, 210, 211 };
    gf_test_check_node(g, gf_add(X, gf_test_const(g, gf_dims(2, 3, 1), k100)), GF_F32, gf_dims(4, 2, 1, 3, 2), bc, 0);
    gf_graph_free(g);
}

/* An open batch fed with 0 rows: sums are 0, means NaN (as NumPy), matmul
 * gives [0,m]; argmax along the empty axis is refused at run time. */
static void test_zero_batch(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *rs = gf_reduce_sum(x, (const int[]){ 0 }, 1, 0);
    gf_node *rm = gf_reduce_mean(x, (const int[]){ 0 }, 1, 0);
    gf_node *mm = gf_matmul(x, gf_zeros(g, gf_dims(2, 3, 2)));
    gf_node *am = gf_argmax(x, 1), *am0 = gf_argmax(x, 0);
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *t0 = gf_tensor_new(GF_F32, gf_dims(2, 0, 3), NULL);
    assert_non_null(t0);
    gf_feed f = { x, t0 };
    gf_node *fetch[4] = { rs, rm, mm, am };
    const gf_tensor *out[4];
    assert_int_equal(gf_session_run(s, &f, 1, fetch, 4, NULL, 0, out), GF_OK);
    expect_tensor(out[0], GF_F32, gf_dims(1, 3), (const float[]){ 0, 0, 0 }, 0);
    gf_test_assert_shape(gf_tensor_shape(out[1]), gf_dims(1, 3));
    for (int i = 0; i < 3; i++) assert_true(isnan(gf_tensor_data(out[1])[i]));
    gf_test_assert_shape(gf_tensor_shape(out[2]), gf_dims(2, 0, 2));
    gf_test_assert_shape(gf_tensor_shape(out[3]), gf_dims(1, 0));
    const gf_tensor *o;
    assert_int_equal(gf_session_run(s, &f, 1, &am0, 1, NULL, 0, &o), GF_ERR_SHAPE);
    assert_non_null(strstr(gf_session_error(s), "empty"));
    /* then a non-empty batch in the same session */
    float xv[3] = { 1, 2, 3 };
    gf_tensor *t1 = gf_tensor_wrap(GF_F32, gf_dims(2, 1, 3), xv, NULL);
    f.value = t1;
    assert_int_equal(gf_session_run(s, &f, 1, fetch, 4, NULL, 0, out), GF_OK);
    expect_tensor(out[0], GF_F32, gf_dims(1, 3), xv, 0);
    expect_tensor(out[1], GF_F32, gf_dims(1, 3), xv, 0);
    expect_tensor(out[3], GF_I32, gf_dims(1, 1), (const float[]){ 2 }, 0);
    gf_tensor_free(t0);
    gf_tensor_free(t1);
    gf_session_free(s);
    gf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_same_shape),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_sigma_from_primitives),
        cmocka_unit_test(test_matmul_transposes),
        cmocka_unit_test(test_matmul_large_random),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_transpose_large),
        cmocka_unit_test(test_reduce_2d),
        cmocka_unit_test(test_reduce_3d),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(argmax_rows_random),
        cmocka_unit_test(test_argmax_many_rows),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_cast),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_broadcast),
        cmocka_unit_test(test_open_batch_reuse),
        cmocka_unit_test(test_dense_layer),
        cmocka_unit_test(test_rank4),
        cmocka_unit_test(test_zero_batch),
        cmocka_unit_test(test_rng_fill_matches_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
