/*
 * test_graph_errors.c — shape errors and their messages, sticky graph errors, bad arguments, and
 * session semantics: feeds, fetches, pruning, the assign snapshot rule, determinism, node names.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails unless s contains want. */
static void assert_has(const char *s, const char *want)
{
    assert_non_null(s);
    if (!strstr(s, want)) fail_msg("message \"%s\" lacks \"%s\"", s, want);
}

/* Fails unless g is in error with code and a message holding every string of
 * the NULL-terminated list. */
static void assert_graph_error(const gf_graph *g, gf_status code, const char *const *wants)
{
    if (gf_graph_status(g) != code)
        fail_msg("graph status %d (%s), want %d; message \"%s\"", (int)gf_graph_status(g),
                 gf_status_string(gf_graph_status(g)), (int)code, gf_graph_error(g));
    for (; *wants; wants++) assert_has(gf_graph_error(g), *wants);
}

#define GRAPH_ERROR(g, code, ...) assert_graph_error((g), (code), (const char *const[]){ __VA_ARGS__, NULL })

/* Fails unless the last call on s failed with code (returned as st) and a message holding
 * every string of the list. */
static void assert_session_error(gf_session *s, gf_status st, gf_status code, const char *const *wants)
{
    if (st != code)
        fail_msg("run returned %d (%s), want %d; message \"%s\"", (int)st, gf_status_string(st), (int)code,
                 gf_session_error(s));
    for (; *wants; wants++) assert_has(gf_session_error(s), *wants);
}

#define SESSION_ERROR(s, st, code, ...) \
    assert_session_error((s), (st), (code), (const char *const[]){ __VA_ARGS__, NULL })

static gf_node *poisoned(gf_node *n)
{
    assert_non_null(n);
    assert_true(gf_node_is_poisoned(n));
    return n;
}

static gf_tensor *tensor_of(gf_dtype dt, gf_shape s, float fill)
{
    gf_tensor *t = gf_tensor_new(dt, s, NULL);
    assert_non_null(t);
    float *d = gf_tensor_data(t);
    for (int64_t i = 0; i < gf_tensor_count(t); i++) d[i] = fill + (float)i;
    return t;
}

/* ---- build-time shape errors ---- */

static void test_add_broadcast_message(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 30));
    gf_node *b = gf_variable(g, "b", gf_zeros(g, gf_dims(2, 1, 31)));
    assert_int_equal(gf_graph_status(g), GF_OK);
    assert_string_equal(gf_graph_error(g), "");
    gf_node *z = gf_add(x, b);
    poisoned(z);
    GRAPH_ERROR(g, GF_ERR_SHAPE, "add \"add\": shapes [?,30] and [1,31] do not broadcast");
    gf_graph_free(g);

    /* the node's unique name is the one in the message */
    g = gf_graph_new();
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(1, 4));
    assert_false(gf_node_is_poisoned(gf_add(p, p)));
    poisoned(gf_mul(p, gf_zeros(g, gf_dims(2, 3, 5))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "mul \"mul\"", "[4]", "[3,5]", "do not broadcast");
    gf_graph_free(g);

    g = gf_graph_new();
    p = gf_placeholder(g, "p", GF_F32, gf_dims(2, 2, 3));
    assert_false(gf_node_is_poisoned(gf_sub(p, p)));
    poisoned(gf_sub(p, gf_zeros(g, gf_dims(2, 3, 2))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "sub \"sub_1\": shapes [2,3] and [3,2] do not broadcast");
    gf_graph_free(g);

    /* rank 3 against rank 2, right-aligned */
    g = gf_graph_new();
    poisoned(gf_div(gf_zeros(g, gf_dims(3, 2, 4, 3)), gf_zeros(g, gf_dims(2, 3, 3))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "div", "[2,4,3]", "[3,3]");
    gf_graph_free(g);
}

static void test_matmul_message(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 784));
    gf_node *w = gf_variable(g, "w", gf_zeros(g, gf_dims(2, 30, 10)));
    poisoned(gf_matmul(x, w));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "matmul", "\"matmul\"", "784 and 30", "[?,784]", "[30,10]");
    gf_graph_free(g);

    /* with transpose flags, the transposed k is compared */
    g = gf_graph_new();
    gf_node *a = gf_zeros(g, gf_dims(2, 2, 3)), *b = gf_zeros(g, gf_dims(2, 4, 3));
    assert_false(gf_node_is_poisoned(gf_matmul_t(a, b, 0, 1)));
    poisoned(gf_matmul_t(a, b, 1, 1));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "matmul \"matmul_1\"", "2 and 3", "[2,3]", "[4,3]");
    gf_graph_free(g);

    /* rank 1 and dtype */
    g = gf_graph_new();
    poisoned(gf_matmul(gf_zeros(g, gf_dims(1, 3)), gf_zeros(g, gf_dims(2, 3, 2))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "matmul", "rank 2", "[3]", "[3,2]");
    gf_graph_free(g);
}

static void test_dtype_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_zeros(g, gf_dims(2, 2, 3));
    poisoned(gf_add(gf_argmax(x, 1), gf_zeros(g, gf_dims(1, 2))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "add", "int32", "float32");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(2, 2, 3));
    poisoned(gf_equal(gf_argmax(x, 1), gf_reduce_sum(x, (const int[]){ 1 }, 1, 0)));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "equal", "int32", "float32");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(2, 2, 3));
    poisoned(gf_exp(gf_cast(x, GF_BOOL)));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "exp", "bool");
    gf_graph_free(g);
}

/* ---- sticky errors ---- */

static void test_sticky(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 30));
    gf_node *c = gf_zeros(g, gf_dims(2, 1, 30));
    gf_node *ok = gf_add(x, c);
    assert_false(gf_node_is_poisoned(ok));
    int count = gf_graph_node_count(g);
    assert_int_equal(count, 3);

    poisoned(gf_add(x, gf_zeros(g, gf_dims(2, 1, 31))));
    count = gf_graph_node_count(g); /* the zeros [1,31] was built before the failure */
    assert_int_equal(count, 4);
    char first[512];
    snprintf(first, sizeof first, "%s", gf_graph_error(g));
    assert_has(first, "do not broadcast");

    /* every later constructor: non-NULL, poisoned, no new node, message kept */
    gf_node *later[] = {
        gf_add(x, c), gf_sub(x, c), gf_mul(x, c), gf_div(x, c), gf_neg(x), gf_exp(x), gf_sigmoid(x),
        gf_matmul(x, gf_zeros(g, gf_dims(2, 30, 2))), gf_matmul_t(x, x, 1, 0), gf_transpose(x),
        gf_transpose_perm(x, (const int[]){ 1, 0 }), gf_reduce_sum(x, NULL, 0, 0),
        gf_reduce_mean(x, (const int[]){ 0 }, 1, 1), gf_argmax(x, 1), gf_equal(x, x), gf_cast(x, GF_I32),
        gf_placeholder(g, "y", GF_F32, gf_dims(1, 3)), gf_scalar(g, 1), gf_zeros(g, gf_dims(1, 2)),
        gf_constant(g, gf_dims(1, 1), (const float[]){ 1 }), gf_truncated_normal(g, gf_dims(1, 2), 0, 1),
        gf_variable(g, "v", c), gf_assign(x, c),
        /* and the errors that would be new ones are not recorded */
        gf_add(NULL, x), gf_reduce_sum(x, (const int[]){ 9 }, 1, 0), gf_argmax(x, 7), gf_cast(x, (gf_dtype)9),
        gf_placeholder(g, "bad", GF_F32, gf_dims(5, 1, 1, 1, 1, 1)),
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
        assert_non_null(later[i]);
        assert_true(gf_node_is_poisoned(later[i]));
        assert_ptr_equal(gf_node_graph(later[i]), g);
    }
    assert_int_equal(gf_graph_node_count(g), count);
    assert_string_equal(gf_graph_error(g), first);
    assert_int_equal(gf_graph_status(g), GF_ERR_SHAPE);
    /* poisoned nodes answer the accessors sensibly */
    assert_int_equal(gf_node_shape(later[0]).rank, -1);
    assert_null(gf_graph_find(g, "y"));
    /* renaming a poisoned node does nothing */
    assert_ptr_equal(gf_name(later[0], "renamed"), later[0]);
    assert_null(gf_graph_find(g, "renamed"));
    gf_graph_free(g);
}

