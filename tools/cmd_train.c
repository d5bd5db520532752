/*
 * cmd_train.c — `gradflow train`: trains the article's network on an MNIST
 * folder and prints each evaluation, as text or as JSON lines; saves and
 * resumes checkpoints.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "article.h"
#include "zoo.h"
#include "cli.h"
#include "atomic_file.h"
#include "ckpt_cli.h"
#include "plot_svg.h"
#include "progress.h"

static void train_usage(FILE *f)
{
    fprintf(f,
        "usage: gradflow train [OPTIONS]\n"
        "\n"
        "Trains the article's 784-H-10 sigmoid network (REFERENCE.md) with mini-batch\n"
        "gradient descent and prints the number of correct answers on the first test\n"
        "images every N steps.\n"
        "\n"
        "Options:\n"
        "  --model article    the article's 784-H-10 sigmoid network (default)\n"
        "  --model softmax    784-H-10 with a relu hidden layer, softmax cross-entropy\n"
        "                     and Adam (examples/mnist_softmax.c); its defaults:\n"
        "                     --hidden 100 --batch 16, 10 epochs, an evaluation of\n"
        "                     the whole test set after each, Adam's lr 0.001; it\n"
        "                     trains on all training images (no validation split)\n"
        "  --step manual      the back-propagation step written by hand (default)\n"
        "  --step autodiff    the step derived by gf_gradients: gradient descent on\n"
        "                     the summed squared error (the article's second half)\n"
        "  --data DIR         MNIST folder (default data/mnist; fill it with\n"
        "                     scripts/get-mnist DIR)\n"
        "  --hidden N         hidden units (default 30)\n"
        "  --batch N          examples per step (default 10)\n"
        "  --steps N          training steps (default 10000)\n"
        "  --eta X            learning rate of the manual step (default 0.5)\n"
        "  --lr X             learning rate of the autodiff step (default 0.1), or\n"
        "                     of Adam for --model softmax\n"
        "  --eval-every N     evaluate after every N-th step (default 1000)\n"
        "  --eval-size N      test images per evaluation (default 1000)\n"
        "  --seed N           seed for initial weights and shuffling (default 1)\n"
        "  --json             one JSON object per line instead of text\n"
        "  --check-numerics   check every op's result for NaN and infinity; stop at\n"
        "                     the first, naming the op (slower)\n"
        "  --save FILE        write a checkpoint of the network's variables to FILE\n"
        "                     when training ends; 'gradflow eval FILE' and 'gradflow\n"
        "                     predict FILE' read it. Saving is atomic: until the new\n"
        "                     file is complete, the previous FILE stays whole, even if\n"
        "                     the disk fills or the process is killed\n"
        "                     (docs/checkpoint-format.md)\n"
        "  --save-every N     also save FILE after every N-th step (needs --save);\n"
        "                     prints {\"saved\":FILE,\"after_steps\":S} with --json\n"
        "  --resume FILE      start from the checkpoint FILE instead of random weights\n"
        "                     (same --hidden; the step count, the shuffling and the\n"
        "                     evaluations start afresh)\n"
        "  --plot FILE.svg    when training ends, write the accuracy curve (correct/total\n"
        "                     at each evaluation) and the cost curve (mean squared error\n"
        "                     of the network's output against the labels on the same\n"
        "                     test images, fetched in the same run) as an SVG picture,\n"
        "                     atomically; prints {\"plot\":FILE,\"evaluations\":N} with --json\n"
        "  --quiet            no progress line. On a terminal, stderr otherwise shows a\n"
        "                     line refreshed up to ten times a second: step/total,\n"
        "                     examples per second, the last accuracy and the time left;\n"
        "                     it is erased before each line of output and at the end.\n"
        "                     There is none when stderr is not a terminal\n"
        "  -h, --help         this help\n"
        "\n"
        "Exit status: 0 success, 1 failure (data or run error, a checkpoint that\n"
        "cannot be read or written), 2 usage error.\n");
}

/* Parses an integer option value in [lo, hi]; prints why not and returns 0. */
static int parse_int(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "gradflow train: %s needs an integer from %lld to %lld, got '%s'\n", opt,
                (long long)lo, (long long)hi, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_float(const char *opt, const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e6) {
        fprintf(stderr, "gradflow train: %s needs a positive number up to 1e6, got '%s'\n", opt, s ? s : "");
        return 0;
    }
    *out = (float)v;
    return 1;
}

typedef struct report {
    int json;
    int64_t offset; /* steps done before the gf_article_train call reporting */
    gf_progress progress; /* the live line on a terminal */
    gf_plot *plot;        /* --plot: the evaluations, else NULL */
    int64_t cost_step;    /* the step of cost (-1: none pending) */
    double cost;          /* from on_cost, for the evaluation that follows */
} report;

