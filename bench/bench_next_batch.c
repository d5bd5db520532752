/*
 * bench_next_batch.c — what gf_dataset_next_batch costs: nanoseconds per
 * call for one batch size on the training split of each MNIST-style
 * folder given (gf_mnist_load), in rounds that alternate between the
 * folders; min, median and max over the rounds; JSON lines.
 *
 *   usage: bench_next_batch [--rounds R] [--calls N] [--batch B] [--between KB] [DIR...]
 * DIRs default to data/mnist and Debian's Fashion-MNIST. --between KB reads
 * KB kibibytes of other memory between two calls (not timed, each call
 * timed on its own), roughly what a training step does to the caches;
 * without it the calls run back to back and are timed together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_support.h"
#include "gradflow.h"

#define MAX_DIRS 8
#define MAX_ROUNDS 1000

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile float sink;

/* Reads n floats of buf (one per cache line), as other work would. */
static void touch(const float *buf, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i += 16) s += buf[i];
    sink = s;
}

/* Nanoseconds per call of `calls` calls of next_batch(b). */
static double round_ns(gf_dataset *d, int64_t b, long calls, const float *other, size_t n_other)
{
    const gf_tensor *x, *y;
    if (!other) {
        double t0 = bench_now();
        for (long i = 0; i < calls; i++)
            if (gf_dataset_next_batch(d, b, &x, &y) != GF_OK) return -1;
        return (bench_now() - t0) * 1e9 / (double)calls;
    }
    double total = 0;
    for (long i = 0; i < calls; i++) {
        touch(other, n_other);
        double t0 = bench_now();
        if (gf_dataset_next_batch(d, b, &x, &y) != GF_OK) return -1;
        total += bench_now() - t0;
    }
    return total * 1e9 / (double)calls;
}

int main(int argc, char **argv)
{
    int rounds = 15;
    long calls = 20000, between_kb = 0;
    int64_t batch = 10;
    const char *dirs[MAX_DIRS];
    int n_dirs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--calls") && i + 1 < argc) calls = atol(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atol(argv[++i]);
        else if (!strcmp(argv[i], "--between") && i + 1 < argc) between_kb = atol(argv[++i]);
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_next_batch [--rounds R] [--calls N] [--batch B] "
                            "[--between KB] [DIR...]\n");
            return 2;
        } else if (n_dirs < MAX_DIRS) dirs[n_dirs++] = argv[i];
    }
    if (!n_dirs) {
        dirs[n_dirs++] = "data/mnist";
        dirs[n_dirs++] = FASHION_DIR;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || calls < 1 || batch < 1 || between_kb < 0) {
        fprintf(stderr, "bench_next_batch: rounds 1..%d, calls and batch at least 1\n",
                MAX_ROUNDS);
        return 2;
    }
    size_t n_other = (size_t)between_kb * 1024 / sizeof(float);
    float *other = NULL;
    if (n_other) {
        other = calloc(n_other, sizeof *other);
        if (!other) return 1;
    }

    gf_mnist *m[MAX_DIRS] = { 0 };
    static double ns[MAX_DIRS][MAX_ROUNDS];
    for (int k = 0; k < n_dirs; k++) {
        gf_error err = { 0 };
        if (gf_mnist_load(dirs[k], &(gf_mnist_options){ .seed = 1, .validation_size = -1 }, &m[k],
                          &err) != GF_OK) {
            fprintf(stderr, "bench_next_batch: %s\n", err.message);
            return 1;
        }
        round_ns(m[k]->train, batch, calls, other, n_other); /* warm up */
    }
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < n_dirs; k++)
            if ((ns[k][r] = round_ns(m[k]->train, batch, calls, other, n_other)) < 0) {
                fprintf(stderr, "bench_next_batch: %s\n", gf_dataset_error(m[k]->train));
                return 1;
            }
    for (int k = 0; k < n_dirs; k++) {
        qsort(ns[k], (size_t)rounds, sizeof ns[k][0], cmp_double);
        printf("{\"bench\":\"next_batch\",\"data\":\"%s\",\"examples\":%lld,\"batch\":%lld,"
               "\"between_kb\":%ld,\"rounds\":%d,\"calls\":%ld,\"ns_min\":%.1f,"
               "\"ns_median\":%.1f,\"ns_max\":%.1f}\n",
               dirs[k], (long long)gf_dataset_count(m[k]->train), (long long)batch, between_kb,
               rounds, calls, ns[k][0], ns[k][rounds / 2], ns[k][rounds - 1]);
        gf_mnist_free(m[k]);
    }
    free(other);
    return 0;
}
