/*
 * test_model.c — model files through the API: every op of the op table
 * saved and loaded back (same op, attributes, shapes, names, inputs), the
 * bundled networks giving bitwise the same outputs and training steps
 * after a round trip (dropout's random streams included), a network built
 * by hand with its own names, and the signature's rules.
 */
#include "testutil.h"
#include "ops/op.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "cnn.h"
#include "zoo.h"

/* ---- every op ---- */

static gf_node *ph(gf_graph *g, const char *name, gf_dtype dt, gf_shape s) { return gf_placeholder(g, name, dt, s); }

/* One or more nodes of the op named `op`, built in g; NULL when the test
 * has no sample for it (the generic unary/binary ones are tried then). */
static gf_node *sample(gf_graph *g, const char *op)
{
    gf_node *x = ph(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *img = ph(g, "img", GF_F32, gf_dims(4, GF_ANY, 8, 8, 2));
    gf_node *idx = ph(g, "idx", GF_I32, gf_dims(1, 4));
    static const float k4[4] = { 1, -2, 0.5f, -0.0f };
    if (!strcmp(op, "placeholder")) return ph(g, "p", GF_I32, gf_dims(3, GF_ANY, 2, 5));
    if (!strcmp(op, "constant")) return gf_constant(g, gf_dims(2, 2, 2), k4);
    if (!strcmp(op, "variable")) {
        gf_variable(g, "trained", gf_truncated_normal(g, gf_dims(2, 3, 2), 0, 1));
        return gf_set_trainable(gf_variable(g, "v", gf_zeros(g, gf_dims(1, 2))), 0);
    }
    if (!strcmp(op, "truncated_normal")) return gf_truncated_normal(g, gf_dims(2, 3, 2), 0.5f, 2.0f);
    if (!strcmp(op, "zeros")) return gf_zeros(g, gf_dims(2, 0, 3));
    if (!strcmp(op, "matmul")) return gf_matmul_t(ph(g, "a", GF_F32, gf_dims(2, 3, 2)), ph(g, "b", GF_F32, gf_dims(2, 4, 3)), 1, 1);
    if (!strcmp(op, "transpose")) return gf_transpose_perm(img, (const int[]){ 2, 0, 3, 1 });
    if (!strcmp(op, "reduce_sum")) return gf_reduce_sum(img, (const int[]){ -1, 0 }, 2, 1);
    if (!strcmp(op, "reduce_mean")) return gf_reduce_mean(x, (const int[]){ 1 }, 1, 0);
    if (!strcmp(op, "argmax")) return gf_argmax(x, -1);
    if (!strcmp(op, "cast")) return gf_cast(x, GF_BOOL);
    if (!strcmp(op, "assign")) {
        gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(2, 1, 3)));
        return gf_assign(v, gf_add(v, gf_scalar(g, 1)));
    }
    if (!strcmp(op, "sum_to")) return gf__sum_to(x, ph(g, "like", GF_F32, gf_dims(2, 1, 3)));
    if (!strcmp(op, "broadcast_like")) {
        gf__broadcast_like(ph(g, "row", GF_F32, gf_dims(1, 3)), x);
        gf_reduce_attrs r = { .axes = { 3, 1 }, .n_axes = 2, .keepdims = 1 };
        return gf__unreduce(ph(g, "dy", GF_F32, gf_dims(4, GF_ANY, 1, 8, 1)), img, &r, true);
    }
    if (!strcmp(op, "reshape")) return gf_reshape(img, gf_dims(3, GF_ANY, 4, 32));
    if (!strcmp(op, "concat")) return gf_concat(x, ph(g, "y", GF_F32, gf_dims(2, GF_ANY, 5)), -1);
    if (!strcmp(op, "slice_rows")) return gf_slice_rows(x, 1, 2);
    if (!strcmp(op, "gather_rows")) return gf_gather_rows(x, idx);
    if (!strcmp(op, "one_hot")) return gf_one_hot(idx, 7);
    if (!strcmp(op, "concat_slice"))
        return gf__concat_slice(ph(g, "full", GF_F32, gf_dims(2, 2, 5)), ph(g, "part", GF_F32, gf_dims(2, 2, 3)), 1, 1);
    if (!strcmp(op, "concat_pad"))
        return gf__concat_pad(ph(g, "part", GF_F32, gf_dims(2, 2, 3)), ph(g, "full", GF_F32, gf_dims(2, 2, 5)), 1, 0);
    if (!strcmp(op, "pad_rows"))
        return gf__pad_rows(ph(g, "rows", GF_F32, gf_dims(2, 2, 3)), ph(g, "all", GF_F32, gf_dims(2, 5, 3)), 1, 2);
    if (!strcmp(op, "scatter_add_rows")) return gf__scatter_add_rows(ph(g, "vals", GF_F32, gf_dims(2, 4, 3)), idx, 6);
    if (!strcmp(op, "dropout_mask")) return gf__dropout_mask(x, 0.25f, 99);
    if (!strcmp(op, "check_numerics")) return gf_check_numerics(x, "bad \"x\"\n");
    if (!strcmp(op, "dropout_keep_mask")) return gf__dropout_keep_mask(x, ph(g, "kp", GF_F32, gf_dims(0)), 5);
    gf_node *f = ph(g, "f", GF_F32, gf_dims(4, 3, 3, 2, 4));
    gf_node *conv = gf_conv2d(img, f, 2, 1, GF_VALID);
    if (!strcmp(op, "conv2d")) return conv;
    if (!strcmp(op, "conv2d_backprop_input")) return gf__conv2d_backprop_input(conv, f, img, 2, 1, GF_VALID);
    if (!strcmp(op, "conv2d_backprop_filter")) return gf__conv2d_backprop_filter(img, conv, f, 2, 1, GF_VALID);
    gf_node *mp = gf_max_pool(img, 3, 2, 2, 1, GF_SAME), *ap = gf_avg_pool(img, 2, 3, 1, 2, GF_VALID);
    if (!strcmp(op, "max_pool")) return mp;
    if (!strcmp(op, "max_pool_grad")) return gf__max_pool_grad(img, mp, &mp->attrs);
    if (!strcmp(op, "max_pool_grad_grad")) return gf__max_pool_grad_grad(img, img, &mp->attrs);
    if (!strcmp(op, "avg_pool")) return ap;
    if (!strcmp(op, "avg_pool_grad")) return gf__avg_pool_grad(ap, img, &ap->attrs);
    if (!strcmp(op, "apply_adam")) {
        gf_node *var = gf_variable(g, "var", gf_truncated_normal(g, gf_dims(2, 2, 3), 0, 1));
        gf_node *m = gf_variable(g, "m", gf_zeros(g, gf_dims(2, 2, 3)));
        gf_node *v = gf_variable(g, "v", gf_zeros(g, gf_dims(2, 2, 3)));
        return gf__apply_adam(var, m, v, ph(g, "grad", GF_F32, gf_dims(2, 2, 3)), gf_scalar(g, 0.01f), 0.9f, 0.999f,
                              1e-8f);
    }
    return NULL;
}

