/*
 * ckpt_cli.h — old checkpoints (variables only) in the commands that read
 * networks: the tensors a checkpoint holds, train's network it belongs to
 * rebuilt and restored, or its tensors restored as plain variables (for
 * gradflow inspect).
 */
#ifndef GF_CKPT_CLI_H
#define GF_CKPT_CLI_H

#include "model_cli.h"

typedef struct gf_cli_ckpt_entry {
    char name[64];
    gf_shape shape;
} gf_cli_ckpt_entry;

/* The names and shapes of a checkpoint's tensors, in file order (malloc'ed
 * array e of n). */
typedef struct gf_cli_ckpt_list {
    int n;
    gf_cli_ckpt_entry *e;
} gf_cli_ckpt_list;

/* Walks FILE's records (docs/checkpoint-format.md) for names and shapes,
 * skipping the data; nothing else is checked (a restore checks the whole
 * file). 0 when FILE does not read as a checkpoint. */
int gf_cli_ckpt_list_read(const char *file, gf_cli_ckpt_list *l);
void gf_cli_ckpt_list_free(gf_cli_ckpt_list *l);

/* l's entry of that name, or NULL. */
const gf_cli_ckpt_entry *gf_cli_ckpt_find(const gf_cli_ckpt_list *l, const char *name);

/* The variables of g, names and shapes, as a list (0: out of memory). */
int gf_cli_ckpt_list_of_graph(gf_graph *g, gf_cli_ckpt_list *l);

/* Which of train's --model networks l's tensors are, from their names and
 * shapes, on data of any size: "article", "softmax" or "cnn" (*hidden: the
 * hidden units, w_1's columns; 0 for cnn), or NULL for none of them. */
const char *gf_cli_train_model_of(const gf_cli_ckpt_list *l, int *hidden);

/* Recognises which of train's networks FILE's tensors belong to (the
 * hidden size from w_1's shape, unless hidden >= 0), builds it and
 * restores it into n (n->model NULL). Prints "gradflow CMD: ..." and
 * returns 0 on failure (a checkpoint of no network train makes is refused,
 * naming its tensors). */
int gf_cli_ckpt_net_load(const char *cmd, const char *file, int hidden, gf_cli_net *n);

/* FILE's tensors as the variables of a new graph (*g, owned by the caller,
 * freed after *s), restored into *s, so that the whole file is checked.
 * Prints and returns 0 on failure. */
int gf_cli_ckpt_open_plain(const char *cmd, const char *file, gf_graph **g, gf_session **s);

#endif
