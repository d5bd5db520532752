/*
 * cmd_bench.c — `gradflow bench`: times the article's workloads on the graph
 * and as plain C, against this machine's measured FMA peak; JSON lines + table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "bench_baseline.h"
#include "bench_support.h"
#include "cli.h"

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
        "  eval         acct_res over 10,000 images with 1 and 2 threads, a pass\n"
        "               of each in turn (so both see the machine in one state)\n"
        "\n"
        "Output: one JSON object per line on stdout (an \"info\" line, a \"peak\" line,\n"
        "one per workload and per thread count for eval, and a \"targets\" line that\n"
        "checks issue 4's targets on what ran), then a readable table on stderr\n"
        "(not with --json). GFLOP/s count the matmul FLOPs of the plan as written\n"
        "(gf_session_plan_stats dense_flops); peak_frac divides them by this core's\n"
        "peak, measured at startup with a short FMA loop; ratio is graph time over\n"
        "baseline time (below 1: the graph is faster; the baseline is always one\n"
        "thread, built for AVX2+FMA when the CPU has them). Training runs in\n"
        "ten rounds: in each, a tenth of the graph's steps, then the same of the\n"
        "baseline's, w1-manual's then w1-autodiff's when both run, so that a\n"
        "machine whose speed drifts affects all alike. Training steps and\n"
        "evaluations are timed separately, after one untimed warm-up of each;\n"
        "us_per_step is the mean over all steps, us_per_step_best_block the\n"
        "fastest tenth of the run (less disturbed by other processes), and\n"
        "eval's seconds_per_pass the mean, seconds_per_pass_best the fastest;\n"
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
    double bound;       /* eval, 2 threads: 1 + fast/slow of the two CPUs alone (0: not measured) */
    double on_cpu[2];   /* ... from these one-thread passes, seconds */
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

/* One training workload, run by the graph and by the baseline in blocks
 * of steps that the caller interleaves (with each other and with another
 * workload's), so that a machine whose speed drifts affects all alike. */
typedef struct trainer {
    const train_spec *sp;
    gf_article_net net;
    gf_session *s;
    gf_tensor *bx, *by, *ex, *ey;
    batcher bt, bl_bt; /* the same batches, one stream each */
    gf_bl_net bl;
    int have_bl, repeated;
    float *exd, *eyd;
    int64_t eval_n, every, done, bl_done, correct, bl_correct, evals_done;
    gf_plan_stats ps, eps;
    double train_s, eval_s, bl_train_s, bl_eval_s;
    blocks blk, bl_blk;
    float dz_scale, b_rate;
} trainer;

static int eval_due(const trainer *t, int64_t i)
{
    return t->every && (t->sp->eval_first ? i % t->every == 0 : (i + 1) % t->every == 0);
}

static void trainer_close(trainer *t)
{
    if (t->have_bl) gf_bl_free(&t->bl);
    gf_tensor_free(t->bx);
    gf_tensor_free(t->by);
    gf_tensor_free(t->ex);
    gf_tensor_free(t->ey);
    batcher_free(&t->bt);
    batcher_free(&t->bl_bt);
    gf_session_free(t->s);
    gf_graph_free(t->net.g);
    memset(t, 0, sizeof *t);
}

/* Builds the graph, the session and the baseline from the same weights,
 * and runs one untimed step and evaluation of each. 0 on failure (st->err
 * says why; close t all the same). */
