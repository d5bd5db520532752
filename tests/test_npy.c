/*
 * test_npy.c — NumPy .npy files: round trips through gf_npy_write and
 * gf_npy_read, files written here byte by byte for every version, dtype,
 * byte order and Fortran order, and the bad files, each with its message
 * and no allocation beyond what the file holds.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Whether b (n bytes) contains the text s. */
static int has(const unsigned char *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(b + i, s, k)) return 1;
    return 0;
}

/* A .npy file in buf: version major.0, dict padded to a multiple of 64
 * (pad 0: no padding, only the newline), then n data bytes. */
static size_t npy_bytes(uint8_t *buf, int major, const char *dict, const void *data, size_t n, int pad)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = pad ? (pre + dl + 1 + 63) / 64 * 64 : pre + dl + 1, hlen = total - pre;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (n) memcpy(buf + total, data, n);
    return total + n;
}

/* Stores v's n-byte pattern (u) in the given byte order. */
static void put_bytes(uint8_t *p, uint64_t u, int n, int big)
{
    for (int i = 0; i < n; i++) p[big ? n - 1 - i : i] = (uint8_t)(u >> (8 * i));
}

static gf_tensor *read_ok(const char *path)
{
    gf_tensor *t = NULL;
    gf_error err = { 0 };
    if (gf_npy_read(path, &t, &err) != GF_OK) fail_msg("npy read %s: %s", path, err.message);
    return t;
}

/* Reads bytes written to dir/name; checks shape and values. */
static void expect_values(const char *dir, const uint8_t *b, size_t n, gf_shape shape, const float *want)
{
    char *path = gf_test_write_file(dir, "v.npy", b, n);
    gf_tensor *t = read_ok(path);
    gf_test_assert_shape(gf_tensor_shape(t), shape);
    assert_int_equal(gf_tensor_dtype(t), GF_F32);
    int64_t count = gf_shape_count(shape);
    for (int64_t i = 0; i < count; i++) {
        float g = gf_tensor_data(t)[i];
        if (!(g == want[i] || (isnan(g) && isnan(want[i]))) || signbit(g) != signbit(want[i]))
            fail_msg("element %lld: %.9g, want %.9g", (long long)i, (double)g, (double)want[i]);
    }
    gf_tensor_free(t);
    free(path);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    char *path = gf_test_path(dir, "a.npy");
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i * 0.37f - 3.0f;
    v[1] = NAN;
    v[2] = -0.0f;
    v[3] = INFINITY;
    v[4] = 1e-45f; /* a subnormal */
    gf_shape shapes[4] = { gf_dims(3, 2, 3, 4), gf_dims(0), gf_dims(1, 5), gf_dims(4, 1, 2, 3, 4) };
    const char *texts[4] = { "'shape': (2, 3, 4), }", "'shape': (), }", "'shape': (5,), }", "'shape': (1, 2, 3, 4), }" };
    for (int k = 0; k < 4; k++) {
        gf_tensor *t = gf_tensor_wrap(GF_F32, shapes[k], v, NULL);
        gf_error err = { 0 };
        assert_int_equal(gf_npy_write(path, t, &err), GF_OK);
        size_t n = 0;
        unsigned char *b = gf_test_read_file(path, &n);
        int64_t count = gf_shape_count(shapes[k]);
        assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
        size_t hl = (size_t)b[8] | (size_t)b[9] << 8;
        assert_int_equal((10 + hl) % 64, 0);
        assert_int_equal(b[10 + hl - 1], '\n');
        assert_int_equal(n, 10 + hl + (size_t)count * 4);
        char head[256] = { 0 };
        memcpy(head, b + 10, hl < 255 ? hl : 255);
        assert_non_null(strstr(head, "{'descr': '<f4', 'fortran_order': False, "));
        if (!strstr(head, texts[k])) fail_msg("header %s lacks %s", head, texts[k]);
        free(b);
        gf_tensor *u = read_ok(path);
        gf_test_assert_shape(gf_tensor_shape(u), shapes[k]);
        assert_memory_equal(gf_tensor_data(u), v, (size_t)count * sizeof(float)); /* bit for bit */
        gf_tensor_free(u);
        gf_tensor_free(t);
    }
    /* int32 and bool tensors keep their dtype in the file */
    float iv[4] = { -7, 0, 123456, 2 }, bv[3] = { 1, 0, 1 };
    gf_tensor *ti = gf_tensor_wrap(GF_I32, gf_dims(2, 2, 2), iv, NULL), *tb = gf_tensor_wrap(GF_BOOL, gf_dims(1, 3), bv, NULL);
    assert_int_equal(gf_npy_write(path, ti, NULL), GF_OK);
    size_t n = 0;
    unsigned char *b = gf_test_read_file(path, &n);
    assert_true(has(b, n, "'<i4'"));
    assert_int_equal(n, 128 + 16);
    free(b);
    gf_tensor *u = read_ok(path);
    assert_memory_equal(gf_tensor_data(u), iv, sizeof iv);
    gf_tensor_free(u);
    assert_int_equal(gf_npy_write(path, tb, NULL), GF_OK);
    b = gf_test_read_file(path, &n);
    assert_true(has(b, n, "'|b1'"));
    assert_int_equal(n, 128 + 3);
    free(b);
    u = read_ok(path);
    assert_memory_equal(gf_tensor_data(u), bv, sizeof bv);
    gf_tensor_free(u);
    gf_tensor_free(ti);
    gf_tensor_free(tb);
    free(path);
    gf_test_rmdir(dir);
}

