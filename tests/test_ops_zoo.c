/*
 * test_ops_zoo.c — the model-zoo ops: forward values against hand-computed ones, extreme
 * inputs, broadcasting, error messages, dropout's masks, second derivatives, fusion, the zoo net.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parameterised builder of models/zoo.c (linked through gf_testutil). */
#include "zoo.h"

/* Expected values were computed with plain python3 (math module, no
 * numpy) over the same inputs and printed with "%.9g"; small integers and
 * values like 0.5 are exact. */

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof((a)[0])))

/* An int32 constant (constants are float32; cast makes the type). */
static gf_node *icst(gf_graph *g, gf_shape s, const float *data) { return gf_cast(gf_test_const(g, s, data), GF_I32); }

/* The graph's error must contain every fragment (NULL-terminated). */
static void expect_error(gf_graph *g, gf_status code, ...)
{
    assert_int_equal(gf_graph_status(g), code);
    const char *msg = gf_graph_error(g);
    va_list ap;
    va_start(ap, code);
    for (const char *frag; (frag = va_arg(ap, const char *));)
        if (!strstr(msg, frag)) fail_msg("error \"%s\" lacks \"%s\"", msg, frag);
    va_end(ap);
}

/* ---- elementwise ---- */

static void activations(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[] = { -2.5f, -0.5f, 0.0f, 0.75f, 3.0f, -1e30f, 1e30f };
    gf_node *X = gf_test_const(g, gf_dims(1, 7), x);
    static const float relu[] = { 0, 0, 0, 0.75f, 3, 0, 1e30f };
    static const float tanh_[] = { -0.986614298f, -0.462117157f, 0, 0.635148952f, 0.995054754f, -1, 1 };
    static const float square[] = { 6.25f, 0.25f, 0, 0.5625f, 9, INFINITY, INFINITY };
    gf_node *r = gf_relu(X), *t = gf_tanh(X), *s = gf_square(X);
    assert_string_equal(gf_node_op(r), "relu");
    assert_string_equal(gf_node_op(t), "tanh");
    assert_string_equal(gf_node_op(s), "square");
    gf_test_check_node(g, r, GF_F32, gf_dims(1, 7), relu, 0);
    gf_test_check_node(g, t, GF_F32, gf_dims(1, 7), tanh_, 1e-6);
    /* square overflows to inf for 1e30, as float32 must: compare the rest */
    gf_session *sess = gf_session_new(g, NULL);
    const gf_tensor *sq = gf_test_run1(sess, NULL, 0, s);
    gf_test_assert_close(gf_tensor_data(sq), square, 5, 0);
    assert_true(isinf(gf_tensor_data(sq)[5]) && isinf(gf_tensor_data(sq)[6]));
    gf_session_free(sess);

    /* log: exact where it can be, finite for 1e30 and 1e-30; -inf at 0, NaN below */
    static const float lx[] = { 0.5f, 1, 2, 10, 1e30f, 1e-30f, 0, -1 };
    static const float lw[] = { -0.693147181f, 0, 0.693147181f, 2.30258509f, 69.0775528f, -69.0775528f };
    gf_node *L = gf_log(gf_test_const(g, gf_dims(1, 8), lx));
    assert_string_equal(gf_node_op(L), "log");
    sess = gf_session_new(g, NULL);
    const gf_tensor *lt = gf_test_run1(sess, NULL, 0, L);
    gf_test_assert_close(gf_tensor_data(lt), lw, 6, 1e-6);
    assert_true(isinf(gf_tensor_data(lt)[6]) && gf_tensor_data(lt)[6] < 0);
    assert_true(isnan(gf_tensor_data(lt)[7]));
    gf_session_free(sess);
    gf_graph_free(g);
}

