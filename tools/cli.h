/*
 * cli.h — the gradflow command's sub-commands, one file each, called by
 * tools/gradflow.c. Each returns the process exit status.
 */
#ifndef GF_CLI_H
#define GF_CLI_H

#include <stddef.h>

#include "gradflow.h"

/* Exit statuses, documented in `gradflow --help`. */
enum { GF_EXIT_OK = 0, GF_EXIT_FAIL = 1, GF_EXIT_USAGE = 2 };

int gf_cli_train(int argc, char **argv);  /* tools/cmd_train.c */
int gf_cli_data(int argc, char **argv);   /* tools/cmd_data.c  */
int gf_cli_gradcheck(int argc, char **argv); /* tools/cmd_gradcheck.c */
int gf_cli_bench(int argc, char **argv);  /* tools/cmd_bench.c  */
int gf_cli_eval(int argc, char **argv);   /* tools/cmd_eval.c   */
int gf_cli_predict(int argc, char **argv); /* tools/cmd_predict.c */
int gf_cli_graph(int argc, char **argv);   /* tools/cmd_graph.c   */
int gf_cli_inspect(int argc, char **argv); /* tools/cmd_inspect.c */
int gf_cli_export(int argc, char **argv);  /* tools/cmd_export.c  */

/* Prints "gradflow CMD: MESSAGE" for the dataset in DIR that could not be
 * loaded (err from gf_mnist_load); when files are missing (GF_ERR_IO),
 * followed by the hint of gf_cli_fetch_hint, which holds where gradflow
 * runs (tools/cmd_data.c). */
void gf_cli_data_error(const char *cmd, const char *dir, const gf_error *err);

/* The same hint for DIR: "scripts/get-mnist DIR fetches the MNIST files" or
 * "'gradflow data --help' says how to get the MNIST files". */
void gf_cli_fetch_hint(const char *dir, char *buf, size_t cap);

#endif