/* Every dtype, both byte orders, versions 1, 2 and 3, unpadded headers. */
static void test_dtypes_and_orders(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    static const double vals[5] = { 0, 1.5, -2.25, 1e300, 3.0000001 };
    static const int64_t ivals[5] = { 0, -1, 127, -128, 5 };
    static const char *kinds[] = { "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1" };
    uint8_t data[64], file[512];
    for (int big = 0; big < 2; big++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char kind = kinds[k][0];
            int size = kinds[k][1] - '0';
            float want[5];
            for (int i = 0; i < 5; i++) {
                uint64_t u;
                if (kind == 'f' && size == 4) {
                    float f = (float)vals[i == 3 ? 4 : i];
                    uint32_t w;
                    memcpy(&w, &f, 4);
                    u = w;
                    want[i] = f;
                } else if (kind == 'f') {
                    memcpy(&u, &vals[i], 8);
                    want[i] = (float)vals[i];
                } else if (kind == 'b') {
                    u = (uint64_t)(i % 3); /* 2 is true too */
                    want[i] = i % 3 ? 1.0f : 0.0f;
                } else if (kind == 'i') {
                    int64_t x = ivals[i] * (size == 8 && i == 4 ? ((int64_t)1 << 40) : 1);
                    u = (uint64_t)x;
                    want[i] = (float)x;
                } else {
                    uint64_t x = size == 8 && i == 2 ? UINT64_MAX : (uint64_t)(i * 51);
                    u = x;
                    want[i] = (float)x;
                }
                put_bytes(data + i * size, u, size, big);
            }
            char dict[128];
            snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (5,)}",
                     size == 1 ? "|<"[big] : big ? '>' : '<', kinds[k]);
            int major = 1 + (int)(k % 3);
            size_t n = npy_bytes(file, major, dict, data, (size_t)(5 * size), (int)(k % 2));
            expect_values(dir, file, n, gf_dims(1, 5), want);
        }
    }
    assert_true(isinf((float)1e300)); /* f8 beyond float: infinity */
    gf_test_rmdir(dir);
}