static int trainer_open(bench_state *st, const train_spec *sp, trainer *t)
{
    const bench_cfg *cfg = st->cfg;
    source *src = &st->src;
    memset(t, 0, sizeof *t);
    t->sp = sp;
    t->correct = t->bl_correct = -1;
    gf_status built = sp->autodiff ? gf_article_build_autodiff(&t->net, sp->hidden, sp->rate)
                                   : gf_article_build_manual(&t->net, sp->hidden, sp->rate);
    if (built != GF_OK)
        return fail(st, "%s: %s", sp->name, t->net.g ? gf_graph_error(t->net.g) : "out of memory");
    t->s = gf_session_new(t->net.g, &(gf_session_options){ .seed = cfg->seed, .threads = cfg->threads });
    if (!t->s || gf_session_status(t->s) != GF_OK)
        return fail(st, "%s: %s", sp->name, t->s ? gf_session_error(t->s) : "out of memory");
    if (!batcher_init(&t->bt, src, sp->batch, cfg->seed) || !batcher_init(&t->bl_bt, src, sp->batch, cfg->seed))
        return fail(st, "%s: out of memory", sp->name);
    t->eval_n = sp->evals > 0 ? sp->eval_images : 1;
    if (!bench_eval_rows(src, t->eval_n, &t->exd, &t->eyd, &t->repeated))
        return fail(st, "%s: out of memory", sp->name);
    if (sp->evals == 0) t->repeated = 0;
    t->bx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)sp->batch, NPIX), t->bt.x, NULL);
    t->by = gf_tensor_wrap(GF_F32, gf_dims(2, (int)sp->batch, NCLS), t->bt.y, NULL);
    t->ex = gf_tensor_wrap(GF_F32, gf_dims(2, (int)t->eval_n, NPIX), t->exd, NULL);
    t->ey = gf_tensor_wrap(GF_F32, gf_dims(2, (int)t->eval_n, NCLS), t->eyd, NULL);
    int64_t cap = sp->batch > EVAL_BLOCK ? sp->batch : EVAL_BLOCK;
    if (!t->bx || !t->by || !t->ex || !t->ey || gf_bl_init(&t->bl, sp->hidden, cap) != 0)
        return fail(st, "%s: out of memory", sp->name);
    t->have_bl = 1;
    if (!copy_weights(t->s, &t->net, &t->bl)) return fail(st, "%s: cannot read the initial weights", sp->name);

    gf_feed feed[] = { { t->net.a_0, t->bx }, { t->net.y, t->by } };
    gf_feed efeed[] = { { t->net.a_0, t->ex }, { t->net.y, t->ey } };
    if (gf_session_plan_stats(t->s, feed, 2, NULL, 0, t->net.step, t->net.n_step, &t->ps) != GF_OK ||
        (sp->evals > 0 &&
         gf_session_plan_stats(t->s, efeed, 2, &t->net.acct_res, 1, NULL, 0, &t->eps) != GF_OK))
        return fail(st, "%s: plan_stats: %s", sp->name, gf_session_error(t->s));
    t->every = sp->evals > 0 ? (sp->steps + sp->evals - 1) / sp->evals : 0;

    /* Warm-up, untimed: one step and one evaluation of each. */
    const gf_tensor *res;
    batcher_next(&t->bt);
    if (gf_session_run(t->s, feed, 2, NULL, 0, t->net.step, t->net.n_step, NULL) != GF_OK ||
        (sp->evals > 0 && gf_session_run(t->s, efeed, 2, &t->net.acct_res, 1, NULL, 0, &res) != GF_OK))
        return fail(st, "%s: %s", sp->name, gf_session_error(t->s));
    t->dz_scale = sp->autodiff ? 2.0f : 1.0f;
    t->b_rate = sp->autodiff ? sp->rate : sp->rate / (float)sp->batch;
    batcher_next(&t->bl_bt);
    gf_bl_step(&t->bl, t->bl_bt.x, t->bl_bt.y, sp->batch, t->dz_scale, sp->rate, t->b_rate);
    if (sp->evals > 0) (void)gf_bl_eval(&t->bl, t->exd, t->eyd, t->eval_n);
    blocks_init(&t->blk, sp->steps);
    blocks_init(&t->bl_blk, sp->steps);
    return 1;
}

/* The graph's next n steps (and the evaluations due among them). */
static int trainer_steps(bench_state *st, trainer *t, int64_t n)
{
    const train_spec *sp = t->sp;
    gf_feed feed[] = { { t->net.a_0, t->bx }, { t->net.y, t->by } };
    gf_feed efeed[] = { { t->net.a_0, t->ex }, { t->net.y, t->ey } };
    const gf_tensor *res;
    for (int64_t end = t->done + n; t->done < end; t->done++) {
        batcher_next(&t->bt);
        double t0 = bench_now();
        gf_status rc = gf_session_run(t->s, feed, 2, NULL, 0, t->net.step, t->net.n_step, NULL);
        double dt = bench_now() - t0;
        t->train_s += dt;
        blocks_add(&t->blk, dt);
        if (rc != GF_OK)
            return fail(st, "%s: step %lld: %s", sp->name, (long long)t->done, gf_session_error(t->s));
        if (eval_due(t, t->done)) {
            t0 = bench_now();
            rc = gf_session_run(t->s, efeed, 2, &t->net.acct_res, 1, NULL, 0, &res);
            t->eval_s += bench_now() - t0;
            if (rc != GF_OK) return fail(st, "%s: evaluation: %s", sp->name, gf_session_error(t->s));
            t->correct = (int64_t)gf_tensor_data(res)[0];
            t->evals_done++;
        }
    }
    return 1;
}

