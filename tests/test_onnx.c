/*
 * test_onnx.c — the bundled networks (the article's, the softmax model and
 * the Deep MNIST CNN), trained a few steps, exported to ONNX and run in
 * ONNX Runtime on MNIST test images: the same answer on every image and
 * outputs within 1e-5 of gradflow's; Debian's checker accepts each file.
 * Then `gradflow export` on checkpoints written by `gradflow train`.
 */
#include "ortutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "cnn.h"
#include "zoo.h"

/* A trained network seen as images [?,784] -> out [?,10]. */
typedef struct net {
    const char *name;
    gf_graph *g;
    gf_session *s;
    gf_node *x, *out, *keep; /* keep: dropout's keep_prob placeholder (the cnn), fed 1 to gradflow */
    int64_t images, batch;    /* test images compared, run in batches of */
} net;

static gf_mnist *load_mnist(void)
{
    const char *dir = gf_test_mnist_dir();
    if (!dir) return NULL;
    gf_mnist *m = NULL;
    gf_error err;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = 1, .validation_size = 0 }, &m, &err))
        fail_msg("%s", err.message);
    return m;
}

static gf_tensor *scalar(float v)
{
    gf_tensor *t = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    assert_non_null(t);
    gf_tensor_data(t)[0] = v;
    return t;
}

/* steps training steps of batch examples: feeds x, y (and keep at 0.5). */
static void train(gf_session *s, gf_mnist *m, gf_node *x, gf_node *y, gf_node *keep, gf_node *const *step,
                  int n_step, int steps, int64_t batch)
{
    gf_tensor *half = scalar(0.5f);
    for (int i = 0; i < steps; i++) {
        const gf_tensor *xs, *ys;
        assert_int_equal(gf_dataset_next_batch(m->train, batch, &xs, &ys), GF_OK);
        gf_feed feed[] = { { x, xs }, { y, ys }, { keep, half } };
        if (gf_session_run(s, feed, keep ? 3 : 2, NULL, 0, step, n_step, NULL) != GF_OK)
            fail_msg("training step %d: %s", i, gf_session_error(s));
    }
    gf_tensor_free(half);
}

/* gradflow's outputs [n,10] and answers [n] on the first n test images. */
static void gradflow_outputs(const net *w, gf_node *classes, const gf_tensor *images, float *out, float *cls)
{
    gf_tensor *one = scalar(1);
    for (int64_t at = 0; at < w->images; at += w->batch) {
        int64_t k = w->images - at < w->batch ? w->images - at : w->batch;
        gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(2, (int)k, 784), gf_tensor_data(images) + 784 * at, NULL);
        assert_non_null(xs);
        gf_feed feed[] = { { w->x, xs }, { w->keep, one } };
        gf_node *fetch[] = { w->out, classes };
        const gf_tensor *res[2];
        if (gf_session_run(w->s, feed, w->keep ? 2 : 1, fetch, 2, NULL, 0, res) != GF_OK)
            fail_msg("%s: %s", w->name, gf_session_error(w->s));
        memcpy(out + 10 * at, gf_tensor_data(res[0]), (size_t)k * 10 * sizeof *out);
        memcpy(cls + at, gf_tensor_data(res[1]), (size_t)k * sizeof *cls);
        gf_tensor_free(xs);
    }
    gf_tensor_free(one);
}

