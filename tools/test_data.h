/*
 * test_data.h — the examples eval and predict run a network on: an MNIST
 * folder's test set (IDX files of any image size), an IDX image file, a
 * folder of .npy files (test_images.npy, test_labels.npy) or a CSV file,
 * checked against the network's input size and class count.
 */
#ifndef GF_TEST_DATA_H
#define GF_TEST_DATA_H

#include <stdint.h>

typedef struct gf_cli_test {
    int64_t n, features;
    float *images;            /* n * features floats (IDX: bytes / 255) */
    int *labels;              /* n class indices, or NULL when not read */
    int64_t height, width;    /* images of IDX files: their size; else 0 */
} gf_cli_test;

typedef struct gf_cli_test_options {
    int labels;               /* 0 not read, 1 required, 2 read when there */
    int64_t features;         /* every example must have this many (0: any) */
    int64_t classes;          /* every label must be below it (0: any) */
    int label_column;         /* CSV: the label's column (negative from the end) */
    char delimiter;           /* CSV: the field separator (0: ',') */
    float scale;              /* .npy and CSV: values divided by it (0: as they are) */
} gf_cli_test_options;

/* Reads where: a folder holding test_images.npy (and test_labels.npy,
 * class indices [n] or one-hot rows [n,k]), else an MNIST-style folder
 * (t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]); a file named
 * *.csv or *.csv.gz is a CSV file (a label column and the features), any
 * other file an IDX image file (no labels). Prints "gradflow CMD: ..." and
 * returns 0 on failure. Free with gf_cli_test_free (also after a failure). */
int gf_cli_load_test(const char *cmd, const char *where, const gf_cli_test_options *o, gf_cli_test *out);
void gf_cli_test_free(gf_cli_test *t);

/* "28x28" when n is a square above 1, else "N" (for messages). */
const char *gf_cli_size_text(int64_t n, char *buf, int cap);

#endif
