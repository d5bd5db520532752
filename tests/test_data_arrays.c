/*
 * test_data_arrays.c — datasets from the caller's arrays, gf_dataset_split,
 * gf_dataset_load_idx and gf_mnist_load's class count: one-hot labels,
 * class-index checks, borrowing, and next_batch giving the very batches
 * gf_mnist_load's splits give.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* An MNIST folder of n_train and n_test images rows x cols; pixel 0 of
 * image i is i, label i % classes. */
static char *mnist_dir(int n_train, int n_test, int rows, int cols, int classes)
{
    char *dir = gf_test_tmpdir();
    const char *names[2][2] = { { "train-images-idx3-ubyte", "train-labels-idx1-ubyte" },
                                { "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" } };
    for (int s = 0; s < 2; s++) {
        int n = s ? n_test : n_train;
        size_t dim = (size_t)rows * cols;
        uint8_t *img = malloc((size_t)n * dim), *lab = malloc((size_t)n);
        for (int i = 0; i < n; i++) {
            for (size_t j = 0; j < dim; j++) img[i * dim + j] = (uint8_t)(j ? ((size_t)i * 13 + j * 7) : (size_t)i);
            lab[i] = (uint8_t)(i % classes);
        }
        gf_test_write_idx(dir, names[s][0], 0, 3, (uint32_t[]){ (uint32_t)n, (uint32_t)rows, (uint32_t)cols },
                          img, (size_t)n * dim);
        gf_test_write_idx(dir, names[s][1], 0, 1, (uint32_t[]){ (uint32_t)n }, lab, (size_t)n);
        free(img);
        free(lab);
    }
    return dir;
}

static gf_dataset *from_arrays_ok(const gf_tensor *x, const gf_tensor *y, const gf_dataset_options *o)
{
    gf_dataset *d = NULL;
    gf_error err = { 0 };
    if (gf_dataset_from_arrays(x, y, o, &d, &err) != GF_OK) fail_msg("from_arrays: %s", err.message);
    assert_non_null(d);
    return d;
}

static void expect_arrays_error(const gf_tensor *x, const gf_tensor *y, const gf_dataset_options *o,
                                gf_status code, const char *want)
{
    gf_dataset *d = (gf_dataset *)1;
    gf_error err = { 0 };
    gf_status st = gf_dataset_from_arrays(x, y, o, &d, &err);
    if (st != code || !strstr(err.message, want))
        fail_msg("got %s '%s', want %s with '%s'", gf_status_string(st), err.message, gf_status_string(code),
                 want);
    assert_null(d);
}

/* Two datasets give the same batches, bit for bit, for steps of size bs. */
static void same_batches(gf_dataset *a, gf_dataset *b, int64_t bs, int steps)
{
    for (int s = 0; s < steps; s++) {
        const gf_tensor *ax, *ay, *bx, *by;
        assert_int_equal(gf_dataset_next_batch(a, bs, &ax, &ay), GF_OK);
        assert_int_equal(gf_dataset_next_batch(b, bs, &bx, &by), GF_OK);
        assert_int_equal(gf_tensor_count(ax), gf_tensor_count(bx));
        assert_int_equal(gf_tensor_count(ay), gf_tensor_count(by));
        if (memcmp(gf_tensor_data(ax), gf_tensor_data(bx), (size_t)gf_tensor_count(ax) * sizeof(float)) ||
            memcmp(gf_tensor_data(ay), gf_tensor_data(by), (size_t)gf_tensor_count(ay) * sizeof(float)))
            fail_msg("batch %d differs", s);
    }
    assert_int_equal(gf_dataset_epochs(a), gf_dataset_epochs(b));
}

