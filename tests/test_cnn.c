/*
 * test_cnn.c — the Deep MNIST network of models/cnn.c: its shapes, a short
 * training run that learns and is bitwise the same at 1 and 2 threads, and
 * `gradflow eval` / `predict` on its checkpoint agreeing with train.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"

static void assert_node_shape(gf_graph *g, const char *name, gf_shape want)
{
    gf_node *n = gf_graph_find(g, name);
    if (!n) fail_msg("no node \"%s\"", name);
    gf_test_assert_shape(gf_node_shape(n), want);
}

/* The tutorial's shapes, layer by layer; softmax rows of a forward pass. */
static void shapes_are_the_tutorials(void **state)
{
    (void)state;
    gf_cnn_net net;
    assert_int_equal(gf_cnn_build(&net, 0), GF_OK);
    gf_graph *g = net.g;
    assert_node_shape(g, "x_image", gf_dims(4, GF_ANY, 28, 28, 1));
    assert_node_shape(g, "h_conv1", gf_dims(4, GF_ANY, 28, 28, 32));
    assert_node_shape(g, "h_pool1", gf_dims(4, GF_ANY, 14, 14, 32));
    assert_node_shape(g, "h_conv2", gf_dims(4, GF_ANY, 14, 14, 64));
    assert_node_shape(g, "h_pool2", gf_dims(4, GF_ANY, 7, 7, 64));
    assert_node_shape(g, "h_pool2_flat", gf_dims(2, GF_ANY, 3136));
    assert_node_shape(g, "h_fc1", gf_dims(2, GF_ANY, 1024));
    assert_node_shape(g, "y_conv", gf_dims(2, GF_ANY, 10));
    gf_test_assert_shape(gf_node_shape(net.W_conv1), gf_dims(4, 5, 5, 1, 32));
    gf_test_assert_shape(gf_node_shape(net.W_conv2), gf_dims(4, 5, 5, 32, 64));
    gf_test_assert_shape(gf_node_shape(net.W_fc1), gf_dims(2, 3136, 1024));
    gf_test_assert_shape(gf_node_shape(net.W_fc2), gf_dims(2, 1024, 10));
    gf_test_assert_shape(gf_node_shape(net.b_fc1), gf_dims(1, 1024));
    gf_test_assert_shape(gf_node_shape(net.cross_entropy), gf_dims(0));

    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 1 });
    assert_int_equal(gf_session_status(s), GF_OK);
    /* Biases start at 0.1; weights within two stddevs (0.2) of 0. */
    const gf_tensor *b = gf_session_variable(s, net.b_conv2);
    for (int i = 0; i < 64; i++) assert_true(gf_tensor_data(b)[i] == 0.1f);
    const gf_tensor *w = gf_session_variable(s, net.W_conv1);
    for (int i = 0; i < 800; i++) assert_true(fabsf(gf_tensor_data(w)[i]) <= 0.2f);

    static float px[3 * 784];
    for (int i = 0; i < 3 * 784; i++) px[i] = (float)((i * 37) % 101) / 100.0f;
    gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(2, 3, 784), px, NULL);
    gf_tensor *one = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    gf_tensor_data(one)[0] = 1.0f;
    gf_feed feed[] = { { net.x, xs }, { net.keep_prob, one } };
    const gf_tensor *p = gf_test_run1(s, feed, 2, net.probs);
    gf_test_assert_shape(gf_tensor_shape(p), gf_dims(2, 3, 10));
    for (int r = 0; r < 3; r++) {
        double sum = 0;
        for (int k = 0; k < 10; k++) sum += gf_tensor_data(p)[10 * r + k];
        assert_true(fabs(sum - 1) < 1e-5);
    }
    gf_tensor_free(xs);
    gf_tensor_free(one);
    gf_session_free(s);
    gf_graph_free(g);
}

/* Trains `steps` steps of batch 50 (dropout 0.5) with `threads` threads;
 * returns the cross-entropy of the first 500 test images (keep_prob 1)
 * before and after in ce[0], ce[1], and copies W_conv1 and W_fc2 out. */
