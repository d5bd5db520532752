/*
 * gradflow.c — the command line's entry point: a table of the sub-commands
 * (name, function, one-line help), from which main dispatches and the
 * top-level help is printed.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gradflow.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command's name */
    const char *help;                  /* one line; '\n' continues it, indented */
} command;

static const command commands[] = {
    { "train", gf_cli_train, "train the article's 784-30-10 network (manual or autodiff step),\n"
                             "the softmax model or the cnn; --save FILE writes a model file" },
    { "eval", gf_cli_eval, "accuracy and confusion matrix of a model file on a test set" },
    { "predict", gf_cli_predict, "the class a model file's network sees in PGM, PNG or IDX images" },
    { "inspect", gf_cli_inspect, "a model file's signature, ops and tensors (or a checkpoint's)" },
    { "export", gf_cli_export, "a model file's (or checkpoint's) network as an ONNX model (--onnx OUT.onnx)" },
    { "graph", gf_cli_graph, "a training step's or a model file's graph as Graphviz DOT (--png)" },
    { "data", gf_cli_data, "check or convert MNIST folders, and how to get MNIST" },
    { "gradcheck", gf_cli_gradcheck, "check every op's gradient against finite differences" },
    { "bench", gf_cli_bench, "time the article's workloads against plain C and this core's peak" },
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: gradflow COMMAND [OPTIONS]\n"
               "       gradflow COMMAND --help\n"
               "\n"
               "Commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) {
        const char *h = commands[i].help;
        fprintf(f, "  %-10s ", commands[i].name);
        while (*h) {
            size_t len = strcspn(h, "\n");
            fprintf(f, "%.*s\n", (int)len, h);
            h += len;
            if (*h == '\n' && *++h) fprintf(f, "  %-10s ", "");
        }
    }
    fprintf(f, "\n"
               "Options accept '--opt value' and '--opt=value'. The article and what each\n"
               "model computes: docs/article.md in the source.\n"
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
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "gradflow: unknown command '%s' (try 'gradflow --help')\n", cmd);
    return GF_EXIT_USAGE;
}