static void test_one_hot_from_indices(void **state)
{
    (void)state;
    float xs[5 * 2], ys[5] = { 2, 0, 1, 2, 0 };
    for (int i = 0; i < 10; i++) xs[i] = (float)i;
    gf_tensor *x = gf_tensor_wrap(GF_F32, gf_dims(2, 5, 2), xs, NULL);
    gf_tensor *y = gf_tensor_wrap(GF_I32, gf_dims(1, 5), ys, NULL);
    gf_dataset *d = from_arrays_ok(x, y, NULL);
    assert_int_equal(gf_dataset_count(d), 5);
    assert_int_equal(gf_dataset_classes(d), 3); /* the largest + 1 */
    const gf_tensor *lab = gf_dataset_labels(d);
    assert_int_equal(gf_tensor_shape(lab).rank, 2);
    assert_int_equal(gf_tensor_shape(lab).dim[1], 3);
    for (int i = 0; i < 5; i++)
        for (int c = 0; c < 3; c++) assert_true(gf_tensor_data(lab)[i * 3 + c] == (c == (int)ys[i] ? 1.0f : 0.0f));
    /* copied: the caller's arrays may change or go */
    assert_ptr_not_equal(gf_tensor_data(gf_dataset_images(d)), xs);
    xs[0] = 99;
    assert_true(gf_tensor_data(gf_dataset_images(d))[0] == 0.0f);
    gf_dataset_free(d);

    /* classes given: wider one-hot rows */
    d = from_arrays_ok(x, y, &(gf_dataset_options){ .classes = 7 });
    assert_int_equal(gf_dataset_classes(d), 7);
    assert_true(gf_tensor_data(gf_dataset_labels(d))[0 * 7 + 2] == 1.0f);
    gf_dataset_free(d);

    /* borrowed: the dataset's images are the caller's */
    d = from_arrays_ok(x, y, &(gf_dataset_options){ .borrow = 1 });
    assert_ptr_equal(gf_tensor_data(gf_dataset_images(d)), xs);
    gf_dataset_free(d);

    /* one-hot [n,k] taken as it is, borrowed too */
    float oh[5 * 4];
    for (int i = 0; i < 20; i++) oh[i] = (float)(i % 5) * 0.25f;
    gf_tensor *yo = gf_tensor_wrap(GF_F32, gf_dims(2, 5, 4), oh, NULL);
    d = from_arrays_ok(x, yo, &(gf_dataset_options){ .borrow = 1 });
    assert_int_equal(gf_dataset_classes(d), 4);
    assert_ptr_equal(gf_tensor_data(gf_dataset_labels(d)), oh);
    gf_dataset_free(d);
    d = from_arrays_ok(x, yo, NULL);
    assert_memory_equal(gf_tensor_data(gf_dataset_labels(d)), oh, sizeof oh);
    gf_dataset_free(d);
    gf_tensor_free(x);
    gf_tensor_free(y);
    gf_tensor_free(yo);
}

static void test_bad_arrays(void **state)
{
    (void)state;
    float xs[4 * 3] = { 0 };
    gf_tensor *x = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 3), xs, NULL);
    float bad[][4] = { { 0, 1, 2.5f, 7 }, { 0, -1, 0, 0 }, { 1, 1, 1, NAN }, { 0, 1, 2, 3 }, { 3e7f, 0, 0, 0 } };
    const char *want[] = { "dataset: the label of example 2 (from 0) is 2.5, not a class index (an integer from 0)",
                           "example 1 (from 0) is -1, not a class index", "example 3 (from 0) is nan, not a class index",
                           "example 3 (from 0) is 3, not a class index 0..2 (classes: 3)",
                           "example 0 (from 0) is 30000000" };
    for (int i = 0; i < 5; i++) {
        gf_tensor *y = gf_tensor_wrap(GF_F32, gf_dims(1, 4), bad[i], NULL);
        expect_arrays_error(x, y, &(gf_dataset_options){ .classes = i == 3 ? 3 : 0 }, GF_ERR_ARG, want[i]);
        gf_tensor_free(y);
    }
    float ok[4] = { 0, 1, 0, 1 };
    gf_tensor *y3 = gf_tensor_wrap(GF_F32, gf_dims(1, 3), ok, NULL);
    expect_arrays_error(x, y3, NULL, GF_ERR_SHAPE, "features [4,3] hold 4 examples but labels [3] hold 3");
    gf_tensor *yr = gf_tensor_wrap(GF_F32, gf_dims(3, 4, 1, 1), ok, NULL);
    expect_arrays_error(x, yr, NULL, GF_ERR_SHAPE, "must be class indices [n] or one-hot [n, classes]");
    gf_tensor *y4 = gf_tensor_wrap(GF_F32, gf_dims(2, 4, 1), ok, NULL);
    expect_arrays_error(x, y4, &(gf_dataset_options){ .classes = 3 }, GF_ERR_SHAPE, "have 1 classes, options say 3");
    gf_tensor *s = gf_tensor_wrap(GF_F32, gf_dims(0), ok, NULL);
    expect_arrays_error(s, y4, NULL, GF_ERR_SHAPE, "must have a first dimension");
    gf_tensor *y1 = gf_tensor_wrap(GF_F32, gf_dims(1, 4), ok, NULL);
    expect_arrays_error(x, y1, &(gf_dataset_options){ .classes = -2 }, GF_ERR_ARG, "classes -2 is negative");
    /* no examples: classes must be given */
    gf_tensor *x0 = gf_tensor_new(GF_F32, gf_dims(2, 0, 3), NULL), *y0 = gf_tensor_new(GF_F32, gf_dims(1, 0), NULL);
    expect_arrays_error(x0, y0, NULL, GF_ERR_ARG, "set gf_dataset_options.classes");
    gf_dataset *d = from_arrays_ok(x0, y0, &(gf_dataset_options){ .classes = 2 });
    assert_int_equal(gf_dataset_count(d), 0);
    const gf_tensor *a, *b;
    assert_int_equal(gf_dataset_next_batch(d, 1, &a, &b), GF_ERR_ARG);
    assert_non_null(strstr(gf_dataset_error(d), "the dataset has 0 examples"));
    assert_int_equal(gf_dataset_head(d, 3, &a, &b), GF_OK);
    assert_null(a);
    gf_dataset_free(d);
    gf_tensor_free(x0);
    gf_tensor_free(y0);
    gf_tensor_free(y1);
    gf_tensor_free(s);
    gf_tensor_free(y4);
    gf_tensor_free(yr);
    gf_tensor_free(y3);
    gf_tensor_free(x);
}

