/*
 * bench_dp.c — `gradflow bench --only cnn-dp`: data-parallel training of
 * the Deep MNIST network at a global batch of 100 images, on one process
 * and on 2 ranks under mpirun (50 images each, the gradients all-reduced
 * in rank order: docs/parallel.md), and the all-reduce's own cost for the
 * parameter count of each of gradflow's models (docs/scaling.md uses
 * these figures).
 *
 * The one-process figures are measured here; the 2-rank ones by this same
 * program started under mpirun (`gradflow bench --only cnn-dp` as ranks),
 * whose rank 0 prints a "cnn-dp-ranks" line that the parent reads. The
 * two alternate over 3 rounds (1 with --quick), and the speedup is the
 * median of the rounds' ratios.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_workloads.h"
#include "cnn.h"
#include "mpi_group.h"

enum { GLOBAL_BATCH = 100, RANKS = 2 };

/* The models' parameter counts: what a step all-reduces (and one float). */
static const struct { const char *key; int64_t floats; } models[] = {
    { "one_float", 1 },                                      /* the latency alone */
    { "article", 784 * 30 + 30 + 30 * 10 + 10 },             /* 23,860 */
    { "softmax", 784 * 100 + 100 + 100 * 10 + 10 },          /* 79,510 */
    { "cnn", 5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 3136 * 1024 + 1024 + 1024 * 10 + 10 }, /* 3,274,634 */
};
enum { N_MODELS = sizeof models / sizeof models[0] };

typedef struct timing {
    double us, us_best; /* per step: the mean, and the mean of the fastest tenth */
    double dense_flops; /* per step, the global batch's (plan as written) */
} timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs `steps` training steps (after `warm` untimed) of net on rows
 * [rank * rows, (rank + 1) * rows) of each global batch. */
static int time_steps(bench_state *st, gf_cnn_net *net, gf_session *s, int64_t rank, int64_t rows, int64_t warm,
                      int64_t steps, timing *t)
{
    batcher bt = { 0 };
    gf_tensor *bx = NULL, *by = NULL, *keep = NULL;
    double *dt = calloc((size_t)steps + 1, sizeof *dt);
    int ok = 0;
    if (!dt || !batcher_init(&bt, &st->src, GLOBAL_BATCH, st->cfg->seed)) goto out;
    bx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)rows, NPIX), bt.x + rank * rows * NPIX, NULL);
    by = gf_tensor_wrap(GF_F32, gf_dims(2, (int)rows, NCLS), bt.y + rank * rows * NCLS, NULL);
    keep = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    if (!bx || !by || !keep) goto out;
    gf_tensor_data(keep)[0] = GF_CNN_KEEP;
    gf_feed feed[] = { { net->x, bx }, { net->y_, by }, { net->keep_prob, keep } };
    gf_plan_stats ps;
    if (gf_session_plan_stats(s, feed, 3, NULL, 0, &net->train_step, 1, &ps) != GF_OK) goto out;
    t->dense_flops = ps.dense_flops * (double)GLOBAL_BATCH / (double)rows;
    double sum = 0;
    for (int64_t i = -warm; i < steps; i++) {
        batcher_next(&bt);
        double t0 = bench_now();
        if (gf_session_run(s, feed, 3, NULL, 0, &net->train_step, 1, NULL) != GF_OK) goto out;
        if (i >= 0) sum += dt[i] = bench_now() - t0;
    }
    qsort(dt, (size_t)steps, sizeof *dt, cmp_double);
    int64_t tenth = steps / 10 > 0 ? steps / 10 : 1;
    double best = 0;
    for (int64_t i = 0; i < tenth; i++) best += dt[i];
    t->us = 1e6 * sum / (double)steps;
    t->us_best = 1e6 * best / (double)tenth;
    ok = 1;
out:
    if (!ok) bench_fail(st, "cnn-dp: %s", s && gf_session_error(s)[0] ? gf_session_error(s) : "out of memory");
    gf_tensor_free(bx);
    gf_tensor_free(by);
    gf_tensor_free(keep);
    batcher_free(&bt);
    free(dt);
    return ok;
}

/* One process: the step on `rows` images of the global batch. */
static int time_alone(bench_state *st, int64_t rows, int64_t warm, int64_t steps, timing *t)
{
    gf_cnn_net net = { 0 };
    gf_session *s = NULL;
    int ok = gf_cnn_build(&net, 0) == GF_OK;
    if (ok) s = gf_session_new(net.g, &(gf_session_options){ .seed = st->cfg->seed, .threads = st->cfg->threads });
    if (ok && (!s || gf_session_status(s) != GF_OK)) ok = 0;
    if (!ok) bench_fail(st, "cnn-dp: %s", s ? gf_session_error(s) : net.g ? gf_graph_error(net.g) : "out of memory");
    if (ok) ok = time_steps(st, &net, s, 0, rows, warm, steps, t);
    gf_session_free(s);
    gf_graph_free(net.g);
    return ok;
}

