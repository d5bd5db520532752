/*
 * cmd_train.c — `gradflow train`: trains the article's network on an MNIST
 * folder and prints each evaluation, as text or as JSON lines; saves model
 * files and resumes from them (or from old checkpoints).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "article.h"
#include "cnn.h"
#include "zoo.h"
#include "cli.h"
#include "atomic_file.h"
#include "model_cli.h"
#include "plot_svg.h"
#include "progress.h"
#include "opts.h"
#include "data_source.h"
#include "mpi_group.h"

static const char train_intro[] =
    "Trains a network on an MNIST folder with mini-batch gradient descent and\n"
    "prints the number of correct answers on the first test images at each\n"
    "evaluation, and once more after the last step (the line \"final step N\"), so\n"
    "that the last count is that of the weights --save writes. The default is the\n"
    "article's program (docs/article.md): the 784-30-10 sigmoid network, batch 10,\n"
    "10,000 steps, 1000 test images. --model cnn is TensorFlow's \"Deep MNIST for\n"
    "Experts\" tutorial (docs/deep-mnist.md).\n"
    "\n"
    "Every model numbers an evaluation by the training steps done before it. The\n"
    "article's loop evaluates after steps 1, 1001, 2001, ... (its i = 0, 1000,\n"
    "2000, ...); --model softmax after steps N, 2N, ... (the end of each epoch);\n"
    "--model cnn after steps N, 2N, ... (N = --eval-every).\n"
    "\n"
    "Data-parallel (docs/parallel.md): under mpirun -np N, each of the N processes\n"
    "draws the same global batch of --batch examples, trains on its 1/N of it, and\n"
    "the gradients are summed in rank order before every update; rank 0's initial\n"
    "weights are everyone's, and only rank 0 prints, evaluates and saves.\n"
    "--accumulate K cuts each batch into K micro-batches summed the same way, so\n"
    "that 'mpirun -np 2 gradflow train --batch 20' and 'gradflow train --batch 20\n"
    "--accumulate 2' save the same bits. --batch must split into N x K equal\n"
    "shards. A rank that fails or dies stops every rank.\n";

static const char train_epilog[] =
    "The training loss (--json, --plot) is the quantity the step minimises, on its\n"
    "batch, averaged over the steps since the previous evaluation: for the manual\n"
    "step 1/2 * sum((a_2 - y)^2), whose gradient the hand-written back-propagation\n"
    "computes; for the autodiff step sum((a_2 - y)^2), the article's cost summed as\n"
    "gf_gradients sums it; for --model softmax and cnn the mean softmax\n"
    "cross-entropy (cnn: with dropout, as the step sees it).\n"
    "\n"
    "Exit status: 0 success, 1 failure (data or run error, a model file or\n"
    "checkpoint that cannot be read or written), 2 usage error.\n";

typedef struct report {
    int json;
    int lead;             /* rank 0 (or alone): prints and saves */
    int at_end;           /* the loop's numbering: 1 steps done, 0 the article's i */
    int64_t offset;       /* steps done before the gf_article_train call reporting */
    int64_t steps;        /* the run's length */
    gf_progress progress; /* the live line on a terminal */
    gf_plot *plot;        /* --plot: the evaluations, else NULL */
    double loss_sum;      /* training losses since the previous evaluation */
    int64_t loss_n;
    int held;             /* an evaluation after the last step, kept for the final line */
    int64_t held_correct, held_total;
    double held_loss;
} report;

/* --model cnn: the tutorial's accuracy on the batch, before the step. */
static void on_batch(void *ctx, int64_t step, double accuracy)
{
    report *r = ctx; /* step: the steps done before it, counted from the run's start */
    gf_progress_clear(&r->progress);
    if (r->json) printf("{\"step\":%lld,\"training_accuracy\":%.6g}\n", (long long)step, accuracy);
    else printf("step %lld, training accuracy %g\n", (long long)step, accuracy);
    fflush(stdout);
}

/* After each training step: the progress line. */
static void on_step(void *ctx, int64_t done, int64_t steps)
{
    (void)steps;
    report *r = ctx;
    gf_progress_step(&r->progress, r->offset + done);
}

/* The training loss of each step, summed until the next evaluation. */
static void on_loss(void *ctx, double loss)
{
    report *r = ctx;
    r->loss_sum += loss;
    r->loss_n++;
}

/* The mean training loss since the previous evaluation (NaN: no step), and
 * a fresh sum for the next. */