static void train(const char *dir, int threads, int steps, double ce[2], float *w_conv1, float *w_fc2)
{
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = 1, .validation_size = -1 }, &m, &err))
        fail_msg("%s", err.message);
    gf_cnn_net net;
    assert_int_equal(gf_cnn_build(&net, 0), GF_OK);
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 1, .threads = threads });
    assert_int_equal(gf_session_status(s), GF_OK);
    gf_tensor *one = gf_tensor_new(GF_F32, gf_dims(0), NULL), *half = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    gf_tensor_data(one)[0] = 1.0f;
    gf_tensor_data(half)[0] = GF_CNN_KEEP;
    const gf_tensor *tx, *ty;
    assert_int_equal(gf_dataset_head(m->test, 500, &tx, &ty), GF_OK);
    gf_feed test[] = { { net.x, tx }, { net.y_, ty }, { net.keep_prob, one } };
    ce[0] = gf_tensor_data(gf_test_run1(s, test, 3, net.cross_entropy))[0];
    for (int i = 0; i < steps; i++) {
        const gf_tensor *xs, *ys;
        assert_int_equal(gf_dataset_next_batch(m->train, GF_CNN_BATCH, &xs, &ys), GF_OK);
        gf_feed feed[] = { { net.x, xs }, { net.y_, ys }, { net.keep_prob, half } };
        if (gf_session_run(s, feed, 3, NULL, 0, &net.train_step, 1, NULL)) fail_msg("%s", gf_session_error(s));
    }
    ce[1] = gf_tensor_data(gf_test_run1(s, test, 3, net.cross_entropy))[0];
    memcpy(w_conv1, gf_tensor_data(gf_session_variable(s, net.W_conv1)), 800 * sizeof(float));
    memcpy(w_fc2, gf_tensor_data(gf_session_variable(s, net.W_fc2)), 10240 * sizeof(float));
    gf_tensor_free(one);
    gf_tensor_free(half);
    gf_session_free(s);
    gf_graph_free(net.g);
    gf_mnist_free(m);
}

/* 30 steps on MNIST: the test loss falls well below ln 10; the same
 * seed gives the same bits with one thread and with two. */
static void learns_and_is_the_same_at_1_and_2_threads(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) skip();
    static float c1[800], c2[800], f1[10240], f2[10240];
    double ce1[2], ce2[2];
    train(dir, 1, 30, ce1, c1, f1);
    train(dir, 2, 30, ce2, c2, f2);
    print_message("cross-entropy on 500 test images: %.4f before, %.4f after 30 steps\n", ce1[0], ce1[1]);
    assert_true(ce1[0] > 1.5);
    assert_true(ce1[1] < ce1[0] - 0.5);
    assert_memory_equal(c1, c2, sizeof c1);
    assert_memory_equal(f1, f2, sizeof f1);
    assert_true(ce1[1] == ce2[1]);
}

/* A steady training step and evaluation of the CNN call no allocator
 * (convolution scratch is per thread and kept between runs). */
static long n_allocs;
static void *count_malloc(void *ctx, size_t n) { (void)ctx; n_allocs++; return malloc(n); }
static void *count_realloc(void *ctx, void *p, size_t n) { (void)ctx; n_allocs++; return realloc(p, n); }
static void count_free(void *ctx, void *p) { (void)ctx; free(p); }

static void steady_step_allocates_nothing(void **state)
{
    (void)state;
    gf_set_allocator(&(gf_allocator){ count_malloc, count_realloc, count_free, NULL });
    gf_cnn_net net;
    assert_int_equal(gf_cnn_build(&net, 1e-4f), GF_OK);
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 1, .threads = 2 });
    enum { B = 4 };
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, B, 784), NULL), *y = gf_tensor_new(GF_F32, gf_dims(2, B, 10), NULL);
    gf_tensor *keep = gf_tensor_new(GF_F32, gf_dims(0), NULL), *one = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    for (int i = 0; i < B * 784; i++) gf_tensor_data(x)[i] = (float)(i % 13) / 13.0f;
    for (int i = 0; i < B * 10; i++) gf_tensor_data(y)[i] = i % 11 == 0;
    gf_tensor_data(keep)[0] = 0.5f;
    gf_tensor_data(one)[0] = 1.0f;
    gf_feed train[3] = { { net.x, x }, { net.y_, y }, { net.keep_prob, keep } };
    gf_feed eval[3] = { { net.x, x }, { net.y_, y }, { net.keep_prob, one } };
    const gf_tensor *res;
    for (int i = 0; i < 7; i++) {
        if (i == 2) n_allocs = 0; /* after the plans are compiled */
        assert_int_equal(gf_session_run(s, train, 3, NULL, 0, &net.train_step, 1, NULL), GF_OK);
        assert_int_equal(gf_session_run(s, eval, 3, &net.correct, 1, NULL, 0, &res), GF_OK);
    }
    assert_int_equal(n_allocs, 0);
    gf_tensor_free(x), gf_tensor_free(y), gf_tensor_free(keep), gf_tensor_free(one);
    gf_session_free(s);
    gf_graph_free(net.g);
    gf_set_allocator(NULL);
}