/* The arrays of a gf_mnist split, given to gf_dataset_from_arrays as class
 * indices with the same seed and stream, give the same batches. */
static void test_same_batches_as_mnist(void **state)
{
    (void)state;
    char *dir = mnist_dir(23, 9, 4, 3, 10);
    for (int vs = 0; vs <= 6; vs += 6) {
        gf_mnist *m = NULL;
        gf_error err = { 0 };
        assert_int_equal(gf_mnist_load(dir, &(gf_mnist_options){ .seed = 5, .validation_size = vs }, &m, &err),
                         GF_OK);
        /* all the training images again, as the caller's arrays */
        int64_t n = 23;
        gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, (int)n, 12), NULL);
        gf_tensor *y = gf_tensor_new(GF_I32, gf_dims(1, (int)n), NULL);
        gf_dataset *parts[2] = { m->validation, m->train };
        int64_t at = 0;
        for (int p = 0; p < 2; p++) {
            int64_t k = gf_dataset_count(parts[p]);
            if (k == 0) continue;
            memcpy(gf_tensor_data(x) + at * 12, gf_tensor_data(gf_dataset_images(parts[p])),
                   (size_t)(k * 12) * sizeof(float));
            for (int64_t i = 0; i < k; i++)
                for (int c = 0; c < 10; c++)
                    if (gf_tensor_data(gf_dataset_labels(parts[p]))[i * 10 + c] == 1.0f)
                        gf_tensor_data(y)[at + i] = (float)c;
            at += k;
        }
        assert_int_equal(at, n);
        gf_dataset *all = from_arrays_ok(x, y, &(gf_dataset_options){ .seed = 5, .stream = 1, .classes = 10 });
        gf_dataset *val, *train;
        assert_int_equal(gf_dataset_split(all, vs, &val, &train), GF_OK);
        gf_dataset_free(all); /* the parts keep the memory */
        assert_int_equal(gf_dataset_count(val), vs);
        assert_int_equal(gf_dataset_count(train), n - vs);
        same_batches(train, m->train, 4, 20);
        same_batches(train, m->train, 7, 5);
        if (vs) same_batches(val, m->validation, 4, 6);
        gf_dataset_free(train);
        gf_dataset_free(val);
        gf_tensor_free(x);
        gf_tensor_free(y);
        gf_mnist_free(m);
    }
    gf_test_rmdir(dir);
}

/* Each epoch visits every example once; a batch crossing an epoch's end
 * takes the old epoch's tail and the new one's head; seeds and streams. */
