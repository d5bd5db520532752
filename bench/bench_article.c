/*
 * bench_article.c — times the article's manual training step (784-30-10,
 * batch 10) and the 1000-image evaluation; prints one JSON line per result.
 *
 *   usage: bench_article [--data DIR] [--steps N]
 * With no usable DIR the images are generated (81% zero pixels, as MNIST),
 * and the output says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "article.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fills x [n,784] with MNIST-like pixels and y [n,10] with one-hot labels. */
static void synth(gf_tensor *x, gf_tensor *y, uint64_t seed)
{
    gf_rng r;
    gf_rng_seed(&r, seed, 7);
    int64_t n = gf_tensor_shape(x).dim[0];
    float *px = gf_tensor_data(x), *py = gf_tensor_data(y);
    for (int64_t i = 0; i < n * 784; i++) px[i] = gf_rng_uniform(&r) < 0.81 ? 0.0f : (float)gf_rng_uniform(&r);
    memset(py, 0, (size_t)n * 10 * sizeof *py);
    for (int64_t i = 0; i < n; i++) py[i * 10 + gf_rng_below(&r, 10)] = 1.0f;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long steps = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) dir = argv[i + 1];
        else if (!strcmp(argv[i], "--steps")) steps = strtol(argv[i + 1], NULL, 10);
    }
    if (steps < 1) steps = 1;
    gf_mnist *m = NULL;
    gf_error err;
    if (dir && gf_mnist_load(dir, NULL, &m, &err) != GF_OK) {
        fprintf(stderr, "bench_article: %s; using generated images\n", err.message);
        m = NULL;
    }
    gf_article_net net;
    if (gf_article_build_manual(&net, 30, 0.5f) != GF_OK) {
        fprintf(stderr, "bench_article: %s\n", gf_graph_error(net.g));
        return 1;
    }
    gf_session *s = gf_session_new(net.g, &(gf_session_options){ .seed = 1 });
    gf_tensor *bx = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL);
    gf_tensor *by = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    gf_tensor *tx = gf_tensor_new(GF_F32, gf_dims(2, 1000, 784), NULL);
    gf_tensor *ty = gf_tensor_new(GF_F32, gf_dims(2, 1000, 10), NULL);
    if (!s || gf_session_status(s) || !bx || !by || !tx || !ty) {
        fprintf(stderr, "bench_article: setup failed\n");
        return 1;
    }
    synth(bx, by, 1);
    synth(tx, ty, 2);
    const gf_tensor *xs = bx, *ys = by, *txs = tx, *tys = ty;
    if (m) gf_dataset_head(m->test, 1000, &txs, &tys);

    double t0 = now();
    for (long i = 0; i < steps; i++) {
        if (m) gf_dataset_next_batch(m->train, 10, &xs, &ys);
        gf_feed feed[] = { { net.a_0, xs }, { net.y, ys } };
        if (gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL)) {
            fprintf(stderr, "bench_article: %s\n", gf_session_error(s));
            return 1;
        }
    }
    double train = now() - t0;
    const int evals = 10;
    t0 = now();
    for (int i = 0; i < evals; i++) {
        gf_feed feed[] = { { net.a_0, txs }, { net.y, tys } };
        const gf_tensor *res;
        if (gf_session_run(s, feed, 2, &net.acct_res, 1, NULL, 0, &res)) return 1;
    }
    double eval = (now() - t0) / evals;
    /* Dense FLOPs of one step: forward 2*10*784*30 + 2*10*30*10, backward
     * d_w_1, d_w_2, d_a_1 the same again (elementwise work not counted). */
    double step_flops = 2.0 * (2 * 10 * 784 * 30 + 2 * 10 * 30 * 10) + 2.0 * 10 * 30 * 10;
    printf("{\"bench\":\"w1-manual\",\"data\":\"%s\",\"steps\":%ld,\"batch\":10,\"seconds\":%.4f,"
           "\"us_per_step\":%.2f,\"gflops\":%.3f}\n",
           m ? dir : "generated", steps, train, 1e6 * train / (double)steps,
           step_flops * (double)steps / train * 1e-9);
    printf("{\"bench\":\"eval-1000\",\"seconds\":%.5f,\"images_per_second\":%.0f}\n", eval, 1000.0 / eval);
    gf_tensor_free(bx);
    gf_tensor_free(by);
    gf_tensor_free(tx);
    gf_tensor_free(ty);
    gf_session_free(s);
    gf_graph_free(net.g);
    gf_mnist_free(m);
    return 0;
}
