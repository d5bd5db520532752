/*
 * test_gradients.c — automatic differentiation: every op against finite
 * differences, second derivatives, the article's manual step against the
 * derived one, optimizers, unconnected inputs and error messages.
 */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "article.h"
#include "gradcheck_cases.h"
#include "ops/op.h"

static bool same_shape(gf_shape a, gf_shape b)
{
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; i++)
        if (a.dim[i] != b.dim[i]) return false;
    return true;
}

static void count_failures(void *ctx, const char *op, const char *what, const gf_gradcheck_result *r,
                           const char *error)
{
    int *bad = ctx;
    if (error || !(r->max_error <= 1e-3)) {
        print_error("%s %s: %s (max error %g)\n", op, what, error ? error : "too far", r ? r->max_error : -1.0);
        (*bad)++;
    }
}

/* Every differentiable op, plain and broadcasting, plus the network. */
static void every_op_matches_finite_differences(void **state)
{
    (void)state;
    int bad = 0;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        int failed = gf_gradcheck_all(seed, 1e-3, count_failures, &bad);
        assert_int_equal(failed, bad);
    }
    assert_int_equal(bad, 0);
}

/* Every op with a gradient rule has a gradcheck case keyed by its name
 * (gf__grad_none aside: it builds nothing to check), and every case names
 * an op. */
static void every_gradient_rule_has_a_gradcheck_case(void **state)
{
    (void)state;
    for (int i = 0; i < GF_OP_COUNT; i++) {
        const gf_op *op = &gf__ops[i];
        if (!op->grad || op->grad == gf__grad_none) continue;
        size_t k = 0;
        while (gf_gradcheck_case_op(k) && strcmp(gf_gradcheck_case_op(k), op->name)) k++;
        if (!gf_gradcheck_case_op(k))
            fail_msg("op %s has a gradient rule but no case in gradcheck_cases.c: add one keyed \"%s\"",
                     op->name, op->name);
    }
    for (size_t k = 0; gf_gradcheck_case_op(k); k++) {
        int i = 0;
        while (i < GF_OP_COUNT && strcmp(gf__ops[i].name, gf_gradcheck_case_op(k))) i++;
        if (i == GF_OP_COUNT) fail_msg("gradcheck case %zu is keyed \"%s\", which is no op", k, gf_gradcheck_case_op(k));
        if (!gf__ops[i].grad) fail_msg("gradcheck case %zu checks op %s, which has no gradient rule", k, gf__ops[i].name);
    }
}

/* sigmoid's gradient rule with a mistake: dy * s, the factor (1 - s) left
 * out. */
static void wrong_sigmoid_rule(gf_node *n, gf_node *dy, const bool *need, gf_node **dx)
{
    if (need[0]) dx[0] = gf_mul(dy, n);
}

/* The checker passes a right gradient and reports a wrong one: a node
 * whose op is a test-only copy of sigmoid's row with a wrong rule. */
static void checker_catches_a_wrong_gradient(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *y = gf_mul(gf_mul(x, x), x);
    gf_op wrong = *GF_OP(SIGMOID);
    wrong.grad = wrong_sigmoid_rule;
    gf_node *right = gf_sigmoid(x), *bad = gf_sigmoid(x);
    bad->op = &wrong;
    float xv[3] = { 0.5f, -1.0f, 2.0f };
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 3), xv, NULL);
    gf_session *s = gf_session_new(g, NULL);
    gf_feed f = { x, t };
    gf_gradcheck_result r;
    assert_int_equal(gf_gradient_check(s, y, x, &f, 1, NULL, &r), GF_OK);
    assert_true(r.max_error < 1e-4);
    assert_int_equal(r.checked, 3);
    assert_int_equal(gf_gradient_check(s, right, x, &f, 1, NULL, &r), GF_OK);
    assert_true(r.max_error < 1e-4);
    /* s (1 - s) against s: at x = -1, 0.197 against 0.269; at x = 2,
     * 0.105 against 0.881 */
    assert_int_equal(gf_gradient_check(s, bad, x, &f, 1, NULL, &r), GF_OK);
    assert_true(r.max_error > 0.5);
    /* the analytic values are the ones gf_gradients builds */
    gf_node *dx;
    assert_int_equal(gf_gradients(g, &y, 1, &x, 1, NULL, &dx), GF_OK);
    const gf_tensor *d = gf_test_run1(s, &f, 1, dx);
    float want[3] = { 0.75f, 3.0f, 12.0f };
    gf_test_assert_close(gf_tensor_data(d), want, 3, 1e-6);
    /* x was restored after the checks */
    assert_true(xv[0] == 0.5f && xv[1] == -1.0f && xv[2] == 2.0f);
    gf_session_free(s);
    gf_tensor_free(t);
    gf_graph_free(g);
}

