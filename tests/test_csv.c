/*
 * test_csv.c — gf_csv_read: Kaggle's MNIST layout, the options, gzip,
 * lines longer than a megabyte, numbers against strtod, errors naming the
 * line and the column (labels that are not class indices among them), and
 * the streaming promise (the text is never held: the live memory stays
 * below the file's size).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = gf_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gf_test_rmdir(dir);
    return 0;
}

static char *write_text(const char *name, const char *text)
{
    return gf_test_write_file(dir, name, text, strlen(text));
}

static char *write_gz(const char *name, const char *text, size_t n)
{
    char *path = gf_test_path(dir, name);
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, text, (unsigned)n), (int)n);
    assert_int_equal(gzclose(f), Z_OK);
    return path;
}

static void read_ok(const char *path, const gf_csv_options *o, gf_tensor **x, gf_tensor **y)
{
    gf_error err = { 0 };
    if (gf_csv_read(path, o, x, y, &err) != GF_OK) fail_msg("csv %s: %s", path, err.message);
}

static void expect_error(const char *text, const gf_csv_options *o, gf_status code, const char *want)
{
    char *path = write_text("bad.csv", text);
    gf_tensor *x = (gf_tensor *)1, *y = (gf_tensor *)1;
    gf_error err = { 0 };
    gf_status st = gf_csv_read(path, o, &x, &y, &err);
    char full[600];
    snprintf(full, sizeof full, "%s%s", want[0] == ':' ? path : "", want);
    if (st != code || !strstr(err.message, full))
        fail_msg("got %s '%s', want %s with '%s'", gf_status_string(st), err.message, gf_status_string(code), full);
    assert_null(x);
    assert_null(y);
    free(path);
}

static void test_kaggle_layout(void **state)
{
    (void)state;
    const char *text = "label,pixel0,pixel1,pixel2\n1,0,128,255\n0,255,0,3\n9,1,2,3\n";
    char *path = write_text("train.csv", text);
    gf_tensor *x, *y;
    read_ok(path, &(gf_csv_options){ .divisor = 255 }, &x, &y);
    gf_test_assert_shape(gf_tensor_shape(x), gf_dims(2, 3, 3));
    gf_test_assert_shape(gf_tensor_shape(y), gf_dims(1, 3));
    const float want_y[3] = { 1, 0, 9 }, px[9] = { 0, 128, 255, 255, 0, 3, 1, 2, 3 };
    assert_memory_equal(gf_tensor_data(y), want_y, sizeof want_y);
    for (int i = 0; i < 9; i++) assert_true(gf_tensor_data(x)[i] == px[i] / 255.0f); /* the IDX loader's floats */
    /* ... and into a dataset, 10 classes given */
    gf_dataset *d = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_dataset_from_arrays(x, y, &(gf_dataset_options){ .classes = 10 }, &d, &err), GF_OK);
    assert_int_equal(gf_dataset_classes(d), 10);
    assert_true(gf_tensor_data(gf_dataset_labels(d))[2 * 10 + 9] == 1.0f);
    gf_dataset_free(d);
    gf_tensor_free(x);
    gf_tensor_free(y);

    /* gzipped: the same tensors */
    char *gz = write_gz("train.csv.gz", text, strlen(text));
    read_ok(gz, &(gf_csv_options){ .divisor = 255 }, &x, &y);
    assert_memory_equal(gf_tensor_data(y), want_y, sizeof want_y);
    assert_true(gf_tensor_data(x)[2] == 1.0f);
    gf_tensor_free(x);
    gf_tensor_free(y);
    free(gz);
    free(path);
}

