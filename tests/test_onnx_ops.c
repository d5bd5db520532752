/*
 * test_onnx_ops.c — every op the ONNX export maps, in small graphs
 * (broadcasting, transposes, every reduction form, stride 2, SAME and VALID
 * padding over odd sizes, open spatial sizes, constants, dropout), exported
 * and run in ONNX Runtime: the same outputs as gradflow's, within float
 * rounding, and every file accepted by Debian's ONNX checker.
 */
#include "ortutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IO GF_ORT_MAX

/* One small model: its graph, fed inputs and outputs. */
typedef struct ocase {
    const char *name;
    gf_graph *g;
    gf_session *s;
    gf_rng rng;
    int n_in, n_out;
    gf_node *in[MAX_IO], *out[MAX_IO];
    gf_tensor *val[MAX_IO];
    gf_node *keep;          /* dropout's keep_prob: fed 1 to gradflow, not an input of the export */
    gf_tensor *one;
} ocase;

/* A placeholder declared decl (open dims allowed), fed a tensor of shape
 * fed with values drawn uniformly in [lo, hi] (rounded to integers when
 * round). */
static gf_node *ph(ocase *c, const char *name, gf_dtype dt, gf_shape decl, gf_shape fed, float lo, float hi,
                   int round)
{
    gf_node *p = gf_placeholder(c->g, name, dt, decl);
    gf_tensor *t = gf_tensor_new(dt, fed, NULL);
    assert_non_null(t);
    float *v = gf_tensor_data(t);
    for (int64_t i = 0; i < gf_tensor_count(t); i++) {
        v[i] = lo + (hi - lo) * (float)gf_rng_uniform(&c->rng);
        if (round || dt != GF_F32) v[i] = roundf(v[i]);
        if (dt == GF_BOOL) v[i] = v[i] != 0;
    }
    c->in[c->n_in] = p;
    c->val[c->n_in++] = t;
    return p;
}

static gf_node *var(ocase *c, const char *name, gf_shape s)
{
    return gf_variable(c->g, name, gf_truncated_normal(c->g, s, 0, 1));
}

static void out(ocase *c, gf_node *n)
{
    if (c->n_out == MAX_IO) fail_msg("%s: more than %d outputs: raise MAX_IO", c->name, MAX_IO);
    c->out[c->n_out++] = n;
}

/* ---- the cases ---- */

static void binary_broadcasting(ocase *c)
{
    gf_node *a = ph(c, "a", GF_F32, gf_dims(3, GF_ANY, 3, 4), gf_dims(3, 2, 3, 4), -2, 2, 0);
    gf_node *b = ph(c, "b", GF_F32, gf_dims(1, 4), gf_dims(1, 4), 0.5f, 2, 0);
    out(c, gf_add(a, b)), out(c, gf_sub(b, a)), out(c, gf_mul(a, b)), out(c, gf_div(a, b));
    out(c, gf_maximum(a, b));
}

static void broadcasting_both_ways(ocase *c)
{
    gf_node *a = ph(c, "a", GF_F32, gf_dims(3, 2, 1, 5), gf_dims(3, 2, 1, 5), -2, 2, 0);
    gf_node *b = ph(c, "b", GF_F32, gf_dims(2, 3, 1), gf_dims(2, 3, 1), -2, 2, 0);
    const float k[5] = { 1, -2, 0.5f, 3, -0.25f };
    out(c, gf_add(a, b)), out(c, gf_maximum(b, a));
    out(c, gf_mul(gf_scalar(c->g, 2.5f), a)), out(c, gf_sub(a, gf_constant(c->g, gf_dims(1, 5), k)));
    out(c, gf_div(gf_scalar(c->g, 1.0f), gf_add(gf_scalar(c->g, 3.0f), b)));
}

static void unary(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(3, GF_ANY, 5, 3), gf_dims(3, 4, 5, 3), -3, 3, 0);
    out(c, gf_neg(x)), out(c, gf_exp(x)), out(c, gf_sigmoid(x)), out(c, gf_relu(x)), out(c, gf_tanh(x));
    out(c, gf_square(x));
}

static void unary_positive(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(2, GF_ANY, 7), gf_dims(2, 3, 7), 0.1f, 4, 0);
    out(c, gf_log(x)), out(c, gf_sqrt(x));
}

