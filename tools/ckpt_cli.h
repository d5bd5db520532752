/*
 * ckpt_cli.h — helpers shared by `gradflow eval` and `gradflow predict`: the
 * article's network restored from a checkpoint, test images, JSON strings.
 */
#ifndef GF_CKPT_CLI_H
#define GF_CKPT_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "article.h"

/* Builds the article's 784-hidden-10 network and restores it from file.
 * Prints "gradflow CMD: ..." on stderr and returns 0 on failure; on success
 * *net and *s are the caller's to free (session first). */
int gf_cli_load_article(const char *cmd, const char *file, int hidden, gf_article_net *net, gf_session **s);

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