/* gf_graph_clear_error: building and running go on after a reported
 * failure, and what the failure returned stays unusable. */
static void test_clear_error(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    assert_int_equal(gf_graph_clear_error(g), GF_OK); /* nothing to clear */
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(2, 1, 3)));
    gf_node *sum = gf_add(x, v);
    gf_session *before = gf_session_new(g, NULL);
    assert_int_equal(gf_session_status(before), GF_OK);

    gf_node *bad = poisoned(gf_matmul(x, v)); /* [?,3] x [1,3] */
    int count = gf_graph_node_count(g);
    gf_session *during = gf_session_new(g, NULL);
    assert_int_equal(gf_session_status(during), GF_ERR_STATE);
    gf_tensor *xs = gf_tensor_new(GF_F32, gf_dims(2, 2, 3), NULL);
    gf_feed feed = { x, xs };
    const gf_tensor *out = NULL;
    SESSION_ERROR(before, gf_session_run(before, &feed, 1, &sum, 1, NULL, 0, &out), GF_ERR_STATE, "matmul");

    assert_int_equal(gf_graph_clear_error(g), GF_ERR_SHAPE);
    assert_int_equal(gf_graph_status(g), GF_OK);
    assert_string_equal(gf_graph_error(g), "");
    assert_int_equal(gf_graph_node_count(g), count);
    assert_true(gf_node_is_poisoned(bad));

    /* the graph builds again; the poisoned node is refused as an input */
    gf_node *twice = gf_mul(sum, gf_scalar(g, 2));
    assert_false(gf_node_is_poisoned(twice));
    poisoned(gf_exp(bad));
    assert_has(gf_graph_error(g), "poisoned");
    assert_int_equal(gf_graph_clear_error(g), GF_ERR_ARG);

    /* the session started before runs the new node; the one started in
     * error keeps its error */
    float *px = gf_tensor_data(xs);
    for (int i = 0; i < 6; i++) px[i] = (float)i;
    assert_int_equal(gf_session_run(before, &feed, 1, &twice, 1, NULL, 0, &out), GF_OK);
    for (int i = 0; i < 6; i++) assert_true(gf_tensor_data(out)[i] == 2.0f * (float)i);
    SESSION_ERROR(during, gf_session_run(during, &feed, 1, &twice, 1, NULL, 0, &out), GF_ERR_STATE, "3 and 1");
    assert_int_equal(gf_graph_clear_error(NULL), GF_ERR_ARG);

    gf_tensor_free(xs);
    gf_session_free(during);
    gf_session_free(before);
    gf_graph_free(g);
}

/* ---- bad arguments ---- */

static void test_null_inputs(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_zeros(g, gf_dims(1, 3));
    gf_node *n = poisoned(gf_add(NULL, x));
    assert_ptr_equal(gf_node_graph(n), g);
    GRAPH_ERROR(g, GF_ERR_ARG, "add", "input 0 is NULL");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(1, 3));
    poisoned(gf_mul(x, NULL));
    GRAPH_ERROR(g, GF_ERR_ARG, "mul", "input 1 is NULL");
    gf_graph_free(g);

    /* no graph at all: still a poisoned, non-NULL node, and no crash */
    poisoned(gf_add(NULL, NULL));
    poisoned(gf_matmul(NULL, NULL));
    poisoned(gf_matmul_t(NULL, NULL, 1, 1));
    poisoned(gf_neg(NULL));
    poisoned(gf_exp(NULL));
    poisoned(gf_sigmoid(NULL));
    poisoned(gf_transpose(NULL));
    poisoned(gf_transpose_perm(NULL, (const int[]){ 0 }));
    poisoned(gf_reduce_sum(NULL, NULL, 0, 0));
    poisoned(gf_reduce_mean(NULL, (const int[]){ 0 }, 1, 0));
    poisoned(gf_argmax(NULL, 0));
    poisoned(gf_equal(NULL, NULL));
    poisoned(gf_cast(NULL, GF_F32));
    poisoned(gf_assign(NULL, NULL));
    poisoned(gf_placeholder(NULL, "x", GF_F32, gf_dims(0)));
    poisoned(gf_scalar(NULL, 1));
    poisoned(gf_constant(NULL, gf_dims(1, 1), NULL));
    poisoned(gf_zeros(NULL, gf_dims(0)));
    poisoned(gf_truncated_normal(NULL, gf_dims(0), 0, 1));
    poisoned(gf_variable(NULL, "v", NULL));
    /* chaining on the graph-less poison stays graph-less and harmless */
    gf_node *nil = gf_add(NULL, NULL);
    poisoned(gf_add(nil, nil));
    assert_null(gf_node_graph(nil));
    assert_int_equal(gf_node_shape(nil).rank, -1);
    assert_ptr_equal(gf_name(nil, "x"), nil);
    assert_null(gf_name(NULL, "x"));
    /* a graph-less poison given with a real node: named as what it is,
     * not as a node of another graph */
    gf_graph *g2 = gf_graph_new();
    gf_node *x2 = gf_placeholder(g2, "x", GF_F32, gf_dims(1, 3));
    poisoned(gf_add(nil, x2));
    assert_int_equal(gf_graph_status(g2), GF_ERR_ARG);
    assert_non_null(strstr(gf_graph_error(g2), "add: input 0 is a poisoned node (made on a NULL graph)"));
    gf_graph_free(g2);
    /* accessors on NULL */
    assert_string_equal(gf_node_name(NULL), "");
    assert_int_equal(gf_node_dtype(NULL), GF_F32);
    assert_int_equal(gf_node_shape(NULL).rank, -1);
    assert_null(gf_node_graph(NULL));
    assert_true(gf_node_is_poisoned(NULL));
    assert_int_equal(gf_graph_status(NULL), GF_ERR_ARG);
    assert_int_equal(gf_graph_node_count(NULL), 0);
    assert_null(gf_graph_find(NULL, "x"));
    gf_graph_free(NULL);

    /* variable with a NULL initializer */
    g = gf_graph_new();
    poisoned(gf_variable(g, "v", NULL));
    GRAPH_ERROR(g, GF_ERR_ARG, "variable \"v\"", "initializer is NULL");
    gf_graph_free(g);

    /* a graph-less poison node used as an input, in either position: the
     * error is recorded on the graph of the other input */
    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(1, 3));
    poisoned(gf_add(x, nil));
    GRAPH_ERROR(g, GF_ERR_ARG, "add", "input 1");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(1, 3));
    n = poisoned(gf_add(nil, x));
    assert_ptr_equal(gf_node_graph(n), g);
    GRAPH_ERROR(g, GF_ERR_ARG, "add", "input 0");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(2, 3, 3));
    poisoned(gf_matmul(nil, x));
    GRAPH_ERROR(g, GF_ERR_ARG, "matmul", "input 0");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_zeros(g, gf_dims(1, 3));
    poisoned(gf_assign(nil, x));
    GRAPH_ERROR(g, GF_ERR_ARG, "assign", "input 0");
    gf_graph_free(g);
}