/* The baseline's next n steps: same weights, same batches. */
static void trainer_bl_steps(trainer *t, int64_t n)
{
    const train_spec *sp = t->sp;
    for (int64_t end = t->bl_done + n; t->bl_done < end; t->bl_done++) {
        batcher_next(&t->bl_bt);
        double t0 = bench_now();
        gf_bl_step(&t->bl, t->bl_bt.x, t->bl_bt.y, sp->batch, t->dz_scale, sp->rate, t->b_rate);
        double dt = bench_now() - t0;
        t->bl_train_s += dt;
        blocks_add(&t->bl_blk, dt);
        if (eval_due(t, t->bl_done)) {
            t0 = bench_now();
            t->bl_correct = gf_bl_eval(&t->bl, t->exd, t->eyd, t->eval_n);
            t->bl_eval_s += bench_now() - t0;
        }
    }
}

/* The workload's JSON line and table row. */
static void trainer_report(bench_state *st, const trainer *t)
{
    const bench_cfg *cfg = st->cfg;
    const source *src = &st->src;
    const train_spec *sp = t->sp;
    double steps = (double)sp->steps, train_s = t->train_s, bl_train_s = t->bl_train_s;
    double us = 1e6 * train_s / steps, bl_us = 1e6 * bl_train_s / steps;
    double dense_gflops = t->ps.dense_flops * steps / train_s * 1e-9;
    double all_gflops = (t->ps.dense_flops + t->ps.other_flops) * steps / train_s * 1e-9;
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
    j_num(&j, "us_per_step_best_block", t->blk.best);
    j_num(&j, "train_seconds", train_s);
    j_int(&j, "evals", t->evals_done);
    j_int(&j, "eval_images", sp->evals > 0 ? t->eval_n : 0);
    j_bool(&j, "eval_repeated", t->repeated);
    j_num(&j, "eval_seconds", t->eval_s);
    j_num(&j, "total_seconds", train_s + t->eval_s);
    j_num(&j, "step_dense_flops", t->ps.dense_flops);
    j_num(&j, "step_other_flops", t->ps.other_flops);
    j_num(&j, "dense_gflops", dense_gflops);
    j_num(&j, "gflops", all_gflops);
    j_num(&j, "peak_gflops", st->pk.gflops);
    j_num(&j, "peak_frac", dense_gflops / st->pk.gflops);
    if (sp->evals > 0) {
        double eg = t->eps.dense_flops * (double)t->evals_done / t->eval_s * 1e-9;
        j_num(&j, "eval_dense_gflops", eg);
        j_num(&j, "eval_peak_frac", eg / st->pk.gflops);
    }
    j_num(&j, "baseline_us_per_step", bl_us);
    j_num(&j, "baseline_us_per_step_best_block", t->bl_blk.best);
    j_num(&j, "baseline_train_seconds", bl_train_s);
    j_num(&j, "ratio", train_s / bl_train_s);
    if (sp->evals > 0) {
        j_num(&j, "baseline_eval_seconds", t->bl_eval_s);
        j_num(&j, "eval_ratio", t->eval_s / t->bl_eval_s);
        j_int(&j, "correct", t->correct);
        j_int(&j, "baseline_correct", t->bl_correct);
    }
    j_plan(&j, "plan", &t->ps);
    if (sp->evals > 0) j_plan(&j, "eval_plan", &t->eps);
    j_end(&j);

    row *r = add_row(st);
    snprintf(r->name, sizeof r->name, "%s", sp->name);
    r->threads = cfg->threads;
    r->has_steps = 1;
    r->us_per_step = us;
    r->train_s = train_s;
    r->eval_s = sp->evals > 0 ? t->eval_s : -1;
    r->gflops = dense_gflops;
    r->peak_frac = dense_gflops / st->pk.gflops;
    r->bl = bl_us;
    r->ratio = train_s / bl_train_s;
    r->eval_ratio = sp->evals > 0 ? t->eval_s / t->bl_eval_s : 0;
    r->cycled = examples > src->n_train;
    r->repeated = t->repeated;
    if (!st->w1_plan_name && !strncmp(sp->name, "w1", 2)) {
        st->w1_plan = t->ps;
        st->w1_plan_name = sp->name;
    }
}

/* Runs n training workloads (at most 2) side by side: in rounds of a
 * tenth of their steps, each workload's graph block then its baseline
 * block, so that the graph/baseline ratios and the spread between the
 * workloads compare blocks run moments apart. */