/* The op's node, from its sample or generically ([2,3] float inputs). */
static gf_node *build_op(gf_graph *g, const gf_op *op)
{
    gf_node *n = sample(g, op->name);
    if (n || op->ctor == GF_CTOR_CUSTOM) return n;
    gf_node *a = ph(g, "ga", GF_F32, gf_dims(2, 2, 3)), *b = ph(g, "gb", GF_F32, gf_dims(2, 2, 3));
    return op->ctor == GF_CTOR_UNARY ? op->make1(a) : op->make2(a, b);
}

/* Every node of want and got is the same: op, name, dtype, shape, inputs,
 * attributes (gf__attrs_equal), variable slot and trainability. */
static void assert_same_graph(const gf_graph *want, const gf_graph *got, const char *op)
{
    if (gf_graph_node_count(got) != gf_graph_node_count(want))
        fail_msg("op %s: %d nodes loaded, %d saved", op, gf_graph_node_count(got), gf_graph_node_count(want));
    for (int i = 0; i < gf_graph_node_count(want); i++) {
        const gf_node *a = gf_graph_node(want, i), *b = gf_graph_node(got, i);
        if (a->op != b->op || strcmp(a->name, b->name) || a->dtype != b->dtype || !gf__shape_equal(a->shape, b->shape))
            fail_msg("op %s: node %d: saved %s \"%s\", loaded %s \"%s\" (or their shapes differ)", op, i, a->op->name,
                     a->name, b->op->name, b->name);
        if (!gf__attrs_equal(&a->attrs, &b->attrs)) fail_msg("op %s: node %d \"%s\": attributes differ", op, i, a->name);
        assert_int_equal(a->n_inputs, b->n_inputs);
        for (int k = 0; k < a->n_inputs; k++) assert_int_equal(a->inputs[k]->id, b->inputs[k]->id);
        assert_int_equal(a->var_index, b->var_index);
        assert_int_equal(a->trainable, b->trainable);
        assert_int_equal(a->init ? a->init->id : -1, b->init ? b->init->id : -1);
        if (a->op->flags & GF_OPF_CONSTANT)
            assert_memory_equal(a->value, b->value, (size_t)gf_shape_count(a->shape) * sizeof(float));
    }
}