static void test_epochs_and_seeds(void **state)
{
    (void)state;
    enum { N = 7 };
    float xs[N * 2 * 3], ys[N];
    for (int i = 0; i < N; i++) {
        ys[i] = (float)(i % 3);
        for (int j = 0; j < 6; j++) xs[i * 6 + j] = (float)(i * 10 + j);
    }
    gf_tensor *x = gf_tensor_wrap(GF_F32, gf_dims(3, N, 2, 3), xs, NULL);
    gf_tensor *y = gf_tensor_wrap(GF_F32, gf_dims(1, N), ys, NULL);
    gf_dataset *d = from_arrays_ok(x, y, &(gf_dataset_options){ .seed = 3, .borrow = 1 });
    int seen[4][N] = { { 0 } };
    int64_t taken = 0;
    for (int s = 0; s < 8; s++) { /* 8 batches of 3: 24 examples, epochs of 7 */
        const gf_tensor *bx, *by;
        assert_int_equal(gf_dataset_next_batch(d, 3, &bx, &by), GF_OK);
        gf_shape bs = gf_tensor_shape(bx);
        assert_int_equal(bs.rank, 3);
        assert_int_equal(bs.dim[0], 3);
        assert_int_equal(bs.dim[1], 2);
        assert_int_equal(bs.dim[2], 3);
        for (int r = 0; r < 3; r++, taken++) {
            int id = (int)(gf_tensor_data(bx)[r * 6] / 10);
            assert_true(gf_tensor_data(by)[r * 3 + id % 3] == 1.0f);
            seen[taken / N][id]++;
        }
    }
    for (int e = 0; e < 3; e++)
        for (int i = 0; i < N; i++) assert_int_equal(seen[e][i], 1);
    assert_int_equal(gf_dataset_epochs(d), 3);

    /* same seed and stream: same order; another stream: another order */
    gf_dataset *a = from_arrays_ok(x, y, &(gf_dataset_options){ .seed = 9, .stream = 4 });
    gf_dataset *b = from_arrays_ok(x, y, &(gf_dataset_options){ .seed = 9, .stream = 4 });
    gf_dataset *c = from_arrays_ok(x, y, &(gf_dataset_options){ .seed = 9, .stream = 5 });
    same_batches(a, b, 5, 9);
    const gf_tensor *ax, *cx;
    assert_int_equal(gf_dataset_next_batch(a, N, &ax, NULL), GF_OK);
    float first[N * 6];
    memcpy(first, gf_tensor_data(ax), sizeof first);
    assert_int_equal(gf_dataset_next_batch(c, N, &cx, NULL), GF_OK);
    assert_true(memcmp(first, gf_tensor_data(cx), sizeof first) != 0);

    /* split: range, head, frees in any order */
    gf_dataset *f, *r;
    assert_int_equal(gf_dataset_split(d, N + 1, &f, &r), GF_ERR_ARG);
    assert_non_null(strstr(gf_dataset_error(d), "split: 8 examples out of range: the dataset has 7, so 0..7"));
    assert_null(f);
    assert_int_equal(gf_dataset_split(d, 2, &f, &r), GF_OK);
    assert_string_equal(gf_dataset_error(d), "");
    gf_dataset_free(d);
    const gf_tensor *hx, *hy;
    assert_int_equal(gf_dataset_head(r, 2, &hx, &hy), GF_OK);
    assert_true(gf_tensor_data(hx)[0] == 20.0f); /* example 2 */
    assert_int_equal(gf_tensor_shape(hx).rank, 3);
    assert_int_equal(gf_tensor_shape(hy).dim[1], 3);
    assert_int_equal(gf_dataset_epochs(r), 0);
    gf_dataset_free(r);
    assert_int_equal(gf_dataset_head(f, 5, &hx, &hy), GF_OK);
    assert_int_equal(gf_tensor_shape(hx).dim[0], 2);
    gf_dataset_free(f);
    gf_dataset_free(a);
    gf_dataset_free(b);
    gf_dataset_free(c);
    gf_tensor_free(x);
    gf_tensor_free(y);
}