static void maximum_broadcasts(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float a[6] = { 1, -2, 3, 0.5f, 5, -6 };
    static const float row[3] = { 0, 2, 4 };
    static const float col[2] = { 1, -1 };
    gf_node *A = gf_test_const(g, gf_dims(2, 2, 3), a);
    /* [2,3] vs [3]: by hand, elementwise max against 0, 2, 4 on each row */
    static const float w_row[6] = { 1, 2, 4, 0.5f, 5, 4 };
    gf_node *m1 = gf_maximum(A, gf_test_const(g, gf_dims(1, 3), row));
    assert_string_equal(gf_node_op(m1), "maximum");
    gf_test_check_node(g, m1, GF_F32, gf_dims(2, 2, 3), w_row, 0);
    /* [2,1] vs [1,3] -> [2,3] */
    static const float w_outer[6] = { 1, 2, 4, 0, 2, 4 };
    gf_node *m2 = gf_maximum(gf_test_const(g, gf_dims(2, 2, 1), col), gf_test_const(g, gf_dims(2, 1, 3), row));
    gf_test_check_node(g, m2, GF_F32, gf_dims(2, 2, 3), w_outer, 0);
    /* scalar first */
    static const float w_scalar[6] = { 1, 0, 3, 0.5f, 5, 0 };
    gf_node *m3 = gf_maximum(gf_scalar(g, 0), A);
    gf_test_check_node(g, m3, GF_F32, gf_dims(2, 2, 3), w_scalar, 0);
    /* NaN propagates from either side */
    gf_node *m4 = gf_maximum(gf_test_const(g, gf_dims(1, 2), (const float[]){ NAN, 1 }),
                             gf_test_const(g, gf_dims(1, 2), (const float[]){ 1, NAN }));
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *t = gf_test_run1(s, NULL, 0, m4);
    assert_true(isnan(gf_tensor_data(t)[0]) && isnan(gf_tensor_data(t)[1]));
    gf_session_free(s);
    /* shapes that do not broadcast */
    gf_maximum(A, gf_test_const(g, gf_dims(1, 2), col));
    expect_error(g, GF_ERR_SHAPE, "maximum \"maximum", "[2,3]", "[2]", "do not broadcast", NULL);
    gf_graph_free(g);
}

/* Ties send the gradient to the first input; relu's gradient at 0 is 0. */
static void kinks_follow_tensorflow(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *a = gf_placeholder(g, "a", GF_F32, gf_dims(1, 3));
    gf_node *b = gf_placeholder(g, "b", GF_F32, gf_dims(1, 3));
    gf_node *y = gf_maximum(a, b), *r = gf_relu(a);
    gf_node *d[2], *dr;
    assert_int_equal(gf_gradients(g, &y, 1, (gf_node *[]){ a, b }, 2, NULL, d), GF_OK);
    assert_int_equal(gf_gradients(g, &r, 1, &a, 1, NULL, &dr), GF_OK);
    float av[3] = { 1, 2, 0 }, bv[3] = { 1, 3, -1 };
    gf_tensor *ta = gf_tensor_wrap(GF_F32, gf_dims(1, 3), av, NULL);
    gf_tensor *tb = gf_tensor_wrap(GF_F32, gf_dims(1, 3), bv, NULL);
    gf_feed f[2] = { { a, ta }, { b, tb } };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out[3];
    assert_int_equal(gf_session_run(s, f, 2, (gf_node *[]){ d[0], d[1], dr }, 3, NULL, 0, out), GF_OK);
    gf_test_assert_close(gf_tensor_data(out[0]), (const float[]){ 1, 0, 1 }, 3, 0);
    gf_test_assert_close(gf_tensor_data(out[1]), (const float[]){ 0, 1, 0 }, 3, 0);
    gf_test_assert_close(gf_tensor_data(out[2]), (const float[]){ 1, 1, 0 }, 3, 0);
    gf_session_free(s);
    gf_tensor_free(ta);
    gf_tensor_free(tb);
    gf_graph_free(g);
}

/* ---- softmax family ---- */

static void softmax_values(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[6] = { 1, 2, 3, -1, 0, 0.5f };
    gf_node *X = gf_test_const(g, gf_dims(2, 2, 3), x);
    static const float sm[6] = { 0.0900305732f, 0.244728471f, 0.665240956f,
                                 0.121951652f, 0.33149896f, 0.546549387f };
    static const float lsm[6] = { -2.40760596f, -1.40760596f, -0.407605964f,
                                  -2.10413061f, -1.10413061f, -0.604130605f };
    gf_node *s = gf_softmax(X), *l = gf_log_softmax(X);
    assert_string_equal(gf_node_op(s), "softmax");
    assert_string_equal(gf_node_op(l), "log_softmax");
    gf_test_check_node(g, s, GF_F32, gf_dims(2, 2, 3), sm, 1e-6);
    gf_test_check_node(g, l, GF_F32, gf_dims(2, 2, 3), lsm, 1e-6);
    /* rank 1 and rank 3 work along the last axis too */
    gf_test_check_node(g, gf_softmax(gf_test_const(g, gf_dims(1, 3), x)), GF_F32, gf_dims(1, 3), sm, 1e-6);
    gf_test_check_node(g, gf_log_softmax(gf_test_const(g, gf_dims(3, 2, 1, 3), x)), GF_F32, gf_dims(3, 2, 1, 3), lsm, 1e-6);
    gf_graph_free(g);
}

