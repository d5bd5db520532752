/*
 * ckpt_cli.h — helpers shared by `gradflow eval` and `gradflow predict`: the
 * network a checkpoint was saved from, recognised and restored; its outputs
 * over many images, in batches; test images; JSON strings.
 */
#ifndef GF_CKPT_CLI_H
#define GF_CKPT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "gradflow.h"

/* The networks `gradflow train` saves. */
typedef enum gf_cli_kind { GF_CLI_ARTICLE, GF_CLI_SOFTMAX, GF_CLI_CNN } gf_cli_kind;

/* A network restored from a checkpoint, seen as a classifier of 28x28
 * images: out [?,10] for images x [?,784], the answer its largest value. */
typedef struct gf_cli_model {
    gf_cli_kind kind;
    const char *name;   /* "article", "softmax", "cnn": train's --model */
    int hidden;         /* hidden units (article and softmax; 0 for cnn) */
    char desc[96];      /* e.g. "--model article: 784-30-10, sigmoid" */
    int probabilities;  /* out is a softmax (else the article's sigmoids) */
    gf_graph *g;        /* owned */
    gf_node *x, *out;
    gf_node *keep_prob; /* cnn: dropout's keep probability, fed 1; else NULL */
    int64_t batch;      /* images per run */
} gf_cli_model;

/* Reads the names and shapes of FILE's tensors, recognises which of train's
 * networks they belong to (the hidden size from w_1's shape, unless hidden
 * >= 0 is given), builds it and restores it. A checkpoint of no network
 * train makes is refused, naming its tensors; a file that cannot be read
 * as a checkpoint is reported as gf_session_restore reports it. Prints
 * "gradflow CMD: ..." on stderr and returns 0 on failure; on success *m and
 * *s are the caller's to free (gf_session_free(*s), then gf_cli_model_free). */
int gf_cli_load_model(const char *cmd, const char *file, int hidden, gf_cli_model *m, gf_session **s);
void gf_cli_model_free(gf_cli_model *m);

/* The outputs of the n images (784 floats each) into out (n * 10 floats),
 * run in batches of m->batch images (1000; 100 for the cnn), so that a
 * network with large intermediate tensors never holds them for the whole
 * test set. Prints the error and returns 0 on failure. */
int gf_cli_model_outputs(const char *cmd, const gf_cli_model *m, gf_session *s, const float *images, int64_t n,
                         float *out);

/* Test images of an MNIST folder (t10k-images-idx3-ubyte[.gz] and
 * t10k-labels-idx1-ubyte[.gz]), or of an IDX image file given by path: n
 * images of 784 floats byte/255, as the dataset loader scales them, and
 * labels[i] < 10. labels: 0 not read, 1 required, 2 read when the folder has
 * them; labels is NULL when not read (always for a file path). Prints the
 * failure and returns 0. Free with gf_cli_test_free. */
typedef struct gf_cli_test {
    int64_t n;
    float *images;
    uint8_t *labels;
} gf_cli_test;

int gf_cli_load_test(const char *cmd, const char *where, int labels, gf_cli_test *out);
void gf_cli_test_free(gf_cli_test *t);

/* s as a JSON string, quotes included. */
void gf_cli_json_string(FILE *f, const char *s);

#endif