static void test_other_graph(void **state)
{
    (void)state;
    gf_graph *g1 = gf_graph_new(), *g2 = gf_graph_new();
    gf_node *a = gf_placeholder(g1, "a", GF_F32, gf_dims(1, 3));
    gf_node *b = gf_placeholder(g2, "b", GF_F32, gf_dims(1, 3));
    poisoned(gf_add(a, b));
    GRAPH_ERROR(g1, GF_ERR_ARG, "add", "input 1", "\"b\"", "another graph");
    assert_int_equal(gf_graph_status(g2), GF_OK);
    gf_graph_free(g1);
    gf_graph_free(g2);

    g1 = gf_graph_new();
    g2 = gf_graph_new();
    gf_node *init = gf_zeros(g2, gf_dims(1, 2));
    poisoned(gf_variable(g1, "v", init));
    GRAPH_ERROR(g1, GF_ERR_ARG, "variable \"v\"", "another graph");
    gf_graph_free(g1);
    gf_graph_free(g2);

    g1 = gf_graph_new();
    g2 = gf_graph_new();
    gf_node *v = gf_variable(g1, "v", gf_zeros(g1, gf_dims(1, 2)));
    poisoned(gf_assign(v, gf_zeros(g2, gf_dims(1, 2))));
    GRAPH_ERROR(g1, GF_ERR_ARG, "assign", "another graph");
    gf_graph_free(g1);
    gf_graph_free(g2);
}

static void test_reduce_argmax_transpose_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_reduce_sum(x, (const int[]){ 2 }, 1, 0));
    GRAPH_ERROR(g, GF_ERR_ARG, "reduce_sum", "axis 2 is out of range", "\"x\"", "[2,3]", "-2..1");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_reduce_mean(x, (const int[]){ -3 }, 1, 1));
    GRAPH_ERROR(g, GF_ERR_ARG, "reduce_mean", "axis -3 is out of range");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(3, 2, 3, 4));
    poisoned(gf_reduce_sum(x, (const int[]){ 1, -2 }, 2, 0));
    GRAPH_ERROR(g, GF_ERR_ARG, "reduce_sum", "listed twice");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_reduce_sum(x, NULL, 1, 0));
    GRAPH_ERROR(g, GF_ERR_ARG, "reduce_sum", "axes is NULL");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_reduce_sum(x, (const int[]){ 0, 1, 0 }, 3, 0));
    GRAPH_ERROR(g, GF_ERR_ARG, "reduce_sum", "3 axes", "rank 2");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_argmax(x, 2));
    GRAPH_ERROR(g, GF_ERR_ARG, "argmax", "axis 2 is out of range", "[2,3]");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_argmax(x, -3));
    GRAPH_ERROR(g, GF_ERR_ARG, "argmax", "axis -3 is out of range");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_argmax(gf_scalar(g, 1), 0));
    GRAPH_ERROR(g, GF_ERR_ARG, "argmax", "scalar");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_argmax(gf_cast(gf_zeros(g, gf_dims(1, 2)), GF_BOOL), 0));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "argmax", "bool");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(3, 2, 3, 4));
    poisoned(gf_transpose_perm(x, (const int[]){ 0, 0, 1 }));
    GRAPH_ERROR(g, GF_ERR_ARG, "transpose", "perm", "not a permutation", "[2,3,4]");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_transpose_perm(x, (const int[]){ 0, 2 }));
    GRAPH_ERROR(g, GF_ERR_ARG, "transpose", "not a permutation of 0..1");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_transpose_perm(x, (const int[]){ -1, 0 }));
    GRAPH_ERROR(g, GF_ERR_ARG, "transpose", "not a permutation");
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    poisoned(gf_transpose_perm(x, NULL));
    GRAPH_ERROR(g, GF_ERR_ARG, "transpose", "NULL");
    gf_graph_free(g);
}

static void test_assign_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 2));
    poisoned(gf_assign(x, gf_zeros(g, gf_dims(2, 2, 2))));
    GRAPH_ERROR(g, GF_ERR_ARG, "assign", "\"x\"", "not a variable");
    gf_graph_free(g);

    g = gf_graph_new();
    gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(2, 2, 2)));
    poisoned(gf_assign(v, gf_zeros(g, gf_dims(2, 2, 3))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "assign", "[2,3]", "[2,2]");
    gf_graph_free(g);

    /* a broadcastable value is still refused: assign needs the exact shape */
    g = gf_graph_new();
    v = gf_variable(g, "v", gf_zeros(g, gf_dims(2, 2, 2)));
    poisoned(gf_assign(v, gf_zeros(g, gf_dims(2, 1, 2))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "assign", "[1,2]", "[2,2]");
    gf_graph_free(g);

    g = gf_graph_new();
    v = gf_variable(g, "v", gf_zeros(g, gf_dims(1, 2)));
    poisoned(gf_assign(v, gf_argmax(gf_zeros(g, gf_dims(2, 2, 2)), 0)));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "assign", "int32");
    gf_graph_free(g);

    /* an assign is not a variable */
    g = gf_graph_new();
    v = gf_variable(g, "v", gf_zeros(g, gf_dims(1, 2)));
    gf_node *as = gf_assign(v, gf_zeros(g, gf_dims(1, 2)));
    assert_false(gf_node_is_poisoned(as));
    poisoned(gf_assign(as, gf_zeros(g, gf_dims(1, 2))));
    GRAPH_ERROR(g, GF_ERR_ARG, "not a variable");
    gf_graph_free(g);
}

