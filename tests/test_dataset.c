/*
 * test_dataset.c — MNIST-style loading (splits, scaling, one-hot, bad
 * files) and next_batch's TensorFlow 1.x epoch and shuffle semantics.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define N_TRAIN 30
#define N_TEST 7
#define PIX 784

/* Pixel j of example i: pixel 0 is the example's id, so a batch row tells
 * which example it is; the rest cover every byte value. */
static uint8_t pixel(int64_t i, int64_t j) { return (uint8_t)(j == 0 ? i : (i * 7 + j * 3) % 256); }


/* Writes images [n,28,28] (rank 3, or rank 2 [n,784] when flat) and labels
 * [n_labels] with label i%10 (or bad_label at index bad_at). */
static void write_split(const char *dir, const char *prefix, int gz, int64_t n, int64_t n_labels,
                        int flat, int bad_at, int bad_label)
{
    uint8_t *img = malloc((size_t)(n * PIX)), *lab = malloc((size_t)n_labels);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < PIX; j++) img[i * PIX + j] = pixel(i, j);
    for (int64_t i = 0; i < n_labels; i++) lab[i] = (uint8_t)(i == bad_at ? bad_label : i % 10);
    char name[64];
    uint32_t idims[3] = { (uint32_t)n, 28, 28 }, fdims[2] = { (uint32_t)n, PIX };
    uint32_t ldims[1] = { (uint32_t)n_labels };
    assert_true(snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix) < (int)sizeof name);
    gf_test_write_idx(dir, name, gz, flat ? 2 : 3, flat ? fdims : idims, img, (size_t)(n * PIX));
    assert_true(snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix) < (int)sizeof name);
    gf_test_write_idx(dir, name, gz, 1, ldims, lab, (size_t)n_labels);
    free(img);
    free(lab);
}

/* A tiny valid folder: 30 training examples (gzipped), 7 test (plain). */
static char *tiny_dir(void)
{
    char *dir = gf_test_tmpdir();
    write_split(dir, "train", 1, N_TRAIN, N_TRAIN, 0, -1, 0);
    write_split(dir, "t10k", 0, N_TEST, N_TEST, 0, -1, 0);
    return dir;
}

static gf_mnist *load_ok(const char *dir, const gf_mnist_options *opt)
{
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    if (gf_mnist_load(dir, opt, &m, &err) != GF_OK) fail_msg("load failed: %s", err.message);
    return m;
}

static void expect_load_error(const char *dir, const gf_mnist_options *opt, gf_status code,
                              const char *want)
{
    gf_mnist *m = (gf_mnist *)1;
    gf_error err = { 0 };
    gf_status st = gf_mnist_load(dir, opt, &m, &err);
    if (st != code || !strstr(err.message, want))
        fail_msg("got %d '%s', want %d with '%s'", (int)st, err.message, (int)code, want);
    assert_null(m);
}

/* The id (pixel 0 * 255) of each row of an images tensor. */
static int64_t row_id(const gf_tensor *images, int64_t r)
{
    return (int64_t)(gf_tensor_data(images)[r * PIX] * 255.0f + 0.5f);
}

