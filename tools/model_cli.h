/*
 * model_cli.h — the network a command runs, read from FILE: a model file
 * (any graph with a signature naming its "images" input and "probs"
 * output), or an old checkpoint of one of train's networks, rebuilt and
 * restored (ckpt_cli.c). eval, predict, inspect and graph take either; a
 * command that exports a network starts here too. Also train's side:
 * saving a network as a model file with train's signature.
 */
#ifndef GF_MODEL_CLI_H
#define GF_MODEL_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "gradflow.h"

/* What a file is, from its first bytes. */
typedef enum gf_cli_file_kind { GF_CLI_UNKNOWN, GF_CLI_MODEL_FILE, GF_CLI_CHECKPOINT } gf_cli_file_kind;
gf_cli_file_kind gf_cli_file_kind_of(const char *file);

/* A network seen as a classifier: probs [?, n_classes] for images
 * x [?, features], the answer its largest value. */
typedef struct gf_cli_net {
    gf_model *model;     /* a model file: owns g and s; NULL for a checkpoint */
    gf_graph *g;         /* owned by model, or by this struct (checkpoint) */
    gf_session *s;
    gf_node *x;          /* images [?, features] */
    gf_node *probs;      /* [?, n_classes] */
    gf_node *classes;    /* int32 [?] (the signature's "classes"), or NULL */
    gf_node *keep_prob;  /* an old cnn checkpoint's dropout, fed 1; else NULL */
    int64_t features, n_classes;
    int64_t batch;       /* images per run: 100 for a convolutional network, else 1000 */
    int probabilities;   /* probs is a softmax (else, e.g., the article's sigmoids) */
    float input_scale;   /* a model file's "input_scale" output (train --scale), else 0 */
    const char *name;    /* a checkpoint: train's --model ("article", "softmax", "cnn"); else NULL */
    int hidden;          /* a checkpoint of article or softmax: its hidden units */
    char desc[160];      /* e.g. "--model softmax: 784-100-10, relu, softmax" */
} gf_cli_net;

/* Loads FILE: a model file (whose signature must name an "images"
 * placeholder [?, F] and a "probs" output [?, C]), else a checkpoint of
 * train's networks (hidden >= 0 overrides the hidden size read from it).
 * Prints "gradflow CMD: ..." and returns 0 on failure; free *n with
 * gf_cli_net_free either way. */
int gf_cli_net_load(const char *cmd, const char *file, int hidden, gf_cli_net *n);
void gf_cli_net_free(gf_cli_net *n);

/* The probs of the count images (n->features floats each) into out
 * (count * n->n_classes floats), n->batch images per run. Prints the error
 * and returns 0 on failure. */
int gf_cli_net_outputs(const char *cmd, const gf_cli_net *n, const float *images, int64_t count, float *out);

/* The index of the largest of row[0..k) (the first on ties). */
int gf_cli_argmax(const float *row, int64_t k);

/* train's signature: images and labels (and keep_prob) in; probs, classes,
 * cost and train out. steps are the training step's targets (joined by
 * gf_group when several). */
typedef struct gf_cli_train_sig {
    gf_node *images, *labels, *keep_prob; /* keep_prob may be NULL */
    gf_node *probs;                       /* needing images only */
    gf_node *cost;
    gf_node *const *steps;
    int n_steps;
    float input_scale;                    /* train's --scale (0: none): saved as the
                                             constant output "input_scale", so that
                                             eval and predict divide .npy and CSV
                                             features by it as training did */
} gf_cli_train_sig;

/* Adds the nodes the signature needs ("classes", "train" when there are
 * several steps, "input_scale" when t has one) to the graph of t's nodes;
 * call before the session starts. Fills sig, whose arrays live in entries
 * (8 of them). Returns the graph's status. */
gf_status gf_cli_train_signature(const gf_cli_train_sig *t, gf_signature_entry *entries, gf_signature *sig);

/* Sets every variable of s (on graph g) from FILE: a model file, each
 * variable taken by name (the file's must be the same set, with the same
 * shapes), or a checkpoint (gf_session_restore). Prints "gradflow CMD:
 * ..." and returns 0 on failure, with s unchanged; when FILE's variables
 * are another of train's --model than g's, or another --hidden, the
 * message says which to give. */
int gf_cli_resume(const char *cmd, gf_session *s, gf_graph *g, const char *file);

/* s as a JSON string, quotes included. */
void gf_cli_json_string(FILE *f, const char *s);

#endif