static void softmax_extremes(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    /* rows: [1e30, 0], [-1e30, 0], [1e30, 1e30], [-1e30, -1e30] */
    static const float x[8] = { 1e30f, 0, -1e30f, 0, 1e30f, 1e30f, -1e30f, -1e30f };
    gf_node *X = gf_test_const(g, gf_dims(2, 4, 2), x);
    static const float sm[8] = { 1, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0.5f };
    static const float lsm[8] = { 0, -1e30f, -1e30f, 0, -0.693147181f, -0.693147181f, -0.693147181f, -0.693147181f };
    gf_test_check_node(g, gf_softmax(X), GF_F32, gf_dims(2, 4, 2), sm, 0);
    gf_test_check_node(g, gf_log_softmax(X), GF_F32, gf_dims(2, 4, 2), lsm, 1e-6);

    /* cross-entropy with such logits stays finite, and so do its gradients */
    static const float lab[8] = { 0, 1, 0, 1, 1, 0, 0.5f, 0.5f };
    gf_node *L = gf_placeholder(g, "labels", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *Z = gf_placeholder(g, "logits", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *xent = gf_softmax_cross_entropy_with_logits(L, Z);
    gf_test_assert_shape(gf_node_shape(xent), gf_dims(1, GF_ANY));
    gf_node *d[2];
    assert_int_equal(gf_gradients(g, &xent, 1, (gf_node *[]){ L, Z }, 2, NULL, d), GF_OK);
    gf_tensor *tl = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 2), (float *)lab, NULL);
    gf_tensor *tz = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 2), (float *)x, NULL);
    gf_feed f[2] = { { L, tl }, { Z, tz } };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out[3];
    assert_int_equal(gf_session_run(s, f, 2, (gf_node *[]){ xent, d[0], d[1] }, 3, NULL, 0, out), GF_OK);
    /* loss: 1e30 (the wrong class by 1e30), 0, ln 2, ln 2 */
    gf_test_assert_close(gf_tensor_data(out[0]), (const float[]){ 1e30f, 0, 0.693147181f, 0.693147181f }, 4, 1e-6);
    /* d logits = softmax - labels */
    gf_test_assert_close(gf_tensor_data(out[2]), (const float[]){ 1, -1, 0, 0, -0.5f, 0.5f, 0, 0 }, 8, 1e-6);
    /* d labels = -log_softmax */
    gf_test_assert_close(gf_tensor_data(out[1]),
                         (const float[]){ 0, 1e30f, 1e30f, 0, 0.693147181f, 0.693147181f, 0.693147181f,
                                          0.693147181f }, 8, 1e-6);
    for (int k = 0; k < 3; k++)
        for (int64_t i = 0; i < gf_tensor_count(out[k]); i++) assert_true(isfinite(gf_tensor_data(out[k])[i]));
    gf_session_free(s);
    gf_tensor_free(tl);
    gf_tensor_free(tz);
    gf_graph_free(g);
}