static void test_load_scaling_one_hot(void **state)
{
    (void)state;
    char *dir = tiny_dir();
    gf_mnist *m = load_ok(dir, NULL);
    assert_int_equal(gf_dataset_count(m->train), N_TRAIN);
    assert_int_equal(gf_dataset_count(m->validation), 0); /* TF: 0 unless 60000 */
    assert_int_equal(gf_dataset_count(m->test), N_TEST);
    assert_int_equal(m->is_subset, 0);
    const gf_tensor *img = gf_dataset_images(m->train), *lab = gf_dataset_labels(m->train);
    gf_shape s = gf_tensor_shape(img);
    assert_int_equal(s.rank, 2);
    assert_int_equal(s.dim[0], N_TRAIN);
    assert_int_equal(s.dim[1], PIX);
    assert_int_equal(gf_tensor_dtype(img), GF_F32);
    s = gf_tensor_shape(lab);
    assert_int_equal(s.dim[0], N_TRAIN);
    assert_int_equal(s.dim[1], 10);
    const float *x = gf_tensor_data(img), *y = gf_tensor_data(lab);
    for (int64_t i = 0; i < N_TRAIN; i++) {
        for (int64_t j = 0; j < PIX; j++)
            if (x[i * PIX + j] != (float)pixel(i, j) / 255.0f)
                fail_msg("image %lld pixel %lld: %.9g", (long long)i, (long long)j,
                         (double)x[i * PIX + j]);
        for (int c = 0; c < 10; c++)
            assert_true(y[i * 10 + c] == (c == i % 10 ? 1.0f : 0.0f));
    }
    x = gf_tensor_data(gf_dataset_images(m->test));
    assert_true(x[6 * PIX + 0] == 6.0f / 255.0f);
    /* head: borrowed rows, clamped to 1..count; an empty split gives NULLs. */
    const gf_tensor *hi, *hl;
    assert_int_equal(gf_dataset_head(m->test, 3, &hi, &hl), GF_OK);
    assert_int_equal(gf_tensor_shape(hi).dim[0], 3);
    assert_int_equal(gf_tensor_shape(hl).dim[1], 10);
    assert_ptr_equal(gf_tensor_data(hi), gf_tensor_data(gf_dataset_images(m->test)));
    assert_int_equal(gf_dataset_head(m->test, 100, &hi, &hl), GF_OK);
    assert_int_equal(gf_tensor_shape(hi).dim[0], N_TEST);
    assert_int_equal(gf_dataset_head(m->test, 0, &hi, &hl), GF_OK);
    assert_int_equal(gf_tensor_shape(hi).dim[0], 1);
    assert_int_equal(gf_dataset_head(m->validation, 5, &hi, &hl), GF_OK);
    assert_null(hi);
    assert_null(hl);
    gf_mnist_free(m);

    free(gf_test_write_file(dir, "SUBSET", "subset\n", 7));
    m = load_ok(dir, NULL);
    assert_int_equal(m->is_subset, 1);
    gf_mnist_free(m);
    gf_test_rmdir(dir);
}

static void test_validation_size(void **state)
{
    (void)state;
    char *dir = tiny_dir();
    gf_mnist *m = load_ok(dir, &(gf_mnist_options){ .seed = 1, .validation_size = 5 });
    assert_int_equal(gf_dataset_count(m->validation), 5);
    assert_int_equal(gf_dataset_count(m->train), N_TRAIN - 5);
    for (int64_t r = 0; r < 5; r++)
        assert_int_equal(row_id(gf_dataset_images(m->validation), r), r);
    for (int64_t r = 0; r < N_TRAIN - 5; r++)
        assert_int_equal(row_id(gf_dataset_images(m->train), r), r + 5);
    assert_true(gf_tensor_data(gf_dataset_labels(m->train))[5] == 1.0f); /* id 5, digit 5 */
    gf_mnist_free(m);
    m = load_ok(dir, &(gf_mnist_options){ .validation_size = N_TRAIN });
    assert_int_equal(gf_dataset_count(m->train), 0);
    gf_mnist_free(m);
    expect_load_error(dir, &(gf_mnist_options){ .validation_size = N_TRAIN + 1 }, GF_ERR_ARG,
                      "validation_size 31 out of range");
    expect_load_error(dir, &(gf_mnist_options){ .validation_size = -2 }, GF_ERR_ARG,
                      "validation_size -2");
    gf_test_rmdir(dir);
}

static void test_bad_folders(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    expect_load_error(dir, NULL, GF_ERR_IO, "missing train-images-idx3-ubyte");
    write_split(dir, "train", 0, N_TRAIN, N_TRAIN, 0, 17, 12);
    write_split(dir, "t10k", 1, N_TEST, N_TEST, 0, -1, 0);
    expect_load_error(dir, NULL, GF_ERR_FORMAT, "label 12 at index 17 is not a digit");
    expect_load_error(dir, NULL, GF_ERR_FORMAT, "train-labels-idx1-ubyte:");
    write_split(dir, "train", 0, N_TRAIN, N_TRAIN - 1, 0, -1, 0);
    expect_load_error(dir, NULL, GF_ERR_FORMAT, "holds 30 images but");
    expect_load_error(dir, NULL, GF_ERR_FORMAT, "holds 29 labels");
    write_split(dir, "train", 0, N_TRAIN, N_TRAIN, 1, -1, 0);
    expect_load_error(dir, NULL, GF_ERR_FORMAT, "images must be rank 3");
    write_split(dir, "train", 0, N_TRAIN, N_TRAIN, 0, -1, 0);
    gf_mnist_free(load_ok(dir, NULL));
    /* A bad file is named with its problem, .gz preferred over plain. */
    free(gf_test_write_file(dir, "t10k-labels-idx1-ubyte.gz", "\x1f\x8b\x08", 3));
    expect_load_error(dir, NULL, GF_ERR_FORMAT, "t10k-labels-idx1-ubyte.gz: truncated");
    char sub[4200];
    assert_true(snprintf(sub, sizeof sub, "%s/nothere", dir) < (int)sizeof sub);
    expect_load_error(sub, NULL, GF_ERR_IO, "no such directory");
    expect_load_error(NULL, NULL, GF_ERR_ARG, "dir is NULL");
    gf_test_rmdir(dir);
}

