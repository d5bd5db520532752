/*
 * bench_conv.c — times the Deep MNIST tutorial's two convolution layers at
 * batch 50 through sessions (the kernels of src/kernels/conv.c for the
 * first, winograd.c for the second): forward, the filter's gradient and
 * the input's gradient, at 1 and 2 threads, with GFLOP/s counted as
 * 2 * M * K * O dense FLOPs of the direct sum (M = batch * oh * ow, K =
 * kh * kw * in, O = out; Winograd's transforms multiply less, so the
 * second layer's rates are effective ones and may pass the peak) and the
 * FMA peak as `gradflow bench` measures it; JSON lines.
 *
 *   usage: bench_conv [--seconds S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "gradflow.h"

static double min_seconds = 0.5;

typedef struct layer {
    const char *name;
    int h, w, c, k, o;
} layer;

/* Milliseconds per run of fetch: the best of timed batches. */
static double time_run(gf_session *s, const gf_feed *feeds, int nf, gf_node *fetch)
{
    const gf_tensor *out;
    if (gf_session_run(s, feeds, nf, &fetch, 1, NULL, 0, &out) != GF_OK) {
        fprintf(stderr, "run failed: %s\n", gf_session_error(s));
        exit(1);
    }
    double best = 1e30, total = 0;
    while (total < min_seconds) {
        double t0 = bench_now();
        gf_session_run(s, feeds, nf, &fetch, 1, NULL, 0, &out);
        double t = bench_now() - t0;
        total += t;
        if (t < best) best = t;
    }
    return best * 1e3;
}

static void fill(gf_tensor *t, unsigned seed)
{
    gf_rng r;
    gf_rng_seed(&r, seed, 1);
    for (int64_t i = 0; i < gf_tensor_count(t); i++) gf_tensor_data(t)[i] = (float)gf_rng_uniform(&r) - 0.5f;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--seconds")) min_seconds = atof(argv[++i]);
    peak p = bench_measure_peak();
    printf("{\"peak\":\"%s\",\"unit\":\"%s\",\"gflops_per_core\":%.1f,\"gflops_avx2\":%.1f,\"isa\":\"%s\","
           "\"gemm_unit\":\"%s\"}\n",
           p.kind, p.unit, p.gflops, p.gflops_avx2, p.isa, p.gemm_unit);
    const int batch = 50;
    const layer layers[2] = { { "conv1 28x28x1 5x5x32 SAME", 28, 28, 1, 5, 32 },
                              { "conv2 14x14x32 5x5x64 SAME", 14, 14, 32, 5, 64 } };
    for (int l = 0; l < 2; l++) {
        const layer *L = &layers[l];
        gf_graph *g = gf_graph_new();
        gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(4, GF_ANY, L->h, L->w, L->c));
        gf_node *f = gf_placeholder(g, "f", GF_F32, gf_dims(4, L->k, L->k, L->c, L->o));
        gf_node *dy = gf_placeholder(g, "dy", GF_F32, gf_dims(4, GF_ANY, L->h, L->w, L->o));
        gf_node *y = gf_conv2d(x, f, 1, 1, GF_SAME), *xs[2] = { x, f }, *d[2];
        if (gf_gradients(g, &y, 1, xs, 2, &dy, d) != GF_OK) {
            fprintf(stderr, "%s\n", gf_graph_error(g));
            return 1;
        }
        gf_tensor *tx = gf_tensor_new(GF_F32, gf_dims(4, batch, L->h, L->w, L->c), NULL);
        gf_tensor *tf = gf_tensor_new(GF_F32, gf_dims(4, L->k, L->k, L->c, L->o), NULL);
        gf_tensor *tdy = gf_tensor_new(GF_F32, gf_dims(4, batch, L->h, L->w, L->o), NULL);
        fill(tx, 1), fill(tf, 2), fill(tdy, 3);
        gf_feed feeds[3] = { { x, tx }, { f, tf }, { dy, tdy } };
        double flop = 2.0 * batch * L->h * L->w * (double)(L->k * L->k * L->c) * L->o;
        for (int threads = 1; threads <= 2; threads++) {
            gf_session *s = gf_session_new(g, &(gf_session_options){ .threads = threads });
            const char *what[3] = { "forward", "backprop_filter", "backprop_input" };
            gf_node *fetch[3] = { y, d[1], d[0] };
            for (int k = 0; k < 3; k++) {
                double ms = time_run(s, feeds, 3, fetch[k]);
                printf("{\"layer\":\"%s\",\"batch\":%d,\"threads\":%d,\"op\":\"%s\",\"ms\":%.3f,\"gflops\":%.1f,"
                       "\"of_peak\":%.2f}\n",
                       L->name, batch, threads, what[k], ms, flop / ms * 1e-6,
                       flop / ms * 1e-6 / (p.gflops * threads));
            }
            gf_session_free(s);
        }
        gf_tensor_free(tx), gf_tensor_free(tf), gf_tensor_free(tdy);
        gf_graph_free(g);
    }
    return 0;
}