static void cross_entropy_values(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float z[6] = { 1, 2, 3, -1, 0, 0.5f };
    static const float lab[6] = { 0, 0, 1, 0.25f, 0.75f, 0 };
    gf_node *Z = gf_test_const(g, gf_dims(2, 2, 3), z), *L = gf_test_const(g, gf_dims(2, 2, 3), lab);
    gf_node *xent = gf_softmax_cross_entropy_with_logits(L, Z);
    assert_string_equal(gf_node_op(xent), "softmax_cross_entropy_with_logits");
    gf_test_check_node(g, xent, GF_F32, gf_dims(1, 2), (const float[]){ 0.407605964f, 1.35413061f }, 1e-6);
    /* gradients with dy = 1: softmax - labels, and -log_softmax */
    gf_node *d[2];
    assert_int_equal(gf_gradients(g, &xent, 1, (gf_node *[]){ L, Z }, 2, NULL, d), GF_OK);
    gf_test_check_node(g, d[1], GF_F32, gf_dims(2, 2, 3),
               (const float[]){ 0.0900305732f, 0.244728471f, -0.334759044f, -0.128048348f, -0.41850104f,
                                0.546549387f }, 1e-6);
    gf_test_check_node(g, d[0], GF_F32, gf_dims(2, 2, 3),
               (const float[]){ 2.40760596f, 1.40760596f, 0.407605964f, 2.10413061f, 1.10413061f,
                                0.604130605f }, 1e-6);
    gf_graph_free(g);

    /* errors name the op, the node and both shapes */

    g = gf_graph_new();
    gf_node *a = gf_placeholder(g, "a", GF_F32, gf_dims(2, 2, 3));
    gf_node *b = gf_placeholder(g, "b", GF_F32, gf_dims(2, 2, 4));
    gf_softmax_cross_entropy_with_logits(a, b);
    expect_error(g, GF_ERR_SHAPE, "softmax_cross_entropy_with_logits \"softmax_cross_entropy_with_logits\"",
                 "labels of shape [2,3]", "logits of shape [2,4]", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    gf_softmax(gf_scalar(g, 1));
    expect_error(g, GF_ERR_SHAPE, "softmax \"softmax\": input is a scalar", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    gf_log_softmax(gf_placeholder(g, "i", GF_I32, gf_dims(1, 3)));
    expect_error(g, GF_ERR_SHAPE, "log_softmax \"log_softmax\"", "int32", "expected float32", NULL);
    gf_graph_free(g);
}

/* ---- layout ---- */

static void reshape_values_and_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[6] = { 1, 2, 3, 4, 5, 6 };
    gf_node *X = gf_test_const(g, gf_dims(2, 2, 3), x);
    gf_node *r = gf_reshape(X, gf_dims(2, 3, 2));
    assert_string_equal(gf_node_op(r), "reshape");
    gf_test_check_node(g, r, GF_F32, gf_dims(2, 3, 2), x, 0);
    gf_test_check_node(g, gf_reshape(X, gf_dims(1, GF_ANY)), GF_F32, gf_dims(1, 6), x, 0);
    gf_test_check_node(g, gf_reshape(X, gf_dims(3, 1, GF_ANY, 2)), GF_F32, gf_dims(3, 1, 3, 2), x, 0);
    /* int32 keeps its dtype */
    gf_test_check_node(g, gf_reshape(icst(g, gf_dims(1, 6), x), gf_dims(2, 2, 3)), GF_I32, gf_dims(2, 2, 3), x, 0);

    /* an open batch: inferred at run time, gradient back in the fed shape */
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(2, GF_ANY, 6));
    gf_node *q = gf_reshape(p, gf_dims(2, GF_ANY, 3));
    gf_test_assert_shape(gf_node_shape(q), gf_dims(2, GF_ANY, 3));
    gf_node *w = gf_test_const(g, gf_dims(1, 3), (const float[]){ 1, 10, 100 });
    gf_node *y = gf_mul(q, w), *dp;
    assert_int_equal(gf_gradients(g, &y, 1, &p, 1, NULL, &dp), GF_OK);
    gf_test_assert_shape(gf_node_shape(dp), gf_dims(2, GF_ANY, 6));
    float pv[12] = { 0 };
    gf_tensor *tp = gf_tensor_wrap(GF_F32, gf_dims(2, 2, 6), pv, NULL);
    gf_feed f = { p, tp };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *d = gf_test_run1(s, &f, 1, dp);
    gf_test_assert_shape(gf_tensor_shape(d), gf_dims(2, 2, 6));
    gf_test_assert_close(gf_tensor_data(d), (const float[]){ 1, 10, 100, 1, 10, 100, 1, 10, 100, 1, 10, 100 }, 12, 0);
    /* a fed count the target cannot take is a run-time shape error */
    gf_node *bad = gf_reshape(p, gf_dims(2, 5, GF_ANY));
    const gf_tensor *out;
    assert_int_equal(gf_session_run(s, &f, 1, &bad, 1, NULL, 0, &out), GF_ERR_SHAPE);
    if (!strstr(gf_session_error(s), "cannot reshape 12 elements (shape [2,6]) into shape [5,?]"))
        fail_msg("%s", gf_session_error(s));
    gf_session_free(s);
    gf_tensor_free(tp);

    gf_reshape(X, gf_dims(2, 4, 2));
    expect_error(g, GF_ERR_SHAPE, "reshape \"reshape", "cannot reshape 6 elements (shape [2,3]) into shape [4,2]",
                 NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    X = gf_test_const(g, gf_dims(2, 2, 3), x);
    gf_reshape(X, gf_dims(2, GF_ANY, GF_ANY));
    expect_error(g, GF_ERR_SHAPE, "reshape: target shape [?,?]", "dimension 1 is -1", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    X = gf_test_const(g, gf_dims(2, 2, 3), x);
    gf_reshape(X, gf_dims(2, 4, GF_ANY));
    expect_error(g, GF_ERR_SHAPE, "into shape [4,?]", "must divide", NULL);
    gf_graph_free(g);
}

static void concat_values_and_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float a[6] = { 1, 2, 3, 4, 5, 6 };
    static const float b[4] = { 7, 8, 9, 10 };
    gf_node *A = gf_test_const(g, gf_dims(2, 2, 3), a);
    gf_node *c1 = gf_concat(A, gf_test_const(g, gf_dims(2, 2, 2), b), 1);
    assert_string_equal(gf_node_op(c1), "concat");
    gf_test_check_node(g, c1, GF_F32, gf_dims(2, 2, 5), (const float[]){ 1, 2, 3, 7, 8, 4, 5, 6, 9, 10 }, 0);
    gf_node *c0 = gf_concat(A, gf_test_const(g, gf_dims(2, 1, 3), b), 0);
    gf_test_check_node(g, c0, GF_F32, gf_dims(2, 3, 3), (const float[]){ 1, 2, 3, 4, 5, 6, 7, 8, 9 }, 0);
    gf_node *cl = gf_concat(A, gf_test_const(g, gf_dims(2, 2, 1), b), -1);
    gf_test_check_node(g, cl, GF_F32, gf_dims(2, 2, 4), (const float[]){ 1, 2, 3, 7, 4, 5, 6, 8 }, 0);
    /* three inputs by chaining; int32 stays int32 */
    gf_node *i3 = gf_concat(gf_concat(icst(g, gf_dims(1, 2), a), icst(g, gf_dims(1, 1), b), 0),
                            icst(g, gf_dims(1, 2), b + 2), 0);
    gf_test_check_node(g, i3, GF_I32, gf_dims(1, 5), (const float[]){ 1, 2, 7, 9, 10 }, 0);
    /* open dimensions */
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_test_assert_shape(gf_node_shape(gf_concat(p, A, 0)), gf_dims(2, GF_ANY, 3));
    gf_test_assert_shape(gf_node_shape(gf_concat(p, gf_placeholder(g, "q", GF_F32, gf_dims(2, GF_ANY, 2)), 1)),
                 gf_dims(2, GF_ANY, 5));

    gf_concat(A, gf_placeholder(g, "b", GF_F32, gf_dims(2, 3, 3)), 1);
    expect_error(g, GF_ERR_SHAPE, "concat \"concat", "shapes [2,3] and [3,3]", "except along axis 1", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    A = gf_test_const(g, gf_dims(2, 2, 3), a);
    gf_name(A, "a");
    gf_concat(A, A, 2);
    expect_error(g, GF_ERR_ARG, "concat: axis 2 is out of range for input \"a\" of shape [2,3]", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    gf_concat(gf_scalar(g, 1), icst(g, gf_dims(0), a), 0);
    assert_int_not_equal(gf_graph_status(g), GF_OK);
    gf_graph_free(g);
}

static void rows_sliced_gathered_one_hot(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    static const float x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    gf_node *X = gf_test_const(g, gf_dims(2, 4, 2), x);
    gf_node *sl = gf_slice_rows(X, 1, 2);
    assert_string_equal(gf_node_op(sl), "slice_rows");
    gf_test_check_node(g, sl, GF_F32, gf_dims(2, 2, 2), (const float[]){ 3, 4, 5, 6 }, 0);
    gf_test_check_node(g, gf_slice_rows(X, 4, 0), GF_F32, gf_dims(2, 0, 2), x, 0);

    /* gather: repeated rows, an out-of-range index (a row of zeros), rank-2 indices */
    gf_node *idx = icst(g, gf_dims(1, 4), (const float[]){ 3, 0, 3, 9 });
    gf_node *ga = gf_gather_rows(X, idx);
    assert_string_equal(gf_node_op(ga), "gather_rows");
    gf_test_check_node(g, ga, GF_F32, gf_dims(2, 4, 2), (const float[]){ 7, 8, 1, 2, 7, 8, 0, 0 }, 0);
    gf_node *idx2 = icst(g, gf_dims(2, 2, 2), (const float[]){ 1, 2, 0, 0 });
    gf_test_check_node(g, gf_gather_rows(X, idx2), GF_F32, gf_dims(3, 2, 2, 2), (const float[]){ 3, 4, 5, 6, 1, 2, 1, 2 }, 0);
    /* gradient: the rows scatter-added back, the repeated row twice */
    gf_node *d;
    gf_node *y = gf_mul(ga, gf_test_const(g, gf_dims(2, 4, 2), (const float[]){ 1, 2, 3, 4, 5, 6, 7, 8 }));
    assert_int_equal(gf_gradients(g, &y, 1, &X, 1, NULL, &d), GF_OK);
    gf_test_check_node(g, d, GF_F32, gf_dims(2, 4, 2), (const float[]){ 3, 4, 0, 0, 0, 0, 6, 8 }, 0);

    /* one_hot, with indices out of range giving zero rows */
    gf_node *oh = gf_one_hot(icst(g, gf_dims(1, 4), (const float[]){ 2, 0, -1, 3 }), 3);
    assert_string_equal(gf_node_op(oh), "one_hot");
    gf_test_check_node(g, oh, GF_F32, gf_dims(2, 4, 3), (const float[]){ 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 0);
    gf_test_check_node(g, gf_one_hot(icst(g, gf_dims(0), (const float[]){ 1 }), 2), GF_F32, gf_dims(1, 2),
               (const float[]){ 0, 1 }, 0);

    /* out-of-range rows: at build time when known, at run time otherwise */
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *ps = gf_slice_rows(p, 1, 3);
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(2, 3, 2), (float *)x, NULL);
    gf_feed f = { p, t };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out;
    assert_int_equal(gf_session_run(s, &f, 1, &ps, 1, NULL, 0, &out), GF_ERR_SHAPE);
    if (!strstr(gf_session_error(s), "rows 1..3 (start 1, count 3) are out of range for shape [3,2]"))
        fail_msg("%s", gf_session_error(s));
    /* the gradient of a gather needs the rows known when built */
    gf_node *gp = gf_gather_rows(p, idx), *dgp;
    assert_int_equal(gf_gradients(g, &gp, 1, &p, 1, NULL, &dgp), GF_ERR_SHAPE);
    expect_error(g, GF_ERR_SHAPE, "gather_rows \"gather_rows", "input 0 (\"p\", shape [?,2])", NULL);
    gf_session_free(s);
    gf_tensor_free(t);
    gf_graph_free(g);

    g = gf_graph_new();
    X = gf_test_const(g, gf_dims(2, 4, 2), x);
    gf_slice_rows(X, 3, 2);
    expect_error(g, GF_ERR_SHAPE, "slice_rows \"slice_rows\": rows 3..4", "[4,2]", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    X = gf_test_const(g, gf_dims(2, 4, 2), x);
    gf_slice_rows(X, -1, 2);
    expect_error(g, GF_ERR_ARG, "slice_rows: start -1 and count 2", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    X = gf_test_const(g, gf_dims(2, 4, 2), x);
    gf_gather_rows(X, gf_test_const(g, gf_dims(1, 2), x));
    expect_error(g, GF_ERR_SHAPE, "gather_rows \"gather_rows\": indices (input 1) have dtype float32", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    gf_one_hot(gf_name(icst(g, gf_dims(1, 2), x), "labels"), -1);
    expect_error(g, GF_ERR_ARG, "one_hot: depth -1 for indices \"labels\"", NULL);
    gf_graph_free(g);

    g = gf_graph_new();
    gf_one_hot(gf_test_const(g, gf_dims(1, 2), x), 3);
    expect_error(g, GF_ERR_SHAPE, "one_hot \"one_hot\": indices (input 0) have dtype float32", NULL);
    gf_graph_free(g);
}

/* ---- dropout ---- */

static void dropout_masks(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *ones = gf_add(gf_zeros(g, gf_dims(2, 100, 100)), gf_scalar(g, 1));
    gf_node *y = gf_dropout(ones, 0.75f, 42);
    assert_string_equal(gf_node_op(y), "mul");
    assert_string_equal(gf_node_name(y), "dropout");
    assert_true(gf_dropout(ones, 1.0f, 42) == ones); /* keep_prob 1: x itself */
    float first[10000];
    for (int round = 0; round < 2; round++) {
        gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 9 });
        const gf_tensor *t = gf_test_run1(s, NULL, 0, y);
        int64_t kept = 0;
        for (int64_t i = 0; i < 10000; i++) {
            float v = gf_tensor_data(t)[i];
            assert_true(v == 0.0f || v == 1.0f / 0.75f);
            kept += v != 0.0f;
            if (round == 0) first[i] = v;
            else assert_true(first[i] == v); /* same seeds, same mask */
        }
        assert_true(kept > 7300 && kept < 7700); /* 7500 +- 4.6 sigma */
        t = gf_test_run1(s, NULL, 0, y); /* the next run draws afresh */
        int64_t same = 0;
        for (int64_t i = 0; i < 10000; i++) same += gf_tensor_data(t)[i] == first[i];
        assert_true(same < 9000);
        gf_session_free(s);
    }
    gf_graph_free(g);

    /* the gradient uses the output's mask: dy/dx = y / x elementwise */
    g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 8));
    gf_node *dy = gf_dropout(gf_tanh(x), 0.5f, 7), *dx;
    assert_int_equal(gf_gradients(g, &dy, 1, &x, 1, NULL, &dx), GF_OK);
    float xv[32];
    for (int i = 0; i < 32; i++) xv[i] = 0.1f * (float)(i + 1);
    gf_tensor *tx = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 8), xv, NULL);
    gf_feed f = { x, tx };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out[2];
    for (int run = 0; run < 3; run++) {
        assert_int_equal(gf_session_run(s, &f, 1, (gf_node *[]){ dy, dx }, 2, NULL, 0, out), GF_OK);
        for (int i = 0; i < 32; i++) {
            float th = tanhf(xv[i]), mask = gf_tensor_data(out[0])[i] / th;
            assert_true(fabsf(mask) < 1e-6f || fabsf(mask - 2.0f) < 1e-5f);
            float want = mask * (1 - th * th);
            assert_true(fabsf(gf_tensor_data(out[1])[i] - want) < 1e-5f);
        }
    }
    gf_session_free(s);
    gf_tensor_free(tx);

    gf_dropout(gf_name(x, "x"), 0.0f, 1);
    expect_error(g, GF_ERR_ARG, "dropout: keep_prob 0 for input \"x\": expected 0 < keep_prob <= 1", NULL);
    gf_graph_free(g);
    g = gf_graph_new();
    gf_dropout(gf_scalar(g, 1), NAN, 1);
    expect_error(g, GF_ERR_ARG, "dropout: keep_prob nan", NULL);
    gf_graph_free(g);
}