typedef gf_node *(*unary_fn)(gf_node *x);
static gf_node *f_sigmoid(gf_node *x) { return gf_sigmoid(x); }
static gf_node *f_exp(gf_node *x) { return gf_exp(x); }
static gf_node *f_square(gf_node *x) { return gf_mul(x, x); }
static gf_node *f_recip(gf_node *x) { return gf_div(gf_scalar(gf_node_graph(x), 1.0f), x); }

static double d2_sigmoid(double x)
{
    double s = 1 / (1 + exp(-x));
    return s * (1 - s) * (1 - 2 * s);
}
static double d2_exp(double x) { return exp(x); }
static double d2_square(double x) { (void)x; return 2; }
static double d2_recip(double x) { return 2 / (x * x * x); }

/* Second derivatives: differentiate the gradient graph again, compare with
 * the closed form and with finite differences of the first gradient. */
static void second_derivatives(void **state)
{
    (void)state;
    struct { unary_fn f; double (*d2)(double); const char *name; } fs[] = {
        { f_sigmoid, d2_sigmoid, "sigmoid" }, { f_exp, d2_exp, "exp" },
        { f_square, d2_square, "mul" }, { f_recip, d2_recip, "div" },
    };
    float xv[5] = { -2.0f, -0.7f, 0.5f, 1.0f, 1.9f };
    for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++) {
        gf_graph *g = gf_graph_new();
        gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 5));
        gf_node *y = fs[k].f(x), *d1, *d2;
        assert_int_equal(gf_gradients(g, &y, 1, &x, 1, NULL, &d1), GF_OK);
        assert_int_equal(gf_gradients(g, &d1, 1, &x, 1, NULL, &d2), GF_OK);
        gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 5), xv, NULL);
        gf_session *s = gf_session_new(g, NULL);
        gf_feed f = { x, t };
        const float *got = gf_tensor_data(gf_test_run1(s, &f, 1, d2));
        for (int i = 0; i < 5; i++) {
            double want = fs[k].d2(xv[i]);
            if (fabs(got[i] - want) > 1e-4 * (1 + fabs(want)))
                fail_msg("%s'' at %g: got %g, want %g", fs[k].name, (double)xv[i], (double)got[i], want);
        }
        gf_gradcheck_result r;
        assert_int_equal(gf_gradient_check(s, d1, x, &f, 1, NULL, &r), GF_OK);
        assert_true(r.max_error < 1e-3);
        gf_session_free(s);
        gf_tensor_free(t);
        gf_graph_free(g);
    }
}

/* The article: for the same weights and batch, the derived gradient of
 * 0.5 * sum(diff^2) equals the hand-written d_w_1, d_w_2, and the bias
 * gradients equal the batch sums of d_z_1, d_z_2. */
