/*
 * cmd_bench.c — `gradflow bench`: times the article's workloads on the graph
 * and as plain C, against this machine's measured FMA peak; JSON lines + table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "article.h"
#include "bench_baseline.h"
#include "cli.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_X86 1
#include <immintrin.h>
#else
#define BENCH_X86 0
#endif

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define NPIX 784
#define NCLS 10
#define EVAL_BLOCK 1000 /* rows per block of the baseline's evaluation */

static void bench_usage(FILE *f)
{
    fprintf(f,
        "usage: gradflow bench [OPTIONS]\n"
        "\n"
        "Times the article's workloads (REFERENCE.md) run by the graph, and the same\n"
        "arithmetic written as plain C loops (the in-run baseline), on one core:\n"
        "  w1-manual    784-30-10, manual step (eta 0.5): 10,000 steps of batch 10 and\n"
        "               ten evaluations of 1000 test images, as the article\n"
        "  w1-autodiff  the same with the autodiff step (gradient descent, lr 0.1)\n"
        "  w2           784-30-10, manual step: one epoch of 60,000 examples at batch\n"
        "               10, then one 10,000-image evaluation\n"
        "  w3           784-100-10, manual step (eta 0.05): one epoch of 60,000 at\n"
        "               batch 100\n"
        "  eval         acct_res over 10,000 images with 1 and 2 threads\n"
        "\n"
        "Output: one JSON object per line on stdout (an \"info\" line, a \"peak\" line,\n"
        "one per workload and per thread count for eval, and a \"targets\" line that\n"
        "checks issue 4's targets on what ran), then a readable table on stderr\n"
        "(not with --json). GFLOP/s count the matmul FLOPs of the plan as written\n"
        "(gf_session_plan_stats dense_flops); peak_frac divides them by this core's\n"
        "peak, measured at startup with a short FMA loop; ratio is graph time over\n"
        "baseline time (below 1: the graph is faster; the baseline is always one\n"
        "thread, built for AVX2+FMA when the CPU has them). Training steps and\n"
        "evaluations are timed separately, after one untimed warm-up of each;\n"
        "us_per_step is the mean over all steps, us_per_step_best_block the\n"
        "fastest tenth of the run (less disturbed by other processes);\n"
        "drawing the batches (TensorFlow's next_batch: reshuffled every epoch,\n"
        "cycling when a workload needs more examples than the data has, as on\n"
        "the 10,000-digit subset: \"cycled\") is not timed; evaluations of more\n"
        "images than the test set has repeat it (\"eval_repeated\", \"repeated\").\n"
        "The graph and the baseline see the same batches and start from the same\n"
        "weights (\"correct\" and \"baseline_correct\" agree to rounding).\n"
        "\n"
        "Options:\n"
        "  --data DIR      MNIST folder (default data/mnist). When it cannot be read,\n"
        "                  Fashion-MNIST in " FASHION_DIR " is used if\n"
        "                  present, else generated images (81%% zero pixels, as\n"
        "                  MNIST) with random labels; the \"data\" field says which\n"
        "  --generated     use generated images whatever is on disk\n"
        "  --only LIST     run only these workloads, comma-separated (w1 = both w1-*)\n"
        "  --quick         a tenth of the steps, evaluations and images (smoke test)\n"
        "  --threads N     threads of the training sessions (default 1); eval also\n"
        "                  runs with N threads when N > 2\n"
        "  --seed N        seed of the weights and of the shuffling (default 1)\n"
        "  --json          JSON lines only, no table\n"
        "  -h, --help      this help\n"
        "\n"
        "Exit status: 0 success, 1 failure (a run failed), 2 usage error.\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* JSON lines                                                         */
/* ------------------------------------------------------------------ */

typedef struct jline {
    char buf[4096];
    size_t len;
    int fields; /* fields in the innermost open object */
} jline;

static void j_raw(jline *j, const char *fmt, ...)
{
    if (j->len >= sizeof j->buf) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(j->buf + j->len, sizeof j->buf - j->len, fmt, ap);
    va_end(ap);
    if (n > 0) j->len += (size_t)n;
    if (j->len > sizeof j->buf) j->len = sizeof j->buf;
}

static void j_key(jline *j, const char *key)
{
    j_raw(j, "%s\"%s\":", j->fields++ ? "," : "", key);
}

/* Strings here are our own names and paths; escape what JSON requires. */
static void j_str(jline *j, const char *key, const char *v)
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

static void j_int(jline *j, const char *key, long long v)
{
    j_key(j, key);
    j_raw(j, "%lld", v);
}

static void j_num(jline *j, const char *key, double v)
{
    j_key(j, key);
    if (v != v || v > 1e300 || v < -1e300) j_raw(j, "null");
    else j_raw(j, "%.6g", v);
}

static void j_bool(jline *j, const char *key, int v)
{
    j_key(j, key);
    j_raw(j, v ? "true" : "false");
}

static void j_begin(jline *j, const char *bench)
{
    j->len = 0;
    j->fields = 0;
    j_raw(j, "{");
    j_str(j, "bench", bench);
}

static void j_plan(jline *j, const char *key, const gf_plan_stats *p)
{
    j_key(j, key);
    j_raw(j, "{\"nodes\":%d,\"steps\":%d,\"fused\":%d,\"inplace\":%d,\"dense_flops\":%.0f,"
             "\"other_flops\":%.0f,\"buffer_bytes\":%zu}",
          p->nodes, p->steps, p->fused, p->inplace, p->dense_flops, p->other_flops,
          p->buffer_bytes);
}

static void j_end(jline *j)
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

typedef struct peak {
    const char *kind;
    double gflops, seconds;
} peak;

/* Best of eight ~25 ms runs after calibrating the trip count: ~0.2 s. The
 * best, not the mean: other processes only ever slow a run down. */
static peak measure_peak(void)
{
    peak p = { "scalar-x12", 0, 0 };
    float (*fn)(long, float) = scalar_chains;
    double flops_per_trip = CHAINS * 2.0;
#if BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        fn = fma_chains;
        flops_per_trip = CHAINS * 16.0;
        p.kind = "avx2-fma-ymm-x12";
    }
#endif
    double start = now();
    volatile float sink = 0;
    long trips = 10000;
    for (;;) { /* calibrate: grow until one run takes 10 ms */
        double t0 = now();
        sink += fn(trips, 1.0f);
        double t = now() - t0;
        if (t > 0.01 || trips > (1L << 40)) {
            trips = (long)((double)trips * 0.025 / (t > 1e-9 ? t : 1e-9)) + 1;
            break;
        }
        trips *= 4;
    }
    double best = 1e30;
    for (int rep = 0; rep < 8; rep++) {
        double t0 = now();
        sink += fn(trips, (float)rep);
        double t = now() - t0;
        if (t < best) best = t;
    }
    (void)sink;
    p.gflops = flops_per_trip * (double)trips / best * 1e-9;
    p.seconds = now() - start;
    return p;
}

/* ------------------------------------------------------------------ */
/* Data                                                               */
/* ------------------------------------------------------------------ */

typedef struct source {
    const char *kind;          /* "mnist", "mnist-subset", "fashion-mnist", "generated" */
    const char *dir;           /* "" for generated */
    char note[600];            /* why a fallback was taken, or "" */
    float *train_x, *train_y, *test_x, *test_y;
    int64_t n_train, n_test;
    gf_mnist *m;               /* owns the arrays when loaded */
    float *gen;                /* owns them when generated */
    float *tile;               /* the test set repeated to n_tile rows: x then y */
    int64_t n_tile;
} source;

static int load_dir(source *src, const char *dir, const char *kind, uint64_t seed, gf_error *err)
{
    /* validation_size 0: the whole training file, so that one epoch of full
     * MNIST is the 60,000 examples the workloads name. */
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = seed, .validation_size = 0 }, &src->m,
                      err) != GF_OK)
        return 0;
    src->kind = kind ? kind : src->m->is_subset ? "mnist-subset" : "mnist";
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

