/*
 * data_source.h — what `gradflow train --data PATH` and `gradflow data check
 * PATH` read: an MNIST IDX folder, a folder of .npy files or a CSV file,
 * made into train, validation and test datasets.
 */
#ifndef GF_DATA_SOURCE_H
#define GF_DATA_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "gradflow.h"

typedef struct gf_source_options {
    uint64_t seed;          /* shuffling */
    int64_t validation;     /* examples split off the training data; -1: the
                               default (MNIST: TensorFlow's rule, or 0 when
                               mnist_no_validation; others: 0) */
    int mnist_no_validation;
    const char *test_path;  /* CSV: the test set's file, or NULL */
    int label_column;       /* CSV: the label's column (negative: from the end) */
    const char *delimiter;  /* CSV: "," (NULL), ";", "tab", ... (one character) */
    float scale;            /* features divided by it (0: as they are); not
                               for MNIST folders, already 0..1 */
} gf_source_options;

typedef struct gf_source {
    const char *path;
    const char *kind;       /* "MNIST", "npy" or "CSV" */
    gf_mnist *mnist;        /* an MNIST folder (owned), else NULL */
    gf_dataset *all, *all_test;      /* owned, others */
    gf_tensor *arrays[4];   /* .npy and CSV: the arrays read (owned), which
                               all and all_test borrow: held once, not copied */
    gf_mnist view;          /* train, validation (may be empty), test (NULL
                               when there is none) */
    int rank;               /* the example's shape: [features], [h,w], [h,w,c] */
    int64_t shape[3];
    int64_t features, classes;
} gf_source;

/* The options train and data check share, rows of an option table: the
 * variables they fill are a gf_source_options' test_path, label_column
 * (int64_t), delimiter and scale (float). */
#define GF_SOURCE_OPTS(test_path, label_column, delimiter, scale)                                           \
    GF_OPT_S("--test-data", "FILE", "a CSV --data's test set: a CSV file of the same layout", (test_path)), \
    GF_OPT_I("--label-column", "N", -1000000, 1000000,                                                    \
             "a CSV file's label column, 0-based; negative counts from\nthe end (-1: the last) (default 0)",  \
             (label_column)),                                                                              \
    GF_OPT_S("--delimiter", "C", "a CSV file's field separator: one character, or 'tab'\n(default ',')",     \
             (delimiter)),                                                                                 \
    GF_OPT_X("--scale", "X", 1e-30, 1e30,                                                                  \
             "divide .npy and CSV features by X (default: taken as they\n"                                  \
             "are; --scale 255 makes 0..255 pixels MNIST's 0..1)",                                           \
             (scale))

/* The CSV delimiter --delimiter ARG names: ',' for NULL, '\t' for "tab",
 * else ARG's one character; 0 (and a message in msg) for anything else. */
char gf_source_delimiter(const char *arg, char *msg, size_t cap);

/* What a file holds, by its first bytes (read through zlib, so the same
 * for a gzipped file): an IDX array, a .npy array, or anything else (taken
 * as CSV text). GF_FILE_NONE when it cannot be opened. */
enum { GF_FILE_NONE, GF_FILE_IDX, GF_FILE_NPY, GF_FILE_TEXT };
int gf_source_file_kind(const char *path);

/* Opens path; returns 0 with a one-line message (no "gradflow CMD: ") in msg,
 * and src left freed. gf_mnist_load's errors come back in *err with
 * *mnist_failed set, for gf_cli_data_error's hint. */
int gf_source_open(const char *path, const gf_source_options *opt, gf_source *src, char *msg, size_t cap,
                   gf_error *err, int *mnist_failed);
void gf_source_close(gf_source *src);

/* "PATH, CSV, 42000 train / 0 validation / 0 test, 784 features, 10 classes" */
void gf_source_describe(const gf_source *src, char *buf, size_t cap);

/* The example shape as "28x28" or "784". */
void gf_source_shape(const gf_source *src, char *buf, size_t cap);

#endif
