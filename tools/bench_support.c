/*
 * bench_support.c — JSON lines, the FMA peak and the data for `gradflow
 * bench` (bench_support.h); the workloads are in cmd_bench.c.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#endif
#include "bench_support.h"

#include "kernels/simd.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_X86 1
#include <immintrin.h>
#else
#define BENCH_X86 0
#endif

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* JSON lines                                                         */
/* ------------------------------------------------------------------ */

void j_raw(jline *j, const char *fmt, ...)
{
    if (j->len >= sizeof j->buf) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, sizeof j->buf - j->len, fmt, ap);
    va_end(ap);
    if (n > 0) j->len += (size_t)n;
    if (j->len > sizeof j->buf) j->len = sizeof j->buf;
}

void j_key(jline *j, const char *key)
{
    j_raw(j, "%s\"%s\":", j->fields++ ? "," : "", key);
}

/* Strings here are our own names and paths; escape what JSON requires. */
void j_str(jline *j, const char *key, const char *v)
{
    j_key(j, key);
    j_raw(j, "\"");
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') j_raw(j, "\\%c", c);
        else if (c < 0x20) j_raw(j, "\\u%04x", c);
        else j_raw(j, "%c", c);
    }
    j_raw(j, "\"");
}

void j_int(jline *j, const char *key, long long v)
{
    j_key(j, key);
    j_raw(j, "%lld", v);
}

void j_num(jline *j, const char *key, double v)
{
    j_key(j, key);
    if (v != v || v > 1e300 || v < -1e300) j_raw(j, "null");
    else j_raw(j, "%.6g", v);
}

void j_bool(jline *j, const char *key, int v)
{
    j_key(j, key);
    j_raw(j, v ? "true" : "false");
}

void j_begin(jline *j, const char *bench)
{
    j->len = 0;
    j->fields = 0;
    j_raw(j, "{");
    j_str(j, "bench", bench);
}

void j_plan(jline *j, const char *key, const gf_plan_stats *p)
{
    j_key(j, key);
    j_raw(j, "{\"nodes\":%d,\"steps\":%d,\"fused\":%d,\"inplace\":%d,\"dense_flops\":%.0f,"
             "\"other_flops\":%.0f,\"buffer_bytes\":%zu}",
          p->nodes, p->steps, p->fused, p->inplace, p->dense_flops, p->other_flops,
          p->buffer_bytes);
}