int bench_dp_rank_main(bench_state *st, int64_t warm, int64_t steps)
{
    char msg[1024];
    gf_mpi *m = gf_mpi_start(60, msg, sizeof msg);
    if (!m) return bench_fail(st, "cnn-dp: %s", msg);
    int rank = gf_mpi_rank(m), size = gf_mpi_size(m);
    gf_cnn_net net = { 0 };
    gf_session *s = NULL;
    timing t = { 0 };
    double best[N_MODELS], mean[N_MODELS];
    int ok = GLOBAL_BATCH % size == 0;
    if (!ok) bench_fail(st, "cnn-dp: a global batch of %d does not split into %d ranks", GLOBAL_BATCH, size);
    if (ok && gf_cnn_build_dp(&net, 28, 28, 10, 0) != GF_OK)
        ok = bench_fail(st, "cnn-dp: %s", net.g ? gf_graph_error(net.g) : "out of memory");
    if (ok) s = gf_session_new(net.g, &(gf_session_options){ .seed = st->cfg->seed, .threads = st->cfg->threads,
                                                             .group = gf_mpi_group(m) });
    if (ok && (!s || gf_session_status(s) != GF_OK))
        ok = bench_fail(st, "cnn-dp: %s", s ? gf_session_error(s) : "out of memory");
    if (ok) ok = time_steps(st, &net, s, rank, GLOBAL_BATCH / size, warm, steps, &t);
    for (int i = 0; ok && i < N_MODELS; i++)
        if (!gf_mpi_time_all_reduce(m, models[i].floats, models[i].floats > 1000000 ? 10 : 200, &best[i], &mean[i],
                                    msg, sizeof msg))
            ok = bench_fail(st, "cnn-dp: all-reduce of %lld floats: %s", (long long)models[i].floats, msg);
    if (ok && rank == 0) {
        jline j;
        j_begin(&j, "cnn-dp-ranks");
        j_int(&j, "ranks", size);
        j_int(&j, "global_batch", GLOBAL_BATCH);
        j_int(&j, "steps", steps);
        j_num(&j, "us_per_step", t.us);
        j_num(&j, "us_per_step_best", t.us_best);
        for (int i = 0; i < N_MODELS; i++) {
            char key[64];
            snprintf(key, sizeof key, "allreduce_%s_us", models[i].key);
            j_num(&j, key, 1e6 * best[i]);
            snprintf(key, sizeof key, "allreduce_%s_us_mean", models[i].key);
            j_num(&j, key, 1e6 * mean[i]);
        }
        j_end(&j);
    }
    gf_session_free(s);
    gf_graph_free(net.g);
    if (!ok) fprintf(stderr, "gradflow bench: rank %d: %s\n", rank, st->err);
    gf_mpi_end(m, ok, st->err);
    return ok;
}

/* The number after "key": in line, or -1. */
static double json_num(const char *line, const char *key)
{
    char k[80];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(line, k);
    return p ? strtod(p + strlen(k), NULL) : -1;
}

/* Runs this program as 2 ranks under mpirun; their rank 0's line into
 * line. 0 with the reason in st->err. */
static int run_ranks(bench_state *st, char *line, size_t cap)
{
    char self[4096], cmd[8192];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return bench_fail(st, "cnn-dp: cannot find this program (/proc/self/exe)");
    self[n] = '\0';
    const bench_cfg *c = st->cfg;
    snprintf(cmd, sizeof cmd, "mpirun %s-np %d '%s' bench --only cnn-dp --json --seed %llu %s%s%s%s 2>&1",
             geteuid() == 0 ? "--allow-run-as-root " : "", RANKS, self, (unsigned long long)c->seed,
             c->quick ? "--quick " : "", c->generated ? "--generated " : "", "--data ", c->data_dir);
    FILE *p = popen(cmd, "r");
    if (!p) return bench_fail(st, "cnn-dp: cannot run mpirun");
    char buf[4096], err[1024] = "";
    line[0] = '\0';
    while (fgets(buf, sizeof buf, p)) {
        if (strstr(buf, "\"bench\":\"cnn-dp-ranks\"")) snprintf(line, cap, "%s", buf);
        else if (!strstr(buf, "\"bench\":") && !err[0]) snprintf(err, sizeof err, "%.1000s", buf);
    }
    int rc = pclose(p);
    if (rc != 0 || !line[0])
        return bench_fail(st, "cnn-dp: 'mpirun -np %d gradflow bench' failed%s%s", RANKS, err[0] ? ": " : "",
                          err[0] ? err : " (is Open MPI installed? apt-get install openmpi-bin)");
    return 1;
}

/* What two threads of pure arithmetic gain over one, now (the peak's FMA
 * chains, ~20 ms each way, rounds times): the most two ranks can gain on
 * a machine that other processes share. Adds into *one and *two. */
static void fma_rounds(int rounds, double *one, double *two)
{
    long trips = 100000;
    double t = bench_fma_seconds(1, trips);
    trips = t > 0 ? (long)((double)trips * 0.02 / t) + 1 : trips;
    for (int r = 0; r < rounds; r++) {
        *one += bench_fma_seconds(1, trips);
        *two += bench_fma_seconds(2, trips);
    }
}