/* n batches of size bs from d; the example ids, in order, into ids. */
static void batches(gf_dataset *d, int64_t bs, int n, int64_t *ids)
{
    for (int b = 0; b < n; b++) {
        const gf_tensor *x, *y;
        assert_int_equal(gf_dataset_next_batch(d, bs, &x, &y), GF_OK);
        assert_int_equal(gf_tensor_shape(x).dim[0], bs);
        assert_int_equal(gf_tensor_shape(x).dim[1], PIX);
        assert_int_equal(gf_tensor_shape(y).dim[1], 10);
        for (int64_t r = 0; r < bs; r++) {
            int64_t id = row_id(x, r);
            ids[b * bs + r] = id;
            assert_true(gf_tensor_data(y)[r * 10 + id % 10] == 1.0f); /* rows stay paired */
            assert_true(gf_tensor_data(x)[r * PIX + 5] == (float)pixel(id, 5) / 255.0f);
        }
    }
}

/* 1 when ids[0..n) is a permutation of 0..n-1. */
static int is_permutation(const int64_t *ids, int64_t n)
{
    int seen[N_TRAIN] = { 0 };
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= n || seen[ids[i]]) return 0;
        seen[ids[i]] = 1;
    }
    return 1;
}

static void test_next_batch_epochs(void **state)
{
    (void)state;
    char *dir = tiny_dir();
    gf_mnist *m = load_ok(dir, &(gf_mnist_options){ .seed = 42, .validation_size = -1 });
    gf_dataset *d = m->train;
    /* Batches of 7 over 30 examples: 30 batches are exactly 7 epochs, and
     * each run of 30 ids is one epoch, a permutation, because a crossing
     * batch takes the rest of the old epoch then the new one's start (batch
     * 5: its first 2 rows are the 2 examples batches 1-4 had not shown, its
     * last 5 the start of epoch 1). Dropping or reshuffling the rest breaks
     * this. */
    int64_t ids[30 * 7];
    const gf_tensor *x, *y, *first = NULL;
    for (int b = 0; b < 30; b++) {
        batches(d, 7, 1, ids + b * 7);
        /* TF counts an epoch when a batch runs past its end. */
        assert_int_equal(gf_dataset_epochs(d), (7 * (b + 1) - 1) / 30);
        assert_int_equal(gf_dataset_next_batch(d, 0, &x, &y), GF_ERR_ARG); /* no state change */
    }
    for (int e = 0; e < 7; e++) assert_true(is_permutation(ids + 30 * e, 30));
    /* The first batch is shuffled already, and each epoch in a new order. */
    int64_t identity[7] = { 0, 1, 2, 3, 4, 5, 6 };
    assert_memory_not_equal(ids, identity, sizeof identity);
    assert_memory_not_equal(ids, ids + 30, 30 * sizeof *ids);

    /* Same size again: the very same tensors and buffers, no reallocation. */
    assert_int_equal(gf_dataset_next_batch(d, 7, &first, &y), GF_OK);
    float *data = gf_tensor_data(first);
    assert_int_equal(gf_dataset_next_batch(d, 7, &x, &y), GF_OK);
    assert_ptr_equal(x, first);
    assert_ptr_equal(gf_tensor_data(x), data);

    /* Sizes that cannot be served. */
    assert_int_equal(gf_dataset_next_batch(d, 0, &x, &y), GF_ERR_ARG);
    assert_null(x);
    assert_non_null(strstr(gf_dataset_error(d), "batch size 0 out of range"));
    assert_int_equal(gf_dataset_next_batch(d, -3, &x, &y), GF_ERR_ARG);
    assert_int_equal(gf_dataset_next_batch(d, N_TRAIN + 1, &x, &y), GF_ERR_ARG);
    assert_non_null(strstr(gf_dataset_error(d), "1..30"));
    assert_int_equal(gf_dataset_next_batch(m->validation, 1, &x, &y), GF_ERR_ARG);
    assert_int_equal(gf_dataset_next_batch(NULL, 1, &x, &y), GF_ERR_ARG);
    /* The whole set as one batch: every example, each epoch. */
    assert_int_equal(gf_dataset_next_batch(d, N_TRAIN, &x, &y), GF_OK);
    assert_string_equal(gf_dataset_error(d), "");
    gf_mnist_free(m);
    gf_test_rmdir(dir);
}

