/*
 * test_planner.c — the planner's rewrites: optimised and literal plans agree
 * on the article's graphs, each rewrite does what it claims, in-place
 * updates keep the snapshot rule, and a steady-state step allocates nothing.
 */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "plan/plan.h"

enum { MANUAL, AUTODIFF };

/* Trains `steps` steps on generated batches; copies out the four variables. */
static void train_net(int kind, unsigned disable, int steps, float *out[4])
{
    gf_article_net net;
    gf_status st = kind == MANUAL ? gf_article_build_manual(&net, 30, 0.5f) : gf_article_build_autodiff(&net, 30, 0.1f);
    assert_int_equal(st, GF_OK);
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 5, .disable = disable });
    assert_int_equal(gf_session_status(s), GF_OK);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    gf_rng r;
    gf_rng_seed(&r, 11, 3);
    for (int i = 0; i < steps; i++) {
        float *px = gf_tensor_data(x), *py = gf_tensor_data(y);
        for (int j = 0; j < 10 * 784; j++) px[j] = gf_rng_uniform(&r) < 0.8 ? 0.0f : (float)gf_rng_uniform(&r);
        memset(py, 0, 100 * sizeof *py);
        for (int j = 0; j < 10; j++) py[j * 10 + gf_rng_below(&r, 10)] = 1.0f;
        gf_feed feed[2] = { { net.a_0, x }, { net.y, y } };
        if (gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL)) fail_msg("%s", gf_session_error(s));
    }
    gf_node *vars[4] = { net.w_1, net.b_1, net.w_2, net.b_2 };
    for (int v = 0; v < 4; v++) {
        const gf_tensor *t = gf_session_variable(s, vars[v]);
        out[v] = malloc((size_t)gf_tensor_count(t) * sizeof(float));
        memcpy(out[v], gf_tensor_data(t), (size_t)gf_tensor_count(t) * sizeof(float));
    }
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_session_free(s);
    gf_graph_free(net.g);
}

static void assert_nets_close(float *a[4], float *b[4], double tol)
{
    const int64_t n[4] = { 784 * 30, 30, 300, 10 };
    for (int v = 0; v < 4; v++) {
        double big = 0, worst = 0;
        for (int64_t i = 0; i < n[v]; i++) big = fmax(big, fabs(b[v][i]));
        for (int64_t i = 0; i < n[v]; i++) worst = fmax(worst, fabs(a[v][i] - b[v][i]));
        if (worst > tol * fmax(big, 1.0)) fail_msg("variable %d differs by %g (scale %g)", v, worst, big);
    }
}

/* Every rewrite, and all of them, against the literal graph. */
static void optimised_matches_literal(void **state)
{
    (void)state;
    const unsigned configs[] = { 0, GF_NO_CSE, GF_NO_FOLD, GF_NO_TRANSPOSE_FOLD, GF_NO_FUSE, GF_NO_INPLACE, GF_NO_REUSE };
    for (int kind = MANUAL; kind <= AUTODIFF; kind++) {
        float *literal[4];
        train_net(kind, GF_NO_REWRITES, 60, literal);
        for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
            float *opt[4];
            train_net(kind, configs[c], 60, opt);
            assert_nets_close(opt, literal, 1e-4);
            for (int v = 0; v < 4; v++) free(opt[v]);
        }
        for (int v = 0; v < 4; v++) free(literal[v]);
    }
}

/* The manual step compiles to what docs/design.md describes: no transposes,
 * both weight updates inside their GEMMs, bias updates in place, the
 * elementwise chains fused, and far fewer steps than literally. */