static int argmax10(const float *row)
{
    int best = 0;
    for (int j = 1; j < 10; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

/* ONNX Runtime's outputs (job: out [n,10], classes [n]) against gradflow's:
 * the same answer for every image, from both outputs; returns the largest
 * absolute difference of the outputs. */
static double compare(const char *name, const gf_ort_job *job, const float *out, const float *cls, int64_t n)
{
    assert_int_equal(job->n_outputs, 2);
    gf_test_assert_shape(job->shapes[0], gf_dims(2, (int)n, 10));
    gf_test_assert_shape(job->shapes[1], gf_dims(1, (int)n));
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *ort = job->outs[0] + 10 * i, *ours = out + 10 * i;
        int a = argmax10(ort), b = argmax10(ours);
        if (a != b || job->outs[1][i] != (float)b || cls[i] != (float)b)
            fail_msg("%s: image %lld: ONNX Runtime answers %d (classes %g), gradflow %d (classes %g)", name,
                     (long long)i, a, (double)job->outs[1][i], b, (double)cls[i]);
        for (int j = 0; j < 10; j++) {
            double d = fabs((double)ort[j] - (double)ours[j]);
            if (!(d <= HUGE_VAL)) d = HUGE_VAL; /* a NaN counts as the largest difference */
            if (d > worst) worst = d;
        }
    }
    return worst;
}

/* Exports w to dir/NAME.onnx, runs it in ONNX Runtime and compares. */
static void export_and_compare(net *w, gf_mnist *m, const char *dir, char *path, size_t cap)
{
    gf_node *classes = gf_argmax(w->out, 1);
    assert_int_equal(gf_graph_status(w->g), GF_OK);
    snprintf(path, cap, "%s/%s.onnx", dir, w->name);
    gf_node *outs[] = { w->out, classes };
    const char *out_names[] = { "probs", "classes" }, *in_names[] = { "images" };
    if (gf_onnx_export(w->s, &w->x, in_names, 1, outs, out_names, 2, path) != GF_OK)
        fail_msg("%s: %s", w->name, gf_session_error(w->s));
    const gf_tensor *images, *labels;
    assert_int_equal(gf_dataset_head(m->test, w->images, &images, &labels), GF_OK);
    w->images = gf_tensor_shape(images).dim[0];
    float *out = malloc((size_t)w->images * 10 * sizeof *out), *cls = malloc((size_t)w->images * sizeof *cls);
    assert_true(out && cls);
    gradflow_outputs(w, classes, images, out, cls);
    gf_ort_job job = { .model = path, .n_inputs = 1, .names = { "images" }, .values = { images } };
    gf_ort_run(&job, 1, dir);
    double worst = compare(w->name, &job, out, cls, w->images);
    print_message("%-8s %lld test images: same answer on every image, max abs difference %.3g\n", w->name,
                  (long long)w->images, worst);
    assert_true(worst <= 1e-5);
    gf_ort_job_free(&job);
    free(out);
    free(cls);
}

static void bundled_networks_match_onnx_runtime(void **state)
{
    (void)state;
    gf_ort_require();
    gf_mnist *m = load_mnist();
    if (!m) skip();
    char *dir = gf_test_tmpdir();
    static char paths[3][4200];
    const char *files[3] = { paths[0], paths[1], paths[2] };
    gf_session_options opt = { .seed = 3 };

    gf_article_net a;
    assert_int_equal(gf_article_build_manual(&a, 30, 3.0f), GF_OK);
    net w = { "article", a.g, gf_session_new(a.g, &opt), a.a_0, a.a_2, NULL, gf_dataset_count(m->test), 1000 };
    train(w.s, m, a.a_0, a.y, NULL, a.step, a.n_step, 300, 10);
    export_and_compare(&w, m, dir, paths[0], sizeof paths[0]);
    gf_session_free(w.s);
    gf_graph_free(w.g);

    gf_zoo_net z;
    assert_int_equal(gf_zoo_build_softmax(&z, 100, 0), GF_OK);
    w = (net){ "softmax", z.g, gf_session_new(z.g, &opt), z.x, z.probs, NULL, gf_dataset_count(m->test), 1000 };
    train(w.s, m, z.x, z.y, NULL, &z.step, 1, 100, 16);
    export_and_compare(&w, m, dir, paths[1], sizeof paths[1]);
    gf_session_free(w.s);
    gf_graph_free(w.g);

    gf_cnn_net c;
    assert_int_equal(gf_cnn_build(&c, 0), GF_OK);
    w = (net){ "cnn", c.g, gf_session_new(c.g, &opt), c.x, c.probs, c.keep_prob, 300, GF_CNN_EVAL_BATCH };
    train(w.s, m, c.x, c.y_, c.keep_prob, &c.train_step, 1, 4, GF_CNN_BATCH);
    export_and_compare(&w, m, dir, paths[2], sizeof paths[2]);
    gf_session_free(w.s);
    gf_graph_free(w.g);

    gf_onnx_check(files, 3);
    gf_mnist_free(m);
    gf_test_rmdir(dir);
}

/* `gradflow export` on the model files of train's article and softmax
 * models, and on an old checkpoint: the files ONNX Runtime runs give what
 * the loaded networks give. */
static void cli_exports_checkpoints(void **state)
{
    (void)state;
    gf_ort_require();
    const char *mnist = gf_test_mnist_dir();
    gf_mnist *m = load_mnist();
    if (!gf_test_gradflow() || !m) skip();
    char *dir = gf_test_tmpdir();
    static char out[1 << 14];
    static const char *models[] = { "article", "softmax", "old" };
    for (int k = 0; k < 3; k++) {
        gf_article_net a;
        if (k < 2) {
            assert_int_equal(gf_test_gradflowf(out, sizeof out, "train --model %s --steps 60 --data '%s' --quiet "
                                               "--save '%s/%s.ckpt'", models[k], mnist, dir, models[k]), 0);
        } else { /* a checkpoint of the article's network, as earlier versions saved them */
            assert_int_equal(gf_article_build_manual(&a, 30, 0.5f), GF_OK);
            gf_session *s = gf_session_new(a.g, &(gf_session_options){ .seed = 8 });
            char ckpt[4200];
            snprintf(ckpt, sizeof ckpt, "%s/old.ckpt", dir);
            assert_int_equal(gf_session_save(s, ckpt), GF_OK);
            gf_session_free(s);
            gf_graph_free(a.g);
        }
        int rc = gf_test_gradflowf(out, sizeof out, "export '%s/%s.ckpt' --onnx '%s/%s.onnx'", dir, models[k], dir,
                                   models[k]);
        if (rc != 0) fail_msg("gradflow export: exit %d: %s", rc, out);
        gf_test_contains(out, "input:   images float32 [batch,784]");
        gf_test_contains(out, k == 1 ? "probs float32 [batch,10]" : "scores float32 [batch,10]");
        gf_test_contains(out, "classes int32 [batch]");

        /* The same network, loaded from the model file (restored from the
         * checkpoint) in this process. */
        net w = { models[k], NULL, NULL, NULL, NULL, NULL, 200, 200 };
        char ckpt[4200], onnx[4200];
        snprintf(ckpt, sizeof ckpt, "%s/%s.ckpt", dir, models[k]);
        snprintf(onnx, sizeof onnx, "%s/%s.onnx", dir, models[k]);
        gf_model *model = NULL;
        if (k < 2) {
            gf_error err;
            model = gf_model_load(ckpt, NULL, &err);
            if (!model) fail_msg("%s", err.message);
            w.g = gf_model_graph(model), w.s = gf_model_session(model);
            w.x = gf_model_input(model, "images"), w.out = gf_model_output(model, "probs");
        } else {
            assert_int_equal(gf_article_build_manual(&a, 30, 0.5f), GF_OK);
            w.g = a.g, w.x = a.a_0, w.out = a.a_2;
            w.s = gf_session_new(w.g, NULL);
            assert_int_equal(gf_session_restore(w.s, ckpt), GF_OK);
        }
        gf_node *classes = gf_argmax(w.out, 1);
        const gf_tensor *images, *labels;
        assert_int_equal(gf_dataset_head(m->test, w.images, &images, &labels), GF_OK);
        float got[2000], cls[200];
        gradflow_outputs(&w, classes, images, got, cls);
        gf_ort_job job = { .model = onnx, .n_inputs = 1, .names = { "images" }, .values = { images } };
        gf_ort_run(&job, 1, dir);
        double worst = compare(models[k], &job, got, cls, w.images);
        print_message("gradflow export of a %s checkpoint: max abs difference %.3g\n", models[k], worst);
        assert_true(worst <= 1e-5);
        gf_ort_job_free(&job);
        const char *files[] = { onnx };
        gf_onnx_check(files, 1);
        if (model) {
            gf_model_free(model);
        } else {
            gf_session_free(w.s);
            gf_graph_free(w.g);
        }
    }
    /* Usage and failures. */
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "export '%s/softmax.ckpt'", dir), 2);
    gf_test_contains(out, "--onnx OUT.onnx");
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "export --onnx '%s/x.onnx'", dir), 2);
    gf_test_contains(out, "missing the FILE");
    char *bad = gf_test_write_file(dir, "bad.ckpt", "GFCKPT", 6);
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "export '%s' --onnx '%s/x.onnx'", bad, dir), 1);
    gf_test_contains(out, "bad.ckpt");
    assert_int_equal(gf_test_gradflowf(out, sizeof out, "export '%s/softmax.ckpt' --onnx '%s/no/x.onnx'", dir, dir),
                     1);
    gf_test_contains(out, "no/x.onnx");
    free(bad);
    gf_mnist_free(m);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bundled_networks_match_onnx_runtime),
        cmocka_unit_test(cli_exports_checkpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
