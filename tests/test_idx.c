/*
 * test_idx.c — IDX reading: good plain and gzipped files, and every kind of
 * bad file (truncated at each length, bad header fields, garbage, oversize).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define GF_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GF_TEST_ASAN 1
#endif
#endif

/* A small valid file: rank 3, [2,3,4], data 0..23 (40 bytes). */
static size_t good_idx(uint8_t *buf)
{
    static const uint8_t h[16] = { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 };
    memcpy(buf, h, sizeof h);
    for (int i = 0; i < 24; i++) buf[16 + i] = (uint8_t)(i * 7 + 1);
    return 40;
}

/* gzip-compresses n bytes into a malloc'ed buffer (gzip wrapper). */
static uint8_t *gzip_bytes(const uint8_t *in, size_t n, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)n) + 32;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* Writes bytes to dir/name, reads it, and checks the code and that the
 * message holds want (and the file's path). */
static void expect_error(const char *dir, const void *bytes, size_t n, size_t max_bytes,
                         gf_status code, const char *want)
{
    char *path = gf_test_write_file(dir, "t-idx-ubyte", bytes, n);
    gf_idx idx;
    gf_error err = { 0 };
    gf_status st = gf_idx_read(path, max_bytes, &idx, &err);
    if (st != code || !strstr(err.message, want) || !strstr(err.message, path))
        fail_msg("%zu bytes: got status %d '%s', want %d with '%s'", n, (int)st, err.message,
                 (int)code, want);
    assert_null(idx.data);
    assert_int_equal(err.code, code);
    free(path);
}

static void check_good(const gf_idx *idx, const uint8_t *file)
{
    assert_int_equal(idx->rank, 3);
    assert_int_equal(idx->dim[0], 2);
    assert_int_equal(idx->dim[1], 3);
    assert_int_equal(idx->dim[2], 4);
    assert_int_equal(idx->count, 24);
    assert_memory_equal(idx->data, file + 16, 24);
}

static void read_ok(const char *dir, const void *bytes, size_t n, const uint8_t *plain)
{
    char *path = gf_test_write_file(dir, "ok-idx3-ubyte", bytes, n);
    gf_idx idx;
    gf_error err = { 0 };
    gf_status st = gf_idx_read(path, 0, &idx, &err);
    if (st != GF_OK) fail_msg("read failed: %s", err.message);
    check_good(&idx, plain);
    gf_idx_free(&idx);
    assert_null(idx.data);
    gf_idx_free(&idx); /* twice is fine */
    free(path);
}

static void test_good_plain_and_gzip(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t f[64];
    size_t n = good_idx(f);
    read_ok(dir, f, n, f);
    size_t gl;
    uint8_t *g = gzip_bytes(f, n, &gl);
    read_ok(dir, g, gl, f);
    /* Two concatenated gzip members are one valid gzip file. */
    size_t l1, l2;
    uint8_t *a = gzip_bytes(f, 10, &l1), *b = gzip_bytes(f + 10, n - 10, &l2);
    uint8_t *cat = malloc(l1 + l2);
    memcpy(cat, a, l1);
    memcpy(cat + l1, b, l2);
    read_ok(dir, cat, l1 + l2, f);
    free(a);
    free(b);
    free(cat);
    free(g);
    gf_test_rmdir(dir);
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t f[64];
    size_t n = good_idx(f);
    expect_error(dir, f, 0, 0, GF_ERR_FORMAT, "empty file");
    for (size_t len = 1; len < n; len++) expect_error(dir, f, len, 0, GF_ERR_FORMAT, "truncated");
    size_t gl;
    uint8_t *g = gzip_bytes(f, n, &gl);
    for (size_t len = 1; len < gl; len++) expect_error(dir, g, len, 0, GF_ERR_FORMAT, "truncated");
    /* The data part names both sizes. */
    expect_error(dir, f, 30, 0, GF_ERR_FORMAT,
                 "truncated: header promises 24 bytes of data, file holds 14");
    free(g);
    gf_test_rmdir(dir);
}

static void test_bad_header_fields(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t f[64];
    size_t n = good_idx(f);

    uint8_t bad[64];
    memcpy(bad, f, n);
    bad[1] = 1;
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "bad magic 00 01 08 03");
    expect_error(dir, "hello, world\n", 13, 0, GF_ERR_FORMAT, "not an IDX file");

    memcpy(bad, f, n);
    bad[2] = 0x0D;
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "dtype 0x0d (float32)");
    bad[2] = 0x0C;
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "only 0x08 (unsigned byte)");
    bad[2] = 0x42;
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "unsupported IDX dtype 0x42");

    memcpy(bad, f, n);
    bad[3] = 0;
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "unsupported rank 0");
    bad[3] = 5;
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "unsupported rank 5");

    memcpy(bad, f, n);
    bad[11] = 0; /* dim[1] = 0 */
    expect_error(dir, bad, n, 0, GF_ERR_FORMAT, "dimension 1 is 0");

    /* rank 4, every dimension 2^32-1: the product needs 128 bits. */
    uint8_t ov[20] = { 0, 0, 8, 4 };
    memset(ov + 4, 0xff, 16);
    expect_error(dir, ov, sizeof ov, 0, GF_ERR_FORMAT, "overflow");
    /* rank 3 of 2^21 each: 2^63 exactly overflows int64 too. */
    uint8_t ov3[16] = { 0, 0, 8, 3, 0, 0x20, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0, 0 };
    expect_error(dir, ov3, sizeof ov3, 0, GF_ERR_FORMAT, "does not fit in 64 bits");

    /* The same through gzip. */
    size_t gl;
    uint8_t *g = gzip_bytes(ov, sizeof ov, &gl);
    expect_error(dir, g, gl, 0, GF_ERR_FORMAT, "overflow");
    free(g);
    memcpy(bad, f, n);
    bad[2] = 0x0D;
    g = gzip_bytes(bad, n, &gl);
    expect_error(dir, g, gl, 0, GF_ERR_FORMAT, "dtype 0x0d");
    free(g);
    gf_test_rmdir(dir);
}