static void article_plan_is_rewritten(void **state)
{
    (void)state;
    gf_article_net net;
    assert_int_equal(gf_article_build_manual(&net, 30, 0.5f), GF_OK);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    gf_feed feed[2] = { { net.a_0, x }, { net.y, y } };
    int steps[2], gemm = 0, axpy = 0, fused = 0, transposes = 0;
    char err[512];
    gf_run_ctx c = { .graph = net.g, .err = err, .err_len = sizeof err };
    for (int opt = 0; opt < 2; opt++) {
        gf_plan *p;
        assert_int_equal(gf__plan_compile(&c, opt ? 0 : GF_NO_REWRITES, feed, 2, NULL, 0, net.step, 4, &p), GF_OK);
        steps[opt] = p->n_steps;
        for (int i = 0; opt && i < p->n_steps; i++) {
            gemm += p->steps[i]->kind == GF_STEP_GEMM;
            axpy += p->steps[i]->kind == GF_STEP_AXPY;
            fused += p->steps[i]->kind == GF_STEP_FUSED;
            transposes += p->steps[i]->n.op == GF_OP(TRANSPOSE);
        }
        gf__plan_free(p);
    }
    print_message("article step: %d steps literally, %d planned (%d gemm updates, %d axpy, %d fused)\n",
                  steps[0], steps[1], gemm, axpy, fused);
    assert_int_equal(gemm, 2);
    assert_int_equal(axpy, 2);
    assert_int_equal(transposes, 0);
    assert_true(fused >= 3);
    assert_true(steps[1] * 2 < steps[0]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_graph_free(net.g);
}

/* Updates that read each other's variable keep the snapshot rule. */
static void inplace_keeps_snapshot_rule(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    float w0[3] = { 1, 2, 3 }, v0[3] = { 10, 20, 30 };
    gf_node *w = gf_variable(g, "w", gf_constant(g, gf_dims(1, 3), w0));
    gf_node *v = gf_variable(g, "v", gf_constant(g, gf_dims(1, 3), v0));
    gf_node *k = gf_scalar(g, 0.5f);
    gf_node *step[2] = { gf_assign(w, gf_sub(w, gf_mul(k, v))), gf_assign(v, gf_sub(v, gf_mul(k, w))) };
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *old;
    assert_int_equal(gf_session_run(s, NULL, 0, &w, 1, step, 2, &old), GF_OK);
    float want_old[3] = { 1, 2, 3 }, want_w[3] = { -4, -8, -12 }, want_v[3] = { 9.5f, 19, 28.5f };
    gf_test_assert_close(gf_tensor_data(old), want_old, 3, 0); /* fetched with its update: old value */
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, w)), want_w, 3, 0);
    gf_test_assert_close(gf_tensor_data(gf_session_variable(s, v)), want_v, 3, 0);
    gf_session_free(s);
    gf_graph_free(g);
}

/* A counting allocator: a steady-state step must not allocate. */
static long n_allocs;
static void *count_malloc(void *ctx, size_t n) { (void)ctx; n_allocs++; return malloc(n); }
static void *count_realloc(void *ctx, void *p, size_t n) { (void)ctx; n_allocs++; return realloc(p, n); }
static void count_free(void *ctx, void *p) { (void)ctx; free(p); }

static void steady_state_allocates_nothing(void **state)
{
    (void)state;
    gf_set_allocator(&(gf_allocator){ count_malloc, count_realloc, count_free, NULL });
    for (int kind = MANUAL; kind <= AUTODIFF; kind++) {
        gf_article_net net;
        gf_status st = kind == MANUAL ? gf_article_build_manual(&net, 30, 0.5f) : gf_article_build_autodiff(&net, 30, 0.1f);
        assert_int_equal(st, GF_OK);
        gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 1 });
        gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
        gf_tensor *tx = gf_tensor_new(GF_F32, gf_dims(2, 100, 784), NULL), *ty = gf_tensor_new(GF_F32, gf_dims(2, 100, 10), NULL);
        gf_feed feed[2] = { { net.a_0, x }, { net.y, y } }, test[2] = { { net.a_0, tx }, { net.y, ty } };
        const gf_tensor *res;
        for (int warm = 0; warm < 2; warm++) {
            assert_int_equal(gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL), GF_OK);
            assert_int_equal(gf_session_run(s, test, 2, &net.acct_res, 1, NULL, 0, &res), GF_OK);
        }
        long before = n_allocs;
        for (int i = 0; i < 50; i++) {
            assert_int_equal(gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL), GF_OK);
            if (i % 10 == 0) assert_int_equal(gf_session_run(s, test, 2, &net.acct_res, 1, NULL, 0, &res), GF_OK);
        }
        assert_int_equal(n_allocs - before, 0);
        gf_tensor_free(x);
        gf_tensor_free(y);
        gf_tensor_free(tx);
        gf_tensor_free(ty);
        gf_session_free(s);
        gf_graph_free(net.g);
    }
    assert_true(n_allocs > 0); /* the counter did see the building */
    gf_set_allocator(NULL);
}