static void manual_step_equals_derived(void **state)
{
    (void)state;
    gf_article_net net;
    assert_int_equal(gf_article_build_manual(&net, 30, 0.5f), GF_OK);
    gf_graph *g = net.g;
    gf_node *diff = gf_graph_find(g, "diff");
    assert_non_null(diff);
    gf_node *cost = gf_mul(gf_scalar(g, 0.5f), gf_reduce_sum(gf_mul(diff, diff), NULL, 0, 0));
    gf_node *vars[4] = { net.w_1, net.b_1, net.w_2, net.b_2 }, *grads[4];
    assert_int_equal(gf_gradients(g, &cost, 1, vars, 4, NULL, grads), GF_OK);
    int axis0[] = { 0 };
    gf_node *manual[4] = {
        gf_graph_find(g, "d_w_1"), gf_reduce_sum(gf_graph_find(g, "d_z_1"), axis0, 1, 1),
        gf_graph_find(g, "d_w_2"), gf_reduce_sum(gf_graph_find(g, "d_z_2"), axis0, 1, 1),
    };
    assert_int_equal(gf_graph_status(g), GF_OK);

    gf_rng r;
    gf_rng_seed(&r, 42, 1);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL);
    gf_tensor *lab = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    for (int64_t i = 0; i < 10 * 784; i++) gf_tensor_data(x)[i] = gf_rng_uniform(&r) < 0.8 ? 0.0f : (float)gf_rng_uniform(&r);
    for (int i = 0; i < 10; i++) gf_tensor_data(lab)[i * 10 + gf_rng_below(&r, 10)] = 1.0f;
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 3 });
    gf_feed feeds[2] = { { net.a_0, x }, { net.y, lab } };
    const gf_tensor *out[8];
    gf_node *fetch[8];
    for (int i = 0; i < 4; i++) {
        fetch[i] = grads[i];
        fetch[4 + i] = manual[i];
    }
    assert_int_equal(gf_session_run(s, feeds, 2, fetch, 8, NULL, 0, out), GF_OK);
    for (int i = 0; i < 4; i++) {
        assert_true(same_shape(gf_tensor_shape(out[i]), gf_tensor_shape(out[4 + i])));
        /* relative to the largest entry, so that near-zero entries compare
         * on the scale of the gradient */
        double big = 0;
        for (int64_t j = 0; j < gf_tensor_count(out[i]); j++) big = fmax(big, fabs(gf_tensor_data(out[4 + i])[j]));
        assert_true(big > 0);
        for (int64_t j = 0; j < gf_tensor_count(out[i]); j++) {
            double a = gf_tensor_data(out[i])[j], m = gf_tensor_data(out[4 + i])[j];
            if (fabs(a - m) > 1e-5 * big) fail_msg("gradient %d element %lld: derived %g, manual %g", i, (long long)j, a, m);
        }
    }
    gf_session_free(s);
    gf_tensor_free(x);
    gf_tensor_free(lab);
    gf_graph_free(g);
}

/* A weight used twice gets the sum of both contributions. */
static void minimize_shared_weight(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    float w0 = 0.5f, x1v = 2.0f, x2v = -3.0f;
    gf_node *w = gf_variable(g, "w", gf_constant(g, gf_dims(0), &w0));
    gf_node *x1 = gf_scalar(g, x1v), *x2 = gf_scalar(g, x2v);
    /* cost = (w x1)^2 + (w x2)^2: d/dw = 2 w (x1^2 + x2^2) = 13 */
    gf_node *a = gf_mul(w, x1), *b = gf_mul(w, x2);
    gf_node *cost = gf_add(gf_mul(a, a), gf_mul(b, b));
    gf_node *step = gf_minimize(gf_gradient_descent(g, 0.01f), cost, NULL, 0);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, &step, 1, NULL), GF_OK);
    float got = gf_tensor_data(gf_session_variable(s, w))[0];
    assert_float_equal(got, 0.5f - 0.01f * 13.0f, 1e-6);
    gf_session_free(s);
    gf_graph_free(g);
}

/* A shared subgraph's gradient is summed once, then passed back once: h
 * used twice still gives exactly one matmul for dw. */
static void shared_subgraph_accumulates_once(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 4));
    gf_node *w = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 4, 3), 0, 1));
    gf_node *h = gf_matmul(x, w);
    gf_node *y = gf_add(gf_mul(h, h), gf_exp(h));
    int before = gf_graph_node_count(g);
    gf_node *dw;
    assert_int_equal(gf_gradients(g, &y, 1, &w, 1, NULL, &dw), GF_OK);
    assert_true(gf_graph_node_count(g) > before);
    /* Gradient matmuls are named gradients/matmul, gradients/matmul_1, ... */
    int matmuls = 0;
    for (int i = 0; i < 4096; i++) {
        char name[40];
        snprintf(name, sizeof name, i ? "gradients/matmul_%d" : "gradients/matmul", i);
        gf_node *n = gf_graph_find(g, name);
        if (!n) break;
        matmuls++;
    }
    assert_int_equal(matmuls, 1);
    assert_string_equal(gf_node_op(dw), "matmul");
    gf_graph_free(g);
}