static void test_source_errors(void **state)
{
    (void)state;
    gf_shape r5 = gf_dims(5, 1, 2, 3, 4, 5);
    assert_int_equal(r5.rank, -1);
    assert_int_equal(gf_dims(-1).rank, -1);

    gf_graph *g = gf_graph_new();
    poisoned(gf_placeholder(g, "x", GF_F32, r5));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "placeholder \"x\"", "rank -1", "0..4");
    assert_int_equal(gf_graph_node_count(g), 0);
    assert_null(gf_graph_find(g, "x"));
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_placeholder(g, "x", GF_F32, gf_dims(2, 3, -2)));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "placeholder \"x\"", "dimension 1", "-2");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_placeholder(g, "x", (gf_dtype)7, gf_dims(1, 3)));
    GRAPH_ERROR(g, GF_ERR_ARG, "placeholder", "dtype 7");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_constant(g, gf_dims(1, 3), NULL));
    GRAPH_ERROR(g, GF_ERR_ARG, "constant", "NULL");
    gf_graph_free(g);

    /* a constant, zeros or initializer cannot have an open dimension */
    g = gf_graph_new();
    poisoned(gf_zeros(g, gf_dims(2, GF_ANY, 3)));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "zeros", "dimension 0", "no open dimensions");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_constant(g, gf_dims(5, 1, 1, 1, 1, 1), (const float[]){ 1 }));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "constant", "rank -1");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_truncated_normal(g, gf_dims(1, 3), 0, -1));
    GRAPH_ERROR(g, GF_ERR_ARG, "truncated_normal", "stddev");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_truncated_normal(g, gf_dims(1, 3), NAN, 1));
    GRAPH_ERROR(g, GF_ERR_ARG, "truncated_normal", "finite");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_cast(gf_zeros(g, gf_dims(1, 3)), (gf_dtype)3));
    GRAPH_ERROR(g, GF_ERR_ARG, "cast", "dtype 3");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_cast(gf_zeros(g, gf_dims(1, 3)), (gf_dtype)-1));
    GRAPH_ERROR(g, GF_ERR_ARG, "cast", "dtype -1");
    gf_graph_free(g);

    /* variable: initializer with an open shape, or not float32 */
    g = gf_graph_new();
    poisoned(gf_variable(g, "v", gf_placeholder(g, "p", GF_F32, gf_dims(2, GF_ANY, 3))));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "variable \"v\"", "\"p\"", "[?,3]", "fully known");
    gf_graph_free(g);

    g = gf_graph_new();
    poisoned(gf_variable(g, "v", gf_argmax(gf_zeros(g, gf_dims(2, 2, 3)), 1)));
    GRAPH_ERROR(g, GF_ERR_SHAPE, "variable \"v\"", "int32");
    gf_graph_free(g);
}

/* ---- sessions ---- */

static void test_feed_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 4));
    gf_node *y = gf_add(x, gf_scalar(g, 1));
    gf_node *c = gf_scalar(g, 5);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    assert_int_equal(gf_session_status(s), GF_OK);
    const gf_tensor *out = NULL;
    gf_status st;

    /* missing feed */
    st = gf_session_run(s, NULL, 0, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"", "[?,4]", "must be fed");
    assert_null(out);

    /* wrong shape: [5,3] into [?,4] */
    gf_tensor *t53 = tensor_of(GF_F32, gf_dims(2, 5, 3), 0);
    gf_feed f = { x, t53 };
    st = gf_session_run(s, &f, 1, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"", "[5,3]", "[?,4]");
    gf_tensor_free(t53);

    /* wrong rank */
    gf_tensor *t4 = tensor_of(GF_F32, gf_dims(1, 4), 0);
    f.value = t4;
    st = gf_session_run(s, &f, 1, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"", "[4]", "[?,4]");
    gf_tensor_free(t4);

    /* wrong dtype */
    gf_tensor *ti = tensor_of(GF_I32, gf_dims(2, 2, 4), 0);
    f.value = ti;
    st = gf_session_run(s, &f, 1, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"", "int32", "float32");
    gf_tensor_free(ti);

    /* NULL tensor */
    f.value = NULL;
    st = gf_session_run(s, &f, 1, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"", "NULL");

    /* feeding a non-placeholder */
    gf_tensor *good = tensor_of(GF_F32, gf_dims(2, 2, 4), 0);
    gf_feed bad[2] = { { x, good }, { y, good } };
    st = gf_session_run(s, bad, 2, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "not a placeholder", "\"add\"");
    gf_tensor *sc = tensor_of(GF_F32, gf_dims(0), 0);
    gf_feed fc = { c, sc };
    st = gf_session_run(s, &fc, 1, &c, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "not a placeholder");
    gf_tensor_free(sc);

    /* the same placeholder twice */
    gf_feed twice[2] = { { x, good }, { x, good } };
    st = gf_session_run(s, twice, 2, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"", "fed twice");

    /* a NULL feed node */
    gf_feed nullnode = { NULL, good };
    st = gf_session_run(s, &nullnode, 1, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "NULL");

    /* n_feeds > 0 with a NULL array */
    st = gf_session_run(s, NULL, 1, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "NULL");

    /* the session still works, and the message is cleared */
    f.value = good;
    const gf_tensor *r = gf_test_run1(s, &f, 1, y);
    assert_string_equal(gf_session_error(s), "");
    gf_test_assert_close(gf_tensor_data(r), (const float[]){ 1, 2, 3, 4, 5, 6, 7, 8 }, 8, 0);
    gf_tensor_free(good);
    gf_session_free(s);
    gf_graph_free(g);
}