/* Equal subexpressions computed once: sigma(z) built three times. */
static void cse_merges_repeated_subgraphs(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *z = gf_placeholder(g, "z", GF_F32, gf_dims(1, 4));
    gf_node *sig[3];
    for (int i = 0; i < 3; i++)
        sig[i] = gf_div(gf_scalar(g, 1.0f), gf_add(gf_scalar(g, 1.0f), gf_exp(gf_neg(z))));
    gf_node *y = gf_mul(sig[0], gf_sub(sig[1], sig[2]));
    float zv[4] = { -1, 0, 1, 2 };
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 4), zv, NULL);
    gf_feed f = { z, t };
    int steps[2];
    char err[512];
    gf_run_ctx c = { .graph = g, .err = err, .err_len = sizeof err };
    for (int opt = 0; opt < 2; opt++) {
        gf_plan *p;
        unsigned off = opt ? GF_NO_FUSE : GF_NO_REWRITES;
        assert_int_equal(gf__plan_compile(&c, off, &f, 1, &y, 1, NULL, 0, &p), GF_OK);
        steps[opt] = p->n_steps;
        gf__plan_free(p);
    }
    assert_int_equal(steps[0], 3 * 4 + 2);
    assert_int_equal(steps[1], 4 + 2);
    gf_tensor_free(t);
    gf_graph_free(g);
}

/* A value fused into a chain that a group lists as an input and that the
 * chain's own output then reads through the group (gf_sub(d, group)):
 * the group runs before the chain, so the placer must not release the
 * absorbed value's never-placed buffer (fuzz_graph found the overflow). */
static void group_of_fused_value(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *b = gf_placeholder(g, "b", GF_F32, gf_dims(1, 3));
    gf_node *t = gf_placeholder(g, "t", GF_F32, gf_dims(4, 5, 1, 5, 1));
    gf_node *d = gf_div(b, t);                 /* [5,1,5,3] */
    gf_node *y = gf_sub(d, gf_group(d, t));    /* d - 0 */
    float bv[3] = { 1, 2, 3 }, tv[25];
    for (int i = 0; i < 25; i++) tv[i] = (float)(i + 1);
    gf_tensor *tb = gf_tensor_wrap(GF_F32, gf_dims(1, 3), bv, NULL);
    gf_tensor *tt = gf_tensor_wrap(GF_F32, gf_dims(4, 5, 1, 5, 1), tv, NULL);
    gf_feed f[2] = { { b, tb }, { t, tt } };
    for (int opt = 0; opt < 2; opt++) {
        gf_session *s = gf_session_new(g, &(gf_session_options){ .disable = opt ? GF_NO_REWRITES : 0 });
        const gf_tensor *out;
        assert_int_equal(gf_session_run(s, f, 2, &y, 1, NULL, 0, &out), GF_OK);
        assert_int_equal(gf_shape_count(gf_tensor_shape(out)), 75);
        for (int i = 0; i < 75; i++) assert_true(gf_tensor_data(out)[i] == bv[i % 3] / tv[i / 3]);
        gf_session_free(s);
    }
    gf_tensor_free(tb);
    gf_tensor_free(tt);
    gf_graph_free(g);
}

/* The zero-skipping GEMM trusts a weight known to be finite (0*inf is NaN,
 * so a skipped zero of the input must meet a finite weight). The session
 * keeps that knowledge only through writes known finite: an update that
 * overflows (eta 3e38), and a NaN written through gf_session_variable,
 * must reach the next forward pass exactly as in the literal plan, which
 * checks every time. */