/* `gradflow train --model cnn` saves a model file that eval and predict
 * run with no flags (its signature's "probs" leaves dropout out); eval
 * counts what train's final evaluation counted. */
static void cli_train_eval_predict(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !mnist) skip();
    char *dir = gf_test_tmpdir(), args[8192];
    static char out[1 << 16];
    snprintf(args, sizeof args,
             "train --model cnn --data '%s' --steps 10 --train-accuracy-every 5 --eval-every 1000 --json "
             "--quiet --save '%s/cnn.gf'", mnist, dir);
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);
    if (!strstr(out, "{\"step\":0,\"training_accuracy\":") || !strstr(out, "{\"step\":5,\"training_accuracy\":"))
        fail_msg("no training accuracy at steps 0 and 5 in:\n%s", out);
    const char *fin = strstr(out, "\"final\":true");
    if (!fin) fail_msg("no final evaluation in:\n%s", out);
    while (fin > out && fin[-1] != '\n') fin--;
    long long correct = (long long)gf_test_json_num(fin, "correct"), total = (long long)gf_test_json_num(fin, "total");
    assert_int_equal((long long)gf_test_json_num(fin, "step"), 10);

    snprintf(args, sizeof args, "eval '%s/cnn.gf' --data '%s' --json", dir, mnist);
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);
    if (!strstr(out, "\"format\":\"model\"")) fail_msg("not read as a model file: %s", out);
    assert_int_equal((long long)gf_test_json_num(out, "total"), total);
    assert_int_equal((long long)gf_test_json_num(out, "correct"), correct);

    snprintf(args, sizeof args, "predict '%s/cnn.gf' idx:%s:0 idx:%s:1 --json", dir, mnist, mnist);
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);
    const char *o = strstr(out, "\"outputs\":[");
    assert_non_null(o);
    double sum = 0;
    for (char *p = (char *)o + 11, *end; *p && *p != ']'; p = end + (*end == ',')) sum += strtod(p, &end);
    assert_true(fabs(sum - 1) < 1e-4);

    /* Its signature: images in, the output without dropout. */
    snprintf(args, sizeof args, "inspect '%s/cnn.gf'", dir);
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);
    gf_test_contains(out, "input  keep_prob");
    gf_test_contains(out, "output probs        infer_probs          softmax");
    gf_test_contains(out, "W_conv1                  [5,5,1,32]");
    /* An old checkpoint of the cnn is recognised, and has no --hidden. */
    gf_cnn_net net;
    assert_int_equal(gf_cnn_build(&net, 0), GF_OK);
    gf_session *s = gf_session_new(net.g, NULL);
    char old[4200];
    snprintf(old, sizeof old, "%s/old.gf", dir);
    assert_int_equal(gf_session_save(s, old), GF_OK);
    gf_session_free(s);
    gf_graph_free(net.g);
    snprintf(args, sizeof args, "eval '%s' --data '%s' --json", old, mnist);
    assert_int_equal(gf_test_run_gradflow(args, 0, out, sizeof out), 0);
    if (!strstr(out, "\"model\":\"cnn\"")) fail_msg("not recognised as the cnn: %s", out);
    snprintf(args, sizeof args, "eval '%s' --data '%s' --hidden 30", old, mnist);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 1);
    if (!strstr(out, "holds --model cnn, which has no --hidden")) fail_msg("%s", out);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shapes_are_the_tutorials),
        cmocka_unit_test(learns_and_is_the_same_at_1_and_2_threads),
        cmocka_unit_test(cli_train_eval_predict),
        cmocka_unit_test(steady_step_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