static void test_fetch_errors(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new(), *g2 = gf_graph_new();
    gf_node *c = gf_scalar(g, 2);
    gf_node *other = gf_scalar(g2, 3);
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out[2] = { NULL, NULL };
    gf_status st;

    gf_node *nul = NULL;
    st = gf_session_run(s, NULL, 0, &nul, 1, NULL, 0, out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "fetches[0] is NULL");

    gf_node *two[2] = { c, NULL };
    st = gf_session_run(s, NULL, 0, two, 2, NULL, 0, out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "fetches[1] is NULL");

    st = gf_session_run(s, NULL, 0, NULL, 1, NULL, 0, out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "fetches");

    st = gf_session_run(s, NULL, 0, &other, 1, NULL, 0, out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "another graph");

    st = gf_session_run(s, NULL, 0, NULL, 0, &other, 1, NULL);
    SESSION_ERROR(s, st, GF_ERR_ARG, "targets[0]", "another graph");

    st = gf_session_run(s, NULL, 0, &c, 1, NULL, 0, NULL);
    SESSION_ERROR(s, st, GF_ERR_ARG, "outs is NULL");

    st = gf_session_run(s, NULL, 0, &c, -1, NULL, 0, out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "negative");

    /* a graph-less poisoned node */
    gf_node *nil = gf_add(NULL, NULL);
    st = gf_session_run(s, NULL, 0, &nil, 1, NULL, 0, out);
    assert_int_equal(st, GF_ERR_ARG);

    /* nothing to do is fine, outs may be NULL then */
    assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, NULL, 0, NULL), GF_OK);
    assert_int_equal(gf_session_run(s, NULL, 0, &c, 1, NULL, 0, out), GF_OK);
    gf_test_assert_close(gf_tensor_data(out[0]), (const float[]){ 2 }, 1, 0);

    /* gf_session_variable on a non-variable */
    assert_null(gf_session_variable(s, c));
    assert_has(gf_session_error(s), "not a variable");
    assert_null(gf_session_variable(s, NULL));
    assert_null(gf_session_variable(s, other));

    /* a graph that fails after the session was made: runs refuse */
    poisoned(gf_add(gf_zeros(g, gf_dims(1, 2)), gf_zeros(g, gf_dims(1, 3))));
    st = gf_session_run(s, NULL, 0, &c, 1, NULL, 0, out);
    SESSION_ERROR(s, st, GF_ERR_STATE, "graph is in error", "do not broadcast");
    gf_session_free(s);
    gf_graph_free(g);
    gf_graph_free(g2);

    /* null session and graph */
    assert_int_equal(gf_session_run(NULL, NULL, 0, NULL, 0, NULL, 0, NULL), GF_ERR_ARG);
    assert_int_equal(gf_session_status(NULL), GF_ERR_ARG);
    gf_session_free(NULL);
    s = gf_session_new(NULL, NULL);
    if (s) {
        assert_int_equal(gf_session_status(s), GF_ERR_ARG);
        assert_int_not_equal(gf_session_run(s, NULL, 0, NULL, 0, NULL, 0, NULL), GF_OK);
        gf_session_free(s);
    }
}

static void test_session_on_graph_in_error(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *c = gf_scalar(g, 1);
    poisoned(gf_matmul(gf_zeros(g, gf_dims(2, 2, 3)), gf_zeros(g, gf_dims(2, 2, 3))));
    gf_session *s = gf_session_new(g, NULL);
    assert_non_null(s);
    assert_int_equal(gf_session_status(s), GF_ERR_STATE);
    assert_has(gf_session_error(s), "3 and 2");
    const gf_tensor *out = NULL;
    gf_status st = gf_session_run(s, NULL, 0, &c, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_STATE, "matmul");
    assert_null(out);
    assert_null(gf_session_variable(s, c));
    gf_session_free(s);
    gf_graph_free(g);
}

static void test_initializer_needs_feed(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(1, 2));
    gf_node *v = gf_variable(g, "v", gf_neg(p));
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    assert_non_null(s);
    assert_int_equal(gf_session_status(s), GF_ERR_FEED);
    assert_has(gf_session_error(s), "\"v\"");
    assert_has(gf_session_error(s), "\"p\"");
    const gf_tensor *out;
    assert_int_equal(gf_session_run(s, NULL, 0, &v, 1, NULL, 0, &out), GF_ERR_FEED);
    gf_session_free(s);
    gf_graph_free(g);
}

/* A failed run changes no variable. */
static void test_failed_run_changes_nothing(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *v = gf_variable(g, "v", gf_constant(g, gf_dims(1, 2), (const float[]){ 1, 2 }));
    gf_node *w = gf_variable(g, "w", gf_constant(g, gf_dims(2, 1, 2), (const float[]){ 3, 4 }));
    gf_node *set_v = gf_assign(v, gf_constant(g, gf_dims(1, 2), (const float[]){ 10, 20 }));
    gf_node *set_w = gf_assign(w, gf_add(w, gf_reduce_sum(x, (const int[]){ 0 }, 1, 1)));
    /* a run-time shape error late in the order: [?,2] + [?,2] with different batches */
    gf_node *y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *bad = gf_add(x, y);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    gf_node *targets[2] = { set_v, set_w };
    gf_tensor *x2 = tensor_of(GF_F32, gf_dims(2, 2, 2), 1), *x3 = tensor_of(GF_F32, gf_dims(2, 3, 2), 1);
    gf_tensor *wrong = tensor_of(GF_F32, gf_dims(2, 2, 3), 1);

    /* bad feed */
    gf_feed f = { x, wrong };
    gf_status st = gf_session_run(s, &f, 1, NULL, 0, targets, 2, NULL);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"x\"");
    /* run-time shape error, with the assignments as targets too */
    gf_feed fs[2] = { { x, x2 }, { y, x3 } };
    const gf_tensor *out = NULL;
    st = gf_session_run(s, fs, 2, &bad, 1, targets, 2, &out);
    SESSION_ERROR(s, st, GF_ERR_SHAPE, "add \"add", "[2,2]", "[3,2]");
    assert_null(out);
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, v)), (const float[]){ 1, 2 }, 2, 0);
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, w)), (const float[]){ 3, 4 }, 2, 0);

    /* and a good run then applies both: w += colsum(x2) = (1+3, 2+4) */
    f.value = x2;
    assert_int_equal(gf_session_run(s, &f, 1, NULL, 0, targets, 2, NULL), GF_OK);
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, v)), (const float[]){ 10, 20 }, 2, 0);
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, w)), (const float[]){ 7, 10 }, 2, 0);
    gf_tensor_free(x2);
    gf_tensor_free(x3);
    gf_tensor_free(wrong);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Placeholder [?,3] + placeholder [?,3] fed batches 2 and 5: a shape error at run time. */
static void test_runtime_open_dim_mismatch(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *a = gf_placeholder(g, "a", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *b = gf_placeholder(g, "b", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *sum = gf_name(gf_add(a, b), "sum");
    gf_node *mm = gf_matmul_t(a, b, 1, 0); /* [3,?]x[?,3]: k open at build */
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *t2 = tensor_of(GF_F32, gf_dims(2, 2, 3), 0), *t5 = tensor_of(GF_F32, gf_dims(2, 5, 3), 0);
    gf_feed f[2] = { { a, t2 }, { b, t5 } };
    const gf_tensor *out = NULL;
    gf_status st = gf_session_run(s, f, 2, &sum, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_SHAPE, "add", "\"sum\"", "[2,3]", "[5,3]");
    st = gf_session_run(s, f, 2, &mm, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_SHAPE, "matmul", "2 and 5");
    /* same session, matching batches: fine (the cached plan is reused) */
    f[1].value = t2;
    out = gf_test_run1(s, f, 2, sum);
    gf_test_assert_close(gf_tensor_data(out), (const float[]){ 0, 2, 4, 6, 8, 10 }, 6, 0);
    gf_tensor_free(t2);
    gf_tensor_free(t5);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Pruning: only what the fetches need runs, so an unfed placeholder on
 * another branch is no error. */
static void test_pruning(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(1, 2));
    gf_node *branch_p = gf_exp(p);
    gf_node *c = gf_constant(g, gf_dims(1, 2), (const float[]){ 1, 2 });
    gf_node *branch_c = gf_mul(c, gf_scalar(g, 3));
    gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(1, 2)));
    gf_node *set_v = gf_assign(v, gf_add(v, p)); /* needs p */
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out = gf_test_run1(s, NULL, 0, branch_c);
    gf_test_assert_close(gf_tensor_data(out), (const float[]){ 3, 6 }, 2, 0);
    /* the branch that needs p fails without it */
    gf_status st = gf_session_run(s, NULL, 0, &branch_p, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"p\"", "[2]");
    st = gf_session_run(s, NULL, 0, &branch_c, 1, &set_v, 1, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "\"p\"");
    /* the assignment was not run by the first fetch */
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, v)), (const float[]){ 0, 0 }, 2, 0);
    /* feeding a placeholder that nothing needs is fine */
    gf_tensor *pt = tensor_of(GF_F32, gf_dims(1, 2), 0);
    gf_feed f = { p, pt };
    out = gf_test_run1(s, &f, 1, branch_c);
    gf_test_assert_close(gf_tensor_data(out), (const float[]){ 3, 6 }, 2, 0);
    gf_tensor_free(pt);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Every read in a run sees the variables as they were when it began. */