static int open_source(source *src, const char *dir, int force_generated, int quick, uint64_t seed)
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

static void close_source(source *src)
{
    gf_mnist_free(src->m);
    free(src->gen);
    free(src->tile);
    memset(src, 0, sizeof *src);
}

/* The first n test images, the test set repeated when it has fewer. */
static int eval_rows(source *src, int64_t n, float **x, float **y, int *repeated)
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
typedef struct batcher {
    const source *src;
    int64_t b, pos, epochs, *perm;
    gf_rng rng;
    float *x, *y; /* the batch, [b,784] and [b,10] */
} batcher;

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

static void batcher_free(batcher *bt)
{
    free(bt->perm);
    free(bt->x);
    free(bt->y);
    memset(bt, 0, sizeof *bt);
}

static int batcher_init(batcher *bt, const source *src, int64_t b, uint64_t seed)
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

static void batcher_reset(batcher *bt, uint64_t seed)
{
    for (int64_t i = 0; i < bt->src->n_train; i++) bt->perm[i] = i;
    gf_rng_seed(&bt->rng, seed, 0x5b);
    bt->pos = bt->epochs = 0;
    shuffle(bt);
}

static void batcher_next(batcher *bt)
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

/* ------------------------------------------------------------------ */
/* Workloads                                                          */
/* ------------------------------------------------------------------ */

typedef struct bench_cfg {
    const char *data_dir;
    int generated, quick, json, threads;
    uint64_t seed;
    unsigned only; /* bit per workload; 0: all */
} bench_cfg;

enum { W1_MANUAL, W1_AUTODIFF, W2, W3, WEVAL, N_WORKLOADS };
static const char *const workload_names[N_WORKLOADS] = { "w1-manual", "w1-autodiff", "w2", "w3",
                                                          "eval" };

