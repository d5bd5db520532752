/*
 * bench_loop.c — `gradflow bench`'s w1-loop: what a user's training loop
 * costs, batches included (bench_workloads.h). The other training
 * workloads draw their batches untimed; here next_batch is timed with the
 * step, and reported on its own too.
 */
#include <stdio.h>
#include <string.h>

#include "article.h"
#include "bench_workloads.h"

#define LOOP_BATCH 10
#define LOOP_HIDDEN 30
#define LOOP_RATE 0.1f
#define LOOP_EVAL 1000

/* A fresh dataset of the training images: a view of the loaded folder's
 * (nothing copied, its own epoch and shuffle), or the generated arrays,
 * borrowed. *kind says which. */
static gf_status loop_dataset(bench_state *st, gf_dataset **d, gf_dataset **none, const char **kind)
{
    source *src = &st->src;
    *d = *none = NULL;
    if (src->m) {
        *kind = "idx";
        gf_status rc = gf_dataset_split(src->m->train, 0, none, d);
        if (rc != GF_OK) bench_fail(st, "w1-loop: %s", gf_dataset_error(src->m->train));
        return rc;
    }
    *kind = "arrays";
    gf_tensor *x = gf_tensor_wrap(GF_F32, gf_dims(2, (int)src->n_train, NPIX), src->train_x, NULL);
    gf_tensor *y = gf_tensor_wrap(GF_F32, gf_dims(2, (int)src->n_train, NCLS), src->train_y, NULL);
    gf_error err = { 0 };
    gf_status rc = x && y ? gf_dataset_from_arrays(x, y, &(gf_dataset_options){ .seed = st->cfg->seed, .borrow = 1 },
                                                   d, &err)
                          : GF_ERR_NOMEM;
    if (rc != GF_OK) bench_fail(st, "w1-loop: %s", x && y ? err.message : "out of memory");
    gf_tensor_free(x);
    gf_tensor_free(y);
    return rc;
}