static void test_batch_size_divides(void **state)
{
    (void)state;
    char *dir = tiny_dir();
    gf_mnist *m = load_ok(dir, &(gf_mnist_options){ .seed = 3, .validation_size = -1 });
    int64_t ids[60];
    batches(m->train, 5, 6, ids);
    assert_true(is_permutation(ids, 30));
    assert_int_equal(gf_dataset_epochs(m->train), 0); /* counted lazily, as TF */
    batches(m->train, 5, 6, ids + 30);
    assert_int_equal(gf_dataset_epochs(m->train), 1);
    assert_true(is_permutation(ids + 30, 30));
    gf_mnist_free(m);
    gf_test_rmdir(dir);
}

static void test_seeds(void **state)
{
    (void)state;
    char *dir = tiny_dir();
    int64_t a[100], b[100], c[100];
    gf_mnist *m1 = load_ok(dir, &(gf_mnist_options){ .seed = 7, .validation_size = -1 });
    gf_mnist *m2 = load_ok(dir, &(gf_mnist_options){ .seed = 7, .validation_size = -1 });
    gf_mnist *m3 = load_ok(dir, &(gf_mnist_options){ .seed = 8, .validation_size = -1 });
    batches(m1->train, 10, 10, a);
    batches(m2->train, 10, 10, b);
    batches(m3->train, 10, 10, c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    /* The test split shuffles reproducibly too. */
    int64_t t1[7], t2[7];
    batches(m1->test, 7, 1, t1);
    batches(m2->test, 7, 1, t2);
    assert_memory_equal(t1, t2, sizeof t1);
    gf_mnist_free(m1);
    gf_mnist_free(m2);
    gf_mnist_free(m3);
    gf_test_rmdir(dir);
}

static void check_one_hot(const gf_dataset *d)
{
    const float *y = gf_tensor_data(gf_dataset_labels(d));
    for (int64_t i = 0; i < gf_dataset_count(d); i++) {
        int ones = 0, zeros = 0;
        for (int c = 0; c < 10; c++) {
            ones += y[i * 10 + c] == 1.0f;
            zeros += y[i * 10 + c] == 0.0f;
        }
        if (ones != 1 || zeros != 9) fail_msg("label row %lld is not one-hot", (long long)i);
    }
}

static void test_fashion_mnist(void **state)
{
    (void)state;
    struct stat st;
    if (stat(GF_FASHION_DIR, &st) != 0) skip();
    gf_mnist *m = load_ok(GF_FASHION_DIR, NULL);
    assert_int_equal(gf_dataset_count(m->train), 55000);
    assert_int_equal(gf_dataset_count(m->validation), 5000);
    assert_int_equal(gf_dataset_count(m->test), 10000);
    check_one_hot(m->train);
    check_one_hot(m->validation);
    check_one_hot(m->test);
    gf_mnist_free(m);
}

static void test_mnist_folder(void **state)
{
    (void)state;
    const char *dir = gf_test_mnist_dir();
    if (!dir) skip();
    gf_mnist *m = load_ok(dir, NULL);
    int64_t tr = gf_dataset_count(m->train), va = gf_dataset_count(m->validation),
            te = gf_dataset_count(m->test);
    if (m->is_subset) {
        assert_true(tr == 9000 && va == 0 && te == 1000);
    } else {
        assert_true(tr == 55000 && va == 5000 && te == 10000);
    }
    check_one_hot(m->train);
    check_one_hot(m->test);
    gf_mnist_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_scaling_one_hot),
        cmocka_unit_test(test_validation_size),
        cmocka_unit_test(test_bad_folders),
        cmocka_unit_test(test_next_batch_epochs),
        cmocka_unit_test(test_batch_size_divides),
        cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_fashion_mnist),
        cmocka_unit_test(test_mnist_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