void j_end(jline *j)
{
    j_raw(j, "}");
    printf("%s\n", j->buf);
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Peak: independent FMA chains                                       */
/* ------------------------------------------------------------------ */

enum { CHAINS = 12 };

#if BENCH_X86
/* CHAINS independent chains of 256-bit FMAs: CHAINS * 8 * 2 flops per trip. */
__attribute__((target("avx2,fma"), noinline)) static float fma_chains(long trips, float seed)
{
    __m256 x[CHAINS];
    for (int i = 0; i < CHAINS; i++) x[i] = _mm256_set1_ps(seed + (float)i);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (long t = 0; t < trips; t++)
        for (int i = 0; i < CHAINS; i++) x[i] = _mm256_fmadd_ps(x[i], m, c);
    __m256 s = x[0];
    for (int i = 1; i < CHAINS; i++) s = _mm256_add_ps(s, x[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

/* CHAINS independent chains of 512-bit FMAs: CHAINS * 16 * 2 flops per trip. */
__attribute__((target("avx512f"), noinline)) static float fma_chains512(long trips, float seed)
{
    __m512 x[CHAINS];
    for (int i = 0; i < CHAINS; i++) x[i] = _mm512_set1_ps(seed + (float)i);
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (long t = 0; t < trips; t++)
        for (int i = 0; i < CHAINS; i++) x[i] = _mm512_fmadd_ps(x[i], m, c);
    __m512 s = x[0];
    for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, x[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    return out[0];
}
#endif

/* The fallback: CHAINS scalar multiply-adds per trip (2 flops each); the
 * compiler may vectorise it, which is then the peak of portable code. */
__attribute__((noinline)) static float scalar_chains(long trips, float seed)
{
    float x[CHAINS];
    for (int i = 0; i < CHAINS; i++) x[i] = seed + (float)i;
    const float m = 0.999999f, c = 1e-7f;
    for (long t = 0; t < trips; t++)
        for (int i = 0; i < CHAINS; i++) x[i] = x[i] * m + c;
    float s = 0;
    for (int i = 0; i < CHAINS; i++) s += x[i];
    return s;
}

typedef float (*chains)(long, float);

/* The chains of the widest unit this CPU has (or, with narrow, of at most
 * AVX2), the flops of one trip, the loop's name and the unit's. */
static chains chains_fn(int narrow, double *flops_per_trip, const char **kind, const char **unit)
{
    *flops_per_trip = CHAINS * 2.0;
    *kind = "scalar-x12";
    *unit = "portable";
#if BENCH_X86
    if (!narrow && gf__cpu_has_avx512()) {
        *flops_per_trip = CHAINS * 32.0;
        *kind = "avx512f-fma-zmm-x12";
        *unit = "avx512";
        return fma_chains512;
    }
    if (gf__cpu_has_avx2_fma()) {
        *flops_per_trip = CHAINS * 16.0;
        *kind = "avx2-fma-ymm-x12";
        *unit = "avx2";
        return fma_chains;
    }
#else
    (void)narrow;
#endif
    return scalar_chains;
}

/* GFLOP/s of fn: the best of eight ~25 ms runs after calibrating the trip
 * count, ~0.2 s. The best, not the mean: other processes only ever slow a
 * run down. */
static double measure(chains fn, double flops_per_trip)
{
    volatile float sink = 0;
    long trips = 10000;
    for (;;) { /* calibrate: grow until one run takes 10 ms */
        double t0 = bench_now();
        sink += fn(trips, 1.0f);
        double t = bench_now() - t0;
        if (t > 0.01 || trips > (1L << 40)) {
            trips = (long)((double)trips * 0.025 / (t > 1e-9 ? t : 1e-9)) + 1;
            break;
        }
        trips *= 4;
    }
    double best = 1e30;
    for (int rep = 0; rep < 8; rep++) {
        double t0 = bench_now();
        sink += fn(trips, (float)rep);
        double t = bench_now() - t0;
        if (t < best) best = t;
    }
    (void)sink;
    return flops_per_trip * (double)trips / best * 1e-9;
}

peak bench_measure_peak(void)
{
    peak p = { 0 };
    double start = bench_now(), flops_per_trip;
    chains fn = chains_fn(0, &flops_per_trip, &p.kind, &p.unit);
    p.isa = gf__cpu_isa();
    p.gemm_unit = gf__simd_unit();
    p.gflops = measure(fn, flops_per_trip);
    if (!strcmp(p.unit, "avx512")) {
        const char *k, *u;
        chains narrow = chains_fn(1, &flops_per_trip, &k, &u);
        p.gflops_avx2 = measure(narrow, flops_per_trip);
    }
    p.seconds = bench_now() - start;
    return p;
}

/* The FMA chains, `trips` trips on each of `threads` threads (1 or 2) at
 * once; wall seconds (-1 when a thread cannot be started). */
static void *chains_thread(void *arg)
{
    long trips = *(const long *)arg;
    double f;
    const char *k, *u;
    volatile float sink = chains_fn(0, &f, &k, &u)(trips, 1.0f); /* kept: the loop is not optimised away */
    (void)sink;
    return NULL;
}

double bench_fma_seconds(int threads, long trips)
{
    pthread_t other;
    double t0 = bench_now();
    if (threads > 1 && pthread_create(&other, NULL, chains_thread, &trips) != 0) return -1;
    chains_thread(&trips);
    if (threads > 1) pthread_join(other, NULL);
    return bench_now() - t0;
}

/* ------------------------------------------------------------------ */
/* CPU pinning                                                        */
/* ------------------------------------------------------------------ */

#if defined(__linux__)
static cpu_set_t saved_cpus;
static int have_saved;

int bench_pin_nth(int nth)
{
    cpu_set_t all, one;
    if (sched_getaffinity(0, sizeof all, &all) != 0) return 0;
    if (!have_saved) {
        saved_cpus = all;
        have_saved = 1;
    }
    const cpu_set_t *from = &saved_cpus;
    for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, from) || seen++ != nth) continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        return sched_setaffinity(0, sizeof one, &one) == 0;
    }
    return 0;
}

void bench_unpin(void)
{
    if (have_saved) (void)sched_setaffinity(0, sizeof saved_cpus, &saved_cpus);
    have_saved = 0;
}
#else
int bench_pin_nth(int nth)
{
    (void)nth;
    return 0;
}

void bench_unpin(void) {}
#endif

/* ------------------------------------------------------------------ */
/* Data                                                               */
/* ------------------------------------------------------------------ */

/* 1 when a and b name the same directory. */
static int same_dir(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static int load_dir(source *src, const char *dir, const char *kind, uint64_t seed, gf_error *err)
{
    /* validation_size 0: the whole training file, so that one epoch of full
     * MNIST is the 60,000 examples the workloads name. */
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = seed, .validation_size = 0 }, &src->m,
                      err) != GF_OK)
        return 0;
    src->kind = kind                        ? kind
                : src->m->is_subset           ? "mnist-subset"
                : same_dir(dir, FASHION_DIR) ? "fashion-mnist"
                                              : "mnist";
    src->dir = dir;
    src->train_x = gf_tensor_data(gf_dataset_images(src->m->train));
    src->train_y = gf_tensor_data(gf_dataset_labels(src->m->train));
    src->test_x = gf_tensor_data(gf_dataset_images(src->m->test));
    src->test_y = gf_tensor_data(gf_dataset_labels(src->m->test));
    src->n_train = gf_dataset_count(src->m->train);
    src->n_test = gf_dataset_count(src->m->test);
    if (src->n_train < 1 || src->n_test < 1) {
        snprintf(err->message, sizeof err->message, "%s has an empty split", dir);
        gf_mnist_free(src->m);
        src->m = NULL;
        return 0;
    }
    return 1;
}

