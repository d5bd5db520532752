/*
 * test_public_misuse.c — every function of include/gradflow.h called with
 * NULL handles, NULL arrays and counts out of range: each survives and
 * answers as its doc comment says (an error code, a NULL, a poisoned node,
 * a message). The test reads the header and fails for a public function
 * that has no case here, so a new entry point cannot skip this.
 */
#include "testutil.h"
#include "ops/op.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A graph with a placeholder x [?,3] and a variable v [3] for the cases
 * that need valid handles beside the bad ones. */
typedef struct env {
    gf_graph *g;
    gf_node *x, *v;
    gf_session *s;
} env;

static env make_env(void)
{
    env e;
    e.g = gf_graph_new();
    e.x = gf_placeholder(e.g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    e.v = gf_variable(e.g, "v", gf_zeros(e.g, gf_dims(1, 3)));
    e.s = gf_session_new(e.g, NULL);
    assert_int_equal(gf_session_status(e.s), GF_OK);
    return e;
}

static void free_env(env *e)
{
    gf_session_free(e->s);
    gf_graph_free(e->g);
}

/* The session failed with code and a message containing want. */
static void session_failed(gf_session *s, gf_status got, gf_status code, const char *want)
{
    assert_int_equal(got, code);
    if (!strstr(gf_session_error(s), want))
        fail_msg("session error \"%s\" lacks \"%s\"", gf_session_error(s), want);
}

static void graph_failed(gf_graph *g, gf_status code, const char *want)
{
    assert_int_equal(gf_graph_status(g), code);
    if (!strstr(gf_graph_error(g), want)) fail_msg("graph error \"%s\" lacks \"%s\"", gf_graph_error(g), want);
}

#define POISON(call) assert_true(gf_node_is_poisoned(call))

static void c_status_string(void) { assert_non_null(gf_status_string((gf_status)-99)); }
static void c_set_allocator(void) { gf_set_allocator(NULL); /* NULL: back to malloc */ }
static void c_dtype_name(void) { assert_non_null(gf_dtype_name((gf_dtype)77)); }
static void c_dims(void) { assert_int_equal(gf_dims(9).rank, -1); assert_int_equal(gf_dims(-1).rank, -1); }
static void c_shape_from(void)
{
    assert_int_equal(gf_shape_from(2, NULL).rank, -1);
    assert_int_equal(gf_shape_from(-3, NULL).rank, -1);
    assert_int_equal(gf_shape_from(5, (const int64_t[]){ 1, 2, 3, 4, 5 }).rank, -1);
}
static void c_shape_format(void)
{
    char b[4];
    assert_null(gf_shape_format(gf_dims(1, 3), NULL, 10));
    assert_string_equal(gf_shape_format(gf_dims(2, 300, 400), b, sizeof b), "[30");
    assert_ptr_equal(gf_shape_format(gf_dims(1, 3), b, 0), b);
}
static void c_shape_count(void) { assert_true(gf_shape_count((gf_shape){ .rank = -1 }) < 0); }
static void c_tensor_new(void)
{
    gf_error err = { 0 };
    assert_null(gf_tensor_new(GF_F32, gf_dims(1, GF_ANY), &err));
    assert_int_equal(err.code, GF_ERR_SHAPE);
    assert_null(gf_tensor_new((gf_dtype)42, gf_dims(1, 2), NULL));
}
static void c_tensor_wrap(void)
{
    gf_error err = { 0 };
    assert_null(gf_tensor_wrap(GF_F32, gf_dims(1, 2), NULL, &err));
    assert_int_equal(err.code, GF_ERR_ARG);
}
static void c_tensor_free(void) { gf_tensor_free(NULL); }
static void c_tensor_shape(void) { assert_int_equal(gf_tensor_shape(NULL).rank, -1); }
static void c_tensor_dtype(void) { (void)gf_tensor_dtype(NULL); }
static void c_tensor_count(void) { assert_int_equal(gf_tensor_count(NULL), 0); }
static void c_tensor_data(void) { assert_null(gf_tensor_data(NULL)); }
static void c_graph_new(void) { gf_graph *g = gf_graph_new(); assert_non_null(g); gf_graph_free(g); }
static void c_graph_free(void) { gf_graph_free(NULL); }
static void c_graph_status(void) { assert_int_equal(gf_graph_status(NULL), GF_ERR_ARG); }
static void c_graph_error(void) { assert_non_null(gf_graph_error(NULL)); }
static void c_graph_clear_error(void) { assert_int_equal(gf_graph_clear_error(NULL), GF_ERR_ARG); }
static void c_graph_node_count(void) { assert_int_equal(gf_graph_node_count(NULL), 0); }
static void c_node_name(void) { assert_string_equal(gf_node_name(NULL), ""); }
static void c_node_op(void) { assert_non_null(gf_node_op(NULL)); }
static void c_node_shape(void) { assert_int_equal(gf_node_shape(NULL).rank, -1); }
static void c_node_dtype(void) { (void)gf_node_dtype(NULL); }
static void c_node_graph(void) { assert_null(gf_node_graph(NULL)); }
static void c_node_is_poisoned(void) { assert_true(gf_node_is_poisoned(NULL)); }
static void c_name(void)
{
    env e = make_env();
    assert_null(gf_name(NULL, "a"));
    gf_node *n = gf_exp(e.x);
    assert_ptr_equal(gf_name(n, NULL), n); /* no new name: keeps its own */
    assert_string_equal(gf_node_name(n), "exp");
    assert_int_equal(gf_graph_status(e.g), GF_OK);
    free_env(&e);
}
static void c_graph_find(void)
{
    env e = make_env();
    assert_null(gf_graph_find(NULL, "x"));
    assert_null(gf_graph_find(e.g, NULL));
    free_env(&e);
}
static void c_graph_node(void)
{
    env e = make_env();
    assert_null(gf_graph_node(NULL, 0));
    assert_null(gf_graph_node(e.g, -1));
    assert_null(gf_graph_node(e.g, 1 << 30));
    free_env(&e);
}
static void c_node_input_count(void) { assert_int_equal(gf_node_input_count(NULL), 0); }
static void c_node_input(void)
{
    env e = make_env();
    gf_node *y = gf_exp(e.x);
    assert_null(gf_node_input(NULL, 0));
    assert_null(gf_node_input(y, -1));
    assert_null(gf_node_input(y, 1));
    free_env(&e);
}
static void c_placeholder(void)
{
    POISON(gf_placeholder(NULL, "p", GF_F32, gf_dims(0)));
    gf_graph *g = gf_graph_new();
    POISON(gf_placeholder(g, "p", GF_F32, gf_dims(7)));
    graph_failed(g, GF_ERR_SHAPE, "placeholder");
    gf_graph_free(g);
}
static void c_scalar(void) { POISON(gf_scalar(NULL, 1)); }
static void c_constant(void)
{
    POISON(gf_constant(NULL, gf_dims(0), NULL));
    gf_graph *g = gf_graph_new();
    POISON(gf_constant(g, gf_dims(1, 4), NULL));
    graph_failed(g, GF_ERR_ARG, "constant");
    gf_graph_free(g);
}
static void c_truncated_normal(void) { POISON(gf_truncated_normal(NULL, gf_dims(0), 0, 1)); }
static void c_zeros(void) { POISON(gf_zeros(NULL, gf_dims(0))); }
static void c_variable(void) { POISON(gf_variable(NULL, "v", NULL)); }
static void c_set_trainable(void) { POISON(gf_set_trainable(NULL, 0)); }
static void c_unary(gf_node *(*op)(gf_node *)) { POISON(op(NULL)); }
static void c_binary(gf_node *(*op)(gf_node *, gf_node *))
{
    POISON(op(NULL, NULL));
    env e = make_env();
    POISON(op(e.x, NULL));
    graph_failed(e.g, GF_ERR_ARG, "input 1 is NULL");
    free_env(&e);
}
static void c_matmul(void) { c_binary(gf_matmul); }
static void c_matmul_t(void) { POISON(gf_matmul_t(NULL, NULL, 1, 1)); }
static void c_transpose(void) { c_unary(gf_transpose); }
static void c_transpose_perm(void)
{
    env e = make_env();
    POISON(gf_transpose_perm(e.x, NULL));
    graph_failed(e.g, GF_ERR_ARG, "transpose");
    free_env(&e);
}
static void c_reduce(gf_node *(*op)(gf_node *, const int *, int, int))
{
    env e = make_env();
    POISON(op(NULL, NULL, 0, 0));
    POISON(op(e.x, NULL, 2, 0));
    graph_failed(e.g, GF_ERR_ARG, "reduce");
    free_env(&e);
    e = make_env();
    POISON(op(e.x, (const int[]){ 0 }, -1, 0));
    assert_int_not_equal(gf_graph_status(e.g), GF_OK);
    free_env(&e);
}
static void c_reduce_sum(void) { c_reduce(gf_reduce_sum); }
static void c_reduce_mean(void) { c_reduce(gf_reduce_mean); }
static void c_argmax(void)
{
    env e = make_env();
    POISON(gf_argmax(e.x, 5));
    graph_failed(e.g, GF_ERR_ARG, "argmax");
    free_env(&e);
}
static void c_cast(void)
{
    env e = make_env();
    POISON(gf_cast(e.x, (gf_dtype)9));
    assert_int_not_equal(gf_graph_status(e.g), GF_OK);
    free_env(&e);
}
static void c_assign(void)
{
    POISON(gf_assign(NULL, NULL));
    env e = make_env();
    POISON(gf_assign(e.v, NULL));
    graph_failed(e.g, GF_ERR_ARG, "input 1 is NULL");
    free_env(&e);
}
static void c_check_numerics(void)
{
    POISON(gf_check_numerics(NULL, "m"));
    env e = make_env();
    gf_node *n = gf_check_numerics(e.x, NULL); /* no message: allowed */
    assert_int_equal(gf_graph_status(e.g), GF_OK);
    (void)n;
    free_env(&e);
}
static void c_reshape(void) { POISON(gf_reshape(NULL, gf_dims(1, 3))); }
static void c_concat(void) { POISON(gf_concat(NULL, NULL, 0)); }
static void c_slice_rows(void)
{
    env e = make_env();
    POISON(gf_slice_rows(e.x, -1, 1));
    graph_failed(e.g, GF_ERR_ARG, "slice_rows");
    free_env(&e);
}
static void c_one_hot(void)
{
    POISON(gf_one_hot(NULL, 3));
    env e = make_env();
    POISON(gf_one_hot(gf_cast(e.x, GF_I32), -1));
    assert_int_not_equal(gf_graph_status(e.g), GF_OK);
    free_env(&e);
}
static void c_dropout(void)
{
    env e = make_env();
    POISON(gf_dropout(e.x, 0.0f, 1));
    graph_failed(e.g, GF_ERR_ARG, "keep_prob");
    free_env(&e);
}
static void c_dropout_keep(void)
{
    POISON(gf_dropout_keep(NULL, NULL, 1));
    env e = make_env();
    POISON(gf_dropout_keep(e.x, NULL, 1));
    graph_failed(e.g, GF_ERR_ARG, "input 1 is NULL");
    free_env(&e);
    e = make_env();
    POISON(gf_dropout_keep(e.x, gf_zeros(e.g, gf_dims(1, 2)), 1));
    graph_failed(e.g, GF_ERR_SHAPE, "keep_prob (input 1) has shape [2]: expected a scalar");
    free_env(&e);
    /* checked when run: 0 < keep_prob <= 1 */
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 4));
    gf_node *kp = gf_placeholder(g, "kp", GF_F32, gf_dims(0));
    gf_node *y = gf_dropout_keep(x, kp, 3);
    gf_session *s = gf_session_new(g, NULL);
    gf_tensor *xt = gf_tensor_new(GF_F32, gf_dims(1, 4), NULL), *kt = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    for (int i = 0; i < 4; i++) gf_tensor_data(xt)[i] = (float)i - 1.5f;
    gf_feed feeds[2] = { { x, xt }, { kp, kt } };
    const gf_tensor *out;
    const float bad[] = { 0.0f, -0.5f, 1.5f, NAN };
    for (int i = 0; i < 4; i++) {
        gf_tensor_data(kt)[0] = bad[i];
        session_failed(s, gf_session_run(s, feeds, 2, &y, 1, NULL, 0, &out), GF_ERR_ARG,
                       "dropout_keep_mask \"dropout_keep_mask\": keep_prob is");
    }
    gf_tensor_data(kt)[0] = 1.0f; /* x exactly */
    assert_int_equal(gf_session_run(s, feeds, 2, &y, 1, NULL, 0, &out), GF_OK);
    assert_memory_equal(gf_tensor_data(out), gf_tensor_data(xt), 4 * sizeof(float));
    gf_tensor_free(xt);
    gf_tensor_free(kt);
    gf_session_free(s);
    gf_graph_free(g);
}
/* An image env: x [?,5,5,3]. */
static gf_node *image(env *e) { return gf_placeholder(e->g, "img", GF_F32, gf_dims(4, GF_ANY, 5, 5, 3)); }
static void c_conv2d(void)
{
    POISON(gf_conv2d(NULL, NULL, 1, 1, GF_SAME));
    env e = make_env();
    gf_node *x = image(&e);
    POISON(gf_conv2d(x, gf_zeros(e.g, gf_dims(4, 3, 3, 3, 8)), 0, 1, GF_SAME));
    graph_failed(e.g, GF_ERR_ARG, "conv2d: strides invalid for input \"img\"");
    free_env(&e);
    e = make_env();
    x = image(&e);
    POISON(gf_conv2d(x, gf_zeros(e.g, gf_dims(4, 3, 3, 3, 8)), 1, 1, (gf_padding)7));
    graph_failed(e.g, GF_ERR_ARG, "padding");
    free_env(&e);
    e = make_env();
    x = image(&e);
    POISON(gf_conv2d(x, gf_zeros(e.g, gf_dims(4, 3, 3, 4, 8)), 1, 1, GF_SAME));
    graph_failed(e.g, GF_ERR_SHAPE, "conv2d \"conv2d\": input channels must equal the filter's in_channels: "
                                    "dimensions must be equal, but are 3 and 4, with input shape [?,5,5,3] and "
                                    "filter shape [3,3,4,8]");
    free_env(&e);
    e = make_env();
    x = image(&e);
    POISON(gf_conv2d(x, gf_zeros(e.g, gf_dims(4, 6, 3, 3, 8)), 1, 1, GF_VALID));
    graph_failed(e.g, GF_ERR_SHAPE, "the window's height 6 is larger than the input's 5");
    free_env(&e);
    e = make_env();
    POISON(gf_conv2d(e.x, gf_zeros(e.g, gf_dims(4, 3, 3, 3, 8)), 1, 1, GF_SAME));
    graph_failed(e.g, GF_ERR_SHAPE, "input (input 0) has shape [?,3]: expected rank 4");
    free_env(&e);
}
static void pool_misuse(gf_node *(*pool)(gf_node *, int, int, int, int, gf_padding), const char *name)
{
    POISON(pool(NULL, 2, 2, 2, 2, GF_SAME));
    env e = make_env();
    POISON(pool(image(&e), 0, 2, 2, 2, GF_SAME));
    graph_failed(e.g, GF_ERR_ARG, name);
    free_env(&e);
    e = make_env();
    POISON(pool(image(&e), 2, 2, 2, -1, GF_VALID));
    graph_failed(e.g, GF_ERR_ARG, "strides");
    free_env(&e);
    e = make_env();
    POISON(pool(image(&e), 2, 9, 1, 1, GF_VALID));
    graph_failed(e.g, GF_ERR_SHAPE, "the window's width 9 is larger than the input's 5");
    free_env(&e);
    e = make_env();
    gf_node *y = pool(image(&e), 9, 9, 7, 7, GF_SAME); /* one window over everything */
    assert_int_equal(gf_graph_status(e.g), GF_OK);
    assert_int_equal(gf_node_shape(y).dim[1], 1);
    free_env(&e);
}
static void c_max_pool(void) { pool_misuse(gf_max_pool, "max_pool"); }
static void c_avg_pool(void) { pool_misuse(gf_avg_pool, "avg_pool"); }
static void c_gradients_ex_common(unsigned flags)
{
    env e = make_env();
    gf_node *y = gf_reduce_sum(gf_exp(e.x), NULL, 0, 0), *out[2];
    assert_int_equal(gf_gradients_ex(NULL, &y, 1, &e.x, 1, NULL, flags, out), GF_ERR_ARG);
    assert_int_equal(gf_gradients_ex(e.g, NULL, 1, &e.x, 1, NULL, flags, out), GF_ERR_ARG);
    graph_failed(e.g, GF_ERR_ARG, "ys");
    free_env(&e);
    e = make_env();
    y = gf_exp(e.x);
    assert_int_equal(gf_gradients_ex(e.g, &y, -1, &e.x, 1, NULL, flags, out), GF_ERR_ARG);
    free_env(&e);
    e = make_env();
    y = gf_exp(e.x);
    assert_int_equal(gf_gradients_ex(e.g, &y, 1, &e.x, 1, NULL, flags, NULL), GF_ERR_ARG);
    graph_failed(e.g, GF_ERR_ARG, "out is NULL");
    free_env(&e);
    /* grad_ys must be shaped like its y: [3] against [2,3] */
    e = make_env();
    gf_node *y3 = gf_mul(e.v, e.v), *gy = gf_zeros(e.g, gf_dims(2, 2, 3));
    gf_node *gy_named = gf_name(gy, "gy");
    assert_int_equal(gf_gradients_ex(e.g, &y3, 1, &e.v, 1, &gy_named, flags, out), GF_ERR_SHAPE);
    graph_failed(e.g, GF_ERR_SHAPE, "grad_ys[0] (\"gy\") is float32 of shape [2,3], but ys[0] (\"mul\") "
                                    "is float32 of shape [3]");
    free_env(&e);
}
static void c_gradients(void)
{
    c_gradients_ex_common(0);
    env e = make_env();
    gf_node *y = gf_exp(e.x), *out[1];
    assert_int_equal(gf_gradients(e.g, &y, 1, &e.x, -2, NULL, out), GF_ERR_ARG);
    free_env(&e);
}
static void c_gradients_ex(void) { c_gradients_ex_common(GF_GRAD_ZEROS); }
static void c_gradient_descent(void) { assert_null(gf_gradient_descent(NULL, 0.1f)); }
static void c_momentum(void) { assert_null(gf_momentum(NULL, 0.1f, 0.9f)); }
static void c_adam(void) { assert_null(gf_adam(NULL, 0.1f, 0.9f, 0.999f, 1e-8f)); }
static void c_minimize(void)
{
    POISON(gf_minimize(NULL, NULL, NULL, 0));
    env e = make_env();
    gf_optimizer *o = gf_gradient_descent(e.g, 0.1f);
    gf_node *cost = gf_reduce_sum(gf_square(e.v), NULL, 0, 0);
    POISON(gf_minimize(o, cost, NULL, 3));
    assert_int_not_equal(gf_graph_status(e.g), GF_OK);
    free_env(&e);
}
static void c_minimize_ex(void)
{
    POISON(gf_minimize_ex(NULL, NULL, NULL, 0, GF_ALL_REDUCE_SUM));
    env e = make_env();
    gf_optimizer *o = gf_gradient_descent(e.g, 0.1f);
    gf_node *cost = gf_reduce_sum(gf_square(e.v), NULL, 0, 0);
    POISON(gf_minimize_ex(o, cost, NULL, 0, GF_ALL_REDUCE_SUM | GF_ALL_REDUCE_MEAN));
    graph_failed(e.g, GF_ERR_ARG, "flags 0x3");
    free_env(&e);
}
/* A group whose collectives fail, for the misuse cases. */
static gf_status refuse(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t len)
{
    (void)ctx; (void)buf; (void)n;
    snprintf(msg, len, "the peers of \"%s\" are gone", name);
    return GF_ERR_GROUP;
}
/* The all_reduce of two ranks holding the same values (the sum is twice
 * them), so that a session's start check passes. */
