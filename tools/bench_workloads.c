/*
 * bench_workloads.c — the workloads of `gradflow bench`: training runs and
 * the evaluation, graph and baseline interleaved (bench_workloads.h).
 */
#include "bench_workloads.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "article.h"
#include "bench_baseline.h"
#include "cnn.h"

int bench_fail(bench_state *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err, sizeof st->err, fmt, ap);
    va_end(ap);
    return 0;
}

row *bench_add_row(bench_state *st)
{
    row *r = &st->rows[st->n_rows < 15 ? st->n_rows++ : 15];
    memset(r, 0, sizeof *r);
    return r;
}

void blocks_init(blocks *b, int64_t steps)
{
    b->per = steps >= 10 ? steps / 10 : 1;
    b->in = 0;
    b->sum = 0;
    b->best = -1;
}

void blocks_add(blocks *b, double seconds)
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
        return bench_fail(st, "%s: %s", sp->name, t->net.g ? gf_graph_error(t->net.g) : "out of memory");
    t->s = gf_session_new(t->net.g, &(gf_session_options){ .seed = cfg->seed, .threads = cfg->threads });
    if (!t->s || gf_session_status(t->s) != GF_OK)
        return bench_fail(st, "%s: %s", sp->name, t->s ? gf_session_error(t->s) : "out of memory");
    if (!batcher_init(&t->bt, src, sp->batch, cfg->seed) || !batcher_init(&t->bl_bt, src, sp->batch, cfg->seed))
        return bench_fail(st, "%s: out of memory", sp->name);
    t->eval_n = sp->evals > 0 ? sp->eval_images : 1;
    if (!bench_eval_rows(src, t->eval_n, &t->exd, &t->eyd, &t->repeated))
        return bench_fail(st, "%s: out of memory", sp->name);
    if (sp->evals == 0) t->repeated = 0;
    t->bx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)sp->batch, NPIX), t->bt.x, NULL);
    t->by = gf_tensor_wrap(GF_F32, gf_dims(2, (int)sp->batch, NCLS), t->bt.y, NULL);
    t->ex = gf_tensor_wrap(GF_F32, gf_dims(2, (int)t->eval_n, NPIX), t->exd, NULL);
    t->ey = gf_tensor_wrap(GF_F32, gf_dims(2, (int)t->eval_n, NCLS), t->eyd, NULL);
    int64_t cap = sp->batch > EVAL_BLOCK ? sp->batch : EVAL_BLOCK;
    if (!t->bx || !t->by || !t->ex || !t->ey || gf_bl_init(&t->bl, sp->hidden, cap) != 0)
        return bench_fail(st, "%s: out of memory", sp->name);
    t->have_bl = 1;
    if (!copy_weights(t->s, &t->net, &t->bl)) return bench_fail(st, "%s: cannot read the initial weights", sp->name);

    gf_feed feed[] = { { t->net.a_0, t->bx }, { t->net.y, t->by } };
    gf_feed efeed[] = { { t->net.a_0, t->ex }, { t->net.y, t->ey } };
    if (gf_session_plan_stats(t->s, feed, 2, NULL, 0, t->net.step, t->net.n_step, &t->ps) != GF_OK ||
        (sp->evals > 0 &&
         gf_session_plan_stats(t->s, efeed, 2, &t->net.acct_res, 1, NULL, 0, &t->eps) != GF_OK))
        return bench_fail(st, "%s: plan_stats: %s", sp->name, gf_session_error(t->s));
    t->every = sp->evals > 0 ? (sp->steps + sp->evals - 1) / sp->evals : 0;

    /* Warm-up, untimed: one step and one evaluation of each. */
    const gf_tensor *res;
    batcher_next(&t->bt);
    if (gf_session_run(t->s, feed, 2, NULL, 0, t->net.step, t->net.n_step, NULL) != GF_OK ||
        (sp->evals > 0 && gf_session_run(t->s, efeed, 2, &t->net.acct_res, 1, NULL, 0, &res) != GF_OK))
        return bench_fail(st, "%s: %s", sp->name, gf_session_error(t->s));
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
            return bench_fail(st, "%s: step %lld: %s", sp->name, (long long)t->done, gf_session_error(t->s));
        if (eval_due(t, t->done)) {
            t0 = bench_now();
            rc = gf_session_run(t->s, efeed, 2, &t->net.acct_res, 1, NULL, 0, &res);
            t->eval_s += bench_now() - t0;
            if (rc != GF_OK) return bench_fail(st, "%s: evaluation: %s", sp->name, gf_session_error(t->s));
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

    row *r = bench_add_row(st);
    snprintf(r->name, sizeof r->name, "%s", sp->name);
    r->threads = cfg->threads;
    r->has_steps = 1;
    r->us_per_step = us;
    r->train_s = train_s;
    r->eval_s = sp->evals > 0 ? t->eval_s : -1;
    r->gflops = dense_gflops;
    r->peak_frac = dense_gflops / st->pk.gflops;
    r->us_best = t->blk.best;
    r->peak_frac_best = t->ps.dense_flops / (t->blk.best * 1e-6) * 1e-9 / st->pk.gflops;
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

/* Rounds of a training run: many short ones, so that the machine's drift
 * (seconds long on a shared VM) and the odd preemption fall alike on the
 * workloads run side by side (ten rounds still left 10% between w1-manual
 * and w1-autodiff now and then). */
#define ROUNDS 50

/* Runs n training workloads (at most 2) side by side: in ROUNDS rounds,
 * each workload's next share of graph steps, then the same of its
 * baseline, so that the graph/baseline ratios and the spread between the
 * workloads compare blocks run moments apart. */
int bench_run_train(bench_state *st, const train_spec *const *sp, int n)
{
    trainer t[2];
    int ok = 1, opened = 0;
    for (; opened < n && ok; opened++) ok = trainer_open(st, sp[opened], &t[opened]);
    for (int64_t round = 1; ok && round <= ROUNDS; round++)
        for (int k = 0; k < n && ok; k++) {
            int w = round % 2 ? k : n - 1 - k; /* first in turn: the one after a switch pays for it */
            int64_t todo = sp[w]->steps * round / ROUNDS - t[w].done; /* steps 0 .. up to this round's end */
            ok = trainer_steps(st, &t[w], todo);
            trainer_bl_steps(&t[w], todo);
        }
    for (int w = 0; ok && w < n; w++) trainer_report(st, &t[w]);
    for (int w = 0; w < opened; w++) trainer_close(&t[w]);
    return ok;
}

/* One timed evaluation pass of s: *dt seconds, *correct its count. 0 on
 * failure (st->err). */
static int eval_pass(bench_state *st, gf_session *s, const gf_feed *efeed, gf_node *acct, double *dt,
                     int64_t *correct)
{
    const gf_tensor *res;
    double t0 = bench_now();
    gf_status rc = gf_session_run(s, efeed, 2, &acct, 1, NULL, 0, &res);
    *dt = bench_now() - t0;
    if (rc != GF_OK) return bench_fail(st, "eval: %s", gf_session_error(s));
    *correct = (int64_t)gf_tensor_data(res)[0];
    return 1;
}

/* The one-thread session s's fastest of three passes on each of two CPUs
 * alone (on_cpu), and what that bounds two threads to over one on the
 * faster: 1 + fast/slow; 0 when two CPUs cannot be pinned, -1 on failure.
 * On a shared VM one vCPU can run slower than the other. */
static double cpu_bound(bench_state *st, gf_session *s, const gf_feed *efeed, gf_node *acct, double on_cpu[2])
{
    int n_cpu = 0;
    for (; n_cpu < 2 && bench_pin_nth(n_cpu); n_cpu++) {
        on_cpu[n_cpu] = 1e30;
        for (int p = 0; p < 3; p++) {
            double dt;
            int64_t correct;
            if (!eval_pass(st, s, efeed, acct, &dt, &correct)) {
                bench_unpin();
                return -1;
            }
            if (dt < on_cpu[n_cpu]) on_cpu[n_cpu] = dt;
        }
    }
    bench_unpin();
    if (n_cpu < 2) return 0;
    double fast = on_cpu[0] < on_cpu[1] ? on_cpu[0] : on_cpu[1];
    double slow = on_cpu[0] < on_cpu[1] ? on_cpu[1] : on_cpu[0];
    return 1 + fast / slow;
}

/* Forward passes (acct_res) over n images with 1, 2 (and N) threads and
 * by the baseline, taken in rounds: each round times one pass of each, so
 * that a machine whose speed drifts (a shared VM) affects all alike and
 * the speedups compare passes run side by side. */
int bench_run_eval(bench_state *st, int64_t n, int passes)
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
        bench_fail(st, "eval: %s", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    if (!bench_eval_rows(&st->src, n, &exd, &eyd, &repeated)) {
        bench_fail(st, "eval: out of memory");
        goto out;
    }
    ex = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, NPIX), exd, NULL);
    ey = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n, NCLS), eyd, NULL);
    if (!ex || !ey || gf_bl_init(&bl, 30, EVAL_BLOCK) != 0) {
        bench_fail(st, "eval: out of memory");
        goto out;
    }
    have_bl = 1;
    gf_feed efeed[] = { { net.a_0, ex }, { net.y, ey } };
    gf_plan_stats eps;
    int64_t correct[MAXC];
    double spent[MAXC] = { 0 }, best[MAXC], bl_s = 0, dt;
    /* Every session starts from the same seed, so from the same weights. */
    for (int c = 0; c < n_counts; c++) {
        s[c] = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = counts[c] });
        if (!s[c] || gf_session_status(s[c]) != GF_OK) {
            bench_fail(st, "eval: %s", s[c] ? gf_session_error(s[c]) : "out of memory");
            goto out;
        }
        if (gf_session_plan_stats(s[c], efeed, 2, &net.acct_res, 1, NULL, 0, &eps) != GF_OK) {
            bench_fail(st, "eval: %s", gf_session_error(s[c]));
            goto out;
        }
        if (!eval_pass(st, s[c], efeed, net.acct_res, &dt, &correct[c])) goto out; /* warm-up */
    }
    if (!copy_weights(s[0], &net, &bl)) {
        bench_fail(st, "eval: cannot read the initial weights");
        goto out;
    }
    int64_t bl_correct = gf_bl_eval(&bl, exd, eyd, n);
    for (int c = 0; c < n_counts; c++) best[c] = 1e30;
    /* Each round also runs the FMA chains ~2 ms on one thread and on two:
     * what two threads of pure arithmetic gain during the same rounds. */
    long trips = 100000;
    double fma1 = bench_fma_seconds(1, trips), fma2 = 0;
    trips = fma1 > 0 ? (long)((double)trips * 0.002 / fma1) + 1 : trips;
    fma1 = 0;
    for (int p = 0; p < passes; p++) {
        fma1 += bench_fma_seconds(1, trips);
        fma2 += bench_fma_seconds(2, trips);
        double t0 = bench_now();
        bl_correct = gf_bl_eval(&bl, exd, eyd, n);
        bl_s += bench_now() - t0;
        for (int c = 0; c < n_counts; c++) {
            if (!eval_pass(st, s[c], efeed, net.acct_res, &dt, &correct[c])) goto out;
            spent[c] += dt;
            if (dt < best[c]) best[c] = dt;
        }
    }
    bl_s /= passes;
    double on_cpu[2] = { 0, 0 }, bound = cpu_bound(st, s[0], efeed, net.acct_res, on_cpu);
    if (bound < 0) goto out;
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
        if (counts[c] == 2 && fma2 > 0) j_num(&j, "fma_speedup_2t", 2 * fma1 / fma2);
        j_num(&j, "baseline_seconds_per_pass", bl_s);
        j_num(&j, "ratio", per / bl_s);
        j_int(&j, "correct", correct[c]);
        j_int(&j, "baseline_correct", bl_correct);
        j_plan(&j, "plan", &eps);
        j_end(&j);

        row *r = bench_add_row(st);
        snprintf(r->name, sizeof r->name, "eval");
        r->threads = counts[c];
        r->train_s = -1;
        r->eval_s = per;
        r->gflops = g;
        r->peak_frac = g / st->pk.gflops;
        r->bl = bl_s;
        r->ratio = per / bl_s;
        r->speedup = speedup;
        r->peak_frac_best = eps.dense_flops / best[c] * 1e-9 / st->pk.gflops;
        r->speedup_best = best[0] / best[c];
        if (counts[c] == 2) {
            r->fma_speedup = fma2 > 0 ? 2 * fma1 / fma2 : 0;
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
/* The Deep MNIST network (models/cnn.c)                              */
/* ------------------------------------------------------------------ */

static gf_tensor *scalar_tensor(float v)
{
    gf_tensor *t = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    if (t) gf_tensor_data(t)[0] = v;
    return t;
}

int bench_run_cnn_train(bench_state *st, int64_t warm, int64_t steps)
{
    const bench_cfg *cfg = st->cfg;
    gf_cnn_net net = { 0 };
    gf_session *s = NULL;
    gf_tensor *bx = NULL, *by = NULL, *keep = NULL;
    batcher bt = { 0 };
    int ok = 0, have_bt = 0;
    const int64_t batch = GF_CNN_BATCH;
    if (gf_cnn_build(&net, 0) != GF_OK) {
        bench_fail(st, "cnn-train: %s", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    s = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = cfg->threads });
    if (!s || gf_session_status(s) != GF_OK) {
        bench_fail(st, "cnn-train: %s", s ? gf_session_error(s) : "out of memory");
        goto out;
    }
    have_bt = batcher_init(&bt, &st->src, batch, cfg->seed);
    if (have_bt) {
        bx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)batch, NPIX), bt.x, NULL);
        by = gf_tensor_wrap(GF_F32, gf_dims(2, (int)batch, NCLS), bt.y, NULL);
    }
    keep = scalar_tensor(GF_CNN_KEEP);
    if (!have_bt || !bx || !by || !keep) {
        bench_fail(st, "cnn-train: out of memory");
        goto out;
    }
    gf_feed feed[] = { { net.x, bx }, { net.y_, by }, { net.keep_prob, keep } };
    gf_plan_stats ps;
    if (gf_session_plan_stats(s, feed, 3, &net.cross_entropy, 1, &net.train_step, 1, &ps) != GF_OK) {
        bench_fail(st, "cnn-train: plan_stats: %s", gf_session_error(s));
        goto out;
    }
    double first_loss = 0, last_loss = 0, spent = 0;
    blocks blk;
    blocks_init(&blk, steps);
    for (int64_t i = -warm; i < steps; i++) { /* i < 0: warm-up, untimed */
        batcher_next(&bt);
        const gf_tensor *loss;
        double t0 = bench_now();
        gf_status rc = gf_session_run(s, feed, 3, &net.cross_entropy, 1, &net.train_step, 1, &loss);
        double dt = bench_now() - t0;
        if (rc != GF_OK) {
            bench_fail(st, "cnn-train: step %lld: %s", (long long)i, gf_session_error(s));
            goto out;
        }
        if (i == -warm) first_loss = gf_tensor_data(loss)[0];
        last_loss = gf_tensor_data(loss)[0];
        if (i < 0) continue;
        spent += dt;
        blocks_add(&blk, dt);
    }
    double us = 1e6 * spent / (double)steps, dense_g = ps.dense_flops * (double)steps / spent * 1e-9;
    jline j;
    j_begin(&j, "cnn-train");
    j_common(&j, st);
    j_int(&j, "batch", batch);
    j_num(&j, "keep_prob", GF_CNN_KEEP);
    j_num(&j, "rate", GF_CNN_LR);
    j_int(&j, "warmup_steps", warm);
    j_int(&j, "steps", steps);
    j_int(&j, "threads", cfg->threads);
    j_num(&j, "us_per_step", us);
    j_num(&j, "us_per_step_best_block", blk.best);
    j_num(&j, "us_per_image", us / (double)batch);
    j_num(&j, "train_seconds", spent);
    j_num(&j, "step_dense_flops", ps.dense_flops);
    j_num(&j, "step_other_flops", ps.other_flops);
    j_num(&j, "dense_gflops", dense_g);
    j_num(&j, "gflops", (ps.dense_flops + ps.other_flops) * (double)steps / spent * 1e-9);
    j_num(&j, "peak_gflops", st->pk.gflops * cfg->threads);
    j_num(&j, "peak_frac", dense_g / (st->pk.gflops * cfg->threads));
    j_num(&j, "peak_frac_best", ps.dense_flops / (blk.best * 1e-6) * 1e-9 / (st->pk.gflops * cfg->threads));
    j_num(&j, "first_loss", first_loss);
    j_num(&j, "last_loss", last_loss);
    j_plan(&j, "plan", &ps);
    j_end(&j);

    row *r = bench_add_row(st);
    snprintf(r->name, sizeof r->name, "cnn-train");
    r->threads = cfg->threads;
    r->has_steps = 1;
    r->us_per_step = us;
    r->us_best = blk.best;
    r->train_s = spent;
    r->eval_s = -1;
    r->gflops = dense_g;
    r->peak_frac = dense_g / (st->pk.gflops * cfg->threads);
    r->no_baseline = 1;
    ok = 1;