/* MNIST-like images: 81% of the pixels 0, the rest k/255 for k in 1..255;
 * labels uniform one-hot. */
static int generate(source *src, int64_t n_train, int64_t n_test, uint64_t seed)
{
    int64_t n = n_train + n_test;
    src->gen = malloc((size_t)n * (NPIX + NCLS) * sizeof(float));
    if (!src->gen) return 0;
    gf_rng r;
    gf_rng_seed(&r, seed, 0x6e6e);
    float *x = src->gen, *y = src->gen + n * NPIX;
    for (int64_t i = 0; i < n * NPIX; i++)
        x[i] = gf_rng_uniform(&r) < 0.81 ? 0.0f : (float)(1 + gf_rng_below(&r, 255)) / 255.0f;
    memset(y, 0, (size_t)n * NCLS * sizeof(float));
    for (int64_t i = 0; i < n; i++) y[i * NCLS + gf_rng_below(&r, NCLS)] = 1.0f;
    src->kind = "generated";
    src->dir = "";
    src->train_x = x;
    src->train_y = y;
    src->test_x = x + n_train * NPIX;
    src->test_y = y + n_train * NCLS;
    src->n_train = n_train;
    src->n_test = n_test;
    return 1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int bench_open_source(source *src, const char *dir, int force_generated, int quick, uint64_t seed)
{
    memset(src, 0, sizeof *src);
    if (force_generated) {
        snprintf(src->note, sizeof src->note, "--generated");
    } else {
        gf_error err = { 0 };
        if (load_dir(src, dir, NULL, seed, &err)) return 1;
        snprintf(src->note, sizeof src->note, "%s", err.message);
        if (is_dir(FASHION_DIR)) {
            gf_error err2 = { 0 };
            if (load_dir(src, FASHION_DIR, "fashion-mnist", seed, &err2)) return 1;
            size_t len = strlen(src->note);
            snprintf(src->note + len, sizeof src->note - len, "; %s", err2.message);
        }
    }
    return generate(src, quick ? 2000 : 10000, quick ? 1000 : 10000, seed);
}

void bench_close_source(source *src)
{
    gf_mnist_free(src->m);
    free(src->gen);
    free(src->tile);
    memset(src, 0, sizeof *src);
}

/* The first n test images, the test set repeated when it has fewer. */
int bench_eval_rows(source *src, int64_t n, float **x, float **y, int *repeated)
{
    *repeated = n > src->n_test;
    if (!*repeated) {
        *x = src->test_x;
        *y = src->test_y;
        return 1;
    }
    if (src->n_tile < n) {
        free(src->tile);
        src->n_tile = 0;
        src->tile = malloc((size_t)n * (NPIX + NCLS) * sizeof(float));
        if (!src->tile) return 0;
        src->n_tile = n;
        for (int64_t i = 0; i < n; i++) {
            int64_t k = i % src->n_test;
            memcpy(src->tile + i * NPIX, src->test_x + k * NPIX, NPIX * sizeof(float));
            memcpy(src->tile + n * NPIX + i * NCLS, src->test_y + k * NCLS, NCLS * sizeof(float));
        }
    }
    *x = src->tile;
    *y = src->tile + src->n_tile * NPIX;
    return 1;
}

/* TensorFlow's next_batch over the source's training arrays: shuffled
 * before the first batch and at every new epoch; a batch crossing the end
 * of an epoch takes the rest of it and the start of the next. */

static void shuffle(batcher *bt)
{
    int64_t n = bt->src->n_train;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)gf_rng_below(&bt->rng, (uint32_t)(i + 1));
        int64_t t = bt->perm[i];
        bt->perm[i] = bt->perm[j];
        bt->perm[j] = t;
    }
}

