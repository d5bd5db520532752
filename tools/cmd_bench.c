/*
 * cmd_bench.c — `gradflow bench`: times the article's workloads on the graph
 * and as plain C, against this machine's measured FMA peak; JSON lines + table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_baseline.h"
#include "bench_workloads.h"
#include "cli.h"
#include "mpi_group.h"
#include "opts.h"


static const char bench_intro[] =
    "Times the article's workloads (docs/article.md) run by the graph, and the\n"
    "same arithmetic written as plain C loops (the in-run baseline), on one core:\n"
    "  w1-manual    784-30-10, manual step (eta 0.5): 10,000 steps of batch 10 and\n"
    "               ten evaluations of 1000 test images, as the article\n"
    "  w1-autodiff  the same with the autodiff step (gradient descent, lr 0.1)\n"
    "  w2           784-30-10, manual step: one epoch of 60,000 examples at batch\n"
    "               10, then one 10,000-image evaluation\n"
    "  w3           784-100-10, manual step (eta 0.05): one epoch of 60,000 at\n"
    "               batch 100\n"
    "  eval         acct_res over 10,000 images with 1 and 2 threads, a pass\n"
    "               of each in turn (so both see the machine in one state)\n"
    "  cnn-train    the Deep MNIST network (docs/deep-mnist.md): its training\n"
    "               step at batch 50 (dropout 0.5, Adam), 200 steps timed after\n"
    "               5 untimed ones (--only cnn runs cnn-train and cnn-eval)\n"
    "  cnn-eval     the same network counting its correct answers on 10,000\n"
    "               images, 100 per run, with 1 and 2 threads, in rounds of one\n"
    "               pass each\n"
    "  w1-loop      a user's loop, timed whole: gf_dataset_next_batch(10) from a\n"
    "               dataset of the training images (the data folder's, kept as\n"
    "               bytes; generated images: one made from arrays) and the\n"
    "               w1-autodiff step, 10,000 steps; us_per_step is both,\n"
    "               next_batch_us the part spent in next_batch (no baseline)\n"
    "  cnn-dp       data-parallel training of the same network at a global batch\n"
    "               of 100: one process, then 2 ranks of 50 under mpirun (this\n"
    "               command started again as the ranks), 20 steps each after 3\n"
    "               untimed, in 3 alternating rounds (speedup: the median of\n"
    "               the rounds' ratios), and the all-reduce of each model's\n"
    "               parameter count (article 23,860, softmax 79,510, cnn\n"
    "               3,274,634 floats; and one float, the latency) on the 2\n"
    "               ranks (docs/scaling.md);\n"
    "               fma_two_thread_gain: what two threads of the peak's FMA\n"
    "               loop gain over one between those runs, the most 2 ranks\n"
    "               can gain on a machine that others share\n"
    "\n"
    "Output: one JSON object per line on stdout (an \"info\" line, a \"peak\" line,\n"
    "one per workload and per thread count for eval, and a \"targets\" line that\n"
    "checks the speed targets on what ran), then a readable table on stderr\n"
    "(not with --json). GFLOP/s count the matmul FLOPs of the plan as written\n"
    "(gf_session_plan_stats dense_flops; a convolution counts its direct sum's\n"
    "2*M*K*O whatever runs it, and Winograd's transforms multiply less, so\n"
    "its rates are effective ones); peak_frac divides them by this core's\n"
    "peak, measured at startup with a short FMA loop on the widest vector unit\n"
    "the CPU has (the peak line's unit: avx512, avx2 or portable; isa lists\n"
    "the CPU's instruction set, gemm_unit what the kernels use after\n"
    "GF_NO_SIMD=1 or GF_NO_AVX512=1; with avx512 the 256-bit loop's figure is\n"
    "gflops_avx2, for comparison only); ratio is graph time over\n"
    "baseline time (below 1: the graph is faster; the baseline is always one\n"
    "thread, built for AVX2+FMA when the CPU has them; the cnn workloads have\n"
    "none, and their peak_frac divides by the peak times the threads used).\n"
    "Training runs in\n"
    "50 rounds: in each, a fiftieth of the graph's steps, then the same of\n"
    "the baseline's, w1-manual's then w1-autodiff's when both run, so that\n"
    "a machine whose speed drifts affects all alike. Training steps and\n"
    "evaluations are timed separately, after one untimed warm-up of each;\n"
    "us_per_step is the mean over all steps, us_per_step_best_block the\n"
    "fastest tenth of the run (less disturbed by other processes), and\n"
    "eval's seconds_per_pass the mean, seconds_per_pass_best the fastest;\n"
    "drawing the batches (TensorFlow's next_batch: reshuffled every epoch,\n"
    "cycling when a workload needs more examples than the data has, as on\n"
    "the 10,000-digit subset: \"cycled\") is not timed, except by w1-loop,\n"
    "which exists to time it; evaluations of more\n"
    "images than the test set has repeat it (\"eval_repeated\", \"repeated\").\n"
    "The graph and the baseline see the same batches and start from the same\n"
    "weights (\"correct\" and \"baseline_correct\" agree to rounding).\n";

static const char bench_epilog[] = "Exit status: 0 success, 1 failure (a run failed), 2 usage error.\n";

static const char *const workload_names[N_WORKLOADS] = { "w1-manual", "w1-autodiff", "w2", "w3",
                                                          "eval", "cnn-train", "cnn-eval", "w1-loop", "cnn-dp" };

/* ------------------------------------------------------------------ */
/* The speed targets, checked on what ran                             */
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