static void test_assign_snapshot(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *a = gf_variable(g, "a", gf_scalar(g, 1));
    gf_node *b = gf_variable(g, "b", gf_scalar(g, 2));
    gf_node *swap[2] = { gf_assign(a, b), gf_assign(b, a) };
    gf_node *a_plus = gf_assign(a, gf_add(a, gf_scalar(g, 10)));
    gf_node *a_again = gf_assign(a, gf_scalar(g, 100));
    gf_node *dep = gf_add(a_plus, a); /* reads the assign (new value) and a (old value) */
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);

    assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, swap, 2, NULL), GF_OK);
    assert_true(gf_tensor_data(gf_session_variable(s, a))[0] == 2.0f);
    assert_true(gf_tensor_data(gf_session_variable(s, b))[0] == 1.0f);
    /* and back, in the other order */
    gf_node *swap_rev[2] = { swap[1], swap[0] };
    assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, swap_rev, 2, NULL), GF_OK);
    assert_true(gf_tensor_data(gf_session_variable(s, a))[0] == 1.0f);
    assert_true(gf_tensor_data(gf_session_variable(s, b))[0] == 2.0f);

    /* fetch a together with an assign to it: a gives the old value */
    gf_node *fetch[2] = { a, a_plus };
    const gf_tensor *out[2];
    assert_int_equal(gf_session_run(s, NULL, 0, fetch, 2, NULL, 0, out), GF_OK);
    assert_true(gf_tensor_data(out[0])[0] == 1.0f);
    assert_true(gf_tensor_data(out[1])[0] == 11.0f);
    assert_true(gf_tensor_data(gf_session_variable(s, a))[0] == 11.0f);
    /* the same with a as the target and the fetch listed after */
    gf_node *fetch2[2] = { a_plus, a };
    assert_int_equal(gf_session_run(s, NULL, 0, fetch2, 2, NULL, 0, out), GF_OK);
    assert_true(gf_tensor_data(out[0])[0] == 21.0f);
    assert_true(gf_tensor_data(out[1])[0] == 11.0f);
    /* an op reading both the assign and the variable */
    assert_true(gf_tensor_data(gf_test_run1(s, NULL, 0, dep))[0] == 31.0f + 21.0f);
    assert_true(gf_tensor_data(gf_session_variable(s, a))[0] == 31.0f);

    /* assigning one variable twice in one run is an error, and changes nothing */
    gf_node *twice[2] = { a_plus, a_again };
    gf_status st = gf_session_run(s, NULL, 0, NULL, 0, twice, 2, NULL);
    SESSION_ERROR(s, st, GF_ERR_ARG, "\"a\"", "assigned twice");
    gf_node *twice_fetch[2] = { a_again, b };
    st = gf_session_run(s, NULL, 0, twice_fetch, 2, &a_plus, 1, out);
    SESSION_ERROR(s, st, GF_ERR_ARG, "assigned twice");
    assert_true(gf_tensor_data(gf_session_variable(s, a))[0] == 31.0f);
    assert_true(gf_tensor_data(gf_session_variable(s, b))[0] == 2.0f);
    /* the same assign listed twice is one assignment */
    gf_node *same[2] = { a_again, a_again };
    assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, same, 2, NULL), GF_OK);
    assert_true(gf_tensor_data(gf_session_variable(s, a))[0] == 100.0f);
    gf_session_free(s);
    gf_graph_free(g);
}

/* The same seed gives the same bits; initial values are truncated normals. */
static void test_determinism(void **state)
{
    (void)state;
    enum { N = 10000 };
    gf_graph *g = gf_graph_new();
    gf_node *w = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 100, 100), 0, 1));
    gf_node *b = gf_variable(g, "b", gf_truncated_normal(g, gf_dims(2, 1, 300), 3, 0.5f));
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s1 = gf_session_new(g, &(gf_session_options){ .seed = 42 });
    gf_session *s2 = gf_session_new(g, &(gf_session_options){ .seed = 42 });
    gf_session *s3 = gf_session_new(g, &(gf_session_options){ .seed = 43 });
    const gf_tensor *w1 = gf_session_variable(s1, w), *w2 = gf_session_variable(s2, w);
    const gf_tensor *w3 = gf_session_variable(s3, w);
    assert_int_equal(gf_tensor_count(w1), N);
    assert_memory_equal(gf_tensor_data(w1), gf_tensor_data(w2), N * sizeof(float));
    assert_memory_not_equal(gf_tensor_data(w1), gf_tensor_data(w3), N * sizeof(float));
    assert_memory_equal(gf_tensor_data(gf_session_variable(s1, b)), gf_tensor_data(gf_session_variable(s2, b)),
                        300 * sizeof(float));
    /* two initializers of one session differ from each other */
    assert_memory_not_equal(gf_tensor_data(w1), gf_tensor_data(gf_session_variable(s1, b)), 300 * sizeof(float));

    /* statistics of N(0,1) truncated at +-2: mean 0, std 0.8796 */
    const float *d = gf_tensor_data(w1);
    double sum = 0, sq = 0;
    for (int i = 0; i < N; i++) {
        assert_true(d[i] >= -2.0f && d[i] <= 2.0f);
        sum += d[i];
    }
    double mean = sum / N;
    for (int i = 0; i < N; i++) sq += (d[i] - mean) * (d[i] - mean);
    double sd = sqrt(sq / (N - 1));
    if (fabs(mean) > 0.05 || fabs(sd - 0.8796) > 0.05) fail_msg("mean %g, std %g", mean, sd);
    /* mean 3, stddev 0.5: within [2,4], and not all equal */
    const float *e = gf_tensor_data(gf_session_variable(s3, b));
    int distinct = 0;
    for (int i = 0; i < 300; i++) {
        assert_true(e[i] >= 2.0f && e[i] <= 4.0f);
        distinct += e[i] != e[0];
    }
    assert_true(distinct > 250);
    gf_session_free(s1);
    gf_session_free(s2);
    gf_session_free(s3);

    /* the default seed (NULL options) is seed 0, reproducibly */
    gf_session *a = gf_session_new(g, NULL), *c = gf_session_new(g, &(gf_session_options){ .seed = 0 });
    assert_memory_equal(gf_tensor_data(gf_session_variable(a, w)), gf_tensor_data(gf_session_variable(c, w)),
                        N * sizeof(float));
    gf_session_free(a);
    gf_session_free(c);
    gf_graph_free(g);
}