typedef struct train_spec {
    const char *name;
    int hidden, autodiff;
    float rate;
    int64_t batch, steps;
    int64_t evals, eval_images; /* evaluations spread over the steps */
    int eval_first;             /* the article's i % every == 0; else after the last step */
} train_spec;

/* One row of the closing table. */
typedef struct row {
    char name[32];
    int threads, has_steps;
    double us_per_step, train_s, eval_s, gflops, peak_frac, bl, ratio;
    double eval_ratio;  /* w* rows with evaluations: graph/baseline; else 0 */
    double speedup;     /* eval rows: over one thread */
    int cycled, repeated;
} row;

typedef struct bench_state {
    const bench_cfg *cfg;
    source src;
    peak pk;
    row rows[16];
    int n_rows;
    gf_plan_stats w1_plan;
    const char *w1_plan_name;
    char err[1024];
    char *targets_text;  /* for the table: the targets checked */
} bench_state;

static int fail(bench_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return 0;
}

static row *add_row(bench_state *st)
{
    row *r = &st->rows[st->n_rows < 15 ? st->n_rows++ : 15];
    memset(r, 0, sizeof *r);
    return r;
}

/* The fastest of ten equal blocks of steps, in us per step: a figure less
 * disturbed by other processes than the mean over all steps. */
typedef struct blocks {
    int64_t per, in;
    double sum, best;
} blocks;

static void blocks_init(blocks *b, int64_t steps)
{
    b->per = steps >= 10 ? steps / 10 : 1;
    b->in = 0;
    b->sum = 0;
    b->best = -1;
}

static void blocks_add(blocks *b, double seconds)
{
    b->sum += seconds;
    if (++b->in == b->per) {
        double us = 1e6 * b->sum / (double)b->per;
        if (b->best < 0 || us < b->best) b->best = us;
        b->in = 0;
        b->sum = 0;
    }
}

/* Copies the session's initial weights into the baseline. */
static int copy_weights(gf_session *s, const gf_article_net *net, gf_bl_net *bl)
{
    gf_node *vars[4] = { net->w_1, net->b_1, net->w_2, net->b_2 };
    float *dst[4] = { bl->w1, bl->b1, bl->w2, bl->b2 };
    int64_t want[4] = { (int64_t)NPIX * bl->h, bl->h, (int64_t)bl->h * NCLS, NCLS };
    for (int i = 0; i < 4; i++) {
        const gf_tensor *t = gf_session_variable(s, vars[i]);
        if (!t || gf_tensor_count(t) != want[i]) return 0;
        memcpy(dst[i], gf_tensor_data(t), (size_t)want[i] * sizeof(float));
    }
    return 1;
}

static void j_common(jline *j, const bench_state *st)
{
    j_str(j, "data", st->src.kind);
}