/* Walks the op table: an op that cannot be saved and loaded back fails
 * here, naming it, so a new op cannot be forgotten. */
static void every_op_round_trips(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "op.gfm");
    for (int i = 0; i < GF_OP_COUNT; i++) {
        const gf_op *op = &gf__ops[i];
        gf_graph *g = gf_graph_new();
        gf_node *n = build_op(g, op);
        if (!n) fail_msg("op %s: no sample in tests/test_model.c's sample(): add one", op->name);
        if (gf_graph_status(g) != GF_OK) fail_msg("op %s: the sample does not build: %s", op->name, gf_graph_error(g));
        if (n->op != op) fail_msg("op %s: the sample built op %s", op->name, n->op->name);
        gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 4 });
        assert_int_equal(gf_session_status(s), GF_OK);
        if (gf_model_save(s, NULL, path) != GF_OK) fail_msg("op %s: save: %s", op->name, gf_session_error(s));
        gf_error err;
        gf_model *m = gf_model_load(path, NULL, &err);
        if (!m) fail_msg("op %s: load: %s", op->name, err.message);
        assert_same_graph(g, gf_model_graph(m), op->name);
        gf_model_free(m);
        gf_session_free(s);
        gf_graph_free(g);
    }
    free(path);
    gf_test_rmdir(dir);
}

/* ---- the bundled networks, bit for bit ---- */

static gf_tensor *filled(gf_shape s, unsigned seed, int one_hot)
{
    gf_tensor *t = gf_tensor_new(GF_F32, s, NULL);
    assert_non_null(t);
    gf_rng r;
    gf_rng_seed(&r, seed, 9);
    float *p = gf_tensor_data(t);
    int64_t rows = s.dim[0], cols = gf_tensor_count(t) / rows;
    for (int64_t i = 0; i < rows; i++) {
        uint32_t hot = gf_rng_below(&r, (uint32_t)cols);
        for (int64_t j = 0; j < cols; j++)
            p[i * cols + j] = one_hot ? (float)(j == (int64_t)hot) : (float)gf_rng_uniform(&r);
    }
    return t;
}

/* The same fetch in two sessions gives the same bytes. */
static void same_fetch(gf_session *a, gf_node *na, gf_session *b, gf_node *nb, const gf_feed *fa, const gf_feed *fb,
                       int n_feeds, const char *what)
{
    const gf_tensor *ta = gf_test_run1(a, fa, n_feeds, na);
    size_t bytes = (size_t)gf_tensor_count(ta) * sizeof(float);
    float *copy = malloc(bytes + 1);
    memcpy(copy, gf_tensor_data(ta), bytes);
    const gf_tensor *tb = gf_test_run1(b, fb, n_feeds, nb);
    assert_int_equal(gf_tensor_count(tb) * (int64_t)sizeof(float), (int64_t)bytes);
    if (memcmp(copy, gf_tensor_data(tb), bytes)) fail_msg("%s: the loaded model computes other bits", what);
    free(copy);
}

/* Saves s with the signature (x -> probs; y, extra and train for
 * training), loads it, checks probs bitwise on fresh data, then takes
 * `steps` training steps in both and compares every variable bitwise. */
