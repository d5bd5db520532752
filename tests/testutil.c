/*
 * testutil.c — helpers shared by the cmocka tests (see testutil.h).
 */
#include "testutil.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

void gf_test_assert_close(const float *got, const float *want, int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol * (1.0 + fabs((double)want[i])))) {
            fail_msg("element %lld: got %.9g, want %.9g (tol %g)", (long long)i,
                     (double)got[i], (double)want[i], tol);
        }
    }
}

void gf_test_write_idx(const char *dir, const char *name, int gz, int rank, const uint32_t *dims,
                       const uint8_t *data, size_t n)
{
    size_t hl = 4 + 4 * (size_t)rank;
    uint8_t *buf = malloc(hl + n);
    assert_non_null(buf);
    buf[0] = buf[1] = 0;
    buf[2] = 8;
    buf[3] = (uint8_t)rank;
    for (int i = 0; i < rank; i++)
        for (int k = 0; k < 4; k++) buf[4 + 4 * i + k] = (uint8_t)(dims[i] >> (24 - 8 * k));
    memcpy(buf + hl, data, n);
    if (gz) {
        char path[4200];
        int path_len = snprintf(path, sizeof path, "%s/%s.gz", dir, name);
        assert_true(path_len < (int)sizeof path);
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, buf, (unsigned)(hl + n)), (int)(hl + n));
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        free(gf_test_write_file(dir, name, buf, hl + n));
    }
    free(buf);
}

char *gf_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/gradflow-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

void gf_test_rmdir(char *dir)
{
    if (!dir) return;
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *gf_test_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

unsigned char *gf_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            b = realloc(b, cap *= 2);
            assert_non_null(b);
        }
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    *len = n;
    return b;
}

char *gf_test_write_file(const char *dir, const char *name, const void *bytes, size_t n)
{
    char *path = gf_test_path(dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    return path;
}

const gf_tensor *gf_test_run1(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *fetch)
{
    const gf_tensor *out = NULL;
    gf_status st = gf_session_run(s, feeds, n_feeds, &fetch, 1, NULL, 0, &out);
    if (st != GF_OK) fail_msg("run failed: %s", gf_session_error(s));
    return out;
}

const char *gf_test_mnist_dir(void)
{
    static char dir[4096];
    const char *env = getenv("GF_MNIST_DIR");
    snprintf(dir, sizeof dir, "%s", env && *env ? env : GF_TEST_DATA "/mnist");
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte.gz", dir);
    if (access(probe, R_OK) == 0) return dir;
    snprintf(probe, sizeof probe, "%s/train-images-idx3-ubyte", dir);
    if (access(probe, R_OK) == 0) return dir;
    return NULL;
}

const char *gf_test_gradflow(void)
{
    const char *bin = getenv("GRADFLOW");
    return bin && *bin ? bin : NULL;
}

int gf_test_run_gradflow(const char *args, int join_stderr, char *out, size_t cap)
{
    size_t len = strlen(gf_test_gradflow()) + strlen(args) + 16;
    char *cmd = malloc(len);
    assert_non_null(cmd);
    snprintf(cmd, len, "'%s' %s%s", gf_test_gradflow(), args, join_stderr ? " 2>&1" : "");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    free(cmd);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

void gf_test_assert_shape(gf_shape got, gf_shape want)
{
    char a[64], b[64];
    gf_shape_format(got, a, sizeof a);
    gf_shape_format(want, b, sizeof b);
    if (got.rank != want.rank) fail_msg("shape %s, want %s", a, b);
    for (int i = 0; i < want.rank; i++)
        if (got.dim[i] != want.dim[i]) fail_msg("shape %s, want %s", a, b);
}

gf_node *gf_test_const(gf_graph *g, gf_shape s, const float *data)
{
    gf_node *n = gf_constant(g, s, data);
    assert_non_null(n);
    assert_false(gf_node_is_poisoned(n));
    return n;
}

void gf_test_check_node(gf_graph *g, gf_node *n, gf_dtype dt, gf_shape s, const float *want, double tol)
{
    if (gf_graph_status(g) != GF_OK) fail_msg("graph error: %s", gf_graph_error(g));
    assert_int_equal(gf_node_dtype(n), dt);
    gf_session *sess = gf_session_new(g, &(gf_session_options){ .seed = 3 });
    assert_non_null(sess);
    assert_int_equal(gf_session_status(sess), GF_OK);
    const gf_tensor *t = gf_test_run1(sess, NULL, 0, n);
    assert_int_equal(gf_tensor_dtype(t), dt);
    gf_test_assert_shape(gf_tensor_shape(t), s);
    assert_int_equal(gf_tensor_count(t), gf_shape_count(s));
    gf_test_assert_close(gf_tensor_data(t), want, gf_shape_count(s), tol);
    gf_session_free(sess);
}

/* ---- PNG files (uncompressed filter, zlib for IDAT) ---- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void chunk(FILE *f, const char *type, const unsigned char *data, uint32_t n)
{
    unsigned char h[8];
    put32(h, n);
    memcpy(h + 4, type, 4);
    fwrite(h, 1, 8, f);
    if (n) fwrite(data, 1, n, f);
    uLong crc = crc32(crc32(0, (const Bytef *)type, 4), data, n);
    put32(h, (uint32_t)crc);
    fwrite(h, 1, 4, f);
}

void gf_test_write_png28(const char *path, const unsigned char *pixels, int channels)
{
    enum { W = 28 };
    unsigned char raw[W * (W * 4 + 1)], z[8192], ihdr[13] = { 0 };
    size_t stride = (size_t)W * (size_t)channels;
    for (int r = 0; r < W; r++) {
        raw[r * (stride + 1)] = 0;
        memcpy(raw + r * (stride + 1) + 1, pixels + r * stride, stride);
    }
    uLongf zn = sizeof z;
    assert_int_equal(compress(z, &zn, raw, (uLong)(W * (stride + 1))), Z_OK);
    put32(ihdr, W);
    put32(ihdr + 4, W);
    ihdr[8] = 8;
    ihdr[9] = channels == 4 ? 6 : 0;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    chunk(f, "IHDR", ihdr, 13);
    chunk(f, "IDAT", z, (uint32_t)zn);
    chunk(f, "IEND", NULL, 0);
    assert_int_equal(fclose(f), 0);
}

double gf_test_json_num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p) fail_msg("no %s in: %s", key, line);
    char *end;
    double v = strtod(p + strlen(pat), &end);
    if (end == p + strlen(pat)) fail_msg("%s is not a number in: %s", key, line);
    return v;
}

int gf_test_gradflowf(char *out, size_t cap, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return gf_test_run_gradflow(args, 1, out, cap);
}

void gf_test_contains(const char *text, const char *want)
{
    if (!strstr(text, want)) fail_msg("expected '%s' in:\n%s", want, text);
}

gf_test_fail gf_fail;

static void *fail_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (gf_fail.armed && ++gf_fail.calls == gf_fail.at) {
        gf_fail.failed = true;
        return NULL;
    }
    return malloc(n);
}

static void *fail_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (gf_fail.armed && ++gf_fail.calls == gf_fail.at) {
        gf_fail.failed = true;
        return NULL;
    }
    return realloc(p, n);
}

static void plain_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

const gf_allocator gf_test_fail_allocator = { fail_malloc, fail_realloc, plain_free, NULL };