static void unconnected_and_zeros(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, 2, 3));
    gf_node *z = gf_placeholder(g, "z", GF_F32, gf_dims(2, 2, 3));
    gf_node *y = gf_exp(x), *out[2];
    gf_node *xs[2] = { x, z };
    assert_int_equal(gf_gradients(g, &y, 1, xs, 2, NULL, out), GF_OK);
    assert_non_null(out[0]);
    assert_null(out[1]);
    assert_int_equal(gf_gradients_ex(g, &y, 1, xs, 2, NULL, GF_GRAD_ZEROS, out), GF_OK);
    assert_non_null(out[1]);
    float zv[6] = { 1, 2, 3, 4, 5, 6 }, zero[6] = { 0 };
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(2, 2, 3), zv, NULL);
    gf_session *s = gf_session_new(g, NULL);
    gf_feed f = { z, t };
    const gf_tensor *r = gf_test_run1(s, &f, 1, out[1]);
    assert_true(same_shape(gf_tensor_shape(r), gf_dims(2, 2, 3)));
    assert_memory_equal(gf_tensor_data(r), zero, sizeof zero);
    gf_session_free(s);
    gf_tensor_free(t);
    gf_graph_free(g);
}

/* Several ys add up; grad_ys weighs each element. */
static void several_ys_and_grad_ys(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    float xv[3] = { 1, 2, 3 }, gy[3] = { 10, 20, 30 };
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *ys[2] = { gf_mul(x, x), gf_mul(gf_scalar(g, 3.0f), x) }, *d;
    assert_int_equal(gf_gradients(g, ys, 2, &x, 1, NULL, &d), GF_OK);
    gf_node *weights[2] = { gf_constant(g, gf_dims(1, 3), gy), gf_constant(g, gf_dims(1, 3), gy) }, *dw;
    assert_int_equal(gf_gradients(g, ys, 2, &x, 1, weights, &dw), GF_OK);
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 3), xv, NULL);
    gf_session *s = gf_session_new(g, NULL);
    gf_feed f = { x, t };
    float want[3] = { 2 * 1 + 3, 2 * 2 + 3, 2 * 3 + 3 };
    gf_test_assert_close(gf_tensor_data(gf_test_run1(s, &f, 1, d)), want, 3, 1e-6);
    float want_w[3] = { 10 * 5, 20 * 7, 30 * 9 };
    gf_test_assert_close(gf_tensor_data(gf_test_run1(s, &f, 1, dw)), want_w, 3, 1e-6);
    gf_session_free(s);
    gf_tensor_free(t);
    gf_graph_free(g);
}

/* The bias of a batch with an open dimension: its gradient sums over the
 * batch, whatever the batch size of each run. */
static void open_batch_broadcast_gradient(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *b = gf_variable(g, "b", gf_zeros(g, gf_dims(2, 1, 3)));
    gf_node *y = gf_mul(gf_add(x, b), gf_add(x, b)), *db;
    assert_int_equal(gf_gradients(g, &y, 1, &b, 1, NULL, &db), GF_OK);
    gf_session *s = gf_session_new(g, NULL);
    for (int n = 1; n <= 7; n += 3) {
        float xv[21];
        float want[3] = { 0, 0, 0 };
        for (int i = 0; i < n * 3; i++) {
            xv[i] = (float)(i + 1) * 0.5f;
            want[i % 3] += 2 * xv[i];
        }
        gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(2, n, 3), xv, NULL);
        gf_feed f = { x, t };
        const gf_tensor *r = gf_test_run1(s, &f, 1, db);
        assert_true(same_shape(gf_tensor_shape(r), gf_dims(2, 1, 3)));
        gf_test_assert_close(gf_tensor_data(r), want, 3, 1e-6);
        gf_tensor_free(t);
    }
    gf_session_free(s);
    gf_graph_free(g);
}

