/*
 * bench_workloads.h — the workloads of `gradflow bench` (cmd_bench.c): the
 * article's training runs and the evaluation, timed on the graph and as C.
 */
#ifndef GF_BENCH_WORKLOADS_H
#define GF_BENCH_WORKLOADS_H

#include <stdint.h>

#include "bench_support.h"

#define EVAL_BLOCK 1000 /* rows per block of the baseline's evaluation */

/* What the command line asked for. */
typedef struct bench_cfg {
    const char *data_dir;
    int generated, quick, json, threads;
    uint64_t seed;
    unsigned only; /* bit per workload; 0: all */
} bench_cfg;

enum { W1_MANUAL, W1_AUTODIFF, W2, W3, WEVAL, CNN_TRAIN, CNN_EVAL, W1_LOOP, CNN_DP, N_WORKLOADS };

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
    /* The same figures from the fastest block of steps (us_per_step_best_block)
     * or pass (seconds_per_pass_best): the machine least disturbed. */
    double us_best, peak_frac_best, speedup_best;
    double bound;       /* eval, 2 threads: 1 + fast/slow of the two CPUs alone (0: not measured) */
    double on_cpu[2];   /* ... from these one-thread passes, seconds */
    double fma_speedup; /* eval, 2 threads: the FMA chains' gain on two threads, same rounds */
    int cycled, repeated;
    int no_baseline;    /* cnn rows, w1-loop: no plain-C baseline (bl, ratio unset) */
    double batch_us, batch_us_best; /* w1-loop: next_batch's share of a step, mean and fastest block */
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

/* Sets st->err (printf-style); returns 0, for `return fail(...)`. */
int bench_fail(bench_state *st, const char *fmt, ...);

/* A new, zeroed row of the closing table (the last one over again when
 * the table is full). */
row *bench_add_row(bench_state *st);

/* The fastest of ten equal blocks of steps, in us per step: a figure less
 * disturbed by other processes than the mean over all steps. */
typedef struct blocks {
    int64_t per, in;
    double sum, best; /* best: -1 until a block is complete */
} blocks;
void blocks_init(blocks *b, int64_t steps);
/* One step of `seconds`. */
void blocks_add(blocks *b, double seconds);

/* Runs n (1 or 2) training workloads side by side, in 50 rounds of a
 * fiftieth of their steps: each workload's graph block, then its
 * baseline's.
 * Adds a JSON line and a table row per workload; 0 on failure (st->err). */
int bench_run_train(bench_state *st, const train_spec *const *sp, int n);

/* Forward passes (acct_res) over n images with 1, 2 (and cfg->threads)
 * threads and by the baseline, in rounds of one pass each; then the
 * one-thread pass on each of two CPUs alone. Adds a line and row per
 * thread count; 0 on failure (st->err). */
int bench_run_eval(bench_state *st, int64_t n, int passes);

/* cnn-train: the Deep MNIST network's training step (batch 50, dropout
 * 0.5, Adam), `steps` steps timed after `warm` untimed ones. Adds a line
 * and a row; 0 on failure (st->err). */
int bench_run_cnn_train(bench_state *st, int64_t warm, int64_t steps);

/* cnn-eval: the same network counting its correct answers on n images,
 * GF_CNN_EVAL_BATCH per run, with 1, 2 (and cfg->threads) threads, in
 * rounds of one pass each. Adds a line and row per thread count; 0 on
 * failure (st->err). */
int bench_run_cnn_eval(bench_state *st, int64_t n, int passes);

/* w1-loop (bench_loop.c): a user's training loop as it runs, timed whole:
 * gf_dataset_next_batch(10) from a gf_dataset of the training images
 * (the loaded folder's, kept as bytes; with generated images, one made by
 * gf_dataset_from_arrays) and the article's autodiff step (784-30-10,
 * gradient descent 0.1), `steps` steps after one untimed one; then one
 * evaluation of 1000 test images, untimed. Adds a line and a row; 0 on
 * failure (st->err). */
int bench_run_w1_loop(bench_state *st, int64_t steps);
/* cnn-dp (bench_dp.c): the Deep MNIST training step at a global batch
 * of 100 on one process and on 2 ranks under mpirun (gradflow bench
 * started again as those ranks), and the all-reduce of each model's
 * parameter count; `steps` steps timed after `warm`. Adds a line and a
 * row (speedup: one rank's time over the ranks'); a line saying why when
 * gradflow was built without MPI. 0 on failure (st->err). */
int bench_run_cnn_dp(bench_state *st, int64_t warm, int64_t steps);
/* The same workload's part as one of the ranks (gradflow bench started by
 * mpirun): rank 0 prints the "cnn-dp-ranks" line. 0 on failure. */
int bench_dp_rank_main(bench_state *st, int64_t warm, int64_t steps);

#endif