static void matmuls(ocase *c)
{
    gf_node *a = ph(c, "a", GF_F32, gf_dims(2, GF_ANY, 6), gf_dims(2, 5, 6), -1, 1, 0);
    gf_node *at = ph(c, "at", GF_F32, gf_dims(2, 6, GF_ANY), gf_dims(2, 6, 5), -1, 1, 0);
    gf_node *w = var(c, "w", gf_dims(2, 6, 4)), *wt = var(c, "wt", gf_dims(2, 4, 6));
    out(c, gf_matmul(a, w)), out(c, gf_matmul_t(a, wt, 0, 1)), out(c, gf_matmul_t(at, w, 1, 0));
    out(c, gf_matmul_t(at, wt, 1, 1)), out(c, gf_matmul(a, gf_transpose(wt)));
}

static void transposes(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(4, GF_ANY, 2, 3, 4), gf_dims(4, 2, 2, 3, 4), -1, 1, 0);
    gf_node *m = ph(c, "m", GF_F32, gf_dims(2, GF_ANY, 5), gf_dims(2, 3, 5), -1, 1, 0);
    out(c, gf_transpose_perm(x, (const int[]){ 0, 2, 3, 1 }));
    out(c, gf_transpose_perm(x, (const int[]){ 3, 1, 0, 2 })), out(c, gf_transpose(m));
}

static void reductions(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(3, GF_ANY, 3, 4), gf_dims(3, 2, 3, 4), -2, 2, 0);
    out(c, gf_reduce_sum(x, (const int[]){ 1 }, 1, 0)), out(c, gf_reduce_sum(x, (const int[]){ 0, 2 }, 2, 1));
    out(c, gf_reduce_sum(x, NULL, 0, 0)), out(c, gf_reduce_mean(x, (const int[]){ -1 }, 1, 1));
    out(c, gf_reduce_mean(x, NULL, 0, 1)), out(c, gf_reduce_mean(x, (const int[]){ 0, 1 }, 2, 0));
}

static void argmax_equal_cast(ocase *c)
{
    gf_node *a = ph(c, "a", GF_F32, gf_dims(2, GF_ANY, 7), gf_dims(2, 6, 7), -2, 2, 1);
    gf_node *b = ph(c, "b", GF_F32, gf_dims(2, GF_ANY, 7), gf_dims(2, 6, 7), -2, 2, 1);
    gf_node *f = ph(c, "f", GF_F32, gf_dims(1, 9), gf_dims(1, 9), -3, 3, 0);
    gf_node *hit = gf_equal(gf_argmax(a, 1), gf_argmax(b, -1));
    out(c, gf_argmax(a, 0)), out(c, hit), out(c, gf_cast(hit, GF_F32)), out(c, gf_equal(a, b));
    out(c, gf_cast(f, GF_I32)), out(c, gf_cast(gf_cast(a, GF_BOOL), GF_F32));
}

static void typed_inputs(ocase *c)
{
    gf_node *i = ph(c, "i", GF_I32, gf_dims(2, GF_ANY, 3), gf_dims(2, 4, 3), -5, 5, 1);
    gf_node *j = ph(c, "j", GF_I32, gf_dims(2, GF_ANY, 3), gf_dims(2, 4, 3), -5, 5, 1);
    gf_node *b = ph(c, "b", GF_BOOL, gf_dims(1, 6), gf_dims(1, 6), 0, 1, 1);
    out(c, gf_mul(gf_cast(i, GF_F32), gf_scalar(c->g, 2))), out(c, gf_equal(i, j));
    out(c, gf_cast(b, GF_F32)), out(c, gf_cast(i, GF_BOOL));
}

static void softmaxes(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(2, GF_ANY, 10), gf_dims(2, 5, 10), -20, 20, 0);
    gf_node *y = ph(c, "y", GF_F32, gf_dims(3, GF_ANY, 4, 6), gf_dims(3, 2, 4, 6), -5, 5, 0);
    out(c, gf_softmax(x)), out(c, gf_log_softmax(x)), out(c, gf_softmax(y)), out(c, gf_log_softmax(y));
}

static void reshapes(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(2, GF_ANY, 12), gf_dims(2, 3, 12), -1, 1, 0);
    out(c, gf_reshape(x, gf_dims(3, GF_ANY, 3, 4))), out(c, gf_reshape(x, gf_dims(4, GF_ANY, 2, 2, 3)));
    out(c, gf_reshape(x, gf_dims(2, 6, GF_ANY))), out(c, gf_reshape(gf_reshape(x, gf_dims(1, 36)), gf_dims(2, 4, 9)));
}