static int run_train(bench_state *st, const train_spec *sp)
{
    const bench_cfg *cfg = st->cfg;
    source *src = &st->src;
    gf_article_net net = { 0 };
    gf_session *s = NULL;
    gf_tensor *bx = NULL, *by = NULL, *ex = NULL, *ey = NULL;
    batcher bt = { 0 };
    gf_bl_net bl = { 0 };
    int ok = 0, have_bl = 0, repeated = 0;
    float *exd = NULL, *eyd = NULL;

    gf_status built = sp->autodiff ? gf_article_build_autodiff(&net, sp->hidden, sp->rate)
                                   : gf_article_build_manual(&net, sp->hidden, sp->rate);
    if (built != GF_OK) {
        fail(st, "%s: %s", sp->name, net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    s = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = cfg->threads });
    if (!s || gf_session_status(s) != GF_OK) {
        fail(st, "%s: %s", sp->name, s ? gf_session_error(s) : "out of memory");
        goto out;
    }
    if (!batcher_init(&bt, src, sp->batch, cfg->seed)) {
        fail(st, "%s: out of memory", sp->name);
        goto out;
    }
    int64_t eval_n = sp->evals > 0 ? sp->eval_images : 1;
    if (!eval_rows(src, eval_n, &exd, &eyd, &repeated)) {
        fail(st, "%s: out of memory", sp->name);
        goto out;
    }
    if (sp->evals == 0) repeated = 0;
    bx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)sp->batch, NPIX), bt.x, NULL);
    by = gf_tensor_wrap(GF_F32, gf_dims(2, (int)sp->batch, NCLS), bt.y, NULL);
    ex = gf_tensor_wrap(GF_F32, gf_dims(2, (int)eval_n, NPIX), exd, NULL);
    ey = gf_tensor_wrap(GF_F32, gf_dims(2, (int)eval_n, NCLS), eyd, NULL);
    int64_t cap = sp->batch > EVAL_BLOCK ? sp->batch : EVAL_BLOCK;
    if (!bx || !by || !ex || !ey || gf_bl_init(&bl, sp->hidden, cap) != 0) {
        fail(st, "%s: out of memory", sp->name);
        goto out;
    }
    have_bl = 1;
    if (!copy_weights(s, &net, &bl)) {
        fail(st, "%s: cannot read the initial weights", sp->name);
        goto out;
    }

    gf_feed feed[] = { { net.a_0, bx }, { net.y, by } };
    gf_feed efeed[] = { { net.a_0, ex }, { net.y, ey } };
    gf_plan_stats ps, eps = { 0 };
    if (gf_session_plan_stats(s, feed, 2, NULL, 0, net.step, net.n_step, &ps) != GF_OK ||
        (sp->evals > 0 &&
         gf_session_plan_stats(s, efeed, 2, &net.acct_res, 1, NULL, 0, &eps) != GF_OK)) {
        fail(st, "%s: plan_stats: %s", sp->name, gf_session_error(s));
        goto out;
    }

    /* The graph. */
    int64_t every = sp->evals > 0 ? (sp->steps + sp->evals - 1) / sp->evals : 0;
    const gf_tensor *res;
    batcher_next(&bt); /* warm-up: one step, one evaluation, untimed */
    if (gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL) != GF_OK ||
        (sp->evals > 0 && gf_session_run(s, efeed, 2, &net.acct_res, 1, NULL, 0, &res) != GF_OK)) {
        fail(st, "%s: %s", sp->name, gf_session_error(s));
        goto out;
    }
    double train_s = 0, eval_s = 0;
    blocks blk, bl_blk;
    blocks_init(&blk, sp->steps);
    blocks_init(&bl_blk, sp->steps);
    int64_t correct = -1, evals_done = 0;
    for (int64_t i = 0; i < sp->steps; i++) {
        batcher_next(&bt);
        double t0 = now();
        gf_status rc = gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL);
        double dt = now() - t0;
        train_s += dt;
        blocks_add(&blk, dt);
        if (rc != GF_OK) {
            fail(st, "%s: step %lld: %s", sp->name, (long long)i, gf_session_error(s));
            goto out;
        }
        if (every && (sp->eval_first ? i % every == 0 : (i + 1) % every == 0)) {
            t0 = now();
            rc = gf_session_run(s, efeed, 2, &net.acct_res, 1, NULL, 0, &res);
            eval_s += now() - t0;
            if (rc != GF_OK) {
                fail(st, "%s: evaluation: %s", sp->name, gf_session_error(s));
                goto out;
            }
            correct = (int64_t)gf_tensor_data(res)[0];
            evals_done++;
        }
    }

    /* The baseline: same weights, same batches. */
    float dz_scale = sp->autodiff ? 2.0f : 1.0f;
    float b_rate = sp->autodiff ? sp->rate : sp->rate / (float)sp->batch;
    batcher_reset(&bt, cfg->seed);
    batcher_next(&bt);
    gf_bl_step(&bl, bt.x, bt.y, sp->batch, dz_scale, sp->rate, b_rate);
    if (sp->evals > 0) (void)gf_bl_eval(&bl, exd, eyd, eval_n);
    double bl_train_s = 0, bl_eval_s = 0;
    int64_t bl_correct = -1;
    for (int64_t i = 0; i < sp->steps; i++) {
        batcher_next(&bt);
        double t0 = now();
        gf_bl_step(&bl, bt.x, bt.y, sp->batch, dz_scale, sp->rate, b_rate);
        double dt = now() - t0;
        bl_train_s += dt;
        blocks_add(&bl_blk, dt);
        if (every && (sp->eval_first ? i % every == 0 : (i + 1) % every == 0)) {
            t0 = now();
            bl_correct = gf_bl_eval(&bl, exd, eyd, eval_n);
            bl_eval_s += now() - t0;
        }
    }

    double steps = (double)sp->steps;
    double us = 1e6 * train_s / steps, bl_us = 1e6 * bl_train_s / steps;
    double dense_gflops = ps.dense_flops * steps / train_s * 1e-9;
    double all_gflops = (ps.dense_flops + ps.other_flops) * steps / train_s * 1e-9;
    int64_t examples = sp->steps * sp->batch; /* timed; the warm-up batch comes first */
    jline j;
    j_begin(&j, sp->name);
    j_common(&j, st);
    j_int(&j, "hidden", sp->hidden);
    j_str(&j, "step", sp->autodiff ? "autodiff" : "manual");
    j_num(&j, "rate", sp->rate);
    j_int(&j, "batch", sp->batch);
    j_int(&j, "steps", sp->steps);
    j_int(&j, "threads", cfg->threads);
    j_int(&j, "examples", examples);
    j_num(&j, "epochs", (double)examples / (double)src->n_train);
    j_bool(&j, "cycled", examples > src->n_train);
    j_num(&j, "us_per_step", us);
    j_num(&j, "us_per_step_best_block", blk.best);
    j_num(&j, "train_seconds", train_s);
    j_int(&j, "evals", evals_done);
    j_int(&j, "eval_images", sp->evals > 0 ? eval_n : 0);
    j_bool(&j, "eval_repeated", repeated);
    j_num(&j, "eval_seconds", eval_s);
    j_num(&j, "total_seconds", train_s + eval_s);
    j_num(&j, "step_dense_flops", ps.dense_flops);
    j_num(&j, "step_other_flops", ps.other_flops);
    j_num(&j, "dense_gflops", dense_gflops);
    j_num(&j, "gflops", all_gflops);
    j_num(&j, "peak_gflops", st->pk.gflops);
    j_num(&j, "peak_frac", dense_gflops / st->pk.gflops);
    if (sp->evals > 0) {
        double eg = eps.dense_flops * (double)evals_done / eval_s * 1e-9;
        j_num(&j, "eval_dense_gflops", eg);
        j_num(&j, "eval_peak_frac", eg / st->pk.gflops);
    }
    j_num(&j, "baseline_us_per_step", bl_us);
    j_num(&j, "baseline_us_per_step_best_block", bl_blk.best);
    j_num(&j, "baseline_train_seconds", bl_train_s);
    j_num(&j, "ratio", train_s / bl_train_s);
    if (sp->evals > 0) {
        j_num(&j, "baseline_eval_seconds", bl_eval_s);
        j_num(&j, "eval_ratio", eval_s / bl_eval_s);
        j_int(&j, "correct", correct);
        j_int(&j, "baseline_correct", bl_correct);
    }
    j_plan(&j, "plan", &ps);
    if (sp->evals > 0) j_plan(&j, "eval_plan", &eps);
    j_end(&j);

    row *r = add_row(st);
    snprintf(r->name, sizeof r->name, "%s", sp->name);
    r->threads = cfg->threads;
    r->has_steps = 1;
    r->us_per_step = us;
    r->train_s = train_s;
    r->eval_s = sp->evals > 0 ? eval_s : -1;
    r->gflops = dense_gflops;
    r->peak_frac = dense_gflops / st->pk.gflops;
    r->bl = bl_us;
    r->ratio = train_s / bl_train_s;
    r->eval_ratio = sp->evals > 0 ? eval_s / bl_eval_s : 0;
    r->cycled = examples > src->n_train;
    r->repeated = repeated;
    if (!st->w1_plan_name && !strncmp(sp->name, "w1", 2)) {
        st->w1_plan = ps;
        st->w1_plan_name = sp->name;
    }
    ok = 1;