/* ---- second derivatives ---- */

/* d/dx and d2/dx2 of f at x = xv, by gf_gradients twice. */
static void second_derivative(gf_node *(*f)(gf_node *), const float *xv, const float *d1, const float *d2)
{
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *y = f(x), *dx, *ddx;
    assert_int_equal(gf_gradients(g, &y, 1, &x, 1, NULL, &dx), GF_OK);
    assert_int_equal(gf_gradients(g, &dx, 1, &x, 1, NULL, &ddx), GF_OK);
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 3), (float *)xv, NULL);
    gf_feed feed = { x, t };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out[2];
    assert_int_equal(gf_session_run(s, &feed, 1, (gf_node *[]){ dx, ddx }, 2, NULL, 0, out), GF_OK);
    gf_test_assert_close(gf_tensor_data(out[0]), d1, 3, 1e-6);
    gf_test_assert_close(gf_tensor_data(out[1]), d2, 3, 1e-5);
    /* and the first derivative's graph against finite differences */
    gf_gradcheck_result r;
    assert_int_equal(gf_gradient_check(s, dx, x, &feed, 1, NULL, &r), GF_OK);
    if (!(r.max_error < 1e-3)) fail_msg("second derivative: max error %g", r.max_error);
    gf_session_free(s);
    gf_tensor_free(t);
    gf_graph_free(g);
}