static void finite_weights_follow_writes(void **state)
{
    (void)state;
    gf_article_net net;
    assert_int_equal(gf_article_build_manual(&net, 30, 3e38f), GF_OK);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    float *px = gf_tensor_data(x), *py = gf_tensor_data(y);
    /* mostly zero, each image's pixels where the others have zeros */
    for (int j = 0; j < 10 * 784; j++) px[j] = j % 784 >= 300 && j % 784 % 10 == j / 784 ? 1000.0f : 0.0f;
    memset(py, 0, 100 * sizeof *py);
    for (int j = 0; j < 10; j++) py[j * 10 + j] = 1.0f;
    gf_feed feed[2] = { { net.a_0, x }, { net.y, y } };
    gf_session *s[2];
    for (int k = 0; k < 2; k++) s[k] = gf_session_new(net.g, &(gf_session_options){ .seed = 3, .disable = k ? GF_NO_REWRITES : 0 });
    int nan_seen = 0;
    for (int round = 0; round < 6; round++) {
        const gf_tensor *out[2];
        for (int k = 0; k < 2; k++) {
            if (round == 4) { /* a NaN written by the user, where the inputs are zero */
                const gf_tensor *w = gf_session_variable(s[k], net.w_1);
                gf_tensor_data(w)[5 * 30 + 7] = NAN;
            }
            assert_int_equal(gf_session_run(s[k], feed, 2, &net.a_2, 1, net.step, net.n_step, &out[k]), GF_OK);
        }
        const float *a = gf_tensor_data(out[0]), *b = gf_tensor_data(out[1]);
        for (int i = 0; i < 100; i++) {
            assert_int_equal(isnan(a[i]), isnan(b[i]));
            if (!isnan(a[i])) assert_true(a[i] == b[i]);
            nan_seen += isnan(a[i]) != 0;
        }
    }
    assert_true(nan_seen > 0); /* the overflow did happen */
    for (int k = 0; k < 2; k++) gf_session_free(s[k]);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_graph_free(net.g);
}

/* Constants are folded when the plan is compiled, up to 4 MB of result;
 * a larger one stays a step of the run (compiling stays cheap, the plan
 * does not hold a big copy). Both give the same values. */
static void folding_stops_at_four_megabytes(void **state)
{
    (void)state;
    static const int64_t rows[] = { 1024, 1025 }; /* x 1024 columns: 4 MB, just over */
    for (int i = 0; i < 2; i++) {
        gf_graph *g = gf_graph_new();
        float *col = calloc((size_t)rows[i], sizeof *col), row[1024];
        assert_non_null(col);
        for (int64_t r = 0; r < rows[i]; r++) col[r] = (float)r;
        for (int c = 0; c < 1024; c++) row[c] = (float)c / 1024.0f;
        gf_node *sum = gf_add(gf_test_const(g, gf_dims(2, rows[i], 1), col),
                              gf_test_const(g, gf_dims(2, 1, 1024), row));
        gf_session *s = gf_session_new(g, NULL);
        gf_plan_stats ps;
        assert_int_equal(gf_session_plan_stats(s, NULL, 0, &sum, 1, NULL, 0, &ps), GF_OK);
        assert_int_equal(ps.steps, i == 0 ? 0 : 1);
        const float *v = gf_tensor_data(gf_test_run1(s, NULL, 0, sum));
        int64_t last = rows[i] * 1024 - 1;
        assert_true(v[last] == (float)(rows[i] - 1) + 1023.0f / 1024.0f);
        assert_true(v[1025] == 1.0f + 1.0f / 1024.0f);
        gf_session_free(s);
        gf_graph_free(g);
        free(col);
    }
}

/* A gradient check compiles its two plans (the gradient, the sum) once:
 * perturbing 4 or 400 elements of x (fed or a variable) allocates the same,
 * so nothing is recompiled or refolded per element. */