static void test_options(void **state)
{
    (void)state;
    gf_tensor *x, *y;
    /* ';', label last, no header detected, CRLF, a BOM, blank lines, no final newline */
    char *p = write_text("a.csv", "\xEF\xBB\xBF" "1.5;2;7\r\n\r\n  \n-3; 4e2 ;8\r\n0.25;\"5\";9");
    read_ok(p, &(gf_csv_options){ .delimiter = ';', .label_column = -1 }, &x, &y);
    gf_test_assert_shape(gf_tensor_shape(x), gf_dims(2, 3, 2));
    const float wx[6] = { 1.5f, 2, -3, 400, 0.25f, 5 }, wy[3] = { 7, 8, 9 };
    assert_memory_equal(gf_tensor_data(x), wx, sizeof wx);
    assert_memory_equal(gf_tensor_data(y), wy, sizeof wy);
    gf_tensor_free(x);
    gf_tensor_free(y);
    /* the label in the middle; no labels at all; a forced header */
    read_ok(p, &(gf_csv_options){ .delimiter = ';', .label_column = 1 }, &x, &y);
    assert_true(gf_tensor_data(y)[1] == 400.0f && gf_tensor_data(x)[1] == 7.0f);
    gf_tensor_free(x);
    gf_tensor_free(y);
    y = (gf_tensor *)1;
    read_ok(p, &(gf_csv_options){ .delimiter = ';', .no_labels = 1, .header = 1 }, &x, &y);
    assert_null(y);
    gf_test_assert_shape(gf_tensor_shape(x), gf_dims(2, 2, 3));
    assert_true(gf_tensor_data(x)[0] == -3.0f);
    gf_tensor_free(x);
    free(p);
    /* tabs, quoted header fields with the delimiter and "" inside */
    p = write_text("b.tsv", "\"a\tb\"\t\"say \"\"hi\"\"\"\ty\n1\t2\t3\n");
    read_ok(p, &(gf_csv_options){ .delimiter = '\t', .label_column = 2 }, &x, &y);
    gf_test_assert_shape(gf_tensor_shape(x), gf_dims(2, 1, 2));
    assert_true(gf_tensor_data(y)[0] == 3.0f);
    gf_tensor_free(x);
    gf_tensor_free(y);
    free(p);
    /* header -1: a first line that is not numbers is an error, with its place */
    expect_error("a,b\n1,2\n", &(gf_csv_options){ .header = -1 }, GF_ERR_FORMAT,
                 ":1:1: field 1, \"a\", is not a number");
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("label,x,y\n1,2,3\n4,abc,6\n", NULL, GF_ERR_FORMAT, ":3:3: field 2, \"abc\", is not a number");
    expect_error("label,x,y\n1,2,3\n4,5\n", NULL, GF_ERR_FORMAT,
                 ":3:4: 2 fields, but the header (line 1) has 3");
    expect_error("1,2,3\n4,5,6,7\n", NULL, GF_ERR_FORMAT,
                 ":2:7: more than 3 fields, the width of the first row (line 1)");
    expect_error("1,2,3\n4,,6\n", NULL, GF_ERR_FORMAT, ":2:3: field 2 is empty (a missing value)");
    expect_error("1,2,3\n4,\"5,6\n", NULL, GF_ERR_FORMAT,
                 ":2:3: a quoted field is not closed before the end of the line");
    expect_error("1,2,3\n4,\"5\"x,6\n", NULL, GF_ERR_FORMAT, ":2:6: unexpected 'x' after a quoted field");
    expect_error("label,x\n", NULL, GF_ERR_FORMAT, ": no data rows (only a header line)");
    expect_error("\n \n\r\n", NULL, GF_ERR_FORMAT, ": no data rows (only blank lines)");
    expect_error("1,2\n", &(gf_csv_options){ .label_column = 5 }, GF_ERR_ARG,
                 ":1:1: label column 5 is outside this line's 2 fields (columns 0..1, or -1..-2 from the end)");
    expect_error("1\n2\n", NULL, GF_ERR_FORMAT, ":1:1: one field per line with the delimiter ',': the label, and no features");
    expect_error("1,2\n3,1e\n", NULL, GF_ERR_FORMAT, ":2:3: field 2, \"1e\", is not a number");
    expect_error("1,2\n3,\x01\xff\n", NULL, GF_ERR_FORMAT, ":2:3: field 2, \"??\", is not a number");
    expect_error("", NULL, GF_ERR_FORMAT, ": empty file (0 bytes)");
    expect_error("1,2\n", &(gf_csv_options){ .header = 3 }, GF_ERR_ARG, "header 3: 0 (detect), 1 (a header) or -1 (none)");
    expect_error("1,2\n", &(gf_csv_options){ .divisor = -1 }, GF_ERR_ARG, "divisor -1 is not a positive number");
    /* labels are class indices, named with their line and column */
    expect_error("label,a,b\n1,2,3\n0,1,1\n2,2,2\n3.5,0,0\n", NULL, GF_ERR_FORMAT,
                 ":5:1: label \"3.5\" is not a class index (an integer from 0)");
    expect_error("1,2,3\n0,1, -1\n", &(gf_csv_options){ .label_column = -1 }, GF_ERR_FORMAT,
                 ":2:6: label \"-1\" is not a class index (an integer from 0)");
    expect_error("a;y\n1;\"nan\"\n", &(gf_csv_options){ .delimiter = ';', .label_column = 1 }, GF_ERR_FORMAT,
                 ":2:3: label \"nan\" is not a class index");
    expect_error("1,2\n1e30,2\n", NULL, GF_ERR_FORMAT,
                 ":2:1: label \"1e30\" is not a class index (an integer from 0 to 16777215)");
    /* gzip cut off, and junk after it */
    const char *text = "label,a\n1,2\n3,4\n";
    char *gz = write_gz("t.csv.gz", text, strlen(text));
    size_t n = 0;
    unsigned char *b = gf_test_read_file(gz, &n);
    char *cut = gf_test_write_file(dir, "cut.csv.gz", b, n - 6);
    gf_tensor *x = NULL, *y = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_csv_read(cut, NULL, &x, &y, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "cut.csv.gz: truncated: the gzip stream is cut off"));
    unsigned char *j = malloc(n + 4);
    memcpy(j, b, n);
    memcpy(j + n, "JUNK", 4);
    char *junk = gf_test_write_file(dir, "junk.csv.gz", j, n + 4);
    assert_int_equal(gf_csv_read(junk, NULL, &x, &y, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "junk.csv.gz: 4 bytes of non-gzip data after the end of the gzip stream"));
    assert_int_equal(gf_csv_read(dir, NULL, &x, &y, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "is a directory, not a CSV file"));
    assert_null(x);
    free(j);
    free(b);
    free(gz);
    free(cut);
    free(junk);
}