/* One target: value `op` limit, op "<=" or ">=". best (< 0: none) is
 * the same figure from the fastest block or pass, said beside it. */
static void target(target_list *t, const char *key, double value, double best, const char *op, double limit)
{
    int met = op[0] == '<' ? value <= limit : value >= limit;
    int met_best = op[0] == '<' ? best <= limit : best >= limit;
    j_key(&t->j, key);
    j_raw(&t->j, "{\"value\":%.4g,", value);
    if (best >= 0) j_raw(&t->j, "\"best\":%.4g,\"met_best\":%s,", best, met_best ? "true" : "false");
    j_raw(&t->j, "\"target\":\"%s %g\",\"met\":%s}", op, limit, met ? "true" : "false");
    t->met += met;
    t->total++;
    char b[48] = "";
    if (best >= 0) snprintf(b, sizeof b, "%9.3g  %-7s", best, met_best ? "met" : "NOT MET");
    if (t->len < sizeof t->text) {
        int n = snprintf(t->text + t->len, sizeof t->text - t->len, "  %-24s %9.3g  %s %-6g %-7s  %s\n",
                         key, value, op, limit, met ? "met" : "NOT MET", b);
        if (n > 0) t->len += (size_t)n;
    }
}

/* How far apart two times are: the larger over the smaller, less 1. */
static double spread(double x, double y)
{
    return x < y ? y / x - 1 : x / y - 1;
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
        target(&t, "w1_manual_us_per_step", m->us_per_step, m->us_best, "<=", 15);
        target(&t, "w1_manual_peak_frac", m->peak_frac, m->peak_frac_best, ">=", 0.65);
    }
    if (a) {
        target(&t, "w1_autodiff_us_per_step", a->us_per_step, a->us_best, "<=", 15);
        target(&t, "w1_autodiff_peak_frac", a->peak_frac, a->peak_frac_best, ">=", 0.65);
    }
    if (m && a)
        target(&t, "w1_spread", spread(m->us_per_step, a->us_per_step), spread(m->us_best, a->us_best), "<=",
               0.10);
    if (w3) target(&t, "w3_peak_frac", w3->peak_frac, w3->peak_frac_best, ">=", 0.75);
    const row *loop = find_row(st, "w1-loop", 1);
    if (loop) target(&t, "w1_loop_next_batch_us", loop->batch_us, loop->batch_us_best, "<=", 1.5);
    if (e1) target(&t, "eval_1t_peak_frac", e1->peak_frac, e1->peak_frac_best, ">=", 0.70);
    if (e2) target(&t, "eval_2t_speedup", e2->speedup, e2->speedup_best, ">=", 1.7);
    const row *dp = find_row(st, "cnn-dp", -1);
    if (dp) target(&t, "cnn_dp_speedup", dp->speedup, dp->speedup_best, ">=", 1.6);
    double worst = 0;
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        if (r->ratio > worst) worst = r->ratio;
        if (r->eval_ratio > worst) worst = r->eval_ratio;
    }
    if (st->n_rows) target(&t, "worst_ratio", worst, -1, "<=", 1.0);
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
    fprintf(f, "peak: %.1f GFLOP/s on one core, %s (%s)", st->pk.gflops, st->pk.unit, st->pk.kind);
    if (st->pk.gflops_avx2 > 0) fprintf(f, "; the 256-bit loop: %.1f", st->pk.gflops_avx2);
    fprintf(f, "\ncpu: %s; kernels: %s\n", st->pk.isa, st->pk.gemm_unit);
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
        if (r->no_baseline) snprintf(bl, sizeof bl, "-");
        char ratio[16] = "-";
        if (!r->no_baseline) snprintf(ratio, sizeof ratio, "%.2f", r->ratio);
        if (r->eval_s >= 0) {
            if (r->has_steps) snprintf(ev, sizeof ev, "%.3f", r->eval_s);
            else snprintf(ev, sizeof ev, "%.2f ms", 1e3 * r->eval_s);
        }
        fprintf(f, "%-12s %3d %9s %9s %9s %10.1f %5.0f%% %12s %7s\n", r->name, r->threads, us,
                tr, ev, r->gflops, 100 * r->peak_frac, bl, ratio);
    }
    fprintf(f, "\n(w* rows: GF/s and %%peak of the training steps; eval s of w1 is the\n"
               "total of its evaluations. eval rows: time per pass; baseline is one thread.\n"
               "cnn rows: %%peak of the peak times the threads; no baseline.)\n");
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
        if (strcmp(r->name, "eval") || r->threads != 2) continue;
        fprintf(f, "eval with 2 threads: %.2fx one thread", r->speedup);
        if (r->fma_speedup > 0)
            fprintf(f, "; pure arithmetic (the peak's FMA loop)\n  gained %.2fx on two threads over the same rounds",
                    r->fma_speedup);
        if (r->bound > 0)
            fprintf(f, ".\nOne thread alone on each CPU: %.2f and %.2f ms a pass, so two threads\n"
                       "  can gain at most %.2fx here",
                    1e3 * r->on_cpu[0], 1e3 * r->on_cpu[1], r->bound);
        fprintf(f, ".\n");
    }
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        if (!strcmp(r->name, "cnn-dp"))
            fprintf(f, "cnn-dp: %d ranks of 50 images, %.1f ms a step, against %.1f ms for one process\n"
                       "  with the batch of 100: %.2fx (fastest tenth: %.2fx); the all-reduce of the\n"
                       "  CNN's 3,274,634 floats takes %.2f ms of it. Two threads of pure arithmetic\n"
                       "  gained %.2fx over one in the same minutes: the most two ranks can gain now.\n",
                    r->threads, 1e-3 * r->us_per_step, 1e-3 * r->bl, r->speedup, r->speedup_best,
                    1e-3 * r->on_cpu[0], r->fma_speedup);
    }
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        if (!strcmp(r->name, "cnn-eval") && r->threads != 1)
            fprintf(f, "cnn-eval with %d threads: %.2fx one thread (fastest passes: %.2fx).\n", r->threads,
                    r->speedup, r->speedup_best);
    }
    for (int i = 0; i < st->n_rows; i++) {
        const row *r = &st->rows[i];
        if (!strcmp(r->name, "w1-loop"))
            fprintf(f, "w1-loop: next_batch %.2f us of the %.2f us of a step (fastest block: %.2f of %.2f).\n",
                    r->batch_us, r->us_per_step, r->batch_us_best, r->us_best);
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
        fprintf(f, "\ntargets (single core; last columns: the fastest block or pass):\n%s",
                st->targets_text);
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
        if (!strcmp(tok, "cnn")) {
            *mask |= 1u << CNN_TRAIN | 1u << CNN_EVAL;
            continue;
        }
        int k = 0;
        while (k < N_WORKLOADS && strcmp(tok, workload_names[k])) k++;
        if (k == N_WORKLOADS) {
            fprintf(stderr, "gradflow bench: unknown workload '%s' in --only (expected "
                            "w1-manual, w1-autodiff, w1, w1-loop, w2, w3, eval, cnn-train, cnn-eval, "
                            "cnn or cnn-dp)\n", tok);
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
    const char *only = NULL;
    int64_t threads = 1, seed = 1;
    gf_opt opts[] = {
        GF_OPT_S("--data", "DIR",
                 "MNIST folder (default data/mnist). When it cannot be read,\n"
                 "Fashion-MNIST in " FASHION_DIR "\n"
                 "is used if present, else generated images (81% zero\n"
                 "pixels, as MNIST) with random labels; the \"data\" field\n"
                 "says which",
                 &cfg.data_dir),
        GF_OPT_F("--generated", "use generated images whatever is on disk", &cfg.generated),
        GF_OPT_S("--only", "LIST", "run only these workloads, comma-separated (w1 = w1-manual\nand w1-autodiff, cnn = cnn-train and cnn-eval)", &only),
        GF_OPT_F("--quick", "a tenth of the steps, evaluations and images (smoke test)", &cfg.quick),
        GF_OPT_I("--threads", "N", 1, 256,
                 "threads of the training sessions (default 1); eval also\nruns with N threads when N > 2", &threads),
        GF_OPT_I("--seed", "N", 0, INT64_MAX, "seed of the weights and of the shuffling (default 1)", &seed),
        GF_OPT_F("--json", "JSON lines only, no table", &cfg.json),
    };
    gf_cmd_spec spec = { "bench", "gradflow bench [OPTIONS]", bench_intro, bench_epilog, opts, GF_OPTS_N(opts) };
    int parsed = gf_opts_parse_only(&spec, argc, argv);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (only && !parse_only(only, &cfg.only)) return GF_EXIT_USAGE;
    cfg.threads = (int)threads;
    cfg.seed = (uint64_t)seed;
    unsigned want = cfg.only ? cfg.only : (1u << N_WORKLOADS) - 1;

    int rank = 0;
    if (gf_mpi_launched(&rank) > 1 && want != 1u << CNN_DP) {
        if (rank == 0)
            fprintf(stderr, "gradflow bench: under mpirun, bench runs as the ranks of --only cnn-dp only; run "
                            "'gradflow bench --only cnn-dp' alone and it starts them\n");
        return GF_EXIT_USAGE;
    }
    bench_state st = { .cfg = &cfg };
    if (!bench_open_source(&st.src, cfg.data_dir, cfg.generated, cfg.quick, cfg.seed)) {
        fprintf(stderr, "gradflow bench: out of memory for the data\n");
        return GF_EXIT_FAIL;
    }
    if (gf_mpi_launched(NULL) > 1) { /* one of cnn-dp's ranks */
        int ok = bench_dp_rank_main(&st, cfg.quick ? 1 : 3, cfg.quick ? 3 : 20);
        bench_close_source(&st.src);
        return ok ? GF_EXIT_OK : GF_EXIT_FAIL;
    }
    st.pk = bench_measure_peak();

    const char *no_simd = getenv("GF_NO_SIMD"), *no_avx512 = getenv("GF_NO_AVX512"), *disable = getenv("GRADFLOW_DISABLE");
    jline j;
    j_begin(&j, "info");
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", GF_VERSION_MAJOR, GF_VERSION_MINOR,
             GF_VERSION_PATCH);
    j_str(&j, "version", version);
    j_str(&j, "data", st.src.kind);
    j_str(&j, "data_dir", st.src.dir);
    if (*st.src.note) j_str(&j, "data_note", st.src.note);
    j_int(&j, "train_images", st.src.n_train);
    j_int(&j, "test_images", st.src.n_test);
    j_bool(&j, "quick", cfg.quick);
    j_int(&j, "threads", cfg.threads);
    j_int(&j, "seed", (long long)cfg.seed);
    j_str(&j, "baseline_build", gf_bl_uses_avx2() ? "avx2-fma" : "portable");
    if (no_simd) j_str(&j, "GF_NO_SIMD", no_simd);
    if (no_avx512) j_str(&j, "GF_NO_AVX512", no_avx512);
    if (disable) j_str(&j, "GRADFLOW_DISABLE", disable);
    j_end(&j);
    j_begin(&j, "peak");
    j_str(&j, "kind", st.pk.kind);
    j_str(&j, "unit", st.pk.unit);
    j_str(&j, "isa", st.pk.isa);
    j_str(&j, "gemm_unit", st.pk.gemm_unit);
    j_num(&j, "gflops", st.pk.gflops);
    if (st.pk.gflops_avx2 > 0) j_num(&j, "gflops_avx2", st.pk.gflops_avx2);
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
        int ok = w == WEVAL       ? bench_run_eval(&st, 10000 / div, cfg.quick ? 2 : 10)
                 : w == CNN_TRAIN ? bench_run_cnn_train(&st, cfg.quick ? 2 : 5, 200 / div)
                 : w == CNN_EVAL  ? bench_run_cnn_eval(&st, cfg.quick ? 500 : 10000, cfg.quick ? 1 : 3)
                 : w == W1_LOOP   ? bench_run_w1_loop(&st, 10000 / div)
                 : w == CNN_DP    ? bench_run_cnn_dp(&st, cfg.quick ? 1 : 3, cfg.quick ? 3 : 20)
                                  : bench_run_train(&st, group, n);
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