out:
    if (have_bl) gf_bl_free(&bl);
    gf_tensor_free(bx);
    gf_tensor_free(by);
    gf_tensor_free(ex);
    gf_tensor_free(ey);
    batcher_free(&bt);
    gf_session_free(s);
    gf_graph_free(net.g);
    return ok;
}

/* Forward passes (acct_res) over n images, per thread count. */
static int run_eval(bench_state *st, int64_t n, int passes)
{
    const bench_cfg *cfg = st->cfg;
    gf_article_net net = { 0 };
    gf_session *s = NULL;
    gf_tensor *ex = NULL, *ey = NULL;
    gf_bl_net bl = { 0 };
    int ok = 0, have_bl = 0, repeated;
    float *exd, *eyd;
    int counts[3] = { 1, 2, cfg->threads }, n_counts = cfg->threads > 2 ? 3 : 2;

    if (gf_article_build_manual(&net, 30, 0.5f) != GF_OK) {
        fail(st, "eval: %s", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    if (!eval_rows(&st->src, n, &exd, &eyd, &repeated)) {
        fail(st, "eval: out of memory");
        goto out;
    }
    ex = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, NPIX), exd, NULL);
    ey = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, NCLS), eyd, NULL);
    if (!ex || !ey || gf_bl_init(&bl, 30, EVAL_BLOCK) != 0) {
        fail(st, "eval: out of memory");
        goto out;
    }
    have_bl = 1;
    gf_feed efeed[] = { { net.a_0, ex }, { net.y, ey } };
    double one_thread_s = 0, bl_s = 0;
    int64_t bl_correct = -1;
    for (int c = 0; c < n_counts; c++) {
        s = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = counts[c] });
        if (!s || gf_session_status(s) != GF_OK) {
            fail(st, "eval: %s", s ? gf_session_error(s) : "out of memory");
            goto out;
        }
        if (c == 0) { /* the baseline, once: single thread */
            if (!copy_weights(s, &net, &bl)) {
                fail(st, "eval: cannot read the initial weights");
                goto out;
            }
            (void)gf_bl_eval(&bl, exd, eyd, n);
            double t0 = now();
            for (int p = 0; p < passes; p++) bl_correct = gf_bl_eval(&bl, exd, eyd, n);
            bl_s = (now() - t0) / passes;
        }
        gf_plan_stats eps;
        const gf_tensor *res;
        if (gf_session_plan_stats(s, efeed, 2, &net.acct_res, 1, NULL, 0, &eps) != GF_OK ||
            gf_session_run(s, efeed, 2, &net.acct_res, 1, NULL, 0, &res) != GF_OK) {
            fail(st, "eval: %s", gf_session_error(s));
            goto out;
        }
        double spent = 0;
        int64_t correct = -1;
        for (int p = 0; p < passes; p++) {
            double t0 = now();
            gf_status rc = gf_session_run(s, efeed, 2, &net.acct_res, 1, NULL, 0, &res);
            spent += now() - t0;
            if (rc != GF_OK) {
                fail(st, "eval: %s", gf_session_error(s));
                goto out;
            }
            correct = (int64_t)gf_tensor_data(res)[0];
        }
        double per = spent / passes;
        if (c == 0) one_thread_s = per;
        double g = eps.dense_flops / per * 1e-9;
        jline j;
        j_begin(&j, "eval");
        j_common(&j, st);
        j_int(&j, "threads", counts[c]);
        j_int(&j, "hidden", 30);
        j_int(&j, "images", n);
        j_bool(&j, "repeated", repeated);
        j_int(&j, "passes", passes);
        j_num(&j, "seconds_per_pass", per);
        j_num(&j, "us_per_image", 1e6 * per / (double)n);
        j_num(&j, "dense_flops", eps.dense_flops);
        j_num(&j, "dense_gflops", g);
        j_num(&j, "gflops", (eps.dense_flops + eps.other_flops) / per * 1e-9);
        j_num(&j, "peak_gflops", st->pk.gflops);
        j_num(&j, "peak_frac", g / st->pk.gflops);
        j_num(&j, "speedup_vs_1_thread", one_thread_s / per);
        j_num(&j, "baseline_seconds_per_pass", bl_s);
        j_num(&j, "ratio", per / bl_s);
        j_int(&j, "correct", correct);
        j_int(&j, "baseline_correct", bl_correct);
        j_plan(&j, "plan", &eps);
        j_end(&j);

        row *r = add_row(st);
        snprintf(r->name, sizeof r->name, "eval");
        r->threads = counts[c];
        r->train_s = -1;
        r->eval_s = per;
        r->gflops = g;
        r->peak_frac = g / st->pk.gflops;
        r->bl = bl_s;
        r->ratio = per / bl_s;
        r->speedup = one_thread_s / per;
        r->repeated = repeated;
        gf_session_free(s);
        s = NULL;
    }
    ok = 1;