static void round_trip_net(gf_graph *g, gf_session *s, gf_node *x, gf_node *y, gf_node *extra, float extra_train,
                           gf_node *probs, gf_node *const *train, int n_train, int steps, const char *what)
{
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "net.gfm");
    gf_node *step = train[0];
    for (int i = 1; i < n_train; i++) step = gf_group(step, train[i]);
    gf_node *classes = gf_argmax(probs, 1);
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_signature_entry in[3] = { { "images", x }, { "labels", y }, { "keep_prob", extra } };
    gf_signature_entry out[3] = { { "probs", probs }, { "classes", classes }, { "train", step } };
    gf_signature sig = { in, extra ? 3 : 2, out, 3 };
    if (gf_model_save(s, &sig, path) != GF_OK) fail_msg("%s: save: %s", what, gf_session_error(s));
    gf_error err;
    gf_model *m = gf_model_load(path, &(gf_model_options){ .threads = 2 }, &err);
    if (!m) fail_msg("%s: load: %s", what, err.message);
    gf_session *t = gf_model_session(m);
    gf_node *mx = gf_model_input(m, "images"), *my = gf_model_input(m, "labels"), *me = gf_model_input(m, "keep_prob");
    assert_non_null(mx);
    assert_non_null(my);
    int64_t in_dim = gf_node_shape(x).dim[1], classes_n = gf_node_shape(probs).dim[1];
    gf_tensor *xs = filled(gf_dims(2, 7, (int)in_dim), 3, 0), *ys = filled(gf_dims(2, 7, (int)classes_n), 4, 1);
    gf_tensor *kp = gf_tensor_new(GF_F32, gf_dims(0), NULL), *one = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    gf_tensor_data(kp)[0] = extra_train;
    gf_tensor_data(one)[0] = 1;
    gf_feed fa[3] = { { x, xs }, { extra, one }, { y, ys } }, fb[3] = { { mx, xs }, { me, one }, { my, ys } };
    int nf = extra ? 2 : 1;
    if (!extra) fa[1] = fa[2], fb[1] = fb[2];
    same_fetch(s, probs, t, gf_model_output(m, "probs"), fa, fb, nf, what);
    same_fetch(s, classes, t, gf_model_output(m, "classes"), fa, fb, nf, what);
    /* Training continues identically: dropout draws the same masks. */
    if (extra) gf_tensor_data(one)[0] = extra_train;
    gf_feed ta[3] = { { x, xs }, { y, ys }, { extra, kp } }, tb[3] = { { mx, xs }, { my, ys }, { me, kp } };
    gf_node *mstep = gf_model_output(m, "train");
    assert_non_null(mstep);
    for (int k = 0; k < steps; k++) {
        assert_int_equal(gf_session_run(s, ta, extra ? 3 : 2, NULL, 0, &step, 1, NULL), GF_OK);
        if (gf_session_run(t, tb, extra ? 3 : 2, NULL, 0, &mstep, 1, NULL) != GF_OK)
            fail_msg("%s: step in the loaded model: %s", what, gf_session_error(t));
    }
    for (int i = 0; i < gf_graph_node_count(g); i++) {
        gf_node *v = gf_graph_node(g, i);
        if (strcmp(gf_node_op(v), "variable")) continue;
        const gf_tensor *va = gf_session_variable(s, v), *vb = gf_session_variable(t, gf_graph_node(gf_model_graph(m), i));
        assert_non_null(vb);
        if (memcmp(gf_tensor_data(va), gf_tensor_data(vb), (size_t)gf_tensor_count(va) * sizeof(float)))
            fail_msg("%s: variable \"%s\" differs after %d steps in both", what, gf_node_name(v), steps);
    }
    gf_tensor_free(xs);
    gf_tensor_free(ys);
    gf_tensor_free(kp);
    gf_tensor_free(one);
    gf_model_free(m);
    free(path);
    gf_test_rmdir(dir);
}

/* A few steps first, so that the saved values are not the initial ones. */
static void warm_up(gf_session *s, gf_node *x, gf_node *y, gf_node *extra, gf_node *const *train, int n_train)
{
    int64_t in_dim = gf_node_shape(x).dim[1], classes = gf_node_shape(y).dim[1];
    gf_tensor *xs = filled(gf_dims(2, 5, (int)in_dim), 1, 0), *ys = filled(gf_dims(2, 5, (int)classes), 2, 1);
    gf_tensor *kp = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    gf_tensor_data(kp)[0] = 0.5f;
    gf_feed feed[3] = { { x, xs }, { y, ys }, { extra, kp } };
    for (int k = 0; k < 3; k++)
        assert_int_equal(gf_session_run(s, feed, extra ? 3 : 2, NULL, 0, train, n_train, NULL), GF_OK);
    gf_tensor_free(xs);
    gf_tensor_free(ys);
    gf_tensor_free(kp);
}