/* Nodes and variables added after the session was made can be run. */
static void test_graph_grows_after_session(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *a = gf_variable(g, "a", gf_scalar(g, 4));
    gf_session *s = gf_session_new(g, NULL);
    assert_true(gf_tensor_data(gf_test_run1(s, NULL, 0, a))[0] == 4.0f);
    gf_node *b = gf_variable(g, "b", gf_mul(a, gf_scalar(g, 2)));
    gf_node *sum = gf_add(a, b);
    assert_true(gf_tensor_data(gf_test_run1(s, NULL, 0, sum))[0] == 12.0f);
    assert_true(gf_tensor_data(gf_session_variable(s, b))[0] == 8.0f);
    /* a tensor lent by gf_session_variable stays valid (no run in between)
     * while later calls initialise variables added since */
    const gf_tensor *ta = gf_session_variable(s, a);
    gf_node *more[40];
    for (int i = 0; i < 40; i++) more[i] = gf_variable(g, "more", gf_scalar(g, (float)i));
    for (int i = 0; i < 40; i++) assert_true(gf_tensor_data(gf_session_variable(s, more[i]))[0] == (float)i);
    assert_true(gf_tensor_data(ta)[0] == 4.0f);
    assert_ptr_equal(gf_session_variable(s, a), ta);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Fetched tensors stay valid until the next run; fetches of a fed
 * placeholder are copies, not the caller's buffer. */
static void test_fetch_lifetime(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *y = gf_mul(x, gf_scalar(g, 2));
    gf_node *v = gf_variable(g, "v", gf_constant(g, gf_dims(1, 3), (const float[]){ 5, 6, 7 }));
    gf_node *set = gf_assign(v, y);
    gf_session *s = gf_session_new(g, NULL);
    float buf[3] = { 1, 2, 3 };
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 3), buf, NULL);
    gf_feed f = { x, t };
    gf_node *fetch[4] = { y, x, v, set };
    const gf_tensor *out[4];
    assert_int_equal(gf_session_run(s, &f, 1, fetch, 4, NULL, 0, out), GF_OK);
    buf[0] = buf[1] = buf[2] = -99; /* the caller reuses its buffer */
    gf_tensor_free(t);
    /* nothing else called: all four are readable and right */
    gf_test_assert_close(gf_tensor_data(out[0]), (const float[]){ 2, 4, 6 }, 3, 0);
    gf_test_assert_close(gf_tensor_data(out[1]), (const float[]){ 1, 2, 3 }, 3, 0);
    gf_test_assert_close(gf_tensor_data(out[2]), (const float[]){ 5, 6, 7 }, 3, 0);
    gf_test_assert_close(gf_tensor_data(out[3]), (const float[]){ 2, 4, 6 }, 3, 0);
    assert_int_equal(gf_tensor_dtype(out[0]), GF_F32);
    assert_int_equal(gf_tensor_shape(out[0]).rank, 1);
    assert_int_equal(gf_tensor_shape(out[0]).dim[0], 3);
    gf_session_free(s);
    gf_graph_free(g);
}

/* ---- names ---- */

static void test_names(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 2));
    gf_node *a1 = gf_add(x, x), *a2 = gf_add(x, x), *a3 = gf_add(x, x);
    assert_string_equal(gf_node_name(a1), "add");
    assert_string_equal(gf_node_name(a2), "add_1");
    assert_string_equal(gf_node_name(a3), "add_2");
    gf_node *z1 = gf_name(gf_mul(x, x), "z"), *z2 = gf_name(gf_mul(x, x), "z");
    assert_string_equal(gf_node_name(z1), "z");
    assert_string_equal(gf_node_name(z2), "z_1");
    assert_ptr_equal(gf_graph_find(g, "z"), z1);
    assert_ptr_equal(gf_graph_find(g, "z_1"), z2);
    assert_ptr_equal(gf_graph_find(g, "x"), x);
    assert_ptr_equal(gf_graph_find(g, "add_2"), a3);
    assert_null(gf_graph_find(g, "nope"));
    assert_null(gf_graph_find(g, NULL));
    /* renaming frees the old name */
    assert_ptr_equal(gf_name(a1, "first"), a1);
    assert_null(gf_graph_find(g, "add"));
    assert_ptr_equal(gf_graph_find(g, "first"), a1);
    gf_node *a4 = gf_name(gf_add(x, x), "add");
    assert_string_equal(gf_node_name(a4), "add");
    assert_ptr_equal(gf_graph_find(g, "add"), a4);
    /* a name that clashes with a placeholder's */
    gf_node *x2 = gf_placeholder(g, "x", GF_F32, gf_dims(1, 2));
    assert_string_equal(gf_node_name(x2), "x_1");
    /* renaming to the same name is a no-op */
    assert_ptr_equal(gf_name(z2, "z_1"), z2);
    assert_string_equal(gf_node_name(z2), "z_1");
    /* empty name and NULL name */
    gf_node *e = gf_name(gf_neg(x), "");
    assert_true(strlen(gf_node_name(e)) > 0);
    assert_ptr_equal(gf_name(e, NULL), e);

    /* a 200-character name is truncated safely and is still unique */
    char long_name[201];
    memset(long_name, 'n', 200);
    long_name[200] = '\0';
    gf_node *l1 = gf_name(gf_exp(x), long_name), *l2 = gf_name(gf_exp(x), long_name);
    size_t n1 = strlen(gf_node_name(l1)), n2 = strlen(gf_node_name(l2));
    assert_true(n1 > 0 && n1 <= 63);
    assert_true(n2 > 0 && n2 <= 63);
    assert_int_equal(strncmp(gf_node_name(l1), long_name, n1), 0);
    assert_string_not_equal(gf_node_name(l1), gf_node_name(l2));
    assert_ptr_equal(gf_graph_find(g, gf_node_name(l1)), l1);
    assert_ptr_equal(gf_graph_find(g, gf_node_name(l2)), l2);
    /* a 63-character name fits whole */
    char name63[64];
    memset(name63, 'm', 63);
    name63[63] = '\0';
    gf_node *m = gf_name(gf_exp(x), name63);
    assert_string_equal(gf_node_name(m), name63);
    assert_ptr_equal(gf_graph_find(g, name63), m);
    gf_node *m2 = gf_name(gf_exp(x), name63); /* clash: still <= 63 and unique */
    assert_true(strlen(gf_node_name(m2)) <= 63);
    assert_string_not_equal(gf_node_name(m2), name63);
    assert_ptr_equal(gf_graph_find(g, gf_node_name(m2)), m2);
    /* many clashes keep names unique (and the table grows) */
    for (int i = 0; i < 600; i++) {
        gf_node *q = gf_name(gf_neg(x), "q");
        char want[32];
        if (i) snprintf(want, sizeof want, "q_%d", i);
        else snprintf(want, sizeof want, "q");
        assert_string_equal(gf_node_name(q), want);
        assert_ptr_equal(gf_graph_find(g, want), q);
    }
    assert_int_equal(gf_graph_status(g), GF_OK);
    /* the graph still runs with these names */
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *t = tensor_of(GF_F32, gf_dims(1, 2), 1);
    gf_feed f = { x, t };
    gf_test_assert_close(gf_tensor_data(gf_test_run1(s, &f, 1, z2)), (const float[]){ 1, 4 }, 2, 0);
    gf_tensor_free(t);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Long names and shapes in messages are cut safely. */