static double take_loss(report *r)
{
    double loss = r->loss_n ? r->loss_sum / (double)r->loss_n : NAN;
    r->loss_sum = 0;
    r->loss_n = 0;
    return loss;
}

/* Prints one evaluation (and adds it to the plot). */
static void print_eval(report *r, int final, int64_t done, int64_t correct, int64_t total, double loss)
{
    gf_progress_clear(&r->progress);
    gf_progress_accuracy(&r->progress, correct, total);
    if (r->plot &&
        !gf_plot_add(r->plot, done, total ? 100.0 * (double)correct / (double)total : 0, loss))
        fprintf(stderr, "gradflow train: out of memory: --plot misses the evaluation at step %lld\n",
                (long long)done);
    if (r->json) {
        printf("{\"step\":%lld,\"correct\":%lld,\"total\":%lld,\"loss\":", (long long)done, (long long)correct,
               (long long)total);
        if (isfinite(loss)) printf("%.6g", loss);
        else printf("null");
        printf("%s}\n", final ? ",\"final\":true" : "");
    } else {
        printf("%sstep %5lld  correct %lld/%lld\n", final ? "final " : "", (long long)done, (long long)correct,
               (long long)total);
    }
    fflush(stdout);
}

static void on_eval(void *ctx, int64_t step, int64_t correct, int64_t total)
{
    report *r = ctx;
    int64_t done = r->offset + (r->at_end ? step : step + 1);
    double loss = take_loss(r);
    if (done == r->steps) { /* after the last step: printed as the final evaluation */
        r->held = 1;
        r->held_correct = correct;
        r->held_total = total;
        r->held_loss = loss;
        return;
    }
    print_eval(r, 0, done, correct, total, loss);
}

/* The evaluation after the last step: the one held by on_eval, or a new one
 * on the same test images. Returns 0 with the reason on stderr. */