static void test_fortran_order(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t file[512], d[24];
    for (int i = 0; i < 24; i++) d[i] = (uint8_t)i;
    /* (2,3) in Fortran order: item (i,j) is stored at i + 2j */
    size_t n = npy_bytes(file, 1, "{'fortran_order': True, 'shape': (2, 3), 'descr': '|u1'}", d, 6, 1);
    expect_values(dir, file, n, gf_dims(2, 2, 3), (const float[]){ 0, 2, 4, 1, 3, 5 });
    /* (2,3,4): item (i,j,k) at i + 2j + 6k */
    float want[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) want[i * 12 + j * 4 + k] = (float)(i + 2 * j + 6 * k);
    n = npy_bytes(file, 2, "{\"descr\": \"|u1\", \"fortran_order\": True, \"shape\": (2, 3, 4)}", d, 24, 1);
    expect_values(dir, file, n, gf_dims(3, 2, 3, 4), want);
    /* big-endian i2 (3,2) in Fortran order */
    uint8_t be[12];
    for (int f = 0; f < 6; f++) put_bytes(be + 2 * f, (uint64_t)(int64_t)(-100 * f), 2, 1);
    n = npy_bytes(file, 3, "{'descr': '>i2', 'fortran_order': True, 'shape': (3, 2), }", be, 12, 1);
    expect_values(dir, file, n, gf_dims(2, 3, 2), (const float[]){ 0, -300, -100, -400, -200, -500 });
    /* Fortran order of a vector is C order; an empty array reads too */
    n = npy_bytes(file, 1, "{'descr': '<u1', 'fortran_order': True, 'shape': (3,), }", d, 3, 1);
    expect_values(dir, file, n, gf_dims(1, 3), (const float[]){ 0, 1, 2 });
    n = npy_bytes(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", d, 0, 1);
    expect_values(dir, file, n, gf_dims(2, 0, 4), NULL);
    gf_test_rmdir(dir);
}

/* ---- bad files ---- */

static size_t largest;
static void *c_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (n > largest) largest = n;
    return malloc(n);
}
static void *c_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (n > largest) largest = n;
    return realloc(p, n);
}
static void c_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static char *expect_bad(const char *dir, const uint8_t *b, size_t n, gf_status code, const char *want)
{
    char *path = gf_test_write_file(dir, "bad.npy", b, n);
    gf_tensor *t = (gf_tensor *)1;
    gf_error err = { 0 };
    largest = 0;
    gf_set_allocator(&(gf_allocator){ c_malloc, c_realloc, c_free, NULL });
    gf_status st = gf_npy_read(path, &t, &err);
    gf_set_allocator(NULL);
    if (st != code || !strstr(err.message, want) || !strstr(err.message, path))
        fail_msg("got %s '%s', want %s with '%s'", gf_status_string(st), err.message, gf_status_string(code), want);
    assert_null(t);
    if (largest > 4 * n + ((size_t)1 << 17))
        fail_msg("'%s': an allocation of %zu bytes for a file of %zu", err.message, largest, n);
    free(path);
    return strdup(err.message);
}

