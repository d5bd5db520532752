/*
 * gradflow.c — the command line's entry point: dispatches to the
 * sub-commands (train, eval, predict, data, gradcheck, bench) and prints the help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gradflow.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: gradflow COMMAND [OPTIONS]\n"
        "\n"
        "Commands:\n"
        "  train    train the article's 784-30-10 network, manual or autodiff step\n"
        "           (--save FILE writes a checkpoint, --resume FILE starts from one)\n"
        "  eval     accuracy and confusion matrix of a checkpoint on the test set\n"
        "  predict  the digit a checkpoint's network sees in PGM or MNIST images\n"
        "  graph    the training step's graph as Graphviz DOT (--png renders it)\n"
        "  data     fetch, convert or check datasets (gradflow data --help)\n"
        "  gradcheck  check every op's gradient against finite differences\n"
        "  bench    time the article's workloads against plain C and this core's peak\n"
        "\n"
        "Exit status: 0 success, 1 failure (bad data, failed run), 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return GF_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return GF_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("gradflow %d.%d.%d\n", GF_VERSION_MAJOR, GF_VERSION_MINOR, GF_VERSION_PATCH);
        return GF_EXIT_OK;
    }
    if (!strcmp(cmd, "train")) return gf_cli_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "data")) return gf_cli_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "gradcheck")) return gf_cli_gradcheck(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return gf_cli_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return gf_cli_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "predict")) return gf_cli_predict(argc - 1, argv + 1);
    if (!strcmp(cmd, "graph")) return gf_cli_graph(argc - 1, argv + 1);
    fprintf(stderr, "gradflow: unknown command '%s' (try 'gradflow --help')\n", cmd);
    return GF_EXIT_USAGE;
}