static void convolutions(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(4, GF_ANY, 7, 9, 2), gf_dims(4, 2, 7, 9, 2), -1, 1, 0);
    gf_node *f1 = var(c, "f1", gf_dims(4, 3, 2, 2, 3)), *f2 = var(c, "f2", gf_dims(4, 3, 3, 2, 4));
    gf_node *f3 = var(c, "f3", gf_dims(4, 4, 3, 2, 3));
    out(c, gf_conv2d(x, f1, 1, 1, GF_SAME)), out(c, gf_conv2d(x, f2, 2, 2, GF_VALID));
    out(c, gf_conv2d(x, f3, 2, 3, GF_SAME)), out(c, gf_conv2d(x, f2, 2, 1, GF_SAME));
    out(c, gf_conv2d(x, f1, 1, 2, GF_VALID));
}

static void convolution_of_a_fed_filter(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(4, GF_ANY, 6, 5, 3), gf_dims(4, 2, 6, 5, 3), -1, 1, 0);
    gf_node *f = ph(c, "f", GF_F32, gf_dims(4, 2, 2, 3, 4), gf_dims(4, 2, 2, 3, 4), -1, 1, 0);
    out(c, gf_conv2d(x, f, 2, 2, GF_SAME)), out(c, gf_conv2d(x, gf_mul(f, gf_scalar(c->g, 0.5f)), 1, 1, GF_VALID));
}

static void pools(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(4, GF_ANY, 7, 9, 3), gf_dims(4, 2, 7, 9, 3), -2, 2, 0);
    out(c, gf_max_pool(x, 3, 3, 2, 2, GF_SAME)), out(c, gf_avg_pool(x, 3, 3, 2, 2, GF_SAME));
    out(c, gf_max_pool(x, 2, 3, 1, 2, GF_VALID)), out(c, gf_avg_pool(x, 2, 2, 2, 2, GF_VALID));
    out(c, gf_avg_pool(x, 2, 2, 1, 1, GF_SAME)), out(c, gf_max_pool(x, 1, 1, 2, 2, GF_SAME));
    out(c, gf_avg_pool(x, 4, 2, 3, 2, GF_SAME));
}

static void open_spatial_sizes(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(4, GF_ANY, GF_ANY, GF_ANY, 2), gf_dims(4, 2, 7, 9, 2), -1, 1, 0);
    gf_node *f = var(c, "f", gf_dims(4, 3, 2, 2, 3));
    out(c, gf_conv2d(x, f, 2, 2, GF_SAME)), out(c, gf_max_pool(x, 3, 3, 2, 2, GF_SAME));
    out(c, gf_avg_pool(x, 3, 2, 2, 2, GF_SAME)), out(c, gf_avg_pool(x, 2, 2, 2, 2, GF_VALID));
}

static void sources_and_identities(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(2, GF_ANY, 4), gf_dims(2, 3, 4), -1, 1, 0);
    gf_node *keep = c->keep = gf_placeholder(c->g, "keep_prob", GF_F32, gf_dims(0));
    c->one = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    assert_non_null(c->one);
    gf_tensor_data(c->one)[0] = 1;
    const float k[4] = { 0.5f, -1, 2, 0 };
    gf_node *v = var(c, "v", gf_dims(1, 4));
    out(c, gf_check_numerics(gf_add(gf_mul(x, gf_scalar(c->g, 2.5f)), gf_constant(c->g, gf_dims(1, 4), k)), "x"));
    out(c, gf_dropout_keep(gf_relu(x), keep, 7)), out(c, gf_dropout_keep(x, gf_scalar(c->g, 1), 8));
    out(c, gf_add(x, gf_zeros(c->g, gf_dims(1, 4)))), out(c, v), out(c, x), out(c, gf_add(x, v));
}

/* A session in no group: the all-reduces leave values as they are. */
static void collectives(ocase *c)
{
    gf_node *x = ph(c, "x", GF_F32, gf_dims(2, GF_ANY, 5), gf_dims(2, 3, 5), -2, 2, 0);
    out(c, gf_all_reduce_sum(gf_mul(x, x))), out(c, gf_all_reduce_mean(gf_neg(x)));
}