out:
    if (have_bt) batcher_free(&bt);
    gf_tensor_free(bx);
    gf_tensor_free(by);
    gf_tensor_free(keep);
    gf_session_free(s);
    gf_graph_free(net.g);
    return ok;
}

int bench_run_cnn_eval(bench_state *st, int64_t n, int passes)
{
    enum { MAXC = 3 };
    const bench_cfg *cfg = st->cfg;
    gf_cnn_net net = { 0 };
    gf_session *s[MAXC] = { NULL };
    gf_tensor *cx = NULL, *cy = NULL, *one = NULL;
    int ok = 0, repeated;
    float *ex, *ey;
    int counts[MAXC] = { 1, 2, cfg->threads }, n_counts = cfg->threads > 2 ? 3 : 2;
    const int64_t chunk = n < GF_CNN_EVAL_BATCH ? n : GF_CNN_EVAL_BATCH;

    if (gf_cnn_build(&net, 0) != GF_OK) {
        bench_fail(st, "cnn-eval: %s", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    if (!bench_eval_rows(&st->src, n, &ex, &ey, &repeated)) {
        bench_fail(st, "cnn-eval: out of memory");
        goto out;
    }
    /* The plan of one full run of `chunk` images: its FLOPs, per image. */
    cx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)chunk, NPIX), ex, NULL);
    cy = gf_tensor_wrap(GF_F32, gf_dims(2, (int)chunk, NCLS), ey, NULL);
    one = scalar_tensor(1.0f);
    if (!cx || !cy || !one) {
        bench_fail(st, "cnn-eval: out of memory");
        goto out;
    }
    gf_feed cfeed[] = { { net.x, cx }, { net.y_, cy }, { net.keep_prob, one } };
    gf_plan_stats eps;
    int64_t correct[MAXC];
    double spent[MAXC] = { 0 }, best[MAXC];
    /* Every session starts from the same seed, so from the same weights. */
    for (int c = 0; c < n_counts; c++) {
        s[c] = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = counts[c] });
        if (!s[c] || gf_session_status(s[c]) != GF_OK) {
            bench_fail(st, "cnn-eval: %s", s[c] ? gf_session_error(s[c]) : "out of memory");
            goto out;
        }
        if (gf_session_plan_stats(s[c], cfeed, 3, &net.correct, 1, NULL, 0, &eps) != GF_OK ||
            gf_cnn_count_correct(&net, s[c], ex, ey, chunk, chunk, &correct[c]) != GF_OK) { /* warm-up */
            bench_fail(st, "cnn-eval: %s", gf_session_error(s[c]));
            goto out;
        }
        best[c] = 1e30;
    }
    double flops = eps.dense_flops / (double)chunk * (double)n, other = eps.other_flops / (double)chunk * (double)n;
    for (int p = 0; p < passes; p++)
        for (int c = 0; c < n_counts; c++) {
            double t0 = bench_now();
            gf_status rc = gf_cnn_count_correct(&net, s[c], ex, ey, n, chunk, &correct[c]);
            double dt = bench_now() - t0;
            if (rc != GF_OK) {
                bench_fail(st, "cnn-eval: %s", gf_session_error(s[c]));
                goto out;
            }
            spent[c] += dt;
            if (dt < best[c]) best[c] = dt;
        }
    for (int c = 0; c < n_counts; c++) {
        double per = spent[c] / passes, g = flops / per * 1e-9, top = st->pk.gflops * counts[c];
        jline j;
        j_begin(&j, "cnn-eval");
        j_common(&j, st);
        j_int(&j, "threads", counts[c]);
        j_int(&j, "images", n);
        j_int(&j, "batch", chunk);
        j_bool(&j, "repeated", repeated);
        j_int(&j, "passes", passes);
        j_num(&j, "seconds_per_pass", per);
        j_num(&j, "seconds_per_pass_best", best[c]);
        j_num(&j, "us_per_image", 1e6 * per / (double)n);
        j_num(&j, "dense_flops", flops);
        j_num(&j, "other_flops", other);
        j_num(&j, "dense_gflops", g);
        j_num(&j, "gflops", (flops + other) / per * 1e-9);
        j_num(&j, "peak_gflops", top);
        j_num(&j, "peak_frac", g / top);
        j_num(&j, "peak_frac_best", flops / best[c] * 1e-9 / top);
        j_num(&j, "speedup_vs_1_thread", spent[0] / spent[c]);
        j_num(&j, "speedup_best", best[0] / best[c]);
        j_int(&j, "correct", correct[c]);
        j_plan(&j, "plan", &eps);
        j_end(&j);

        row *r = bench_add_row(st);
        snprintf(r->name, sizeof r->name, "cnn-eval");
        r->threads = counts[c];
        r->train_s = -1;
        r->eval_s = per;
        r->gflops = g;
        r->peak_frac = g / top;
        r->peak_frac_best = flops / best[c] * 1e-9 / top;
        r->speedup = spent[0] / spent[c];
        r->speedup_best = best[0] / best[c];
        r->repeated = repeated;
        r->no_baseline = 1;
    }
    ok = 1;
out:
    gf_tensor_free(cx);
    gf_tensor_free(cy);
    gf_tensor_free(one);
    for (int c = 0; c < MAXC; c++) gf_session_free(s[c]);
    gf_graph_free(net.g);
    return ok;
}
