/*
 * fuzz_csv.c — libFuzzer target for the CSV reader and the datasets made
 * from what it reads: an options byte, then a file's bytes (plain or gzip,
 * told apart by magic) read with gf_csv_read; what reads becomes a dataset
 * (gf_dataset_from_arrays) that is split and batched.
 */
/* The options byte: bits 0-1 the delimiter (',' ';' tab ' '), bits 2-3 the
 * header mode (detect, yes, no, detect), bit 4 no_labels, bits 5-6 the
 * label column (0, 1, -1, 3), bit 7 a divisor of 255. */
#include "gradflow.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A dataset of x and y: a failure is a clean class-index error; else
 * batches crossing epochs and a split. */
static void fc_dataset(const gf_tensor *x, const gf_tensor *y, int borrow)
{
    /* One-hot rows of the largest label's width: keep them small here. */
    int64_t n = gf_tensor_shape(x).dim[0];
    float top = 0;
    for (int64_t i = 0; i < n; i++)
        if (gf_tensor_data(y)[i] > top) top = gf_tensor_data(y)[i];
    if (top > 4096 || (double)n * (top + 1) > (double)(1 << 22)) return;
    gf_dataset *d = (gf_dataset *)1;
    gf_error err = { 0 };
    gf_status st = gf_dataset_from_arrays(x, y, &(gf_dataset_options){ .seed = 1, .borrow = borrow }, &d, &err);
    if (st != GF_OK) {
        GF_FUZZ_CHECK(d == NULL && err.code == st && err.message[0] != '\0');
        GF_FUZZ_CHECK(st == GF_ERR_ARG || st == GF_ERR_SHAPE || st == GF_ERR_NOMEM);
        return;
    }
    int64_t classes = gf_dataset_classes(d);
    GF_FUZZ_CHECK(gf_dataset_count(d) == n && classes >= 1);
    const gf_tensor *bx, *by;
    int64_t bs = n > 3 ? 3 : n;
    for (int i = 0; i < 4; i++) {
        GF_FUZZ_CHECK(gf_dataset_next_batch(d, bs, &bx, &by) == GF_OK);
        GF_FUZZ_CHECK(gf_tensor_shape(bx).dim[0] == bs && gf_tensor_shape(by).dim[1] == classes);
        float sum = 0;
        for (int64_t k = 0; k < gf_tensor_count(by); k++) sum += gf_tensor_data(by)[k];
        GF_FUZZ_CHECK(sum == (float)bs); /* one-hot rows */
    }
    gf_dataset *a, *b;
    GF_FUZZ_CHECK(gf_dataset_split(d, n / 2, &a, &b) == GF_OK);
    gf_dataset_free(d);
    GF_FUZZ_CHECK(gf_dataset_count(a) + gf_dataset_count(b) == n);
    GF_FUZZ_CHECK(gf_dataset_next_batch(b, 1, &bx, &by) == GF_OK);
    gf_dataset_free(b);
    gf_dataset_free(a);
}

int gf_fuzz_csv(const uint8_t *data, size_t size);
int gf_fuzz_csv(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char buf[640];
    const char *path = gf_fuzz_path("t.csv", buf, sizeof buf);
    if (!path || gf_fuzz_write(path, data + 1, size - 1) != 0) return 0;
    static const char delims[4] = { ',', ';', '\t', ' ' };
    static const int headers[4] = { 0, 1, -1, 0 }, labels[4] = { 0, 1, -1, 3 };
    gf_csv_options o = { .delimiter = delims[data[0] & 3], .header = headers[(data[0] >> 2) & 3],
                         .no_labels = (data[0] >> 4) & 1, .label_column = labels[(data[0] >> 5) & 3],
                         .divisor = (data[0] & 0x80) ? 255.0f : 0.0f };
    gf_tensor *x = (gf_tensor *)1, *y = (gf_tensor *)1;
    gf_error err = { 0 };
    gf_status st = gf_csv_read(path, &o, &x, &y, &err);
    if (st != GF_OK) {
        GF_FUZZ_CHECK(x == NULL && y == NULL && err.code == st && err.message[0] != '\0');
        GF_FUZZ_CHECK(st == GF_ERR_FORMAT || st == GF_ERR_IO || st == GF_ERR_NOMEM || st == GF_ERR_ARG);
        GF_FUZZ_CHECK(strncmp(err.message, path, strlen(path)) == 0); /* names the file */
        return 0;
    }
    gf_shape xs = gf_tensor_shape(x);
    GF_FUZZ_CHECK(xs.rank == 2 && xs.dim[0] >= 1 && xs.dim[1] >= 1);
    (void)gf_fuzz_touch(gf_tensor_data(x), (size_t)gf_tensor_count(x) * sizeof(float));
    if (o.no_labels) {
        GF_FUZZ_CHECK(y == NULL);
    } else {
        GF_FUZZ_CHECK(y != NULL && gf_tensor_shape(y).rank == 1 && gf_tensor_shape(y).dim[0] == xs.dim[0]);
        (void)gf_fuzz_touch(gf_tensor_data(y), (size_t)gf_tensor_count(y) * sizeof(float));
        fc_dataset(x, y, data[0] & 1);
    }
    gf_tensor_free(x);
    gf_tensor_free(y);
    return 0;
}

#ifndef GF_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_csv(data, size); }
#endif