out:
    if (have_bl) gf_bl_free(&bl);
    gf_tensor_free(ex);
    gf_tensor_free(ey);
    gf_session_free(s);
    gf_graph_free(net.g);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Targets of issue 4, checked on what ran                            */
/* ------------------------------------------------------------------ */

static const row *find_row(const bench_state *st, const char *name, int threads)
{
    for (int i = 0; i < st->n_rows; i++)
        if (!strcmp(st->rows[i].name, name) && (threads < 0 || st->rows[i].threads == threads))
            return &st->rows[i];
    return NULL;
}

typedef struct target_list {
    jline j;
    int met, total;
    char text[2048];
    size_t len;
} target_list;

/* One target: value `op` limit, op "<=" or ">=". */
static void target(target_list *t, const char *key, double value, const char *op, double limit)
{
    int met = op[0] == '<' ? value <= limit : value >= limit;
    j_key(&t->j, key);
    j_raw(&t->j, "{\"value\":%.4g,\"target\":\"%s %g\",\"met\":%s}", value, op, limit,
          met ? "true" : "false");
    t->met += met;
    t->total++;
    if (t->len < sizeof t->text) {
        int n = snprintf(t->text + t->len, sizeof t->text - t->len, "  %-24s %9.3g  %s %-6g %s\n",
                         key, value, op, limit, met ? "met" : "NOT MET");
        if (n > 0) t->len += (size_t)n;
    }
}

/* The single-core targets hold for one thread only: with --threads N the
 * training rows are not checked. */
static void print_targets(const bench_state *st)
{
    target_list t = { .len = 0 };
    j_begin(&t.j, "targets");
    const row *m = find_row(st, "w1-manual", 1), *a = find_row(st, "w1-autodiff", 1);
    const row *w3 = find_row(st, "w3", 1), *e1 = find_row(st, "eval", 1),
              *e2 = find_row(st, "eval", 2);
    if (m) {
        target(&t, "w1_manual_us_per_step", m->us_per_step, "<=", 15);
        target(&t, "w1_manual_peak_frac", m->peak_frac, ">=", 0.65);
    }
    if (a) {
        target(&t, "w1_autodiff_us_per_step", a->us_per_step, "<=", 15);
        target(&t, "w1_autodiff_peak_frac", a->peak_frac, ">=", 0.65);
    }
    if (m && a) {
        double lo = m->us_per_step < a->us_per_step ? m->us_per_step : a->us_per_step;
        double hi = m->us_per_step < a->us_per_step ? a->us_per_step : m->us_per_step;
        target(&t, "w1_spread", hi / lo - 1, "<=", 0.10);
    }
    if (w3) target(&t, "w3_peak_frac", w3->peak_frac, ">=", 0.75);
    if (e1) target(&t, "eval_1t_peak_frac", e1->peak_frac, ">=", 0.70);
    if (e2) target(&t, "eval_2t_speedup", e2->speedup, ">=", 1.7);
    double worst = 0;
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        if (r->ratio > worst) worst = r->ratio;
        if (r->eval_ratio > worst) worst = r->eval_ratio;
    }
    if (st->n_rows) target(&t, "worst_ratio", worst, "<=", 1.0);
    j_int(&t.j, "met", t.met);
    j_int(&t.j, "total", t.total);
    j_end(&t.j);
    memcpy(st->targets_text, t.text, t.len < sizeof t.text ? t.len : sizeof t.text - 1);
    st->targets_text[t.len < sizeof t.text ? t.len : sizeof t.text - 1] = '\0';
}