static int final_eval(report *r, const gf_article_net *net, gf_session *s, gf_mnist *data,
                      const gf_article_train_opts *opt)
{
    if (r->held) {
        print_eval(r, 1, r->steps, r->held_correct, r->held_total, r->held_loss);
        return 1;
    }
    const gf_tensor *xs, *ys;
    int64_t correct;
    if (gf_dataset_head(data->test, opt->eval_size, &xs, &ys) != GF_OK || !xs) {
        fprintf(stderr, "gradflow train: the test set is empty\n");
        return 0;
    }
    if (gf_article_count(net, s, xs, ys, opt, &correct, NULL) != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", gf_session_error(s));
        return 0;
    }
    print_eval(r, 1, r->steps, correct, gf_tensor_shape(xs).dim[0], take_loss(r));
    return 1;
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

/* The signature --save writes (set before training starts). */
static gf_signature save_sig;

/* Saves the session as a model file; prints what it did, or why not. */
static int save_now(gf_session *s, const char *file, int64_t after, report *rep)
{
    if (!rep->lead) return 1; /* rank 0 saves for the group */
    gf_progress_clear(&rep->progress);
    if (gf_model_save(s, &save_sig, file) != GF_OK) {
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
        piece.first_step = at;
        rep->offset = at;
        double t = 0;
        gf_status st = gf_article_train(net, s, data, &piece, on_eval, rep, &t, msg, msg_len);
        *seconds += t;
        if (st != GF_OK) return st;
        at = end;
        if (at % every == 0 && at < opt->steps && !save_now(s, file, at, rep)) {
            snprintf(msg, msg_len, "stopped: the model file could not be saved");
            return GF_ERR_IO;
        }
    }
    rep->offset = 0;
    return GF_OK;
}

/* Whether the ranks agree on what gf_session_new does not check (it
 * checks the graph and the seed): the batch and its split, the steps,
 * the data's counts and example size. A rank started with another
 * --accumulate or other data would train without an error and make other
 * weights. v: batch, accumulate, steps, training and test examples,
 * features. The ranks compare a hash, 16 bits at a time, as the session
 * compares its graph's. */
static int same_run(gf_mpi *mpi, const int64_t v[6], char *msg, size_t cap)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    const unsigned char *p = (const unsigned char *)v;
    for (size_t i = 0; i < 6 * sizeof v[0]; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    float piece[4];
    for (int i = 0; i < 4; i++) piece[i] = (float)(h >> (16 * i) & 0xffff);
    const gf_process_group *g = gf_mpi_group(mpi);
    char why[400] = "";
    if (g->all_reduce(g->ctx, piece, 4, "run settings", why, sizeof why) != GF_OK) {
        snprintf(msg, cap, "comparing the ranks' settings: %s", why);
        return 0;
    }
    for (int i = 0; i < 4; i++)
        if (piece[i] != (float)g->size * (float)(h >> (16 * i) & 0xffff)) {
            snprintf(msg, cap, "the ranks were not started alike: this one has --batch %lld --accumulate %lld "
                               "--steps %lld and %lld training and %lld test examples of %lld values, another "
                               "rank not; start every rank with the same --data, --batch, --accumulate and --steps",
                     (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3], (long long)v[4],
                     (long long)v[5]);
            return 0;
        }
    return 1;
}

int gf_cli_train(int argc, char **argv)
{
    const char *dir = "data/mnist", *step = "manual", *save = NULL, *resume = NULL, *model = "article";
    const char *plot_file = NULL, *test_data = NULL, *delimiter = NULL;
    int quiet = 0, json = 0, check = 0;
    int64_t label_column = 0, validation = -1;
    float scale = 0;
    gf_plot plot = { 0 };
    int64_t hidden = -1, seed = 1, save_every = 0; /* -1: the model's default */
    gf_article_train_opts opt = { .batch = -1, .steps = -1, .eval_every = -1, .eval_size = -1 };
    float eta = 0.5f, lr = -1, keep = GF_CNN_KEEP;
    int64_t train_acc_every = 100, accumulate = 1;
    float timeout = 120;
    report rep = { 0 };

    gf_opt opts[] = {
        GF_OPT_C("--model", "article|softmax|cnn",
                 "article: the article's 784-H-10 sigmoid network (default)\n"
                 "softmax: 784-H-10 with a relu hidden layer, softmax\n"
                 "cross-entropy and Adam (examples/mnist_softmax.c); its\n"
                 "defaults: --hidden 100 --batch 16, 10 epochs, an\n"
                 "evaluation of the whole test set after each, Adam's lr\n"
                 "0.001; it trains on all training images (no validation\n"
                 "split); it takes neither --eta nor --step manual\n"
                 "cnn: the \"Deep MNIST for Experts\" network\n"
                 "(examples/deep_mnist.c): two 5x5 convolutions of 32\n"
                 "and 64 filters with 2x2 max pooling, 1024 relu units,\n"
                 "dropout, softmax cross-entropy, Adam; its defaults, the\n"
                 "tutorial's: --batch 50 --steps 20000 --lr 0.0001\n"
                 "--keep-prob 0.5, the training accuracy on the batch\n"
                 "every 100 steps, the whole test set evaluated every\n"
                 "1000 steps, 100 images per run; it trains on the\n"
                 "tutorial's 55,000 images; it takes no --hidden, --eta\n"
                 "or --step manual",
                 &model),
        GF_OPT_C("--step", "manual|autodiff",
                 "manual: the back-propagation step written by hand (default)\n"
                 "autodiff: the step derived by gf_gradients: gradient\n"
                 "descent on the summed squared error (the article's\n"
                 "second half)",
                 &step),
        GF_OPT_S("--data", "PATH",
                 "the data (default data/mnist): an MNIST folder ('gradflow\n"
                 "data --help' says where to get it; IDX files of any image\n"
                 "size and class count), a folder holding train_images.npy,\n"
                 "train_labels.npy, test_images.npy and test_labels.npy, or\n"
                 "a CSV file (a label column, then the features; a header\n"
                 "line is detected; gzipped or plain). The models size\n"
                 "their input and output layers from it (docs/data.md)",
                 &dir),
        GF_SOURCE_OPTS(&test_data, &label_column, &delimiter, &scale),
        GF_OPT_I("--validation", "N", 0, 1000000000,
                 "split the first N training examples off as a validation\n"
                 "set (default: 5000 of MNIST's 60,000 for --model article\n"
                 "and cnn, else 0); with no test set, the evaluations use it",
                 &validation),
        GF_OPT_I("--hidden", "N", 1, 100000, "hidden units (default 30; 100 for --model softmax)", &hidden),
        GF_OPT_I("--batch", "N", 1, 1000000, "examples per step (default 10; 16 for --model softmax; 50\nfor cnn)", &opt.batch),
        GF_OPT_I("--steps", "N", 0, 1000000000, "training steps (default 10000; 10 epochs for --model\nsoftmax; 20000 for cnn)",
                 &opt.steps),
        GF_OPT_X("--eta", "X", 0, 1e6, "learning rate of the manual step (default 0.5)", &eta),
        GF_OPT_X("--lr", "X", 0, 1e6,
                 "learning rate of the autodiff step (default 0.1), or of\nAdam for --model softmax (default 0.001) and cnn\n(default 0.0001)",
                 &lr),
        GF_OPT_X("--keep-prob", "X", 0, 1,
                 "--model cnn: dropout's keep probability while training\n(default 0.5; evaluations keep every unit)", &keep),
        GF_OPT_I("--train-accuracy-every", "N", 1, 1000000000,
                 "--model cnn: before the steps after 0, N, 2N, ... steps,\n"
                 "print the accuracy on that step's batch, as the tutorial\n"
                 "(\"step S, training accuracy A\"; with --json\n"
                 "{\"step\":S,\"training_accuracy\":A}) (default 100)",
                 &train_acc_every),
        GF_OPT_I("--eval-every", "N", 1, 1000000000,
                 "evaluate every N steps (default 1000; one epoch for\n--model softmax)", &opt.eval_every),
        GF_OPT_I("--eval-size", "N", 1, 100000000,
                 "test images per evaluation (default 1000, or all when\nfewer; all for --model softmax and cnn)", &opt.eval_size),
        GF_OPT_I("--seed", "N", 0, INT64_MAX, "seed for initial weights and shuffling (default 1)", &seed),
        GF_OPT_F("--json",
                 "one JSON object per line instead of text: for each\n"
                 "evaluation {\"step\":S,\"correct\":C,\"total\":T,\"loss\":L}\n"
                 "(L: the mean training loss since the previous evaluation,\n"
                 "null when no step ran), the one after the last step with\n"
                 "\"final\":true; then {\"steps\":..,\"train_seconds\":..,\n"
                 "\"steps_per_second\":..}",
                 &json),
        GF_OPT_F("--check-numerics",
                 "check every op's result for NaN and infinity; stop at\nthe first, naming the op (slower)", &check),
        GF_OPT_S("--save", "FILE",
                 "write a model file of the network to FILE when training\n"
                 "ends: its graph, its variables and a signature (inputs\n"
                 "images and labels, and keep_prob for cnn; outputs probs,\n"
                 "classes, cost and train). 'gradflow eval FILE', 'predict\n"
                 "FILE', 'inspect FILE' and 'graph FILE' read it, with no\n"
                 "--model or --hidden, and so can a C program\n"
                 "(gf_model_load). Saving is atomic: until the new file is\n"
                 "complete, the previous FILE stays whole, even if the disk\n"
                 "fills or the process is killed (docs/model-format.md)",
                 &save),
        GF_OPT_I("--save-every", "N", 1, 1000000000,
                 "also save FILE after every N-th step (needs --save);\n"
                 "prints {\"saved\":FILE,\"after_steps\":S} with --json",
                 &save_every),
        GF_OPT_S("--resume", "FILE",
                 "start from the weights in FILE, a model file (--save's)\n"
                 "or an older gradflow's checkpoint, instead of random\n"
                 "weights (same --model and --hidden: every variable is\n"
                 "taken by name and must have its shape; the step count,\n"
                 "the shuffling and the evaluations start afresh)",
                 &resume),
        GF_OPT_S("--plot", "FILE.svg",
                 "when training ends, write the accuracy curve (correct/total\n"
                 "at each evaluation) and the training-loss curve as an SVG\n"
                 "picture, atomically (FILE must end in .svg); prints\n"
                 "{\"plot\":FILE,\"evaluations\":N} with --json",
                 &plot_file),
        GF_OPT_I("--accumulate", "K", 1, 1000000,
                 "sum the gradients of K micro-batches of --batch/K\n"
                 "examples (per rank under mpirun) before each update:\n"
                 "the bits of K ranks (docs/parallel.md) (default 1)",
                 &accumulate),
        GF_OPT_X("--timeout", "S", 0, 1e7,
                 "under mpirun: how long a rank waits for the others at\n"
                 "each exchange (rank 0's evaluations included) before it\n"
                 "stops every rank, naming those that did not answer\n"
                 "(default 120)",
                 &timeout),
        GF_OPT_F("--quiet",
                 "no progress line. On a terminal, stderr otherwise shows a\n"
                 "line refreshed up to ten times a second: step/total,\n"
                 "examples per second, the last accuracy and the time left;\n"
                 "it is erased before each line of output and at the end.\n"
                 "There is none when stderr is not a terminal",
                 &quiet),
    };
    gf_cmd_spec spec = { "train", "gradflow train [OPTIONS]", train_intro, train_epilog, opts, GF_OPTS_N(opts) };
    int parsed = gf_opts_parse_only(&spec, argc, argv);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    rep.json = json;

    /* Options that do not apply to the chosen model and step are refused. */
    bool cnn = !strcmp(model, "cnn"), softmax = !strcmp(model, "softmax"), adam = softmax || cnn;
    bool manual = !adam && !strcmp(step, "manual");
    if (adam && gf_opts_given(&spec, "--step") && !strcmp(step, "manual"))
        return gf_opts_usage_error(&spec, "--model %s has no hand-written step (its step is derived by "
                                          "gf_gradients); leave out --step or give --step autodiff", model);
    if (adam && gf_opts_given(&spec, "--eta"))
        return gf_opts_usage_error(&spec, "--eta is the manual step's learning rate; --model %s trains "
                                          "with Adam, whose learning rate is --lr", model);
    if (cnn && gf_opts_given(&spec, "--hidden"))
        return gf_opts_usage_error(&spec, "--model cnn has fixed layers (32 and 64 filters, 1024 units); "
                                          "--hidden sizes the article's and the softmax model's hidden layer");
    if (!cnn && gf_opts_given(&spec, "--keep-prob"))
        return gf_opts_usage_error(&spec, "--keep-prob is the dropout of --model cnn; this model has none");
    if (!cnn && gf_opts_given(&spec, "--train-accuracy-every"))
        return gf_opts_usage_error(&spec, "--train-accuracy-every is --model cnn's accuracy on the batch; "
                                          "give --model cnn");
    if (!softmax && !manual && gf_opts_given(&spec, "--eta"))
        return gf_opts_usage_error(&spec, "--eta is the manual step's learning rate; the autodiff step's is --lr");
    if (manual && gf_opts_given(&spec, "--lr"))
        return gf_opts_usage_error(&spec, "--lr is the learning rate of the autodiff step and of --model softmax "
                                          "and cnn; the manual step's is --eta");
    if (save_every && !save) return gf_opts_usage_error(&spec, "--save-every needs --save FILE");
    if (plot_file && !gf_opts_has_ext(plot_file, ".svg"))
        return gf_opts_usage_error(&spec, "--plot %s: the plot is an SVG picture; give a FILE ending in .svg",
                                   plot_file);
    if (hidden < 0) hidden = softmax ? 100 : 30;
    if (opt.batch < 0) opt.batch = cnn ? GF_CNN_BATCH : softmax ? 16 : 10;
    /* Data parallelism: the job mpirun started, and the split of a batch. */
    int rank = 0, ranks = gf_mpi_launched(&rank);
    if (!ranks && gf_opts_given(&spec, "--timeout"))
        return gf_opts_usage_error(&spec, "--timeout is how long ranks wait for each other under mpirun; "
                                          "this process was not started by mpirun");
    if (ranks > 1 && !gf_mpi_built()) {
        if (rank == 0)
            fprintf(stderr, "gradflow train: started by mpirun as %d processes, but this gradflow was built "
                            "without MPI: each would train alone. Install openmpi-bin and libopenmpi-dev "
                            "(scripts/install-deps does, as root) and build gradflow again\n", ranks);
        return GF_EXIT_FAIL;
    }
    if (ranks < 1) ranks = 1;
    int64_t shards = ranks * accumulate;
    if (opt.batch % shards) {
        if (rank) return GF_EXIT_USAGE; /* rank 0 says why */
        return gf_opts_usage_error(&spec, "--batch %lld does not split into %d rank%s x %lld micro-batch%s of "
                                          "equal size: give a multiple of %lld", (long long)opt.batch, ranks,
                                   ranks == 1 ? "" : "s", (long long)accumulate, accumulate == 1 ? "" : "es",
                                   (long long)shards);
    }
    bool dp = shards > 1, lead = rank == 0;
    rep.lead = lead;
    if (lr < 0) lr = cnn ? GF_CNN_LR : softmax ? 0.0f : 0.1f; /* 0: Adam's default */
    if (save && !save_dir_ok(save)) return GF_EXIT_FAIL;
    char plot_err[4400];
    if (plot_file && !gf_atomic_dir_ok(plot_file, plot_err, sizeof plot_err)) {
        fprintf(stderr, "gradflow train: --plot %s\n", plot_err);
        return GF_EXIT_FAIL;
    }

    gf_error err = { 0 };
    gf_mnist *data;
    /* The article holds out TensorFlow's 5000 validation images; the softmax
     * model trains on the whole training set, as the usual benchmarks do. */
    gf_source_options so = { .seed = (uint64_t)seed, .validation = validation, .mnist_no_validation = softmax,
                             .test_path = test_data, .label_column = (int)label_column, .delimiter = delimiter,
                             .scale = scale };
    gf_source src;
    char src_msg[4400];
    int mnist_failed;
    gf_tensor *keep_t = NULL, *one_t = NULL; /* cnn: keep_prob's two values */
    gf_node *keep_node = NULL, *infer = NULL;  /* cnn: keep_prob, and the output without dropout */
    gf_feed train_feed[1], eval_feed[1];
    if (!gf_source_open(dir, &so, &src, src_msg, sizeof src_msg, &err, &mnist_failed)) {
        if (mnist_failed) gf_cli_data_error("train", dir, &err);
        else fprintf(stderr, "gradflow train: %s\n", src_msg);
        return GF_EXIT_FAIL;
    }
    data = &src.view;
    bool eval_on_validation = false;
    if (!data->test) {
        if (gf_dataset_count(data->validation) == 0) {
            fprintf(stderr, "gradflow train: %s has no test set: give --test-data FILE, or --validation N to "
                            "evaluate on N examples split off the training data\n", dir);
            gf_source_close(&src);
            return GF_EXIT_FAIL;
        }
        data->test = data->validation;
        eval_on_validation = true;
    }
    /* cnn: single-channel images, h x w. */
    int64_t img_h = src.rank >= 2 ? src.shape[0] : 0, img_w = src.rank >= 2 ? src.shape[1] : 0;
    if (cnn && (src.rank < 2 || (src.rank == 3 && src.shape[2] != 1))) {
        char shape[64];
        gf_source_shape(&src, shape, sizeof shape);
        fprintf(stderr, "gradflow train: --model cnn needs single-channel images (h x w or h x w x 1); the "
                        "examples of %s are %s\n", dir, shape);
        gf_source_close(&src);
        return GF_EXIT_FAIL;
    }
    int64_t n_test = gf_dataset_count(data->test), n_train = gf_dataset_count(data->train);
    int rc = GF_EXIT_FAIL;
    gf_article_net net = { 0 };
    gf_session *s = NULL;
    gf_mpi *mpi = NULL; /* the group, when mpirun started 2 or more ranks */
    int agreed = 0;     /* every rank got past the last exchange */
    char msg[1024];
    if (opt.eval_every < 0) opt.eval_every = softmax ? (n_train + opt.batch - 1) / opt.batch : 1000;
    if (opt.steps < 0) opt.steps = cnn ? GF_CNN_STEPS : softmax ? 10 * opt.eval_every : 10000; /* softmax: 10 epochs */
    if (opt.eval_size < 0) opt.eval_size = adam || n_test < 1000 ? n_test : 1000;
    opt.at_end = adam;
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
    if (!rep.json && lead)
    {
        if (src.mnist) {
            printf("data: %s%s (%lld train, %lld test)\n", dir,
                   data->is_subset ? ", the 10,000-digit subset of MNIST" : "", (long long)n_train,
                   (long long)n_test);
            /* One wrong label byte would quietly widen the network. */
            if (src.classes != 10)
                printf("note: the labels run from 0 to %lld: %lld classes (MNIST's have 10; 'gradflow data check "
                       "%s' counts each class)\n",
                       (long long)src.classes - 1, (long long)src.classes, dir);
        } else {
            char desc[4600];
            gf_source_describe(&src, desc, sizeof desc);
            printf("data: %s%s\n", desc, eval_on_validation ? "; evaluated on the validation set" : "");
        }
        if (dp)
            printf("data-parallel: %d rank%s x %lld micro-batch%s of %lld examples per step of %lld\n", ranks,
                   ranks == 1 ? "" : "s", (long long)accumulate, accumulate == 1 ? "" : "es",
                   (long long)(opt.batch / shards), (long long)opt.batch);
    }
    gf_status built;
    if (cnn) { /* the tutorial's network, seen through the training loop's struct */
        gf_cnn_net c;
        built = dp ? gf_cnn_build_dp(&c, (int)img_h, (int)img_w, (int)src.classes, lr)
                   : gf_cnn_build_sized(&c, (int)img_h, (int)img_w, (int)src.classes, lr);
        net = (gf_article_net){ .g = c.g, .a_0 = c.x, .y = c.y_, .a_2 = c.probs, .acct_res = c.correct,
                                .step = { c.train_step }, .n_step = 1 };
        opt.train_loss = c.cross_entropy;
        keep_node = c.keep_prob;
        infer = c.infer_probs;
        gf_error terr;
        keep_t = gf_tensor_new(GF_F32, gf_dims(0), &terr);
        one_t = gf_tensor_new(GF_F32, gf_dims(0), &terr);
        if (!keep_t || !one_t) {
            fprintf(stderr, "gradflow train: out of memory\n");
            goto out;
        }
        gf_tensor_data(keep_t)[0] = keep;
        gf_tensor_data(one_t)[0] = 1.0f;
        train_feed[0] = (gf_feed){ c.keep_prob, keep_t };
        eval_feed[0] = (gf_feed){ c.keep_prob, one_t };
        opt.train_feeds = train_feed;
        opt.n_train_feeds = 1;
        opt.eval_feeds = eval_feed;
        opt.n_eval_feeds = 1;
        opt.eval_batch = GF_CNN_EVAL_BATCH;
        opt.batch_accuracy = c.accuracy;
        opt.batch_every = train_acc_every;
        opt.on_batch = on_batch;
    } else if (softmax) { /* the zoo net, seen through the training loop's struct */
        gf_zoo_net z = { 0 };
        built = dp ? gf_zoo_build_softmax_dp(&z, (int)src.features, (int)hidden, (int)src.classes, lr)
                   : gf_zoo_build_softmax_sized(&z, (int)src.features, (int)hidden, (int)src.classes, lr);
        net = (gf_article_net){ .g = z.g, .a_0 = z.x, .y = z.y, .w_1 = z.w_1, .b_1 = z.b_1, .w_2 = z.w_2,
                                .b_2 = z.b_2, .a_2 = z.probs, .acct_res = z.correct, .step = { z.step },
                                .n_step = 1 };
        opt.train_loss = z.loss;
    } else {
        int in = (int)src.features, out = (int)src.classes;
        built = manual ? (dp ? gf_article_build_manual_dp : gf_article_build_manual_sized)(&net, in, (int)hidden, out, eta)
                       : (dp ? gf_article_build_autodiff_dp : gf_article_build_autodiff_sized)(&net, in, (int)hidden,
                                                                                              out, lr);
        /* The quantity the step descends (see the help's last paragraph). */
        if (built == GF_OK && manual)
            opt.train_loss = gf_mul(gf_scalar(net.g, 0.5f),
                                    gf_reduce_sum(gf_square(gf_graph_find(net.g, "diff")), NULL, 0, 0));
        else if (built == GF_OK)
            opt.train_loss = gf_reduce_sum(gf_graph_find(net.g, "cost"), NULL, 0, 0);
        if (built == GF_OK) built = gf_graph_status(net.g);
    }
    opt.on_loss = on_loss;
    if (plot_file && lead) rep.plot = &plot;
    /* Data-parallel: the loss printed is the global batch's (the shards'
     * losses summed, or averaged for the mean cross-entropies). */
    if (built == GF_OK && dp)
        opt.train_loss = gf_name(adam ? gf_all_reduce_mean(opt.train_loss) : gf_all_reduce_sum(opt.train_loss),
                                 "all_reduce/loss");
    if (built == GF_OK) built = gf_graph_status(net.g);
    if (built != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", net.g ? gf_graph_error(net.g) : "out of memory");
        goto out;
    }
    /* The signature of --save: its nodes are added before the session starts. */
    gf_signature_entry sig_entries[8];
    gf_cli_train_sig ts = { .images = net.a_0, .labels = net.y, .keep_prob = keep_node,
                            .probs = infer ? infer : net.a_2, .cost = opt.train_loss, .steps = net.step,
                            .n_steps = net.n_step, .input_scale = scale };
    if (gf_cli_train_signature(&ts, sig_entries, &save_sig) != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", gf_graph_error(net.g));
        goto out;
    }
    opt.micro = (int)accumulate;
    opt.rank = rank;
    opt.size = ranks;
    opt.no_eval = !lead;
    if (ranks > 1 && !(mpi = gf_mpi_start(timeout, msg, sizeof msg))) {
        fprintf(stderr, "gradflow train: rank %d: %s\n", rank, msg);
        goto out;
    }
    const int64_t run[] = { opt.batch, accumulate, opt.steps, n_train, n_test, src.features };
    if (mpi && !same_run(mpi, run, msg, sizeof msg)) {
        fprintf(stderr, "gradflow train: rank %d: %s\n", rank, msg);
        goto out;
    }
    s = gf_session_new(net.g, &(gf_session_options){ .seed = (uint64_t)seed, .check_numerics = check,
                                                     .group = mpi ? gf_mpi_group(mpi) : NULL });
    if (!s || gf_session_status(s) != GF_OK) {
        fprintf(stderr, "gradflow train: %s\n", s ? gf_session_error(s) : "out of memory");
        goto out;
    }
    if (resume && lead) { /* rank 0 reads it; the others get its values */
        if (!gf_cli_resume("train", s, net.g, resume)) goto out;
        if (!rep.json) printf("resumed from %s\n", resume);
    }
    if (resume && mpi && gf_session_broadcast(s) != GF_OK) {
        fprintf(stderr, "gradflow train: rank %d: %s\n", rank, gf_session_error(s));
        goto out;
    }
    double seconds = 0;
    opt.on_step = on_step;
    plot.steps = opt.steps;
    rep.steps = opt.steps;
    rep.at_end = opt.at_end;
    gf_progress_start(&rep.progress, !quiet && lead, opt.steps, opt.batch);
    gf_status trained = save_every
        ? train_saving(&net, s, data, &opt, &rep, save, save_every, &seconds, msg, sizeof msg)
        : gf_article_train(&net, s, data, &opt, on_eval, &rep, &seconds, msg, sizeof msg);
    gf_progress_clear(&rep.progress);
    if (trained != GF_OK) {
        if (mpi) fprintf(stderr, "gradflow train: rank %d: %s\n", rank, msg);
        else fprintf(stderr, "gradflow train: %s\n", msg);
        goto out;
    }
    int finished = !lead || final_eval(&rep, &net, s, data, &opt);
    gf_progress_clear(&rep.progress);
    if (finished && save && !save_now(s, save, opt.steps, &rep)) finished = 0;
    if (mpi) { /* every rank learns whether rank 0 evaluated and saved */
        agreed = 1;
        if (!gf_mpi_agree(mpi, finished ? NULL : "could not evaluate or save (its message is above)", msg,
                          sizeof msg)) {
            if (!lead) fprintf(stderr, "gradflow train: rank %d: stopping: %s\n", rank, msg);
            goto out;
        }
    }
    if (!finished || !lead) {
        rc = finished ? GF_EXIT_OK : GF_EXIT_FAIL;
        goto out;
    }
    double rate = seconds > 0 ? (double)opt.steps / seconds : 0;
    if (rep.json)
        printf("{\"steps\":%lld,\"train_seconds\":%.6f,\"steps_per_second\":%.1f}\n",
               (long long)opt.steps, seconds, rate);
    else
        printf("trained %lld step%s of batch %lld in %.3f s: %.0f steps/s (%.1f us/step)\n",
               (long long)opt.steps, opt.steps == 1 ? "" : "s", (long long)opt.batch, seconds, rate,
               opt.steps ? 1e6 * seconds / (double)opt.steps : 0.0);
    if (plot_file) {
        char title[256], acc_label[256], loss_label[256];
        if (cnn)
            snprintf(title, sizeof title, "gradflow train: the Deep MNIST network (conv 32, conv 64, 1024, "
                     "dropout %g), Adam, batch %lld", (double)keep, (long long)opt.batch);
        else
            snprintf(title, sizeof title, "gradflow train: %s %lld-%lld-%lld, %s, batch %lld",
                     softmax ? "softmax model" : "the article's network", (long long)src.features,
                     (long long)hidden, (long long)src.classes,
                     softmax ? "Adam" : manual ? "manual step" : "autodiff step", (long long)opt.batch);
        snprintf(acc_label, sizeof acc_label, "accuracy: correct answers / %lld test images, at each evaluation",
                 (long long)opt.eval_size);
        snprintf(loss_label, sizeof loss_label,
                 "training loss: %s per batch, the mean over the steps since the previous evaluation",
                 adam ? "mean softmax cross-entropy" : manual ? "1/2 sum((a_2 - y)^2)" : "sum((a_2 - y)^2)");
        if (!gf_plot_write(&plot, plot_file, title, acc_label, loss_label, plot_err, sizeof plot_err)) {
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
    /* A rank that fails stops the others (MPI_Abort, after telling them);
     * after the last exchange every rank ends normally. */
    if (mpi) gf_mpi_end(mpi, agreed, "stopped with an error (its message is above)");
    gf_tensor_free(keep_t);
    gf_tensor_free(one_t);
    gf_plot_free(&plot);
    gf_session_free(s);
    gf_graph_free(net.g);
    gf_source_close(&src);
    return rc;
}