/* Lines of more than a megabyte, crossing the reader's chunks anywhere. */
static void test_long_lines(void **state)
{
    (void)state;
    enum { FIELDS = 300000, ROWS = 3 };
    size_t cap = (size_t)ROWS * FIELDS * 8 + 64;
    char *text = malloc(cap);
    size_t n = 0;
    for (int r = 0; r < ROWS; r++) {
        n += (size_t)sprintf(text + n, "%d", r);
        for (int f = 1; f < FIELDS; f++) n += (size_t)sprintf(text + n, ",%d", (f * 7 + r) % 1000);
        text[n++] = '\n';
    }
    assert_true(n / ROWS > (1 << 20));
    for (int gz = 0; gz < 2; gz++) {
        char *path = gz ? write_gz("long.csv.gz", text, n) : gf_test_write_file(dir, "long.csv", text, n);
        gf_tensor *x, *y;
        read_ok(path, NULL, &x, &y);
        gf_test_assert_shape(gf_tensor_shape(x), gf_dims(2, ROWS, FIELDS - 1));
        for (int r = 0; r < ROWS; r++) {
            assert_true(gf_tensor_data(y)[r] == (float)r);
            for (int f = 1; f < FIELDS; f += 997)
                assert_true(gf_tensor_data(x)[(int64_t)r * (FIELDS - 1) + f - 1] == (float)((f * 7 + r) % 1000));
        }
        assert_true(gf_tensor_data(x)[(int64_t)ROWS * (FIELDS - 1) - 1] == (float)(((FIELDS - 1) * 7 + ROWS - 1) % 1000));
        gf_tensor_free(x);
        gf_tensor_free(y);
        free(path);
    }
    /* an error far along a long line names its column */
    sprintf(text + n - 2, "x\n");
    char *path = gf_test_write_file(dir, "longbad.csv", text, n);
    gf_tensor *x = NULL, *y = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_csv_read(path, NULL, &x, &y, &err), GF_ERR_FORMAT);
    char want[64];
    snprintf(want, sizeof want, ":3:%zu: field %d,", n / ROWS - 3, FIELDS);
    if (!strstr(err.message, want)) fail_msg("'%s' lacks '%s'", err.message, want);
    free(path);
    free(text);
}