static void test_bad_files(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    static uint8_t f[(1 << 20) + 256];
    uint8_t d[64] = { 0 };
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    struct {
        const char *dict;
        int major, minor;
        size_t data, cut;   /* data bytes; cut the file to this length when > 0 */
        const char *want;
    } cases[] = {
        { ok, 1, 0, 24, 5, "truncated: 5 bytes, shorter than the .npy magic" },
        { ok, 1, 0, 24, 7, "truncated: the file ends in the version" },
        { ok, 2, 0, 24, 11, "truncated: the file ends in the header length (11 bytes)" },
        { ok, 4, 0, 24, 0, "unsupported .npy format version 4.0 (1.0, 2.0 and 3.0 are)" },
        { ok, 1, 1, 24, 0, "unsupported .npy format version 1.1" },
        { ok, 1, 0, 24, 40, "truncated: the header is 118 bytes but the file holds 30 after the preamble" },
        { ok, 1, 0, 20, 0, "truncated: shape (2, 3) of '<f4' promises 24 bytes of data, the file holds 20" },
        { ok, 1, 0, 30, 0, "trailing bytes: 6 bytes after the 24 bytes of data that shape (2, 3) of '<f4' promises" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000), }", 1, 0, 24, 0,
          "shape (1000000000, 1000) of '<f4' promises 4000000000000 bytes of data, the file holds 24" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }", 1, 0, 24, 0,
          "shape (4294967296, 4294967296, 2) is too many elements for a tensor" },
        { "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", 1, 0, 24, 0,
          "dtype '<c8' is not supported: f4, f8, i1, i2, i4, i8, u1, u2, u4, u8 and b1 are" },
        { "{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }", 1, 0, 12, 0,
          "dtype '|f4' has no byte order, but its items are 4 bytes" },
        { "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", 1, 0, 12, 0,
          "a structured dtype (a list of fields) is not supported" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 2), }", 1, 0, 8, 0,
          "shape (1, 1, 1, 1, 2) has rank 5: gradflow's tensors have rank 0..4" },
        { "{'descr': '<f4', 'fortran_order': False}", 1, 0, 8, 0, "the .npy header has no 'shape'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 1, 0, 8, 0,
          "unknown key (the keys are 'descr', 'fortran_order' and 'shape')" },
        { "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", 1, 0, 8, 0,
          "fortran_order must be True or False" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}", 1, 0, 8, 0,
          "expected a dimension (a non-negative integer)" },
        { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 1, 0, 8, 0,
          "'descr' given twice" },
        { "['descr', '<f4']", 1, 0, 8, 0, "malformed .npy header at byte 0: expected '{'" },
        { "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} extra", 1, 0, 8, 0,
          "text after the closing '}'" },
    };
    int n_cases = (int)(sizeof cases / sizeof cases[0]);
    char *msgs[64];
    for (int c = 0; c < n_cases; c++) {
        size_t n = npy_bytes(f, cases[c].major, cases[c].dict, d, cases[c].data, 1);
        f[7] = (uint8_t)cases[c].minor;
        if (cases[c].cut) n = cases[c].cut;
        msgs[c] = expect_bad(dir, f, n, GF_ERR_FORMAT, cases[c].want);
    }
    int k = n_cases;
    msgs[k++] = expect_bad(dir, (const uint8_t *)"PK\3\4 not npy", 13, GF_ERR_FORMAT,
                           "not a .npy file: bad magic (a .npy file starts with \\x93NUMPY)");
    /* A header over the 1 MiB limit, that the file holds. */
    size_t big = ((size_t)1 << 20) + 64;
    memset(f, ' ', sizeof f);
    memcpy(f, "\x93NUMPY\x02\x00", 8);
    for (int i = 0; i < 4; i++) f[8 + i] = (uint8_t)(big >> (8 * i));
    f[12] = '{';
    msgs[k++] = expect_bad(dir, f, 12 + big, GF_ERR_FORMAT, "a header of 1048640 bytes, over the limit of 1048576");
    /* gzip */
    uint8_t g[512], raw[256];
    size_t rn = npy_bytes(raw, 1, ok, d, 24, 1);
    uLongf gl = sizeof g;
    assert_int_equal(compress2(g, &gl, raw, rn, 6), Z_OK); /* zlib, not gzip: bad magic */
    free(expect_bad(dir, g, gl, GF_ERR_FORMAT, "bad magic"));
    char *zp = gf_test_path(dir, "z.npy");
    gzFile gz = gzopen(zp, "wb");
    gzwrite(gz, raw, (unsigned)rn);
    gzclose(gz);
    size_t zn = 0;
    unsigned char *zb = gf_test_read_file(zp, &zn);
    msgs[k++] = expect_bad(dir, zb, zn, GF_ERR_FORMAT, "a gzip-compressed file, not a .npy file: decompress it first");
    free(zb);
    free(zp);
    /* Distinct: no case's phrase in another's message. */
    for (int c = 0; c < n_cases; c++)
        for (int o = 0; o < k; o++)
            if (o != c && strstr(msgs[o], cases[c].want)) fail_msg("'%s' appears for another case: %s", cases[c].want, msgs[o]);
    for (int c = 0; c < k; c++) free(msgs[c]);

    /* Not files. */
    gf_tensor *t = NULL;
    gf_error err = { 0 };
    assert_int_equal(gf_npy_read(dir, &t, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "is a directory, not a .npy file"));
    char *missing = gf_test_path(dir, "missing.npy");
    assert_int_equal(gf_npy_read(missing, &t, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "missing.npy: no such file"));
    char *empty = gf_test_write_file(dir, "empty.npy", "", 0);
    assert_int_equal(gf_npy_read(empty, &t, &err), GF_ERR_FORMAT);
    assert_non_null(strstr(err.message, "empty file (0 bytes)"));
    free(missing);
    free(empty);
    gf_test_rmdir(dir);
}

/* The write goes through a temporary file: a failure leaves the old file
 * and no temporary; the old file's mode is kept. */
static void test_write_atomic(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    char *path = gf_test_write_file(dir, "old.npy", "old", 3);
    assert_int_equal(chmod(path, 0640), 0);
    float v[2] = { 1, 2 };
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(1, 2), v, NULL);
    gf_error err = { 0 };
    assert_int_equal(gf_npy_write(path, t, &err), GF_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    assert_int_equal(sb.st_size, 128 + 8);
    /* A directory in the way, a missing folder, a path ending in '/'. */
    assert_int_equal(gf_npy_write(dir, t, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "exists and is not a regular file"));
    char *nodir = gf_test_path(dir, "no/such/x.npy");
    assert_int_equal(gf_npy_write(nodir, t, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "no/such/x.npy"));
    char *slash = gf_test_path(dir, "sub/");
    assert_int_equal(gf_npy_write(slash, t, &err), GF_ERR_ARG);
    assert_non_null(strstr(err.message, "names a directory"));
    /* Nothing but old.npy in the folder. */
    char *tmpname = gf_test_path(dir, "old.npy");
    assert_int_equal(unlink(tmpname), 0);
    assert_int_equal(rmdir(dir), 0); /* fails if a temporary file was left */
    assert_int_equal(mkdir(dir, 0700), 0);
    free(tmpname);
    free(slash);
    free(nodir);
    free(path);
    gf_tensor_free(t);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_dtypes_and_orders),
        cmocka_unit_test(test_fortran_order), cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_write_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