static gf_status twice(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t len)
{
    (void)ctx; (void)name; (void)msg; (void)len;
    for (int64_t i = 0; i < n; i++) buf[i] = buf[i] + buf[i];
    return GF_OK;
}
static void c_session_accumulate(void)
{
    assert_int_equal(gf_session_accumulate(NULL, NULL, 0, NULL, 0), GF_ERR_ARG);
    env e = make_env();
    session_failed(e.s, gf_session_accumulate(e.s, NULL, 0, NULL, 1), GF_ERR_ARG, "targets");
    session_failed(e.s, gf_session_accumulate(e.s, NULL, 0, NULL, 0), GF_ERR_ARG, "no targets");
    gf_node *plain = gf_assign(e.v, gf_add(e.v, e.v));
    session_failed(e.s, gf_session_accumulate(e.s, NULL, 0, &plain, 1), GF_ERR_ARG, "nothing to accumulate");
    gf_node *step = gf_assign(e.v, gf_all_reduce_sum(gf_reduce_sum(e.x, (const int[]){ 0 }, 1, 0)));
    session_failed(e.s, gf_session_accumulate(e.s, NULL, 0, &step, 1), GF_ERR_FEED, "\"x\"");
    gf_tensor *bad = gf_tensor_new(GF_F32, gf_dims(2, 2, 4), NULL);
    gf_feed f = { e.x, bad };
    session_failed(e.s, gf_session_accumulate(e.s, &f, 1, &step, 1), GF_ERR_FEED, "expected [?,3]");
    session_failed(e.s, gf_session_accumulate(e.s, &f, -1, &step, 1), GF_ERR_ARG, "feeds");
    gf_tensor_free(bad);
    free_env(&e);
}
static void c_session_broadcast(void)
{
    assert_int_equal(gf_session_broadcast(NULL), GF_ERR_ARG);
    env e = make_env();
    assert_int_equal(gf_session_broadcast(e.s), GF_OK); /* alone: nothing to do */
    gf_process_group bad[] = { { .rank = 0, .size = 0 }, { .rank = 2, .size = 2, refuse, refuse, NULL },
                               { .rank = -1, .size = 1 }, { .rank = 0, .size = 2, refuse, NULL, NULL } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gf_session *s = gf_session_new(e.g, &(gf_session_options){ .group = &bad[i] });
        session_failed(s, gf_session_status(s), GF_ERR_ARG, "group of size");
        session_failed(s, gf_session_broadcast(s), GF_ERR_ARG, "group of size");
        gf_session_free(s);
    }
    gf_process_group failing = { .rank = 1, .size = 2, refuse, refuse, NULL };
    gf_session *s = gf_session_new(e.g, &(gf_session_options){ .group = &failing });
    session_failed(s, gf_session_status(s), GF_ERR_GROUP, "checking that the group's 2 ranks run one graph: "
                                                           "the peers of \"graph and seed\" are gone");
    gf_session_free(s);
    failing.all_reduce = twice; /* the check passes; the broadcast fails */
    s = gf_session_new(e.g, &(gf_session_options){ .group = &failing });
    session_failed(s, gf_session_status(s), GF_ERR_GROUP, "broadcasting variable \"v\" from rank 0 to rank 1 of 2");
    session_failed(s, gf_session_broadcast(s), GF_ERR_GROUP, "peers of \"v\" are gone");
    gf_session_free(s);
    free_env(&e);
}
static void c_session_new(void)
{
    gf_session *s = gf_session_new(NULL, NULL);
    assert_int_not_equal(gf_session_status(s), GF_OK);
    gf_session_free(s);
}
static void c_session_free(void) { gf_session_free(NULL); }
static void c_session_status(void) { assert_int_equal(gf_session_status(NULL), GF_ERR_ARG); }
static void c_session_error(void) { assert_string_equal(gf_session_error(NULL), "session is NULL"); }
static void c_session_run(void)
{
    const gf_tensor *outs[2];
    assert_int_equal(gf_session_run(NULL, NULL, 0, NULL, 0, NULL, 0, NULL), GF_ERR_ARG);
    env e = make_env();
    session_failed(e.s, gf_session_run(e.s, NULL, -1, NULL, 0, NULL, 0, NULL), GF_ERR_ARG, "feeds");
    session_failed(e.s, gf_session_run(e.s, NULL, 0, NULL, 2, NULL, 0, outs), GF_ERR_ARG, "fetches");
    session_failed(e.s, gf_session_run(e.s, NULL, 0, &e.v, 1, NULL, 0, NULL), GF_ERR_ARG, "outs");
    session_failed(e.s, gf_session_run(e.s, NULL, 0, NULL, 0, NULL, -5, NULL), GF_ERR_ARG, "targets");
    free_env(&e);
}
static void c_session_plan_stats(void)
{
    gf_node *many[100] = { NULL };
    gf_plan_stats ps;
    assert_int_equal(gf_session_plan_stats(NULL, NULL, 0, many, 100, NULL, 0, &ps), GF_ERR_ARG);
    assert_int_equal(gf_session_plan_stats(NULL, NULL, 0, NULL, 0, NULL, 0, NULL), GF_ERR_ARG);
    env e = make_env();
    for (int i = 0; i < 100; i++) many[i] = e.v;
    session_failed(e.s, gf_session_plan_stats(e.s, NULL, 0, many, 100, NULL, 0, &ps), GF_ERR_ARG, "64");
    session_failed(e.s, gf_session_plan_stats(e.s, NULL, 0, many, -1, NULL, 0, &ps), GF_ERR_ARG, "fetches");
    session_failed(e.s, gf_session_plan_stats(e.s, NULL, 0, NULL, 0, NULL, 0, NULL), GF_ERR_ARG, "out");
    free_env(&e);
}
static void c_session_variable(void)
{
    assert_null(gf_session_variable(NULL, NULL));
    env e = make_env();
    assert_null(gf_session_variable(e.s, NULL));
    assert_null(gf_session_variable(e.s, e.x));
    free_env(&e);
}
static void c_gradient_check(void)
{
    gf_gradcheck_result r;
    assert_int_equal(gf_gradient_check(NULL, NULL, NULL, NULL, 0, NULL, &r), GF_ERR_ARG);
    env e = make_env();
    gf_node *y = gf_exp(e.v);
    session_failed(e.s, gf_gradient_check(e.s, y, e.v, NULL, 0, NULL, NULL), GF_ERR_ARG, "gradient_check");
    session_failed(e.s, gf_gradient_check(e.s, y, e.v, NULL, -1, NULL, &r), GF_ERR_ARG, "gradient_check");
    free_env(&e);
}
static void c_session_save(void)
{
    assert_int_equal(gf_session_save(NULL, "/nonexistent/x"), GF_ERR_ARG);
    env e = make_env();
    session_failed(e.s, gf_session_save(e.s, NULL), GF_ERR_ARG, "path");
    free_env(&e);
}
static void c_session_restore(void)
{
    assert_int_equal(gf_session_restore(NULL, "/nonexistent/x"), GF_ERR_ARG);
    env e = make_env();
    session_failed(e.s, gf_session_restore(e.s, NULL), GF_ERR_ARG, "path");
    free_env(&e);
}
static void c_model_save(void)
{
    gf_signature_entry in[] = { { "x", NULL } };
    gf_signature bad = { in, 1, NULL, 0 };
    assert_int_equal(gf_model_save(NULL, NULL, "/nonexistent/x"), GF_ERR_ARG);
    env e = make_env();
    session_failed(e.s, gf_model_save(e.s, NULL, NULL), GF_ERR_ARG, "path");
    session_failed(e.s, gf_model_save(e.s, NULL, ""), GF_ERR_ARG, "path");
    session_failed(e.s, gf_model_save(e.s, &bad, "/nonexistent/x"), GF_ERR_ARG, "input \"x\" is NULL");
    bad.n_inputs = 0;
    bad.n_outputs = 2; /* outputs NULL */
    session_failed(e.s, gf_model_save(e.s, &bad, "/nonexistent/x"), GF_ERR_ARG, "the array is NULL");
    session_failed(e.s, gf_model_save(e.s, NULL, "/nonexistent/x"), GF_ERR_IO, "/nonexistent");
    free_env(&e);
}
static void c_model_load(void)
{
    gf_error err = { 0 };
    assert_null(gf_model_load(NULL, NULL, &err));
    assert_int_equal(err.code, GF_ERR_ARG);
    assert_null(gf_model_load("", NULL, NULL));
    assert_null(gf_model_load("/nonexistent/x", NULL, &err));
    assert_int_equal(err.code, GF_ERR_IO);
    assert_null(gf_model_load("/", &(gf_model_options){ .threads = -5 }, &err));
    assert_int_equal(err.code, GF_ERR_IO);
    assert_non_null(strstr(err.message, "not a regular file"));
}
static void c_model_free(void) { gf_model_free(NULL); }
static void c_model_graph(void) { assert_null(gf_model_graph(NULL)); }
static void c_model_session(void) { assert_null(gf_model_session(NULL)); }
static void c_model_signature(void) { assert_null(gf_model_signature(NULL)); }
static void c_model_input(void) { assert_null(gf_model_input(NULL, "x")); }
static void c_model_output(void) { assert_null(gf_model_output(NULL, NULL)); }
static void c_onnx_export(void)
{
    assert_int_equal(gf_onnx_export(NULL, NULL, NULL, 0, NULL, NULL, 1, "/nonexistent/x.onnx"), GF_ERR_ARG);
    env e = make_env();
    gf_node *y = gf_exp(e.x), *null_node = NULL;
    session_failed(e.s, gf_onnx_export(e.s, &e.x, NULL, 1, &y, NULL, 1, NULL), GF_ERR_ARG, "path");
    session_failed(e.s, gf_onnx_export(e.s, &e.x, NULL, 1, NULL, NULL, 1, "/nonexistent/x.onnx"), GF_ERR_ARG,
                   "at least one output");
    session_failed(e.s, gf_onnx_export(e.s, &e.x, NULL, 1, &y, NULL, 0, "/nonexistent/x.onnx"), GF_ERR_ARG,
                   "at least one output");
    session_failed(e.s, gf_onnx_export(e.s, NULL, NULL, 1, &y, NULL, 1, "/nonexistent/x.onnx"), GF_ERR_ARG,
                   "n_inputs 1");
    session_failed(e.s, gf_onnx_export(e.s, &e.x, NULL, 1, &null_node, NULL, 1, "/nonexistent/x.onnx"), GF_ERR_ARG,
                   "output 0 is NULL");
    session_failed(e.s, gf_onnx_export(e.s, &e.x, (const char *[]){ "" }, 1, &y, NULL, 1, "/nonexistent/x.onnx"),
                   GF_ERR_ARG, "input name 0 is NULL or empty");
    gf_node *poisoned = gf_add(e.x, NULL);
    session_failed(e.s, gf_onnx_export(e.s, &e.x, NULL, 1, &poisoned, NULL, 1, "/nonexistent/x.onnx"), GF_ERR_ARG,
                   "poisoned");
    free_env(&e);
}
static void c_rng_seed(void) { gf_rng_seed(NULL, 1, 2); }
static void c_rng_u32(void) { assert_int_equal(gf_rng_u32(NULL), 0); }
static void c_rng_below(void)
{
    gf_rng r;
    gf_rng_seed(&r, 1, 0);
    assert_int_equal(gf_rng_below(NULL, 5), 0);
    assert_int_equal(gf_rng_below(&r, 0), 0);
}
static void c_rng_uniform(void) { assert_true(gf_rng_uniform(NULL) == 0.0); }
static void c_rng_normal(void) { assert_true(gf_rng_normal(NULL) == 0.0); }
static void c_idx_read(void)
{
    gf_idx idx;
    gf_error err = { 0 };
    assert_int_equal(gf_idx_read(NULL, 0, &idx, &err), GF_ERR_ARG);
    assert_int_equal(err.code, GF_ERR_ARG);
    assert_int_equal(gf_idx_read("/nonexistent", 0, NULL, NULL), GF_ERR_ARG);
}
static void c_idx_free(void) { gf_idx_free(NULL); }
static void c_mnist_load(void)
{
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_mnist_load(NULL, NULL, &m, &err), GF_ERR_ARG);
    assert_null(m);
    assert_int_equal(gf_mnist_load("/nonexistent", NULL, NULL, NULL), GF_ERR_ARG);
}
static void c_mnist_free(void) { gf_mnist_free(NULL); }
static void c_dataset_count(void) { assert_int_equal(gf_dataset_count(NULL), 0); }
static void c_dataset_images(void) { assert_null(gf_dataset_images(NULL)); }
static void c_dataset_labels(void) { assert_null(gf_dataset_labels(NULL)); }
static void c_dataset_head(void)
{
    const gf_tensor *a, *b;
    assert_int_equal(gf_dataset_head(NULL, 1, &a, &b), GF_ERR_ARG);
}
static void c_dataset_next_batch(void)
{
    const gf_tensor *a, *b;
    assert_int_equal(gf_dataset_next_batch(NULL, 1, &a, &b), GF_ERR_ARG);
}
static void c_dataset_epochs(void) { assert_int_equal(gf_dataset_epochs(NULL), 0); }
static void c_dataset_error(void) { assert_non_null(gf_dataset_error(NULL)); }
static void c_dataset_from_arrays(void)
{
    gf_dataset *d = (gf_dataset *)1;
    gf_error err = { 0 };
    assert_int_equal(gf_dataset_from_arrays(NULL, NULL, NULL, &d, &err), GF_ERR_ARG);
    assert_null(d);
    assert_non_null(strstr(err.message, "features is NULL"));
    assert_int_equal(gf_dataset_from_arrays(NULL, NULL, NULL, NULL, NULL), GF_ERR_ARG);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 3, 2), NULL);
    assert_int_equal(gf_dataset_from_arrays(x, NULL, NULL, &d, &err), GF_ERR_ARG);
    assert_non_null(strstr(err.message, "labels is NULL"));
    gf_tensor_free(x);
}
static void c_dataset_load_idx(void)
{
    gf_dataset *d = (gf_dataset *)1;
    gf_error err = { 0 };
    assert_int_equal(gf_dataset_load_idx(NULL, "x", NULL, &d, &err), GF_ERR_ARG);
    assert_null(d);
    assert_int_equal(gf_dataset_load_idx("x", NULL, NULL, &d, &err), GF_ERR_ARG);
    assert_int_equal(gf_dataset_load_idx("x", "y", NULL, NULL, NULL), GF_ERR_ARG);
}
static void c_dataset_split(void)
{
    gf_dataset *a = (gf_dataset *)1, *b = (gf_dataset *)1;
    assert_int_equal(gf_dataset_split(NULL, 0, &a, &b), GF_ERR_ARG);
    assert_null(a);
    assert_null(b);
    assert_int_equal(gf_dataset_split(NULL, 0, NULL, NULL), GF_ERR_ARG);
}
static void c_dataset_free(void) { gf_dataset_free(NULL); }
static void c_dataset_classes(void) { assert_int_equal(gf_dataset_classes(NULL), 0); }
static void c_npy_read(void)
{
    gf_tensor *t = (gf_tensor *)1;
    gf_error err = { 0 };
    assert_int_equal(gf_npy_read(NULL, &t, &err), GF_ERR_ARG);
    assert_null(t);
    assert_int_equal(gf_npy_read("/nonexistent", NULL, NULL), GF_ERR_ARG);
}
static void c_npy_write(void)
{
    gf_error err = { 0 };
    assert_int_equal(gf_npy_write(NULL, NULL, &err), GF_ERR_ARG);
    assert_int_equal(gf_npy_write("/nonexistent/x.npy", NULL, &err), GF_ERR_ARG);
    assert_non_null(strstr(err.message, "NULL"));
}
static void c_csv_read(void)
{
    gf_tensor *x = (gf_tensor *)1, *y = (gf_tensor *)1;
    gf_error err = { 0 };
    assert_int_equal(gf_csv_read(NULL, NULL, &x, &y, &err), GF_ERR_ARG);
    assert_null(x);
    assert_null(y);
    assert_int_equal(gf_csv_read("/nonexistent", NULL, NULL, NULL, NULL), GF_ERR_ARG);
    assert_int_equal(gf_csv_read("/nonexistent", NULL, &x, NULL, &err), GF_ERR_ARG);
    assert_non_null(strstr(err.message, "no_labels"));
    assert_int_equal(gf_csv_read("/nonexistent", &(gf_csv_options){ .delimiter = '"' }, &x, &y, &err),
                     GF_ERR_ARG);
}