/* Every number form against strtod rounded to float (numpy's loadtxt). */
static void test_numbers(void **state)
{
    (void)state;
    enum { N = 20000 };
    char *text = malloc((size_t)N * 48), *p = text;
    double *want = malloc(N * sizeof *want);
    gf_rng r;
    gf_rng_seed(&r, 42, 0);
    for (int i = 0; i < N; i++) {
        char num[40];
        uint32_t kind = gf_rng_below(&r, 6);
        double m = gf_rng_uniform(&r);
        /* Two draws in one expression come in an order the compiler picks:
         * each is drawn in a statement of its own, so gcc and clang agree. */
        uint32_t u = 0, d1 = 0, d2 = 0;
        if (kind == 0) u = gf_rng_u32(&r), d1 = gf_rng_below(&r, 32);
        if (kind == 2) d1 = gf_rng_below(&r, 20), d2 = gf_rng_below(&r, 80);
        switch (kind) {
        case 0: snprintf(num, sizeof num, "%u", u >> d1); break;
        case 1: snprintf(num, sizeof num, "%.*f", (int)gf_rng_below(&r, 12), m * 1000); break;
        case 2: snprintf(num, sizeof num, "%.*e", (int)d1, m * pow(10, (int)d2 - 40)); break;
        case 3: snprintf(num, sizeof num, "-%.17g", m * 1e-30); break;
        case 4: snprintf(num, sizeof num, "%.25f", m); break; /* more than 19 digits */
        default: snprintf(num, sizeof num, "%.9e", m * pow(10, (int)gf_rng_below(&r, 700) - 350)); break;
        }
        want[i] = strtod(num, NULL);
        p += sprintf(p, "%d,%s\n", i % 3, num);
    }
    char *path = gf_test_write_file(dir, "nums.csv", text, (size_t)(p - text));
    gf_tensor *x, *y;
    read_ok(path, &(gf_csv_options){ .header = -1 }, &x, &y);
    int64_t bad = 0;
    for (int i = 0; i < N; i++) {
        float g = gf_tensor_data(x)[i], w = (float)want[i];
        if (memcmp(&g, &w, sizeof g) != 0 && bad++ < 5)
            print_error("number %d: %.9g, want %.9g\n", i, (double)g, (double)w);
    }
    assert_int_equal(bad, 0);
    gf_tensor_free(x);
    gf_tensor_free(y);
    free(path);
    char *sp = write_text("special.csv", "0,nan,-inf,Infinity,+0,-0.0,1e-50,1e39,.5,5.\n");
    read_ok(sp, NULL, &x, &y);
    const float *v = gf_tensor_data(x);
    assert_true(isnan(v[0]) && v[1] == -INFINITY && v[2] == INFINITY && v[3] == 0 && signbit(v[4]));
    assert_true(v[5] == 0 && v[6] == INFINITY && v[7] == 0.5f && v[8] == 5.0f);
    gf_tensor_free(x);
    gf_tensor_free(y);
    free(sp);
    free(want);
    free(text);
}

/* ---- streaming: live memory below the text's size ---- */

static size_t live, peak;
static void *t_malloc(void *ctx, size_t n)
{
    (void)ctx;
    size_t *p = malloc(n + 16);
    if (!p) return NULL;
    p[0] = n;
    live += n;
    if (live > peak) peak = live;
    return (char *)p + 16;
}
static void t_free(void *ctx, void *q)
{
    (void)ctx;
    size_t *p = (size_t *)((char *)q - 16);
    live -= p[0];
    free(p);
}
static void *t_realloc(void *ctx, void *q, size_t n)
{
    if (!q) return t_malloc(ctx, n);
    size_t *p = (size_t *)((char *)q - 16), old = p[0];
    size_t *np = realloc(p, n + 16);
    if (!np) return NULL;
    np[0] = n;
    live = live - old + n;
    if (live > peak) peak = live;
    return (char *)np + 16;
}

static void test_streams(void **state)
{
    (void)state;
    /* 4000 rows of 100 long numbers: 5.6 MB of text, 1.6 MB of floats. */
    enum { ROWS = 4000, COLS = 100 };
    char *text = malloc((size_t)ROWS * COLS * 16), *p = text;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) p += sprintf(p, "%d.0000000000%s", (r + c) % 10, c + 1 < COLS ? "," : "\n");
    size_t n = (size_t)(p - text);
    for (int gz = 0; gz < 2; gz++) {
        char *path = gz ? write_gz("s.csv.gz", text, n) : gf_test_write_file(dir, "s.csv", text, n);
        gf_tensor *x, *y;
        live = peak = 0;
        gf_set_allocator(&(gf_allocator){ t_malloc, t_realloc, t_free, NULL });
        gf_error err = { 0 };
        gf_status st = gf_csv_read(path, NULL, &x, &y, &err);
        gf_tensor_free(x);
        gf_tensor_free(y);
        gf_set_allocator(NULL);
        if (st != GF_OK) fail_msg("%s", err.message);
        size_t floats = (size_t)ROWS * COLS * sizeof(float);
        print_message("%s: %zu bytes of text, %zu of floats, peak %zu live\n", gz ? "gzip" : "plain", n, floats, peak);
        assert_int_equal(live, 0);
        assert_true(peak < n / 2);             /* no copy of the text */
        assert_true(peak <= 2 * floats + (1 << 20)); /* the floats, growing by doubling */
        free(path);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kaggle_layout), cmocka_unit_test(test_options), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_lines),    cmocka_unit_test(test_numbers), cmocka_unit_test(test_streams),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