static void second_derivatives_tanh_log(void **state)
{
    (void)state;
    /* tanh' = 1 - tanh^2, tanh'' = -2 tanh (1 - tanh^2) at -1, 0.5, 2 */
    second_derivative(gf_tanh, (const float[]){ -1, 0.5f, 2 },
                      (const float[]){ 0.419974342f, 0.786447733f, 0.0706508249f },
                      (const float[]){ 0.639700008f, -0.726861981f, -0.136218687f });
    /* log' = 1/x, log'' = -1/x^2 at 0.5, 1, 4 */
    second_derivative(gf_log, (const float[]){ 0.5f, 1, 4 }, (const float[]){ 2, 1, 0.25f },
                      (const float[]){ -4, -1, -0.0625f });
}

/* ---- the planner fuses the new elementwise ops ---- */

static void elementwise_ops_fuse(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 64));
    gf_node *c = gf_placeholder(g, "c", GF_F32, gf_dims(1, 64));
    gf_node *y = gf_square(gf_tanh(gf_relu(gf_log(gf_maximum(x, c)))));
    float xv[4 * 64], cv[64];
    for (int i = 0; i < 4 * 64; i++) xv[i] = 0.05f * (float)(i % 50) + 0.01f;
    for (int i = 0; i < 64; i++) cv[i] = 0.02f * (float)i + 0.5f;
    gf_tensor *tx = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 64), xv, NULL);
    gf_tensor *tc = gf_tensor_wrap(GF_F32, gf_dims(1, 64), cv, NULL);
    gf_feed f[2] = { { x, tx }, { c, tc } };
    gf_session *fused = gf_session_new(g, NULL);
    gf_session *plain = gf_session_new(g, &(gf_session_options){ .disable = GF_NO_REWRITES });
    gf_plan_stats st;
    assert_int_equal(gf_session_plan_stats(fused, f, 2, &y, 1, NULL, 0, &st), GF_OK);
    assert_int_equal(st.fused, 1);
    assert_int_equal(st.steps, 1);
    const gf_tensor *a = gf_test_run1(fused, f, 2, y), *b = gf_test_run1(plain, f, 2, y);
    gf_test_assert_close(gf_tensor_data(a), gf_tensor_data(b), 4 * 64, 0);
    gf_session_free(fused);
    gf_session_free(plain);
    gf_tensor_free(tx);
    gf_tensor_free(tc);
    gf_graph_free(g);
}