static void bundled_models_keep_their_bits(void **state)
{
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        gf_article_net a;
        assert_int_equal(kind ? gf_article_build_autodiff_sized(&a, 20, 6, 4, 0.1f)
                              : gf_article_build_manual_sized(&a, 20, 6, 4, 0.5f), GF_OK);
        gf_session *s = gf_session_new(a.g, &(gf_session_options){ .seed = 11 });
        warm_up(s, a.a_0, a.y, NULL, a.step, a.n_step);
        round_trip_net(a.g, s, a.a_0, a.y, NULL, 1, a.a_2, a.step, a.n_step, 3, kind ? "article autodiff" : "article");
        gf_session_free(s);
        gf_graph_free(a.g);
    }
    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax_sized(&z, 12, 8, 5, 0.01f), GF_OK);
    gf_session *s = gf_session_new(z.g, &(gf_session_options){ .seed = 12 });
    warm_up(s, z.x, z.y, NULL, &z.step, 1);
    round_trip_net(z.g, s, z.x, z.y, NULL, 1, z.probs, &z.step, 1, 3, "softmax");
    gf_session_free(s);
    gf_graph_free(z.g);
    gf_cnn_net c; /* 8x8 images, 3 classes: small, with dropout */
    assert_int_equal(gf_cnn_build_sized(&c, 8, 8, 3, 0.001f), GF_OK);
    s = gf_session_new(c.g, &(gf_session_options){ .seed = 13 });
    warm_up(s, c.x, c.y_, c.keep_prob, &c.train_step, 1);
    { /* infer_probs, without dropout, is probs with keep_prob 1, bit for bit */
        gf_tensor *xs = filled(gf_dims(2, 3, 64), 8, 0), *one = gf_tensor_new(GF_F32, gf_dims(0), NULL);
        gf_tensor_data(one)[0] = 1;
        gf_feed f2[2] = { { c.x, xs }, { c.keep_prob, one } };
        same_fetch(s, c.probs, s, c.infer_probs, f2, f2, 2, "cnn infer_probs");
        gf_tensor_free(xs);
        gf_tensor_free(one);
    }
    round_trip_net(c.g, s, c.x, c.y_, c.keep_prob, 0.5f, c.infer_probs, &c.train_step, 1, 2, "cnn");
    gf_session_free(s);
    gf_graph_free(c.g);
}

/* ---- a network built by hand, with its own names ---- */

static void hand_built_model(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "mine.gfm");
    gf_graph *g = gf_graph_new();
    gf_node *pixels = gf_placeholder(g, "pixels", GF_F32, gf_dims(2, GF_ANY, 4));
    gf_node *kernel = gf_variable(g, "layer/kernel", gf_truncated_normal(g, gf_dims(2, 4, 3), 0, 0.5f));
    gf_node *bias = gf_variable(g, "layer/bias", gf_constant(g, gf_dims(1, 3), (const float[]){ 0.1f, -0.2f, 0.3f }));
    gf_node *score = gf_name(gf_tanh(gf_add(gf_matmul(pixels, kernel), bias)), "score");
    gf_node *label = gf_name(gf_argmax(score, 1), "label");
    gf_node *noted = gf_check_numerics(score, "score went bad");
    assert_int_equal(gf_graph_status(g), GF_OK);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 21 });
    gf_signature_entry in[] = { { "features", pixels } };
    gf_signature_entry out[] = { { "score", score }, { "label", label }, { "checked", noted } };
    gf_signature sig = { in, 1, out, 3 };
    assert_int_equal(gf_model_save(s, &sig, path), GF_OK);
    gf_error err;
    gf_model *m = gf_model_load(path, NULL, &err);
    if (!m) fail_msg("%s", err.message);
    const gf_signature *ms = gf_model_signature(m);
    assert_int_equal(ms->n_inputs, 1);
    assert_int_equal(ms->n_outputs, 3);
    assert_string_equal(ms->inputs[0].key, "features");
    assert_string_equal(gf_node_name(ms->inputs[0].node), "pixels");
    assert_string_equal(ms->outputs[1].key, "label");
    assert_string_equal(gf_node_name(gf_model_output(m, "label")), "label");
    assert_ptr_equal(gf_model_input(m, "features"), gf_graph_find(gf_model_graph(m), "pixels"));
    assert_null(gf_model_input(m, "score"));
    assert_null(gf_model_output(m, "features"));
    assert_null(gf_model_output(m, "nope"));
    assert_string_equal(gf_node_name(gf_graph_find(gf_model_graph(m), "layer/kernel")), "layer/kernel");
    gf_tensor *xs = filled(gf_dims(2, 3, 4), 5, 0);
    gf_feed fa = { pixels, xs }, fb = { gf_model_input(m, "features"), xs };
    same_fetch(s, score, gf_model_session(m), gf_model_output(m, "score"), &fa, &fb, 1, "hand-built");
    same_fetch(s, noted, gf_model_session(m), gf_model_output(m, "checked"), &fa, &fb, 1, "hand-built");
    /* The loaded graph takes new nodes like any other. */
    gf_node *twice = gf_mul(gf_model_output(m, "score"), gf_scalar(gf_model_graph(m), 2));
    const gf_tensor *t = gf_test_run1(gf_model_session(m), &fb, 1, twice);
    assert_int_equal(gf_tensor_count(t), 9);
    gf_tensor_free(xs);
    gf_model_free(m);
    gf_session_free(s);
    gf_graph_free(g);
    free(path);
    gf_test_rmdir(dir);
}

