/*
 * bench_gemm.c — times gf__gemm (AVX2 and portable, 1 and 2 threads) on the
 * article's shapes and larger ones, with the FMA peak as `gradflow bench`
 * measures it (tools/bench_support.c); JSON lines.
 *
 *   usage: bench_gemm [--data DIR] [--paths] [--wide ROUNDS] [--seconds S] [--only NAME]
 * The image operand of the article's shapes holds real MNIST digits from
 * DIR when it loads (about 81% zero pixels, which the kernels can skip),
 * else pixels that are zero with probability 0.81, independently ("iid").
 * --paths adds the plans forced: direct, packed, direct skipping zeros,
 * sparse rows (n <= 32), and the AVX-512 paths (packed, direct, direct
 * skipping zeros, row groups skipping zeros) where the CPU has them. --wide
 * R times only the AVX2 and the AVX-512 packed paths, forced, in R
 * alternating rounds (ranges of GFLOP/s and of the share of the peak).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "gradflow.h"
#include "kernels/gemm_impl.h"
#include "kernels/kernels.h"
#include "kernels/simd.h"

static double min_seconds = 0.2;
static double peak_gflops;

/* This core's FMA peak, measured as `gradflow bench` does. */
static void print_peak(void)
{
    peak p = bench_measure_peak();
    peak_gflops = p.gflops;
    printf("{\"peak\":\"%s\",\"unit\":\"%s\",\"gflops_per_core\":%.1f,\"gflops_avx2\":%.1f,\"isa\":\"%s\","
           "\"gemm_unit\":\"%s\"}\n",
           p.kind, p.unit, p.gflops, p.gflops_avx2, p.isa, p.gemm_unit);
}

typedef struct shape {
    const char *name;
    int ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    int images; /* A holds images: MNIST pixels are ~81% zero */
} shape;

enum {
    RUN_SIMD, RUN_PORTABLE, RUN_DIRECT, RUN_PACKED, RUN_SKIP, RUN_SPARSE_ROWS, RUN_PACKED512, RUN_DIRECT512,
    RUN_SKIP512, RUN_GROUPS512
};

/* Microseconds per call: the best of a few timed batches. */
static double time_call(const shape *s, int how, int threads, const float *a, const float *b, float *c)
{
    int64_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    if (how >= RUN_DIRECT)
        gf__gemm_avx2_force_path(how == RUN_DIRECT   ? GF_GEMM_DIRECT
                                 : how == RUN_PACKED ? GF_GEMM_PACKED
                                 : how == RUN_SKIP   ? GF_GEMM_DIRECT_SKIP
                                 : how == RUN_PACKED512 ? GF_GEMM_PACKED512
                                 : how == RUN_DIRECT512 ? GF_GEMM_DIRECT512
                                 : how == RUN_SKIP512   ? GF_GEMM_SKIP512
                                 : how == RUN_GROUPS512 ? GF_GEMM_GROUPS512
                                                     : GF_GEMM_SPARSE_ROWS);
    double best = 1e30, total = 0;
    long reps = 1;
    while (total < min_seconds) {
        double t0 = bench_now();
        for (long r = 0; r < reps; r++) {
            if (how == RUN_PORTABLE)
                gf__gemm_portable(s->ta, s->tb, s->m, s->n, s->k, s->alpha, a, lda, b, ldb, s->beta, c, s->n);
            else
                gf__gemm(s->ta, s->tb, s->m, s->n, s->k, s->alpha, a, lda, b, ldb, s->beta, c, s->n, threads);
        }
        double t = bench_now() - t0;
        total += t;
        if (t / (double)reps < best) best = t / (double)reps;
        if (t < 0.001) reps *= 2; /* batches of about a millisecond: the best dodges preemption */
    }
    gf__gemm_avx2_force_path(0);
    return best * 1e6;
}

/* --wide: the AVX2 and the AVX-512 packed paths forced, in `rounds`
 * alternating rounds on 1 and 2 threads; the range of each one's GFLOP/s
 * and of its share of the (widest unit's) peak times the threads. */