/* ---- the zoo's softmax network (models/zoo.c) ---- */

static void zoo_softmax_net_trains(void **state)
{
    (void)state;
    gf_zoo_net net;
    assert_int_equal(gf_zoo_build_softmax(&net, 32, 0.01f), GF_OK);
    /* 64 synthetic "images": class k lights pixels 78k..78k+77 */
    enum { N = 64 };
    static float img[N * 784], lab[N * 10];
    gf_rng r;
    gf_rng_seed(&r, 5, 1);
    for (int i = 0; i < N; i++) {
        int k = (int)gf_rng_below(&r, 10);
        lab[i * 10 + k] = 1;
        for (int p = 0; p < 784; p++)
            img[i * 784 + p] = (p / 78 == k ? 0.8f : 0.0f) + 0.2f * (float)gf_rng_uniform(&r);
    }
    gf_tensor *ti = gf_tensor_wrap(GF_F32, gf_dims(2, N, 784), img, NULL);
    gf_tensor *tl = gf_tensor_wrap(GF_F32, gf_dims(2, N, 10), lab, NULL);
    gf_feed f[2] = { { net.x, ti }, { net.y, tl } };
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 1 });
    assert_int_equal(gf_session_status(s), GF_OK);

    /* the loss's gradient with respect to the output layer (no relu kinks) */
    gf_gradcheck_result gc;
    gf_gradcheck_options o = { .max_elements = 40, .directions = 2, .seed = 3 };
    assert_int_equal(gf_gradient_check(s, net.loss, net.w_2, f, 2, &o, &gc), GF_OK);
    if (!(gc.max_error < 1e-3)) fail_msg("d loss / d w_2: max error %g", gc.max_error);

    float first = gf_tensor_data(gf_test_run1(s, f, 2, net.loss))[0];
    for (int i = 0; i < 30; i++) assert_int_equal(gf_session_run(s, f, 2, NULL, 0, &net.step, 1, NULL), GF_OK);
    const gf_tensor *out[3];
    assert_int_equal(gf_session_run(s, f, 2, (gf_node *[]){ net.loss, net.accuracy, net.correct }, 3, NULL, 0, out),
                     GF_OK);
    float last = gf_tensor_data(out[0])[0];
    if (!(last < 0.1f * first)) fail_msg("loss %g -> %g after 30 steps", first, last);
    assert_true(gf_tensor_data(out[1])[0] == 1.0f);
    assert_true(gf_tensor_data(out[2])[0] == (float)N);
    /* probs rows sum to 1 */
    const gf_tensor *pr = gf_test_run1(s, f, 2, net.probs);
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int k = 0; k < 10; k++) sum += gf_tensor_data(pr)[i * 10 + k];
        assert_true(fabs(sum - 1) < 1e-5);
    }
    gf_session_free(s);
    gf_tensor_free(ti);
    gf_tensor_free(tl);
    gf_graph_free(net.g);

    /* a bad size is reported on the graph */
    assert_int_not_equal(gf_zoo_build_softmax(&net, -5, 0), GF_OK);
    assert_true(strstr(gf_graph_error(net.g), "truncated_normal") != NULL);
    gf_graph_free(net.g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(activations),
        cmocka_unit_test(maximum_broadcasts),
        cmocka_unit_test(kinks_follow_tensorflow),
        cmocka_unit_test(softmax_values),
        cmocka_unit_test(softmax_extremes),
        cmocka_unit_test(cross_entropy_values),
        cmocka_unit_test(reshape_values_and_errors),
        cmocka_unit_test(concat_values_and_errors),
        cmocka_unit_test(rows_sliced_gathered_one_hot),
        cmocka_unit_test(dropout_masks),
        cmocka_unit_test(second_derivatives_tanh_log),
        cmocka_unit_test(elementwise_ops_fuse),
        cmocka_unit_test(zoo_softmax_net_trains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