/* gf_dataset_load_idx: any image size and class count. */
static void test_load_idx(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t img[6 * 5 * 7], lab[6] = { 3, 12, 0, 7, 12, 1 };
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 11);
    gf_test_write_idx(dir, "img", 0, 3, (uint32_t[]){ 6, 5, 7 }, img, sizeof img);
    gf_test_write_idx(dir, "lab", 0, 1, (uint32_t[]){ 6 }, lab, sizeof lab);
    gf_test_write_idx(dir, "lab5", 0, 1, (uint32_t[]){ 5 }, lab, 5);
    char *ip = gf_test_path(dir, "img"), *lp = gf_test_path(dir, "lab"), *l5 = gf_test_path(dir, "lab5");
    gf_dataset *d = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_dataset_load_idx(ip, lp, NULL, &d, &err), GF_OK);
    assert_int_equal(gf_dataset_count(d), 6);
    assert_int_equal(gf_dataset_classes(d), 13);
    assert_int_equal(gf_tensor_shape(gf_dataset_images(d)).dim[1], 35);
    assert_true(gf_tensor_data(gf_dataset_images(d))[1] == 11.0f / 255.0f);
    assert_true(gf_tensor_data(gf_dataset_labels(d))[1 * 13 + 12] == 1.0f);
    gf_dataset_free(d);
    assert_int_equal(gf_dataset_load_idx(ip, lp, &(gf_dataset_options){ .classes = 20 }, &d, &err), GF_OK);
    assert_int_equal(gf_dataset_classes(d), 20);
    gf_dataset_free(d);
    assert_int_equal(gf_dataset_load_idx(ip, lp, &(gf_dataset_options){ .classes = 10 }, &d, &err),
                     GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "lab: label 12 at index 1 is not below the 10 classes"));
    assert_int_equal(gf_dataset_load_idx(ip, l5, NULL, &d, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "holds 6 images but"));
    assert_int_equal(gf_dataset_load_idx(lp, lp, NULL, &d, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "images must be rank 2..4"));
    /* A labels file whose header says rank 3: its rank is named, not the
     * size its dimensions would promise. */
    gf_test_write_idx(dir, "lab3", 0, 3, (uint32_t[]){ 6, 50000, 50000 }, lab, sizeof lab);
    char *l3 = gf_test_path(dir, "lab3");
    assert_int_equal(gf_dataset_load_idx(ip, l3, NULL, &d, &err), GF_ERR_FORMAT);
    if (!strstr(err.message, "lab3: labels must be rank 1 [count], but its IDX magic 00 00 08 03 says rank 3"))
        fail_msg("%s", err.message);
    free(l3);
    assert_null(d);
    free(ip);
    free(lp);
    free(l5);
    gf_test_rmdir(dir);
}

/* gf_mnist_load: images of any size, classes 0 (10), -1 (found) or given. */
static void test_mnist_classes(void **state)
{
    (void)state;
    char *dir = mnist_dir(30, 8, 5, 6, 26);
    gf_mnist *m = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_mnist_load(dir, NULL, &m, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "label 10 at index 10 is not a digit 0..9 (for more classes, set "
                                        "gf_mnist_options.classes)"));
    assert_int_equal(gf_mnist_load(dir, &(gf_mnist_options){ .validation_size = 4, .classes = -1 }, &m, &err),
                     GF_OK);
    assert_int_equal(gf_dataset_classes(m->train), 26);
    assert_int_equal(gf_dataset_classes(m->test), 26);
    assert_int_equal(gf_dataset_count(m->validation), 4);
    gf_shape s = gf_tensor_shape(gf_dataset_images(m->test));
    assert_int_equal(s.dim[0], 8);
    assert_int_equal(s.dim[1], 30);
    const gf_tensor *bx, *by;
    assert_int_equal(gf_dataset_next_batch(m->train, 5, &bx, &by), GF_OK);
    assert_int_equal(gf_tensor_shape(by).dim[1], 26);
    gf_mnist_free(m);
    assert_int_equal(gf_mnist_load(dir, &(gf_mnist_options){ .classes = 40 }, &m, &err), GF_OK);
    assert_int_equal(gf_dataset_classes(m->train), 40);
    gf_mnist_free(m);
    assert_int_equal(gf_mnist_load(dir, &(gf_mnist_options){ .classes = 20 }, &m, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "label 20 at index 20 is not below the 20 classes"));
    assert_int_equal(gf_mnist_load(dir, &(gf_mnist_options){ .classes = -3 }, &m, &err), GF_ERR_ARG);
    assert_null(m);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_hot_from_indices),  cmocka_unit_test(test_bad_arrays),
        cmocka_unit_test(test_same_batches_as_mnist), cmocka_unit_test(test_epochs_and_seeds),
        cmocka_unit_test(test_load_idx),              cmocka_unit_test(test_mnist_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