static void test_long_message(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    char long_name[201];
    memset(long_name, 'p', 200);
    long_name[200] = '\0';
    gf_node *p = gf_placeholder(g, long_name, GF_F32, gf_dims(4, GF_ANY, 1234567, 76543, 3));
    gf_node *q = gf_placeholder(g, long_name, GF_F32, gf_dims(4, GF_ANY, 1234567, 76543, 4));
    assert_int_equal(gf_graph_status(g), GF_OK);
    poisoned(gf_name(gf_add(p, q), long_name));
    assert_int_equal(gf_graph_status(g), GF_ERR_SHAPE);
    const char *msg = gf_graph_error(g);
    assert_true(strlen(msg) < 512);
    assert_has(msg, "[?,1234567,76543,3]");
    assert_has(msg, "[?,1234567,76543,4]");
    gf_graph_free(g);

    /* a session message naming a long-named placeholder */
    g = gf_graph_new();
    p = gf_placeholder(g, long_name, GF_F32, gf_dims(4, GF_ANY, 1234567, 76543, 3));
    gf_node *y = gf_name(gf_neg(p), long_name);
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *out;
    gf_status st = gf_session_run(s, NULL, 0, &y, 1, NULL, 0, &out);
    SESSION_ERROR(s, st, GF_ERR_FEED, "[?,1234567,76543,3]", "must be fed");
    assert_true(strlen(gf_session_error(s)) < 1024);
    gf_session_free(s);
    gf_graph_free(g);
}

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(gf_status_string(GF_OK), "ok");
    assert_string_equal(gf_status_string(GF_ERR_SHAPE), "shape error");
    assert_string_equal(gf_status_string(GF_ERR_FEED), "feed error");
    assert_string_equal(gf_dtype_name(GF_F32), "float32");
    assert_string_equal(gf_dtype_name(GF_I32), "int32");
    assert_string_equal(gf_dtype_name(GF_BOOL), "bool");
    char buf[64];
    assert_string_equal(gf_shape_format(gf_dims(2, GF_ANY, 784), buf, sizeof buf), "[?,784]");
    assert_string_equal(gf_shape_format(gf_dims(0), buf, sizeof buf), "[]");
    /* a short buffer is cut, not overrun */
    char small[5];
    gf_shape_format(gf_dims(3, 1000, 2000, 3000), small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    assert_int_equal(gf_shape_count(gf_dims(2, GF_ANY, 3)), -1);
    assert_int_equal(gf_shape_count(gf_dims(0)), 1);
    assert_int_equal(gf_shape_count(gf_dims(3, 2, 3, 4)), 24);
}

/* An assign whose value has an open dimension is checked when it runs. */
static void test_assign_open_value(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *v = gf_variable(g, "v", gf_constant(g, gf_dims(2, 2, 2), (const float[]){ 1, 2, 3, 4 }));
    gf_node *p = gf_placeholder(g, "p", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *set = gf_assign(v, p);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *t3 = tensor_of(GF_F32, gf_dims(2, 3, 2), 10), *t2 = tensor_of(GF_F32, gf_dims(2, 2, 2), 10);
    gf_feed f = { p, t3 };
    gf_status st = gf_session_run(s, &f, 1, NULL, 0, &set, 1, NULL);
    SESSION_ERROR(s, st, GF_ERR_SHAPE, "assign", "[3,2]", "[2,2]");
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, v)), (const float[]){ 1, 2, 3, 4 }, 4, 0);
    f.value = t2;
    assert_int_equal(gf_session_run(s, &f, 1, NULL, 0, &set, 1, NULL), GF_OK);
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, v)), (const float[]){ 10, 11, 12, 13 }, 4, 0);
    gf_tensor_free(t3);
    gf_tensor_free(t2);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Suffixes skip names already taken by hand. */
static void test_names_taken_suffix(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(0));
    gf_node *z1 = gf_name(gf_neg(x), "z_1");
    gf_node *z = gf_name(gf_neg(x), "z");
    gf_node *zz = gf_name(gf_neg(x), "z");
    assert_string_equal(gf_node_name(z1), "z_1");
    assert_string_equal(gf_node_name(z), "z");
    assert_string_equal(gf_node_name(zz), "z_2");
    /* an op name used by hand: the next built node of that op skips it */
    gf_node *e = gf_name(gf_neg(x), "exp");
    gf_node *e2 = gf_exp(x);
    assert_string_equal(gf_node_name(e), "exp");
    assert_string_equal(gf_node_name(e2), "exp_1");
    /* many renames (tombstones in the name table) keep lookups right */
    gf_node *r = gf_neg(x);
    char nm[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(nm, sizeof nm, "r%d", i);
        assert_ptr_equal(gf_name(r, nm), r);
    }
    assert_ptr_equal(gf_graph_find(g, "r1999"), r);
    assert_null(gf_graph_find(g, "r1998"));
    assert_ptr_equal(gf_graph_find(g, "z_2"), zz);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_broadcast_message),
        cmocka_unit_test(test_matmul_message),
        cmocka_unit_test(test_dtype_errors),
        cmocka_unit_test(test_sticky),
        cmocka_unit_test(test_clear_error),
        cmocka_unit_test(test_null_inputs),
        cmocka_unit_test(test_other_graph),
        cmocka_unit_test(test_reduce_argmax_transpose_errors),
        cmocka_unit_test(test_assign_errors),
        cmocka_unit_test(test_source_errors),
        cmocka_unit_test(test_feed_errors),
        cmocka_unit_test(test_fetch_errors),
        cmocka_unit_test(test_session_on_graph_in_error),
        cmocka_unit_test(test_initializer_needs_feed),
        cmocka_unit_test(test_failed_run_changes_nothing),
        cmocka_unit_test(test_runtime_open_dim_mismatch),
        cmocka_unit_test(test_pruning),
        cmocka_unit_test(test_assign_snapshot),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_graph_grows_after_session),
        cmocka_unit_test(test_fetch_lifetime),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_names_taken_suffix),
        cmocka_unit_test(test_assign_open_value),
        cmocka_unit_test(test_long_message),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