static void gradient_check_compiles_once(void **state)
{
    (void)state;
    long allocs[2][2];
    for (int var = 0; var < 2; var++)
        for (int big = 0; big < 2; big++) {
            int64_t n = big ? 400 : 4;
            gf_graph *g = gf_graph_new();
            gf_node *x = var ? gf_variable(g, "x", gf_truncated_normal(g, gf_dims(2, n, 1), 0, 1))
                             : gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 1));
            gf_node *c = gf_add(gf_test_const(g, gf_dims(2, 1, 3), (float[]){ 1, 2, 3 }), gf_scalar(g, 1));
            gf_node *y = gf_sigmoid(gf_mul(x, c)); /* [n,3], with a folded constant */
            gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 1 });
            gf_tensor *t = gf_tensor_new(GF_F32, gf_dims(2, n, 1), NULL);
            for (int64_t i = 0; i < n; i++) gf_tensor_data(t)[i] = 0.01f * (float)i;
            gf_feed feed = { x, t };
            gf_gradcheck_result r;
            gf_set_allocator(&(gf_allocator){ count_malloc, count_realloc, count_free, NULL });
            long before = n_allocs;
            assert_int_equal(gf_gradient_check(s, y, x, &feed, var ? 0 : 1, NULL, &r), GF_OK);
            allocs[var][big] = n_allocs - before;
            gf_set_allocator(NULL);
            assert_int_equal(r.checked, n);
            assert_true(r.max_error < 1e-3);
            gf_tensor_free(t);
            gf_session_free(s);
            gf_graph_free(g);
        }
    assert_int_equal(allocs[0][0], allocs[0][1]);
    assert_int_equal(allocs[1][0], allocs[1][1]);
}

/* A convolution counts as dense arithmetic: 2 * outputs * kh * kw * in
 * for conv2d and as many for each gradient; its plan's other ops (the
 * relu, the sum) count one per element. */
static void convolution_flops_are_dense(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(4, GF_ANY, 9, 9, 3));
    gf_node *f = gf_variable(g, "f", gf_truncated_normal(g, gf_dims(4, 3, 3, 3, 8), 0, 0.1f));
    gf_node *y = gf_conv2d(x, f, 2, 2, GF_SAME); /* [?,5,5,8] */
    gf_node *cost = gf_reduce_sum(gf_relu(y), NULL, 0, 0);
    gf_node *d[2];
    gf_node *wrt[2] = { x, f };
    assert_int_equal(gf_gradients(g, &cost, 1, wrt, 2, NULL, d), GF_OK);
    static float px[2 * 9 * 9 * 3];
    gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(4, 2, 9, 9, 3), px, NULL);
    gf_feed feed = { x, xs };
    gf_session *s = gf_session_new(g, NULL);
    gf_plan_stats ps;
    double one = 2.0 * (2 * 5 * 5 * 8) * (3 * 3 * 3);
    assert_int_equal(gf_session_plan_stats(s, &feed, 1, &y, 1, NULL, 0, &ps), GF_OK);
    assert_true(ps.dense_flops == one);
    assert_int_equal(gf_session_plan_stats(s, &feed, 1, d, 2, NULL, 0, &ps), GF_OK);
    assert_true(ps.dense_flops == 3 * one);
    gf_tensor_free(xs);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Adam's update of a [300,301] weight (two chunks of the kernel's split
 * and a tail that is not a multiple of 8) as gf_minimize builds it, one
 * apply_adam step in place, against the same formulas written as separate
 * ops and assigns: the same bits, at 1 and 2 threads and under
 * check_numerics; and a variable fetched with the update reads as it was
 * before the run. */
enum { AR = 300, AC = 301 };