typedef void (*builder)(ocase *c);
static const struct {
    const char *name;
    builder build;
} cases[] = {
    { "binary_broadcasting", binary_broadcasting }, { "broadcasting_both_ways", broadcasting_both_ways },
    { "unary", unary }, { "unary_positive", unary_positive }, { "matmuls", matmuls },
    { "transposes", transposes }, { "reductions", reductions }, { "argmax_equal_cast", argmax_equal_cast },
    { "typed_inputs", typed_inputs }, { "softmaxes", softmaxes }, { "reshapes", reshapes },
    { "convolutions", convolutions }, { "convolution_of_a_fed_filter", convolution_of_a_fed_filter },
    { "pools", pools }, { "open_spatial_sizes", open_spatial_sizes },
    { "sources_and_identities", sources_and_identities }, { "collectives", collectives },
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* Every case exported, run by gradflow and by ONNX Runtime, compared. */
static void every_mapped_op_matches_onnx_runtime(void **state)
{
    (void)state;
    gf_ort_require();
    char *dir = gf_test_tmpdir();
    static ocase oc[N_CASES];
    static gf_ort_job jobs[N_CASES];
    static char paths[N_CASES][4200];
    const char *files[N_CASES];
    static float *want[N_CASES][MAX_IO];
    static gf_shape want_shape[N_CASES][MAX_IO];
    for (int i = 0; i < N_CASES; i++) {
        ocase *c = &oc[i];
        memset(c, 0, sizeof *c);
        c->name = cases[i].name;
        c->g = gf_graph_new();
        gf_rng_seed(&c->rng, 1234, (uint64_t)i);
        cases[i].build(c);
        if (gf_graph_status(c->g)) fail_msg("%s: %s", c->name, gf_graph_error(c->g));
        c->s = gf_session_new(c->g, &(gf_session_options){ .seed = 5 });
        assert_int_equal(gf_session_status(c->s), GF_OK);
        gf_feed feeds[MAX_IO + 1];
        for (int k = 0; k < c->n_in; k++) feeds[k] = (gf_feed){ c->in[k], c->val[k] };
        feeds[c->n_in] = (gf_feed){ c->keep, c->one };
        const gf_tensor *res[MAX_IO];
        if (gf_session_run(c->s, feeds, c->n_in + (c->keep != NULL), c->out, c->n_out, NULL, 0, res) != GF_OK)
            fail_msg("%s: %s", c->name, gf_session_error(c->s));
        for (int k = 0; k < c->n_out; k++) {
            want_shape[i][k] = gf_tensor_shape(res[k]);
            size_t n = (size_t)gf_tensor_count(res[k]);
            want[i][k] = malloc(4 * n + 4);
            memcpy(want[i][k], gf_tensor_data(res[k]), 4 * n);
        }
        snprintf(paths[i], sizeof paths[i], "%s/%s.onnx", dir, c->name);
        files[i] = paths[i];
        const char *names[MAX_IO];
        static char name_buf[MAX_IO][16];
        for (int k = 0; k < c->n_out; k++) snprintf(name_buf[k], sizeof name_buf[k], "out%d", k), names[k] = name_buf[k];
        if (gf_onnx_export(c->s, c->in, NULL, c->n_in, c->out, names, c->n_out, paths[i]) != GF_OK)
            fail_msg("%s: %s", c->name, gf_session_error(c->s));
        jobs[i] = (gf_ort_job){ .model = paths[i], .n_inputs = c->n_in };
        for (int k = 0; k < c->n_in; k++) jobs[i].names[k] = gf_node_name(c->in[k]), jobs[i].values[k] = c->val[k];
    }
    gf_onnx_check(files, N_CASES);
    gf_ort_run(jobs, N_CASES, dir);
    for (int i = 0; i < N_CASES; i++) {
        ocase *c = &oc[i];
        assert_int_equal(jobs[i].n_outputs, c->n_out);
        double worst = 0;
        for (int k = 0; k < c->n_out; k++) {
            char a[64], b[64];
            gf_shape_format(jobs[i].shapes[k], a, sizeof a);
            gf_shape_format(want_shape[i][k], b, sizeof b);
            if (strcmp(a, b)) fail_msg("%s: output %d (%s): ONNX Runtime gives shape %s, gradflow %s", c->name, k,
                                       gf_node_op(c->out[k]), a, b);
            for (int64_t e = 0; e < gf_shape_count(want_shape[i][k]); e++) {
                double got = jobs[i].outs[k][e], ref = want[i][k][e], d = fabs(got - ref);
                if (!(d <= 1e-5 * (1 + fabs(ref))))
                    fail_msg("%s: output %d (%s \"%s\") element %lld: ONNX Runtime %.9g, gradflow %.9g", c->name, k,
                             gf_node_op(c->out[k]), gf_node_name(c->out[k]), (long long)e, got, ref);
                if (d > worst) worst = d;
            }
            free(want[i][k]);
        }
        print_message("%-28s %d outputs, max abs difference %.3g\n", c->name, c->n_out, worst);
        gf_ort_job_free(&jobs[i]);
        for (int k = 0; k < c->n_in; k++) gf_tensor_free(c->val[k]);
        gf_tensor_free(c->one);
        gf_session_free(c->s);
        gf_graph_free(c->g);
    }
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_mapped_op_matches_onnx_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