/* ---- the signature's rules ---- */

static void signature_rules(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "sig.gfm");
    gf_graph *g = gf_graph_new(), *other = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *k = gf_placeholder(g, "k", GF_F32, gf_dims(0));
    gf_node *y = gf_mul(x, k), *w = gf_neg(x);
    gf_node *foreign = gf_placeholder(other, "z", GF_F32, gf_dims(0));
    gf_session *s = gf_session_new(g, NULL);
    struct {
        gf_signature_entry in[2], out[2];
        int n_in, n_out;
        const char *want;
    } cases[] = {
        { { { "x", x } }, { { "y", y } }, 1, 1, "output \"y\" needs placeholder \"k\", which is not one of the "
                                                 "signature's inputs" },
        { { { "x", w } }, { { "y", x } }, 1, 1, "input \"x\" is \"neg\" (op neg), not a placeholder" },
        { { { "x", x } }, { { "x", w } }, 1, 1, "key \"x\" is given twice" },
        { { { "", x } }, { { "y", w } }, 1, 1, "input 0 has a key that is empty" },
        { { { NULL, x } }, { { "y", w } }, 1, 1, "input 0 has a key that is NULL" },
        { { { "x", x } }, { { "y", NULL } }, 1, 1, "output \"y\" is NULL" },
        { { { "x", foreign } }, { { "y", w } }, 1, 1, "input \"x\" is a node of another graph" },
        { { { "x", x } }, { { "y", w } }, -1, 1, "signature: -1 inputs: expected a count >= 0" },
        { { { "a-key-of-64-bytes-is-one-byte-too-long-for-a-signature-entry-key", x } }, { { "y", w } }, 1, 1,
          "longer than 63 bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gf_signature sig = { cases[i].in, cases[i].n_in, cases[i].out, cases[i].n_out };
        assert_int_equal(gf_model_save(s, &sig, path), GF_ERR_ARG);
        gf_test_contains(gf_session_error(s), cases[i].want);
        gf_test_contains(gf_session_error(s), path);
    }
    /* Nothing was written; a good one is. */
    FILE *f = fopen(path, "rb");
    assert_null(f);
    gf_signature_entry in[] = { { "x", x }, { "k", k } }, out[] = { { "y", y } };
    gf_signature good = { in, 2, out, 1 };
    assert_int_equal(gf_model_save(s, &good, path), GF_OK);
    assert_string_equal(gf_session_error(s), "");
    /* A graph in error is refused. */
    gf_add(x, foreign);
    assert_int_equal(gf_model_save(s, &good, path), GF_ERR_STATE);
    gf_test_contains(gf_session_error(s), "the graph is in error");
    gf_session_free(s);
    gf_graph_free(g);
    gf_graph_free(other);
    free(path);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_op_round_trips),
        cmocka_unit_test(bundled_models_keep_their_bits),
        cmocka_unit_test(hand_built_model),
        cmocka_unit_test(signature_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