static void wide_rounds(const shape *s, double flop, int rounds, const float *a, const float *b, float *c)
{
    for (int threads = 1; threads <= 2; threads++) {
        double lo[2] = { 1e30, 1e30 }, hi[2] = { 0, 0 };
        for (int r = 0; r < rounds; r++)
            for (int w = 0; w < 2; w++) {
                double g = flop / time_call(s, w ? RUN_PACKED512 : RUN_PACKED, threads, a, b, c) * 1e-3;
                if (g < lo[w]) lo[w] = g;
                if (g > hi[w]) hi[w] = g;
            }
        double top = peak_gflops * threads;
        printf(",\"t%d_avx2_gflops\":[%.1f,%.1f],\"t%d_avx512_gflops\":[%.1f,%.1f],"
               "\"t%d_avx2_of_peak\":[%.2f,%.2f],\"t%d_avx512_of_peak\":[%.2f,%.2f]",
               threads, lo[0], hi[0], threads, lo[1], hi[1], threads, lo[0] / top, hi[0] / top, threads,
               lo[1] / top, hi[1] / top);
    }
}

int main(int argc, char **argv)
{
    int paths = 0, wide = 0;
    const char *dir = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--paths")) paths = 1;
        else if (!strcmp(argv[i], "--wide") && i + 1 < argc) wide = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) min_seconds = atof(argv[++i]);
    }
    print_peak();
    int simd = gf__simd_enabled();
    /* Up to 1000 training images, [n,784], values in [0,1]. */
    const float *pixels = NULL;
    int64_t n_pixels = 0;
    gf_mnist *mn = NULL;
    gf_error err;
    if (dir && gf_mnist_load(dir, NULL, &mn, &err) == GF_OK) {
        const gf_tensor *im = gf_dataset_images(mn->train);
        pixels = gf_tensor_data(im);
        n_pixels = gf_tensor_shape(im).dim[0] * 784;
        if (n_pixels > 1000 * 784) n_pixels = 1000 * 784;
    } else if (dir) {
        fprintf(stderr, "bench_gemm: %s; using iid pixels\n", err.message);
    }
    static const shape shapes[] = {
        { "fwd_z1", 0, 0, 10, 30, 784, 1.0f, 0.0f, 1 },          /* a_0 @ w_1 */
        { "upd_w1", 1, 0, 784, 30, 10, -0.05f, 1.0f, 1 },        /* w_1 -= eta/10 * a_0^T @ d_z_1 */
        { "grad_w1", 1, 0, 784, 30, 10, 1.0f, 0.0f, 1 },         /* d_w_1 = a_0^T @ d_z_1 */
        { "fwd_z2", 0, 0, 10, 10, 30, 1.0f, 0.0f, 0 },           /* a_1 @ w_2 */
        { "upd_w2", 1, 0, 30, 10, 10, -0.05f, 1.0f, 0 },         /* w_2 -= eta/10 * a_1^T @ d_z_2 */
        { "back_a1", 0, 1, 10, 30, 10, 1.0f, 0.0f, 0 },          /* d_z_2 @ w_2^T */
        { "eval_z1", 0, 0, 1000, 30, 784, 1.0f, 0.0f, 1 },
        { "eval_z2", 0, 0, 1000, 10, 30, 1.0f, 0.0f, 0 },
        { "sq512", 0, 0, 512, 512, 512, 1.0f, 0.0f, 0 },
        { "sq512_tn", 1, 0, 512, 512, 512, 1.0f, 0.0f, 0 },
        { "sq512_nt", 0, 1, 512, 512, 512, 1.0f, 0.0f, 0 },
        { "h100_fwd", 0, 0, 100, 784, 100, 1.0f, 0.0f, 0 },
        { "h100_tn", 1, 0, 784, 100, 100, 1.0f, 0.0f, 0 },
        { "h100_nn", 0, 0, 784, 100, 100, 1.0f, 0.0f, 0 },
        { "sq1024", 0, 0, 1024, 1024, 1024, 1.0f, 0.0f, 0 },
        /* the Deep MNIST network's dense layer at batch 50: forward, the
         * weights' gradient, the input's */
        { "cnn_fc1", 0, 0, 50, 1024, 3136, 1.0f, 0.0f, 0 },
        { "cnn_fc1_dw", 1, 0, 3136, 1024, 50, 1.0f, 0.0f, 0 },
        { "cnn_fc1_dx", 0, 1, 50, 3136, 1024, 1.0f, 0.0f, 0 },
    };
    srand(1);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if (only && !strstr(only, s->name)) continue;
        size_t na = (size_t)(s->m * s->k), nb = (size_t)(s->k * s->n), nc = (size_t)(s->m * s->n);
        float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c);
        if (!a || !b || !c) return 1;
        for (size_t j = 0; j < na; j++) {
            if (!s->images) a[j] = (float)rand() / (float)RAND_MAX;
            else if (pixels) a[j] = pixels[(int64_t)j % n_pixels]; /* [batch,784] as stored either way */
            else a[j] = (double)rand() / RAND_MAX < 0.81 ? 0.0f : (float)rand() / (float)RAND_MAX;
        }
        for (size_t j = 0; j < nb; j++) b[j] = (float)rand() / (float)RAND_MAX - 0.5f;
        for (size_t j = 0; j < nc; j++) c[j] = 0.0f;
        double flop = 2.0 * (double)s->m * (double)s->n * (double)s->k;
        printf("{\"shape\":\"%s\",\"m\":%lld,\"n\":%lld,\"k\":%lld,\"ta\":%d,\"tb\":%d,\"alpha\":%g,\"beta\":%g",
               s->name, (long long)s->m, (long long)s->n, (long long)s->k, s->ta, s->tb, s->alpha, s->beta);
        if (s->images) printf(",\"a\":\"%s\"", pixels ? "mnist" : "iid");
        if (wide) {
            if (gf__simd_enabled() && gf__cpu_has_avx512()) wide_rounds(s, flop, wide, a, b, c);
            else printf(",\"wide\":\"skipped: no AVX-512\"");
            printf("}\n");
            fflush(stdout);
            free(a), free(b), free(c);
            continue;
        }
        double tp = time_call(s, RUN_PORTABLE, 1, a, b, c);
        printf(",\"portable_us\":%.3f,\"portable_gflops\":%.2f", tp, flop / tp * 1e-3);
        if (simd) {
            double t1 = time_call(s, RUN_SIMD, 1, a, b, c);
            printf(",\"simd_us\":%.3f,\"simd_gflops\":%.2f,\"speedup\":%.2f", t1, flop / t1 * 1e-3, tp / t1);
            if (s->m * s->n * s->k >= 1000000) {
                double t2 = time_call(s, RUN_SIMD, 2, a, b, c);
                printf(",\"simd_2t_us\":%.3f,\"simd_2t_gflops\":%.2f", t2, flop / t2 * 1e-3);
            }
            if (paths) {
                double td = time_call(s, RUN_DIRECT, 1, a, b, c), tk = time_call(s, RUN_PACKED, 1, a, b, c);
                printf(",\"direct_gflops\":%.2f,\"packed_gflops\":%.2f", flop / td * 1e-3, flop / tk * 1e-3);
                if (!s->tb) printf(",\"skip_gflops\":%.2f,\"sparse_rows_gflops\":%.2f", flop / time_call(s, RUN_SKIP, 1, a, b, c) * 1e-3,
                                   flop / time_call(s, RUN_SPARSE_ROWS, 1, a, b, c) * 1e-3);
                if (gf__cpu_has_avx512()) {
                    printf(",\"packed512_gflops\":%.2f", flop / time_call(s, RUN_PACKED512, 1, a, b, c) * 1e-3);
                    if (!s->tb)
                        printf(",\"direct512_gflops\":%.2f,\"skip512_gflops\":%.2f,\"groups512_gflops\":%.2f",
                               flop / time_call(s, RUN_DIRECT512, 1, a, b, c) * 1e-3,
                               flop / time_call(s, RUN_SKIP512, 1, a, b, c) * 1e-3,
                               flop / time_call(s, RUN_GROUPS512, 1, a, b, c) * 1e-3);
                }
            }
        }
        printf("}\n");
        fflush(stdout);
        free(a);
        free(b);
        free(c);
    }
    gf_mnist_free(mn);
    return 0;
}