/* After each training step: the progress line. */
static void on_step(void *ctx, int64_t done, int64_t steps)
{
    (void)steps;
    report *r = ctx;
    gf_progress_step(&r->progress, r->offset + done);
}

/* The cost fetched with an evaluation, kept for on_eval. */
static void on_cost(void *ctx, int64_t step, double cost)
{
    report *r = ctx;
    r->cost_step = step;
    r->cost = cost;
}

static void on_eval(void *ctx, int64_t step, int64_t correct, int64_t total)
{
    report *r = ctx;
    gf_progress_clear(&r->progress);
    gf_progress_accuracy(&r->progress, correct, total);
    if (r->plot) {
        double cost = r->cost_step == step ? r->cost : NAN;
        r->cost_step = -1;
        if (!gf_plot_add(r->plot, step + r->offset, total ? 100.0 * (double)correct / (double)total : 0, cost))
            fprintf(stderr, "gradflow train: out of memory: --plot misses the evaluation at step %lld\n",
                    (long long)(step + r->offset));
    }
    step += r->offset;
    if (r->json)
        printf("{\"step\":%lld,\"correct\":%lld,\"total\":%lld}\n", (long long)step,
               (long long)correct, (long long)total);
    else
        printf("step %5lld  correct %lld/%lld\n", (long long)step, (long long)correct,
               (long long)total);
    fflush(stdout);
}

/* Fails early, before training, when FILE's directory cannot take it. */
static int save_dir_ok(const char *file)
{
    const char *slash = strrchr(file, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - file) + (slash == file) : 1, slash ? file : ".");
    if (!slash || slash[1]) {
        if (access(dir, W_OK | X_OK) == 0) return 1;
        fprintf(stderr, "gradflow train: --save %s: cannot write in %s: %s\n", file, dir, strerror(errno));
    } else {
        fprintf(stderr, "gradflow train: --save %s: a directory, not a file\n", file);
    }
    return 0;
}

/* Saves the session; prints what it did, or why not. */
static int save_now(gf_session *s, const char *file, int64_t after, report *rep)
{
    gf_progress_clear(&rep->progress);
    if (gf_session_save(s, file) != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", gf_session_error(s));
        return 0;
    }
    if (rep->json) {
        printf("{\"saved\":\"");
        for (const char *p = file; *p; p++) {
            if (*p == '"' || *p == '\\') putchar('\\');
            if ((unsigned char)*p < 0x20) printf("\\u%04x", (unsigned char)*p);
            else putchar(*p);
        }
        printf("\",\"after_steps\":%lld}\n", (long long)after);
    } else {
        printf("saved %s after %lld steps\n", file, (long long)after);
    }
    fflush(stdout);
    return 1;
}

/* gf_article_train in pieces ending at every multiple of every and of the
 * evaluation period, saving after each multiple of every before the last
 * step (the caller saves at the end). The steps, batches and evaluations
 * are those of one call: a piece that starts at a multiple of eval_every
 * evaluates after its first step only, the others not at all. */
static gf_status train_saving(const gf_article_net *net, gf_session *s, gf_mnist *data,
                              const gf_article_train_opts *opt, report *rep, const char *file,
                              int64_t every, double *seconds, char *msg, size_t msg_len)
{
    *seconds = 0;
    for (int64_t at = 0; at < opt->steps;) {
        int64_t end = (at / every + 1) * every;
        if (opt->eval_every > 0 && (at / opt->eval_every + 1) * opt->eval_every < end)
            end = (at / opt->eval_every + 1) * opt->eval_every;
        if (end > opt->steps) end = opt->steps;
        gf_article_train_opts piece = *opt;
        piece.steps = end - at;
        piece.eval_every = opt->eval_every > 0 && at % opt->eval_every == 0 ? opt->eval_every : 0;
        rep->offset = at;
        double t = 0;
        gf_status st = gf_article_train(net, s, data, &piece, on_eval, rep, &t, msg, msg_len);
        *seconds += t;
        if (st != GF_OK) return st;
        at = end;
        if (at % every == 0 && at < opt->steps && !save_now(s, file, at, rep)) {
            snprintf(msg, msg_len, "stopped: the checkpoint could not be saved");
            return GF_ERR_IO;
        }
    }
    rep->offset = 0;
    return GF_OK;
}