/* A header promising dims[0]*dims[1] bytes, followed by 10 bytes. */
static size_t promise(uint8_t *buf, uint32_t a, uint32_t b)
{
    uint8_t h[12] = { 0, 0, 8, 2, (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
                      (uint8_t)a, (uint8_t)(b >> 24), (uint8_t)(b >> 16), (uint8_t)(b >> 8),
                      (uint8_t)b };
    memcpy(buf, h, 12);
    memset(buf + 12, 7, 10);
    return 22;
}

static void test_promise_larger_than_file(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t f[64];
    size_t n = promise(f, 1000000, 1000); /* 10^9 bytes promised, 10 held */
    expect_error(dir, f, n, 1024, GF_ERR_FORMAT,
                 "truncated: header promises 1000000000 bytes of data, file holds 10");
    expect_error(dir, f, n, 0, GF_ERR_FORMAT, "file holds 10");
    size_t gl;
    uint8_t *g = gzip_bytes(f, n, &gl);
    expect_error(dir, g, gl, 1024, GF_ERR_FORMAT,
                 "truncated: header promises 1000000000 bytes of data, file holds 10");
    expect_error(dir, g, gl, 0, GF_ERR_FORMAT, "file holds 10");
    free(g);

    /* Really more data than max_bytes allows. */
    n = good_idx(f);
    expect_error(dir, f, n, 10, GF_ERR_FORMAT, "too large: header promises 24 bytes");
    g = gzip_bytes(f, n, &gl);
    expect_error(dir, g, gl, 10, GF_ERR_FORMAT, "over the limit of 10 bytes");
    free(g);
    gf_test_rmdir(dir);
}

#ifdef GF_TEST_ASAN
/* Under ASan an address-space limit cannot work (shadow memory): instead
 * allocations over 256 MiB fail, as with the limit below. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=256";
}
#endif

/* Reads path expecting a truncation error; 0 when so. */
static int reads_truncated(const char *path)
{
    gf_idx idx;
    gf_error err = { 0 };
    gf_status st = gf_idx_read(path, 0, &idx, &err);
    return st == GF_ERR_FORMAT && strstr(err.message, "truncated") ? 0 : 1;
}

/* With at most 256 MiB of memory to allocate, a file promising 900 MB
 * (under the 1 GiB default cap) must fail as truncated, not as out of
 * memory: the reader never allocates what a header merely promises. */
static void test_no_allocation_of_promised_size(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t f[64];
    size_t n = promise(f, 30000, 30000); /* 9*10^8 bytes */
    size_t gl;
    uint8_t *g = gzip_bytes(f, n, &gl);
    char *paths[2] = { gf_test_write_file(dir, "plain", f, n),
                       gf_test_write_file(dir, "gz", g, gl) };
    for (int i = 0; i < 2; i++) {
#ifdef GF_TEST_ASAN
        int rc = reads_truncated(paths[i]);
#else
        /* In a child limited to 256 MiB of address space. */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct rlimit rl = { 256u << 20, 256u << 20 };
            _exit(setrlimit(RLIMIT_AS, &rl) != 0 ? 3 : reads_truncated(paths[i]));
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        int rc = WEXITSTATUS(status);
#endif
        if (rc != 0) fail_msg("%s: not read as truncated (%d)", paths[i], rc);
        free(paths[i]);
    }
    free(g);
    gf_test_rmdir(dir);
}

static void test_trailing_bytes(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t f[64];
    size_t n = good_idx(f);
    memset(f + n, 9, 3);
    expect_error(dir, f, n + 3, 0, GF_ERR_FORMAT,
                 "trailing bytes: 3 bytes after the 24 bytes of data");
    size_t gl;
    uint8_t *g = gzip_bytes(f, n + 3, &gl);
    expect_error(dir, g, gl, 0, GF_ERR_FORMAT, "trailing bytes: 3 bytes");
    free(g);
    /* A valid gzip file followed by bytes that are not another member. */
    g = gzip_bytes(f, n, &gl);
    uint8_t *junk = malloc(gl + 5);
    memcpy(junk, g, gl);
    memcpy(junk + gl, "JUNK!", 5);
    expect_error(dir, junk, gl + 5, 0, GF_ERR_FORMAT, "5 bytes of non-gzip data after the end");
    free(junk);
    free(g);
    /* max_bytes past INT64_MAX (SIZE_MAX: no limit) does not wrap the byte
     * counts negative and skip the search for trailing bytes. */
    g = gzip_bytes(f, n + 3, &gl);
    const size_t huge[2] = { SIZE_MAX, (size_t)INT64_MAX + 1 };
    for (int i = 0; i < 2; i++) {
        expect_error(dir, g, gl, huge[i], GF_ERR_FORMAT, "trailing bytes: 3 bytes after the 24 bytes");
        expect_error(dir, f, n + 3, huge[i], GF_ERR_FORMAT, "trailing bytes: 3 bytes after the 24 bytes");
    }
    free(g);
    gf_test_rmdir(dir);
}

static void test_gzip_corruption(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    uint8_t garbage[64] = { 0x1f, 0x8b };
    for (int i = 2; i < 64; i++) garbage[i] = (uint8_t)(i * 37 + 11);
    expect_error(dir, garbage, sizeof garbage, 0, GF_ERR_FORMAT, "corrupt gzip data");

    uint8_t f[64];
    size_t n = good_idx(f);
    size_t gl;
    uint8_t *g = gzip_bytes(f, n, &gl);
    g[gl - 6] ^= 0x55; /* CRC-32 */
    expect_error(dir, g, gl, 0, GF_ERR_FORMAT, "corrupt gzip data (incorrect data check)");
    g[gl - 6] ^= 0x55;
    g[gl - 2] ^= 0x01; /* ISIZE */
    expect_error(dir, g, gl, 0, GF_ERR_FORMAT, "corrupt gzip data");
    g[gl - 2] ^= 0x01;
    /* Any flipped byte of the deflate body fails, whatever it decodes to. */
    for (size_t i = 10; i < gl - 8; i++) {
        g[i] ^= 0xA5;
        char *path = gf_test_write_file(dir, "flip", g, gl);
        gf_idx idx;
        gf_error err = { 0 };
        assert_int_equal(gf_idx_read(path, 0, &idx, &err), GF_ERR_FORMAT);
        free(path);
        g[i] ^= 0xA5;
    }
    free(g);
    gf_test_rmdir(dir);
}

static void test_not_a_file(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir();
    gf_idx idx;
    gf_error err = { 0 };
    assert_int_equal(gf_idx_read(dir, 0, &idx, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "is a directory"));

    char missing[4200];
    int missing_len = snprintf(missing, sizeof missing, "%s/nope-idx1-ubyte.gz", dir);
    assert_true(missing_len < (int)sizeof missing);
    assert_int_equal(gf_idx_read(missing, 0, &idx, &err), GF_ERR_IO);
    assert_non_null(strstr(err.message, "no such file"));
    assert_non_null(strstr(err.message, "nope-idx1-ubyte.gz"));

    assert_int_equal(gf_idx_read(NULL, 0, &idx, &err), GF_ERR_ARG);
    assert_int_equal(gf_idx_read(missing, 0, NULL, &err), GF_ERR_ARG);
    assert_int_equal(gf_idx_read(missing, 0, &idx, NULL), GF_ERR_IO); /* err may be NULL */
    gf_idx_free(NULL);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_plain_and_gzip),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_promise_larger_than_file),
        cmocka_unit_test(test_no_allocation_of_promised_size),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_gzip_corruption),
        cmocka_unit_test(test_not_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