/* The median of v [n] (n <= ROUNDS_MAX; sorts v). */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bench_run_cnn_dp(bench_state *st, int64_t warm, int64_t steps)
{
    if (!gf_mpi_built()) {
        jline j;
        j_begin(&j, "cnn-dp");
        j_str(&j, "skipped", "gradflow was built without MPI (apt-get install openmpi-bin libopenmpi-dev)");
        j_end(&j);
        return 1;
    }
    /* One process and the 2 ranks in alternating rounds, so that both see
     * the machine in much the same state; the figures are the medians of
     * the rounds (the all-reduce's, the last round's). */
    enum { ROUNDS_MAX = 3 };
    const int rounds = st->cfg->quick ? 1 : ROUNDS_MAX;
    timing one, half;
    double one_us[ROUNDS_MAX], one_best[ROUNDS_MAX], ranks_us[ROUNDS_MAX], ranks_best[ROUNDS_MAX];
    double ratio[ROUNDS_MAX], ratio_best[ROUNDS_MAX], dense_flops = 0;
    char line[4096];
    double fma1 = 0, fma2 = 0; /* measured between the runs */
    fma_rounds(3, &fma1, &fma2);
    if (!time_alone(st, GLOBAL_BATCH / RANKS, warm, steps, &half)) return 0;
    for (int r = 0; r < rounds; r++) {
        if (!time_alone(st, GLOBAL_BATCH, warm, steps, &one)) return 0;
        fma_rounds(1, &fma1, &fma2);
        if (!run_ranks(st, line, sizeof line)) return 0;
        fma_rounds(1, &fma1, &fma2);
        one_us[r] = one.us, one_best[r] = one.us_best, dense_flops = one.dense_flops;
        ranks_us[r] = json_num(line, "us_per_step"), ranks_best[r] = json_num(line, "us_per_step_best");
        ratio[r] = one_us[r] / ranks_us[r];
        ratio_best[r] = one_best[r] / ranks_best[r];
    }
    double fma_gain = fma1 > 0 && fma2 > 0 ? 2 * fma1 / fma2 : 0;
    double lo = ratio[0], hi = ratio[0];
    for (int r = 1; r < rounds; r++) {
        lo = ratio[r] < lo ? ratio[r] : lo;
        hi = ratio[r] > hi ? ratio[r] : hi;
    }
    double speedup = median(ratio, rounds), speedup_best = median(ratio_best, rounds);
    one.us = median(one_us, rounds), one.us_best = median(one_best, rounds);
    double us = median(ranks_us, rounds), us_best = median(ranks_best, rounds);
    double ar = json_num(line, "allreduce_cnn_us");
    jline j;
    j_begin(&j, "cnn-dp");
    j_str(&j, "data", st->src.kind);
    j_int(&j, "global_batch", GLOBAL_BATCH);
    j_int(&j, "ranks", RANKS);
    j_int(&j, "steps", steps);
    j_int(&j, "rounds", rounds);
    j_num(&j, "one_rank_us_per_step", one.us);
    j_num(&j, "one_rank_us_per_step_best", one.us_best);
    j_num(&j, "half_batch_us_per_step", half.us);
    j_num(&j, "ranks_us_per_step", us);
    j_num(&j, "ranks_us_per_step_best", us_best);
    j_num(&j, "speedup", speedup);
    j_num(&j, "speedup_lowest_round", lo);
    j_num(&j, "speedup_highest_round", hi);
    j_num(&j, "speedup_best", speedup_best);
    j_num(&j, "predicted_ranks_us_per_step", half.us + ar); /* docs/scaling.md's model */
    j_num(&j, "fma_two_thread_gain", fma_gain);
    for (int i = 0; i < N_MODELS; i++) {
        char key[64];
        snprintf(key, sizeof key, "allreduce_%s_floats", models[i].key);
        j_int(&j, key, models[i].floats);
        snprintf(key, sizeof key, "allreduce_%s_us", models[i].key);
        j_num(&j, key, json_num(line, key));
        snprintf(key, sizeof key, "allreduce_%s_us_mean", models[i].key);
        j_num(&j, key, json_num(line, key));
    }
    j_end(&j);
    if (st->n_rows < (int)(sizeof st->rows / sizeof st->rows[0])) {
        row *r = &st->rows[st->n_rows++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "cnn-dp");
        r->threads = RANKS;
        r->has_steps = 1;
        r->no_baseline = 1;
        r->us_per_step = us;
        r->us_best = us_best;
        r->train_s = us * 1e-6 * (double)steps;
        r->eval_s = -1;
        r->gflops = dense_flops / (us * 1e-6) * 1e-9;
        r->peak_frac = r->gflops / (st->pk.gflops * RANKS);
        r->speedup = speedup;
        r->speedup_best = speedup_best;
        r->bl = one.us; /* the one-rank step, for the table's note */
        r->on_cpu[0] = ar;
        r->fma_speedup = fma_gain;
    }
    return 1;
}