void batcher_free(batcher *bt)
{
    free(bt->perm);
    free(bt->x);
    free(bt->y);
    memset(bt, 0, sizeof *bt);
}

int batcher_init(batcher *bt, const source *src, int64_t b, uint64_t seed)
{
    memset(bt, 0, sizeof *bt);
    bt->src = src;
    bt->b = b;
    bt->perm = malloc((size_t)src->n_train * sizeof *bt->perm);
    bt->x = malloc((size_t)b * NPIX * sizeof(float));
    bt->y = malloc((size_t)b * NCLS * sizeof(float));
    if (!bt->perm || !bt->x || !bt->y) {
        batcher_free(bt);
        return 0;
    }
    for (int64_t i = 0; i < src->n_train; i++) bt->perm[i] = i;
    gf_rng_seed(&bt->rng, seed, 0x5b);
    shuffle(bt);
    return 1;
}

void batcher_reset(batcher *bt, uint64_t seed)
{
    for (int64_t i = 0; i < bt->src->n_train; i++) bt->perm[i] = i;
    gf_rng_seed(&bt->rng, seed, 0x5b);
    bt->pos = bt->epochs = 0;
    shuffle(bt);
}

void batcher_next(batcher *bt)
{
    const source *s = bt->src;
    for (int64_t r = 0; r < bt->b; r++) {
        if (bt->pos == s->n_train) {
            bt->pos = 0;
            bt->epochs++;
            shuffle(bt);
        }
        int64_t k = bt->perm[bt->pos++];
        memcpy(bt->x + r * NPIX, s->train_x + k * NPIX, NPIX * sizeof(float));
        memcpy(bt->y + r * NCLS, s->train_y + k * NCLS, NCLS * sizeof(float));
    }
}