/* Momentum and Adam against their TensorFlow formulas in double. */
static void momentum_and_adam_follow_tensorflow(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        gf_graph *g = gf_graph_new();
        float w0[2] = { 1.0f, -2.0f };
        gf_node *w = gf_variable(g, "w", gf_constant(g, gf_dims(1, 2), w0));
        gf_node *cost = gf_mul(w, w); /* grad 2w */
        gf_optimizer *o = kind ? gf_adam(g, 0.1f, 0, 0, 0) : gf_momentum(g, 0.1f, 0.9f);
        gf_node *step = gf_minimize(o, cost, NULL, 0);
        assert_int_equal(gf_graph_status(g), GF_OK);
        gf_session *s = gf_session_new(g, NULL);
        double wd[2] = { 1.0, -2.0 }, m[2] = { 0, 0 }, v[2] = { 0, 0 }, b1p = 0.9, b2p = 0.999;
        for (int it = 0; it < 5; it++) {
            assert_int_equal(gf_session_run(s, NULL, 0, NULL, 0, &step, 1, NULL), GF_OK);
            double lr_t = 0.1 * sqrt(1 - b2p) / (1 - b1p);
            for (int i = 0; i < 2; i++) {
                double gr = 2 * wd[i];
                if (kind == 0) {
                    m[i] = 0.9 * m[i] + gr;
                    wd[i] -= 0.1 * m[i];
                } else {
                    m[i] = 0.9 * m[i] + 0.1 * gr;
                    v[i] = 0.999 * v[i] + 0.001 * gr * gr;
                    wd[i] -= lr_t * m[i] / (sqrt(v[i]) + 1e-8);
                }
            }
            b1p *= 0.9;
            b2p *= 0.999;
            const float *got = gf_tensor_data(gf_session_variable(s, w));
            for (int i = 0; i < 2; i++)
                if (fabs(got[i] - wd[i]) > 1e-5 * (1 + fabs(wd[i])))
                    fail_msg("%s step %d w[%d]: got %g, want %g", kind ? "adam" : "momentum", it, i,
                             (double)got[i], wd[i]);
        }
        gf_session_free(s);
        gf_graph_free(g);
    }
}

static void errors_name_the_problem(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *w = gf_variable(g, "w", gf_zeros(g, gf_dims(2, 3, 2)));
    gf_node *y = gf_reduce_sum(gf_cast(gf_argmax(gf_matmul(x, w), 1), GF_F32), NULL, 0, 0), *d;
    assert_int_equal(gf_gradients(g, &y, 1, &w, 1, NULL, &d), GF_ERR_ARG);
    assert_null(d);
    assert_non_null(strstr(gf_graph_error(g), "gradients: op cast"));
    assert_non_null(strstr(gf_graph_error(g), "has no gradient"));
    gf_graph_free(g);

    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_variable(g, "w", gf_zeros(g, gf_dims(2, 3, 2)));
    gf_node *cost = gf_name(gf_mul(x, x), "cost");
    gf_node *step = gf_minimize(gf_gradient_descent(g, 0.1f), cost, NULL, 0);
    assert_true(gf_node_is_poisoned(step));
    assert_non_null(strstr(gf_graph_error(g), "no gradients for any variable"));
    assert_non_null(strstr(gf_graph_error(g), "\"cost\""));
    gf_graph_free(g);

    g = gf_graph_new();
    gf_graph *other = gf_graph_new();
    gf_node *mine = gf_placeholder(g, "x", GF_F32, gf_dims(0));
    gf_node *theirs = gf_exp(gf_placeholder(other, "x", GF_F32, gf_dims(0)));
    assert_int_equal(gf_gradients(g, &theirs, 1, &mine, 1, NULL, &d), GF_ERR_ARG);
    assert_non_null(strstr(gf_graph_error(g), "ys[0] belongs to another graph"));
    gf_graph_free(other);
    gf_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_op_matches_finite_differences),
        cmocka_unit_test(every_gradient_rule_has_a_gradcheck_case),
        cmocka_unit_test(checker_catches_a_wrong_gradient),
        cmocka_unit_test(second_derivatives),
        cmocka_unit_test(manual_step_equals_derived),
        cmocka_unit_test(minimize_shared_weight),
        cmocka_unit_test(shared_subgraph_accumulates_once),
        cmocka_unit_test(unconnected_and_zeros),
        cmocka_unit_test(several_ys_and_grad_ys),
        cmocka_unit_test(open_batch_broadcast_gradient),
        cmocka_unit_test(momentum_and_adam_follow_tensorflow),
        cmocka_unit_test(errors_name_the_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