/* ------------------------------------------------------------------ */
/* Table and command line                                             */
/* ------------------------------------------------------------------ */

static void print_table(const bench_state *st)
{
    const source *src = &st->src;
    FILE *f = stderr;
    fprintf(f, "\ngradflow bench: data %s%s%s (%lld train, %lld test images)%s\n", src->kind,
            *src->dir ? " from " : "", src->dir, (long long)src->n_train, (long long)src->n_test,
            st->cfg->quick ? ", --quick" : "");
    if (*src->note && strcmp(src->kind, "mnist") && strcmp(src->kind, "mnist-subset"))
        fprintf(f, "  (%s)\n", src->note);
    fprintf(f, "peak: %.1f GFLOP/s on one core (%s)\n", st->pk.gflops, st->pk.kind);
    fprintf(f, "baseline: plain C loops, one thread, %s build\n\n",
            gf_bl_uses_avx2() ? "AVX2+FMA" : "portable");
    fprintf(f, "%-12s %3s %9s %9s %9s %9s %6s %12s %7s\n", "workload", "thr", "us/step",
            "train s", "eval s", "dense GF/s", "%peak", "baseline", "graph/bl");
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        char us[32] = "-", tr[32] = "-", ev[32] = "-", bl[32];
        if (r->has_steps) {
            snprintf(us, sizeof us, "%.2f", r->us_per_step);
            snprintf(tr, sizeof tr, "%.3f", r->train_s);
            snprintf(bl, sizeof bl, "%.2f us/st", r->bl);
        } else {
            snprintf(bl, sizeof bl, "%.2f ms", 1e3 * r->bl);
        }
        if (r->eval_s >= 0) {
            if (r->has_steps) snprintf(ev, sizeof ev, "%.3f", r->eval_s);
            else snprintf(ev, sizeof ev, "%.2f ms", 1e3 * r->eval_s);
        }
        fprintf(f, "%-12s %3d %9s %9s %9s %10.1f %5.0f%% %12s %7.2f\n", r->name, r->threads, us,
                tr, ev, r->gflops, 100 * r->peak_frac, bl, r->ratio);
    }
    fprintf(f, "\n(w* rows: GF/s and %%peak of the training steps; eval s of w1 is the\n"
               "total of its evaluations. eval rows: time per pass; baseline is one thread.)\n");
    int cycled = 0, repeated = 0;
    for (int i = 0; i < st->n_rows; i++) {
        cycled |= st->rows[i].cycled;
        repeated |= st->rows[i].repeated;
    }
    if (cycled)
        fprintf(f, "Rows that need more than the %lld training images cycle through them,\n"
                   "reshuffled each epoch.\n", (long long)src->n_train);
    if (repeated)
        fprintf(f, "Evaluations of more than the %lld test images repeat the test set.\n",
                (long long)src->n_test);
    if (st->w1_plan_name) {
        const gf_plan_stats *p = &st->w1_plan;
        fprintf(f, "plan of the %s step: %d nodes as written -> %d steps executed "
                   "(%d fused chains, %d in-place updates), %.1f KiB of buffers,\n"
                   "  %.0f dense + %.0f other FLOPs\n",
                st->w1_plan_name, p->nodes, p->steps, p->fused, p->inplace,
                (double)p->buffer_bytes / 1024.0, p->dense_flops, p->other_flops);
    }
    if (st->targets_text && *st->targets_text)
        fprintf(f, "\ntargets of issue 4 (single core):\n%s", st->targets_text);
}

static int parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "gradflow bench: %s needs an integer from %lld to %lld, got '%s'\n", opt,
                (long long)lo, (long long)hi, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_only(const char *list, unsigned *mask)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    *mask = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "w1")) {
            *mask |= 1u << W1_MANUAL | 1u << W1_AUTODIFF;
            continue;
        }
        int k = 0;
        while (k < N_WORKLOADS && strcmp(tok, workload_names[k])) k++;
        if (k == N_WORKLOADS) {
            fprintf(stderr, "gradflow bench: unknown workload '%s' in --only (expected "
                            "w1-manual, w1-autodiff, w1, w2, w3 or eval)\n", tok);
            return 0;
        }
        *mask |= 1u << k;
    }
    if (!*mask) {
        fprintf(stderr, "gradflow bench: --only needs a workload name\n");
        return 0;
    }
    return 1;
}