int gf_cli_train(int argc, char **argv)
{
    const char *dir = "data/mnist", *step = "manual", *save = NULL, *resume = NULL, *model = "article";
    const char *plot_file = NULL;
    int quiet = 0;
    gf_plot plot = { 0 };
    int64_t hidden = -1, seed = 1, save_every = 0; /* -1: the model's default */
    gf_article_train_opts opt = { .batch = -1, .steps = -1, .eval_every = -1, .eval_size = -1 };
    float eta = 0.5f, lr = -1;
    report rep = { 0 };
    int check = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1, takes = strcmp(a, "--json") && strcmp(a, "-h") && strcmp(a, "--help") &&
                            strcmp(a, "--check-numerics") && strcmp(a, "--quiet");
        if (takes && !v && !strncmp(a, "--", 2)) {
            fprintf(stderr, "gradflow train: %s needs a value (try 'gradflow train --help')\n", a);
            return GF_EXIT_USAGE;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            train_usage(stdout);
            return GF_EXIT_OK;
        } else if (!strcmp(a, "--json")) rep.json = 1;
        else if (!strcmp(a, "--check-numerics")) check = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--plot")) plot_file = v;
        else if (!strcmp(a, "--step")) step = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "--hidden")) ok = parse_int(a, v, 1, 100000, &hidden);
        else if (!strcmp(a, "--batch")) ok = parse_int(a, v, 1, 1000000, &opt.batch);
        else if (!strcmp(a, "--steps")) ok = parse_int(a, v, 0, 1000000000, &opt.steps);
        else if (!strcmp(a, "--eta")) ok = parse_float(a, v, &eta);
        else if (!strcmp(a, "--lr")) ok = parse_float(a, v, &lr);
        else if (!strcmp(a, "--eval-every")) ok = parse_int(a, v, 1, 1000000000, &opt.eval_every);
        else if (!strcmp(a, "--eval-size")) ok = parse_int(a, v, 1, 100000000, &opt.eval_size);
        else if (!strcmp(a, "--seed")) ok = parse_int(a, v, 0, INT64_MAX, &seed);
        else if (!strcmp(a, "--save")) save = v;
        else if (!strcmp(a, "--save-every")) ok = parse_int(a, v, 1, 1000000000, &save_every);
        else if (!strcmp(a, "--resume")) resume = v;
        else {
            fprintf(stderr, "gradflow train: unknown option '%s' (try 'gradflow train --help')\n", a);
            return GF_EXIT_USAGE;
        }
        if (!ok) return GF_EXIT_USAGE;
        i += takes;
    }
    bool softmax = !strcmp(model, "softmax");
    if (!softmax && strcmp(model, "article")) {
        fprintf(stderr, "gradflow train: unknown --model '%s': expected 'article' or 'softmax'\n", model);
        return GF_EXIT_USAGE;
    }
    if (hidden < 0) hidden = softmax ? 100 : 30;
    if (opt.batch < 0) opt.batch = softmax ? 16 : 10;
    if (lr < 0) lr = softmax ? 0.0f : 0.1f; /* 0: Adam's default */
    if (strcmp(step, "manual") && strcmp(step, "autodiff")) {
        fprintf(stderr, "gradflow train: unknown --step '%s': expected 'manual' or 'autodiff'\n", step);
        return GF_EXIT_USAGE;
    }
    if (save_every && !save) {
        fprintf(stderr, "gradflow train: --save-every needs --save FILE\n");
        return GF_EXIT_USAGE;
    }
    if (save && !save_dir_ok(save)) return GF_EXIT_FAIL;
    char plot_err[4400];
    if (plot_file && !gf_atomic_dir_ok(plot_file, plot_err, sizeof plot_err)) {
        fprintf(stderr, "gradflow train: --plot %s\n", plot_err);
        return GF_EXIT_FAIL;
    }

    gf_error err;
    gf_mnist *data;
    /* The article holds out TensorFlow's 5000 validation images; the softmax
     * model trains on the whole training set, as the usual benchmarks do. */
    gf_mnist_options mo = { .seed = (uint64_t)seed, .validation_size = softmax ? 0 : -1 };
    if (gf_mnist_load(dir, &mo, &data, &err) != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", err.message);
        return GF_EXIT_FAIL;
    }
    int64_t n_test = gf_dataset_count(data->test), n_train = gf_dataset_count(data->train);
    int rc = GF_EXIT_FAIL;
    gf_article_net net = { 0 };
    gf_session *s = NULL;
    if (opt.eval_every < 0) opt.eval_every = softmax ? (n_train + opt.batch - 1) / opt.batch : 1000;
    if (opt.steps < 0) opt.steps = softmax ? 10 * opt.eval_every : 10000; /* softmax: 10 epochs */
    if (opt.eval_size < 0) opt.eval_size = softmax ? n_test : 1000;
    opt.at_end = softmax;
    if (opt.eval_size > n_test) {
        fprintf(stderr, "gradflow train: --eval-size %lld exceeds the %lld test images in %s\n",
                (long long)opt.eval_size, (long long)n_test, dir);
        goto out;
    }
    if (opt.batch > n_train) {
        fprintf(stderr, "gradflow train: --batch %lld exceeds the %lld training images in %s\n",
                (long long)opt.batch, (long long)n_train, dir);
        goto out;
    }
    if (!rep.json)
        printf("data: %s%s (%lld train, %lld test)\n", dir,
               data->is_subset ? ", the 10,000-digit subset of MNIST" : "", (long long)n_train,
               (long long)n_test);
    gf_status built;
    if (softmax) { /* the zoo net, seen through the training loop's struct */
        gf_zoo_net z = { 0 };
        built = gf_zoo_build_softmax(&z, (int)hidden, lr);
        net = (gf_article_net){ .g = z.g, .a_0 = z.x, .y = z.y, .w_1 = z.w_1, .b_1 = z.b_1, .w_2 = z.w_2,
                                .b_2 = z.b_2, .a_2 = z.probs, .acct_res = z.correct, .step = { z.step },
                                .n_step = 1 };
    } else {
        built = strcmp(step, "manual") ? gf_article_build_autodiff(&net, (int)hidden, lr)
                                       : gf_article_build_manual(&net, (int)hidden, eta);
    }
    if (plot_file && built == GF_OK) { /* the cost, fetched with each evaluation */
        gf_node *diff = softmax ? NULL : gf_graph_find(net.g, "diff");
        opt.eval_cost = gf_name(gf_reduce_mean(gf_square(diff ? diff : gf_sub(net.a_2, net.y)), NULL, 0, 0),
                                "plot_cost");
        opt.on_cost = on_cost;
        rep.plot = &plot;
        rep.cost_step = -1;
        built = gf_graph_status(net.g);
    }
    if (built != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", gf_graph_error(net.g));
        goto out;
    }
    s = gf_session_new(net.g, &(gf_session_options){ .seed = (uint64_t)seed, .check_numerics = check });
    if (!s || gf_session_status(s) != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", s ? gf_session_error(s) : "out of memory");
        goto out;
    }
    if (resume) {
        if (gf_session_restore(s, resume) != GF_OK) {
            fprintf(stderr, "gradflow train: %s\n", gf_session_error(s));
            goto out;
        }
        if (!rep.json) printf("resumed from %s\n", resume);
    }
    double seconds = 0;
    char msg[1024];
    opt.on_step = on_step;
    plot.steps = opt.steps;
    gf_progress_start(&rep.progress, !quiet, opt.steps, opt.batch);
    gf_status trained = save_every
        ? train_saving(&net, s, data, &opt, &rep, save, save_every, &seconds, msg, sizeof msg)
        : gf_article_train(&net, s, data, &opt, on_eval, &rep, &seconds, msg, sizeof msg);
    gf_progress_clear(&rep.progress);
    if (trained != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", msg);
        goto out;
    }
    if (save && !save_now(s, save, opt.steps, &rep)) goto out;
    double rate = seconds > 0 ? (double)opt.steps / seconds : 0;
    if (rep.json)
        printf("{\"steps\":%lld,\"train_seconds\":%.6f,\"steps_per_second\":%.1f}\n",
               (long long)opt.steps, seconds, rate);
    else
        printf("trained %lld steps of batch %lld in %.3f s: %.0f steps/s (%.1f us/step)\n",
               (long long)opt.steps, (long long)opt.batch, seconds, rate,
               opt.steps ? 1e6 * seconds / (double)opt.steps : 0.0);
    if (plot_file) {
        char title[256], acc_label[256];
        snprintf(title, sizeof title, "gradflow train: %s 784-%lld-10, %s, batch %lld",
                 softmax ? "softmax model" : "the article's network", (long long)hidden,
                 softmax ? "Adam" : strcmp(step, "manual") ? "autodiff step" : "manual step", (long long)opt.batch);
        snprintf(acc_label, sizeof acc_label, "accuracy: correct answers / %lld test images, at each evaluation",
                 (long long)opt.eval_size);
        const char *cost_label = softmax ? "cost: mean squared error of softmax(logits) - y on the same images"
                                         : "cost: mean squared error of a_2 - y on the same images";
        if (!gf_plot_write(&plot, plot_file, title, acc_label, cost_label, plot_err, sizeof plot_err)) {
            fprintf(stderr, "gradflow train: --plot %s\n", plot_err);
            goto out;
        }
        if (rep.json) {
            printf("{\"plot\":");
            gf_cli_json_string(stdout, plot_file);
            printf(",\"evaluations\":%d}\n", plot.n);
        } else {
            printf("plot: %s (%d evaluation%s)\n", plot_file, plot.n, plot.n == 1 ? "" : "s");
        }
    }
    rc = GF_EXIT_OK;
out:
    gf_plot_free(&plot);
    gf_session_free(s);
    gf_graph_free(net.g);
    gf_mnist_free(data);
    return rc;
}