static const struct { const char *fn; void (*run)(void); } cases[] = {
#define C(name, f) { #name, f }
    C(gf_status_string, c_status_string), C(gf_set_allocator, c_set_allocator),
    C(gf_dtype_name, c_dtype_name), C(gf_dims, c_dims), C(gf_shape_from, c_shape_from),
    C(gf_shape_format, c_shape_format), C(gf_shape_count, c_shape_count), C(gf_tensor_new, c_tensor_new),
    C(gf_tensor_wrap, c_tensor_wrap), C(gf_tensor_free, c_tensor_free), C(gf_tensor_shape, c_tensor_shape),
    C(gf_tensor_dtype, c_tensor_dtype), C(gf_tensor_count, c_tensor_count), C(gf_tensor_data, c_tensor_data),
    C(gf_graph_new, c_graph_new), C(gf_graph_free, c_graph_free), C(gf_graph_status, c_graph_status),
    C(gf_graph_clear_error, c_graph_clear_error),
    C(gf_graph_error, c_graph_error), C(gf_graph_node_count, c_graph_node_count),
    C(gf_node_name, c_node_name), C(gf_node_op, c_node_op), C(gf_node_shape, c_node_shape),
    C(gf_node_dtype, c_node_dtype), C(gf_node_graph, c_node_graph), C(gf_node_is_poisoned, c_node_is_poisoned),
    C(gf_name, c_name), C(gf_graph_find, c_graph_find), C(gf_graph_node, c_graph_node),
    C(gf_node_input_count, c_node_input_count), C(gf_node_input, c_node_input),
    C(gf_placeholder, c_placeholder), C(gf_scalar, c_scalar), C(gf_constant, c_constant),
    C(gf_truncated_normal, c_truncated_normal), C(gf_zeros, c_zeros), C(gf_variable, c_variable),
    C(gf_set_trainable, c_set_trainable), C(gf_matmul, c_matmul), C(gf_matmul_t, c_matmul_t), C(gf_transpose, c_transpose),
    C(gf_transpose_perm, c_transpose_perm), C(gf_reduce_sum, c_reduce_sum), C(gf_reduce_mean, c_reduce_mean),
    C(gf_argmax, c_argmax), C(gf_cast, c_cast), C(gf_assign, c_assign),
    C(gf_check_numerics, c_check_numerics), C(gf_reshape, c_reshape), C(gf_concat, c_concat), C(gf_slice_rows, c_slice_rows),
    C(gf_one_hot, c_one_hot), C(gf_dropout, c_dropout), C(gf_dropout_keep, c_dropout_keep),
    C(gf_conv2d, c_conv2d), C(gf_max_pool, c_max_pool), C(gf_avg_pool, c_avg_pool),
    C(gf_gradients, c_gradients), C(gf_gradients_ex, c_gradients_ex),
    C(gf_gradient_descent, c_gradient_descent), C(gf_momentum, c_momentum), C(gf_adam, c_adam),
    C(gf_minimize, c_minimize), C(gf_minimize_ex, c_minimize_ex),
    C(gf_session_accumulate, c_session_accumulate), C(gf_session_broadcast, c_session_broadcast),
    C(gf_session_new, c_session_new), C(gf_session_free, c_session_free),
    C(gf_session_status, c_session_status), C(gf_session_error, c_session_error),
    C(gf_session_run, c_session_run), C(gf_session_plan_stats, c_session_plan_stats),
    C(gf_session_variable, c_session_variable), C(gf_gradient_check, c_gradient_check),
    C(gf_session_save, c_session_save), C(gf_session_restore, c_session_restore),
    C(gf_model_save, c_model_save), C(gf_model_load, c_model_load), C(gf_model_free, c_model_free),
    C(gf_model_graph, c_model_graph), C(gf_model_session, c_model_session),
    C(gf_model_signature, c_model_signature), C(gf_model_input, c_model_input), C(gf_model_output, c_model_output),
    C(gf_onnx_export, c_onnx_export),
    C(gf_rng_seed, c_rng_seed), C(gf_rng_u32, c_rng_u32), C(gf_rng_below, c_rng_below),
    C(gf_rng_uniform, c_rng_uniform), C(gf_rng_normal, c_rng_normal), C(gf_idx_read, c_idx_read),
    C(gf_idx_free, c_idx_free), C(gf_mnist_load, c_mnist_load), C(gf_mnist_free, c_mnist_free),
    C(gf_dataset_count, c_dataset_count), C(gf_dataset_images, c_dataset_images),
    C(gf_dataset_labels, c_dataset_labels), C(gf_dataset_head, c_dataset_head),
    C(gf_dataset_next_batch, c_dataset_next_batch), C(gf_dataset_epochs, c_dataset_epochs),
    C(gf_dataset_error, c_dataset_error),
    C(gf_dataset_from_arrays, c_dataset_from_arrays), C(gf_dataset_load_idx, c_dataset_load_idx),
    C(gf_dataset_split, c_dataset_split), C(gf_dataset_free, c_dataset_free),
    C(gf_dataset_classes, c_dataset_classes), C(gf_npy_read, c_npy_read), C(gf_npy_write, c_npy_write),
    C(gf_csv_read, c_csv_read),
#undef C
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* The constructors the op list generates (gf_NAME of an op whose ctor is
 * UNARY or BINARY) need no case above: c_unary or c_binary runs on each. */
static const gf_op *generated(const char *fn)
{
    for (int i = 0; i < GF_OP_COUNT; i++) {
        const gf_op *op = &gf__ops[i];
        if ((op->ctor == GF_CTOR_UNARY || op->ctor == GF_CTOR_BINARY) && !strncmp(fn, "gf_", 3) &&
            !strcmp(fn + 3, op->name))
            return op;
    }
    return NULL;
}

static void every_entry_point_survives_misuse(void **state)
{
    (void)state;
    for (int i = 0; i < N_CASES; i++) {
        print_message("%s\n", cases[i].fn);
        cases[i].run();
    }
    for (int i = 0; i < GF_OP_COUNT; i++) {
        const gf_op *op = &gf__ops[i];
        if (op->ctor == GF_CTOR_UNARY) c_unary(op->make1);
        if (op->ctor == GF_CTOR_BINARY) c_binary(op->make2);
    }
}

/* Every function the header declares (a line "type gf_name(" outside
 * comments and macros) has a case above. */
static void every_public_function_has_a_case(void **state)
{
    (void)state;
    size_t len = 0;
    char *path = gf_test_path(GF_SOURCE_DIR, "include/gradflow.h");
    char *h = (char *)gf_test_read_file(path, &len);
    assert_non_null(h);
    int found = 0, missing = 0;
    bool in_comment = false;
    for (char *line = strtok(h, "\n"); line; line = strtok(NULL, "\n")) {
        char *open = strstr(line, "/*");
        if (in_comment || (open && open == line + strspn(line, " "))) {
            in_comment = !strstr(line, "*/");
            continue;
        }
        if (line[0] == ' ' || line[0] == '#' || line[0] == '}' || strncmp(line, "typedef", 7) == 0) continue;
        char *p = strstr(line, "gf_"), *paren = strchr(line, '(');
        while (p && paren && p < paren) { /* the name is the gf_ word right before '(' */
            size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
            if (p + n == paren) {
                char name[128];
                snprintf(name, sizeof name, "%.*s", (int)n, p);
                bool have = false;
                for (int i = 0; i < N_CASES; i++) have |= strcmp(cases[i].fn, name) == 0;
                have |= generated(name) != NULL;
                found++;
                if (!have) {
                    print_error("%s has no misuse case in tests/test_public_misuse.c\n", name);
                    missing++;
                }
                break;
            }
            p = strstr(p + n, "gf_");
        }
    }
    int n_generated = 0;
    for (int i = 0; i < GF_OP_COUNT; i++)
        n_generated += gf__ops[i].ctor == GF_CTOR_UNARY || gf__ops[i].ctor == GF_CTOR_BINARY;
    assert_true(found >= N_CASES + n_generated); /* the parse saw every declaration */
    assert_int_equal(missing, 0);
    free(h);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_public_function_has_a_case),
        cmocka_unit_test(every_entry_point_survives_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