static int run_train(bench_state *st, const train_spec *const *sp, int n)
{
    trainer t[2];
    int ok = 1, opened = 0;
    for (; opened < n && ok; opened++) ok = trainer_open(st, sp[opened], &t[opened]);
    for (int64_t round = 0; ok && round < 10; round++)
        for (int w = 0; w < n && ok; w++) {
            int64_t steps = sp[w]->steps, per = steps >= 10 ? steps / 10 : 1;
            int64_t todo = round == 9 ? steps - t[w].done : per;
            if (todo > steps - t[w].done) todo = steps - t[w].done;
            ok = trainer_steps(st, &t[w], todo);
            trainer_bl_steps(&t[w], todo);
        }
    for (int w = 0; ok && w < n; w++) trainer_report(st, &t[w]);
    for (int w = 0; w < opened; w++) trainer_close(&t[w]);
    return ok;
}

/* Forward passes (acct_res) over n images with 1, 2 (and N) threads and
 * by the baseline, taken in rounds: each round times one pass of each, so
 * that a machine whose speed drifts (a shared VM) affects all alike and
 * the speedups compare passes run side by side. */
static int run_eval(bench_state *st, int64_t n, int passes)
{
    enum { MAXC = 3 };
    const bench_cfg *cfg = st->cfg;
    gf_article_net net = { 0 };
    gf_session *s[MAXC] = { NULL };
    gf_tensor *ex = NULL, *ey = NULL;
    gf_bl_net bl = { 0 };
    int ok = 0, have_bl = 0, repeated;
    float *exd, *eyd;
    int counts[MAXC] = { 1, 2, cfg->threads }, n_counts = cfg->threads > 2 ? 3 : 2;

    if (gf_article_build_manual(&net, 30, 0.5f) != GF_OK) {
        fail(st, "eval: %s", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    if (!bench_eval_rows(&st->src, n, &exd, &eyd, &repeated)) {
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
    gf_plan_stats eps;
    const gf_tensor *res;
    /* Every session starts from the same seed, so from the same weights. */
    for (int c = 0; c < n_counts; c++) {
        s[c] = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = counts[c] });
        if (!s[c] || gf_session_status(s[c]) != GF_OK) {
            fail(st, "eval: %s", s[c] ? gf_session_error(s[c]) : "out of memory");
            goto out;
        }
        if (gf_session_plan_stats(s[c], efeed, 2, &net.acct_res, 1, NULL, 0, &eps) != GF_OK ||
            gf_session_run(s[c], efeed, 2, &net.acct_res, 1, NULL, 0, &res) != GF_OK) { /* warm-up */
            fail(st, "eval: %s", gf_session_error(s[c]));
            goto out;
        }
    }
    if (!copy_weights(s[0], &net, &bl)) {
        fail(st, "eval: cannot read the initial weights");
        goto out;
    }
    int64_t bl_correct = gf_bl_eval(&bl, exd, eyd, n), correct[MAXC];
    double spent[MAXC] = { 0 }, best[MAXC], bl_s = 0;
    for (int c = 0; c < n_counts; c++) best[c] = 1e30;
    for (int p = 0; p < passes; p++) {
        double t0 = bench_now();
        bl_correct = gf_bl_eval(&bl, exd, eyd, n);
        bl_s += bench_now() - t0;
        for (int c = 0; c < n_counts; c++) {
            t0 = bench_now();
            gf_status rc = gf_session_run(s[c], efeed, 2, &net.acct_res, 1, NULL, 0, &res);
            double dt = bench_now() - t0;
            if (rc != GF_OK) {
                fail(st, "eval: %s", gf_session_error(s[c]));
                goto out;
            }
            spent[c] += dt;
            if (dt < best[c]) best[c] = dt;
            correct[c] = (int64_t)gf_tensor_data(res)[0];
        }
    }
    bl_s /= passes;
    /* The one-thread pass on each of two CPUs alone: on a shared VM one
     * vCPU can run slower than the other, which bounds what two threads
     * can gain over one on the faster: 1 + fast/slow. */
    double on_cpu[2] = { 0, 0 };
    int n_cpu = 0;
    for (; n_cpu < 2 && bench_pin_nth(n_cpu); n_cpu++) {
        on_cpu[n_cpu] = 1e30;
        for (int p = 0; p < 3; p++) {
            double t0 = bench_now();
            gf_status rc = gf_session_run(s[0], efeed, 2, &net.acct_res, 1, NULL, 0, &res);
            double dt = bench_now() - t0;
            if (rc != GF_OK) {
                bench_unpin();
                fail(st, "eval: %s", gf_session_error(s[0]));
                goto out;
            }
            if (dt < on_cpu[n_cpu]) on_cpu[n_cpu] = dt;
        }
    }
    bench_unpin();
    double bound = 0;
    if (n_cpu == 2) {
        double fast = on_cpu[0] < on_cpu[1] ? on_cpu[0] : on_cpu[1];
        double slow = on_cpu[0] < on_cpu[1] ? on_cpu[1] : on_cpu[0];
        bound = 1 + fast / slow;
    }
    for (int c = 0; c < n_counts; c++) {
        double per = spent[c] / passes, g = eps.dense_flops / per * 1e-9;
        double speedup = spent[0] / spent[c];
        jline j;
        j_begin(&j, "eval");
        j_common(&j, st);
        j_int(&j, "threads", counts[c]);
        j_int(&j, "hidden", 30);
        j_int(&j, "images", n);
        j_bool(&j, "repeated", repeated);
        j_int(&j, "passes", passes);
        j_num(&j, "seconds_per_pass", per);
        j_num(&j, "seconds_per_pass_best", best[c]);
        j_num(&j, "us_per_image", 1e6 * per / (double)n);
        j_num(&j, "dense_flops", eps.dense_flops);
        j_num(&j, "dense_gflops", g);
        j_num(&j, "gflops", (eps.dense_flops + eps.other_flops) / per * 1e-9);
        j_num(&j, "peak_gflops", st->pk.gflops);
        j_num(&j, "peak_frac", g / st->pk.gflops);
        j_num(&j, "peak_frac_best", eps.dense_flops / best[c] * 1e-9 / st->pk.gflops);
        j_num(&j, "speedup_vs_1_thread", speedup);
        j_num(&j, "speedup_best", best[0] / best[c]);
        if (counts[c] == 2 && bound > 0) {
            j_key(&j, "one_thread_seconds_per_cpu");
            j_raw(&j, "[%.6g,%.6g]", on_cpu[0], on_cpu[1]);
            j_num(&j, "speedup_bound", bound);
        }
        j_num(&j, "baseline_seconds_per_pass", bl_s);
        j_num(&j, "ratio", per / bl_s);
        j_int(&j, "correct", correct[c]);
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
        r->speedup = speedup;
        if (counts[c] == 2) {
            r->bound = bound;
            r->on_cpu[0] = on_cpu[0];
            r->on_cpu[1] = on_cpu[1];
        }
        r->repeated = repeated;
    }
    ok = 1;
out:
    if (have_bl) gf_bl_free(&bl);
    gf_tensor_free(ex);
    gf_tensor_free(ey);
    for (int c = 0; c < MAXC; c++) gf_session_free(s[c]);
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
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        if (strcmp(r->name, "eval") || r->threads != 2 || r->bound <= 0) continue;
        fprintf(f, "eval with 2 threads: %.2fx one thread. One thread alone on each CPU: %.2f and\n"
                   "  %.2f ms a pass, so two threads can gain at most %.2fx here.\n",
                r->speedup, 1e3 * r->on_cpu[0], 1e3 * r->on_cpu[1], r->bound);
    }
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
    if (!bench_open_source(&st.src, cfg.data_dir, cfg.generated, cfg.quick, cfg.seed)) {
        fprintf(stderr, "gradflow bench: out of memory for the data\n");
        return GF_EXIT_FAIL;
    }
    st.pk = bench_measure_peak();

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
        /* The two w1 workloads run side by side (their spread is a target). */
        const train_spec *group[2] = { &specs[w < WEVAL ? w : 0], &specs[W1_AUTODIFF] };
        int n = w == W1_MANUAL && (want & 1u << W1_AUTODIFF) ? 2 : 1;
        if (!cfg.json)
            fprintf(stderr, "gradflow bench: running %s%s...\n", workload_names[w],
                    n == 2 ? " and w1-autodiff, in alternating blocks" : "");
        int ok = w == WEVAL ? run_eval(&st, 10000 / div, cfg.quick ? 2 : 10) : run_train(&st, group, n);
        if (n == 2) want &= ~(1u << W1_AUTODIFF);
        if (!ok) {
            fprintf(stderr, "gradflow bench: %s\n", st.err);
            rc = GF_EXIT_FAIL;
        }
    }
    static char targets_text[2048];
    st.targets_text = targets_text;
    if (rc == GF_EXIT_OK) print_targets(&st);
    if (!cfg.json && rc == GF_EXIT_OK) print_table(&st);
    bench_close_source(&st.src);
    return rc;
}