int gf_cli_bench(int argc, char **argv)
{
    bench_cfg cfg = { .data_dir = "data/mnist", .threads = 1, .seed = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = !strcmp(a, "--data") || !strcmp(a, "--only") || !strcmp(a, "--threads") ||
                    !strcmp(a, "--seed");
        if (takes && !v) {
            fprintf(stderr, "gradflow bench: %s needs a value (try 'gradflow bench --help')\n", a);
            return GF_EXIT_USAGE;
        }
        int64_t n;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            bench_usage(stdout);
            return GF_EXIT_OK;
        } else if (!strcmp(a, "--json")) cfg.json = 1;
        else if (!strcmp(a, "--quick")) cfg.quick = 1;
        else if (!strcmp(a, "--generated")) cfg.generated = 1;
        else if (!strcmp(a, "--data")) cfg.data_dir = v;
        else if (!strcmp(a, "--only")) {
            if (!parse_only(v, &cfg.only)) return GF_EXIT_USAGE;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_i64(a, v, 1, 256, &n)) return GF_EXIT_USAGE;
            cfg.threads = (int)n;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_i64(a, v, 0, INT64_MAX, &n)) return GF_EXIT_USAGE;
            cfg.seed = (uint64_t)n;
        } else {
            fprintf(stderr, "gradflow bench: unknown option '%s' (try 'gradflow bench --help')\n", a);
            return GF_EXIT_USAGE;
        }
        i += takes;
    }
    unsigned want = cfg.only ? cfg.only : (1u << N_WORKLOADS) - 1;

    bench_state st = { .cfg = &cfg };
    if (!open_source(&st.src, cfg.data_dir, cfg.generated, cfg.quick, cfg.seed)) {
        fprintf(stderr, "gradflow bench: out of memory for the data\n");
        return GF_EXIT_FAIL;
    }
    st.pk = measure_peak();

    const char *no_simd = getenv("GF_NO_SIMD"), *disable = getenv("GRADFLOW_DISABLE");
    jline j;
    j_begin(&j, "info");
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", GF_VERSION_MAJOR, GF_VERSION_MINOR,
             GF_VERSION_PATCH);
    j_str(&j, "version", version);
    j_common(&j, &st);
    j_str(&j, "data_dir", st.src.dir);
    if (*st.src.note) j_str(&j, "data_note", st.src.note);
    j_int(&j, "train_images", st.src.n_train);
    j_int(&j, "test_images", st.src.n_test);
    j_bool(&j, "quick", cfg.quick);
    j_int(&j, "threads", cfg.threads);
    j_int(&j, "seed", (long long)cfg.seed);
    j_str(&j, "baseline_build", gf_bl_uses_avx2() ? "avx2-fma" : "portable");
    if (no_simd) j_str(&j, "GF_NO_SIMD", no_simd);
    if (disable) j_str(&j, "GRADFLOW_DISABLE", disable);
    j_end(&j);
    j_begin(&j, "peak");
    j_str(&j, "kind", st.pk.kind);
    j_num(&j, "gflops", st.pk.gflops);
    j_num(&j, "seconds", st.pk.seconds);
    j_end(&j);

    int64_t div = cfg.quick ? 10 : 1;
    const train_spec specs[] = {
        { "w1-manual", 30, 0, 0.5f, 10, 10000 / div, 10 / div, 1000, 1 },
        { "w1-autodiff", 30, 1, 0.1f, 10, 10000 / div, 10 / div, 1000, 1 },
        { "w2", 30, 0, 0.5f, 10, 60000 / 10 / div, 1, 10000 / div, 0 },
        { "w3", 100, 0, 0.05f, 100, 60000 / 100 / div, 0, 0, 0 },
    };
    int rc = GF_EXIT_OK;
    for (int w = 0; w < N_WORKLOADS && rc == GF_EXIT_OK; w++) {
        if (!(want & 1u << w)) continue;
        if (!cfg.json) fprintf(stderr, "gradflow bench: running %s...\n", workload_names[w]);
        int ok = w == WEVAL ? run_eval(&st, 10000 / div, cfg.quick ? 2 : 10)
                            : run_train(&st, &specs[w]);
        if (!ok) {
            fprintf(stderr, "gradflow bench: %s\n", st.err);
            rc = GF_EXIT_FAIL;
        }
    }
    static char targets_text[2048];
    st.targets_text = targets_text;
    if (rc == GF_EXIT_OK) print_targets(&st);
    if (!cfg.json && rc == GF_EXIT_OK) print_table(&st);
    close_source(&st.src);
    return rc;
}