static gf_node *literal_adam(gf_graph *g, gf_node *w, gf_node *grad, float lr)
{
    gf_node *m = gf_set_trainable(gf_variable(g, "m", gf_zeros(g, gf_dims(2, AR, AC))), 0);
    gf_node *v = gf_set_trainable(gf_variable(g, "v", gf_zeros(g, gf_dims(2, AR, AC))), 0);
    gf_node *b1p = gf_set_trainable(gf_variable(g, "b1p", gf_scalar(g, 0.9f)), 0);
    gf_node *b2p = gf_set_trainable(gf_variable(g, "b2p", gf_scalar(g, 0.999f)), 0);
    gf_node *one = gf_scalar(g, 1.0f);
    gf_node *lr_t = gf_div(gf_mul(gf_scalar(g, lr), gf_sqrt(gf_sub(one, b2p))), gf_sub(one, b1p));
    gf_node *m_new = gf_add(gf_mul(gf_scalar(g, 0.9f), m), gf_mul(gf_scalar(g, 1 - 0.9f), grad));
    gf_node *v_new = gf_add(gf_mul(gf_scalar(g, 0.999f), v), gf_mul(gf_scalar(g, 1 - 0.999f), gf_mul(grad, grad)));
    gf_node *den = gf_add(gf_sqrt(v_new), gf_scalar(g, 1e-8f));
    gf_node *up = gf_group(gf_group(gf_assign(m, m_new), gf_assign(v, v_new)),
                           gf_assign(w, gf_sub(w, gf_div(gf_mul(lr_t, m_new), den))));
    return gf_group(up, gf_group(gf_assign(b1p, gf_mul(b1p, gf_scalar(g, 0.9f))),
                                 gf_assign(b2p, gf_mul(b2p, gf_scalar(g, 0.999f)))));
}

static float *adam_weights(bool literal, int threads, bool check)
{
    static float w0[AR * AC], x0[4 * AR];
    gf_rng r;
    gf_rng_seed(&r, 3, 1);
    for (int i = 0; i < AR * AC; i++) w0[i] = (float)gf_rng_normal(&r) * 0.1f;
    for (int i = 0; i < 4 * AR; i++) x0[i] = (float)gf_rng_uniform(&r);
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_constant(g, gf_dims(2, 4, AR), x0);
    gf_node *w = gf_variable(g, "w", gf_constant(g, gf_dims(2, AR, AC), w0));
    gf_node *y = gf_matmul(x, w), *cost = gf_reduce_sum(gf_mul(y, y), NULL, 0, 0), *step, *grad;
    if (literal) {
        assert_int_equal(gf_gradients(g, &cost, 1, &w, 1, NULL, &grad), GF_OK);
        step = literal_adam(g, w, grad, 0.01f);
    } else {
        step = gf_minimize(gf_adam(g, 0.01f, 0.9f, 0.999f, 1e-8f), cost, NULL, 0);
    }
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .threads = threads, .check_numerics = check });
    gf_plan_stats ps;
    assert_int_equal(gf_session_plan_stats(s, NULL, 0, NULL, 0, &step, 1, &ps), GF_OK);
    if (!literal && !check) assert_true(ps.inplace >= 1);
    for (int it = 0; it < 3; it++) {
        const gf_tensor *old;
        float before = gf_tensor_data(gf_session_variable(s, w))[AR * AC - 1];
        if (gf_session_run(s, NULL, 0, &w, 1, &step, 1, &old)) fail_msg("%s", gf_session_error(s));
        assert_true(gf_tensor_data(old)[AR * AC - 1] == before);
    }
    float *out = malloc(sizeof w0);
    memcpy(out, gf_tensor_data(gf_session_variable(s, w)), sizeof w0);
    assert_true(memcmp(out, w0, sizeof w0) != 0);
    gf_session_free(s);
    gf_graph_free(g);
    return out;
}

static void adam_in_place_matches_literal(void **state)
{
    (void)state;
    float *want = adam_weights(true, 1, false);
    float *got[3] = { adam_weights(false, 1, false), adam_weights(false, 2, false), adam_weights(false, 1, true) };
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(got[i], want, (size_t)AR * AC * sizeof(float));
        free(got[i]);
    }
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(optimised_matches_literal),
        cmocka_unit_test(article_plan_is_rewritten),
        cmocka_unit_test(inplace_keeps_snapshot_rule),
        cmocka_unit_test(steady_state_allocates_nothing),
        cmocka_unit_test(cse_merges_repeated_subgraphs),
        cmocka_unit_test(group_of_fused_value),
        cmocka_unit_test(finite_weights_follow_writes),
        cmocka_unit_test(folding_stops_at_four_megabytes),
        cmocka_unit_test(gradient_check_compiles_once),
        cmocka_unit_test(convolution_flops_are_dense),
        cmocka_unit_test(adam_in_place_matches_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