int bench_run_w1_loop(bench_state *st, int64_t steps)
{
    const bench_cfg *cfg = st->cfg;
    gf_article_net net = { 0 };
    gf_session *s = NULL;
    gf_dataset *d = NULL, *none = NULL;
    gf_tensor *ex = NULL, *ey = NULL;
    const char *kind = "";
    int ok = 0, repeated = 0;
    float *exd, *eyd;
    if (gf_article_build_autodiff(&net, LOOP_HIDDEN, LOOP_RATE) != GF_OK) {
        bench_fail(st, "w1-loop: %s", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    s = gf_session_new(net.g, &(gf_session_options){ .seed = cfg->seed, .threads = cfg->threads });
    if (!s || gf_session_status(s) != GF_OK) {
        bench_fail(st, "w1-loop: %s", s ? gf_session_error(s) : "out of memory");
        goto out;
    }
    if (loop_dataset(st, &d, &none, &kind) != GF_OK) goto out;
    int64_t n_eval = LOOP_EVAL < st->src.n_test ? LOOP_EVAL : st->src.n_test;
    if (!bench_eval_rows(&st->src, n_eval, &exd, &eyd, &repeated) ||
        !(ex = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n_eval, NPIX), exd, NULL)) ||
        !(ey = gf_tensor_wrap(GF_F32, gf_dims(2, (int)n_eval, NCLS), eyd, NULL))) {
        bench_fail(st, "w1-loop: out of memory");
        goto out;
    }

    double batch_s = 0, run_s = 0;
    blocks blk, batch_blk;
    blocks_init(&blk, steps);
    blocks_init(&batch_blk, steps);
    gf_plan_stats ps = { 0 };
    for (int64_t i = -1; i < steps; i++) { /* i < 0: warm-up (the first shuffle, the plan), untimed */
        const gf_tensor *bx, *by;
        double t0 = bench_now();
        gf_status rc = gf_dataset_next_batch(d, LOOP_BATCH, &bx, &by);
        double t1 = bench_now();
        if (rc != GF_OK) {
            bench_fail(st, "w1-loop: next_batch: %s", gf_dataset_error(d));
            goto out;
        }
        gf_feed feed[] = { { net.a_0, bx }, { net.y, by } };
        rc = gf_session_run(s, feed, 2, NULL, 0, net.step, net.n_step, NULL);
        double t2 = bench_now();
        if (rc == GF_OK && i < 0) rc = gf_session_plan_stats(s, feed, 2, NULL, 0, net.step, net.n_step, &ps);
        if (rc != GF_OK) {
            bench_fail(st, "w1-loop: step %lld: %s", (long long)i, gf_session_error(s));
            goto out;
        }
        if (i < 0) continue;
        batch_s += t1 - t0;
        run_s += t2 - t1;
        blocks_add(&blk, t2 - t0);
        blocks_add(&batch_blk, t1 - t0);
    }
    gf_feed efeed[] = { { net.a_0, ex }, { net.y, ey } };
    const gf_tensor *res;
    if (gf_session_run(s, efeed, 2, &net.acct_res, 1, NULL, 0, &res) != GF_OK) {
        bench_fail(st, "w1-loop: evaluation: %s", gf_session_error(s));
        goto out;
    }
    int64_t correct = (int64_t)gf_tensor_data(res)[0];

    double total_s = batch_s + run_s, n = (double)steps;
    double us = 1e6 * total_s / n, dense_g = ps.dense_flops * n / total_s * 1e-9;
    int64_t examples = steps * LOOP_BATCH;
    jline j;
    j_begin(&j, "w1-loop");
    j_str(&j, "data", st->src.kind);
    j_str(&j, "dataset", kind);
    j_int(&j, "hidden", LOOP_HIDDEN);
    j_str(&j, "step", "autodiff");
    j_num(&j, "rate", LOOP_RATE);
    j_int(&j, "batch", LOOP_BATCH);
    j_int(&j, "steps", steps);
    j_int(&j, "threads", cfg->threads);
    j_int(&j, "examples", examples);
    j_num(&j, "epochs", (double)examples / (double)st->src.n_train);
    j_int(&j, "dataset_epochs", gf_dataset_epochs(d));
    j_bool(&j, "cycled", examples > st->src.n_train);
    j_num(&j, "us_per_step", us);
    j_num(&j, "us_per_step_best_block", blk.best);
    j_num(&j, "next_batch_us", 1e6 * batch_s / n);
    j_num(&j, "next_batch_us_best_block", batch_blk.best);
    j_num(&j, "run_us", 1e6 * run_s / n);
    j_num(&j, "next_batch_frac", batch_s / total_s);
    j_num(&j, "train_seconds", total_s);
    j_num(&j, "step_dense_flops", ps.dense_flops);
    j_num(&j, "step_other_flops", ps.other_flops);
    j_num(&j, "dense_gflops", dense_g);
    j_num(&j, "peak_gflops", st->pk.gflops);
    j_num(&j, "peak_frac", dense_g / st->pk.gflops);
    j_int(&j, "eval_images", n_eval);
    j_int(&j, "correct", correct);
    j_plan(&j, "plan", &ps);
    j_end(&j);

    row *r = bench_add_row(st);
    snprintf(r->name, sizeof r->name, "w1-loop");
    r->threads = cfg->threads;
    r->has_steps = 1;
    r->us_per_step = us;
    r->us_best = blk.best;
    r->train_s = total_s;
    r->eval_s = -1;
    r->gflops = dense_g;
    r->peak_frac = dense_g / st->pk.gflops;
    r->peak_frac_best = ps.dense_flops / (blk.best * 1e-6) * 1e-9 / st->pk.gflops;
    r->batch_us = 1e6 * batch_s / n;
    r->batch_us_best = batch_blk.best;
    r->cycled = examples > st->src.n_train;
    r->no_baseline = 1;
    ok = 1;
out:
    gf_tensor_free(ex);
    gf_tensor_free(ey);
    gf_dataset_free(d);
    gf_dataset_free(none);
    gf_session_free(s);
    gf_graph_free(net.g);
    return ok;
}
