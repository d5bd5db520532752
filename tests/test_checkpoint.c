/*
 * test_checkpoint.c — gf_session_save/restore: bitwise round trips, mismatch
 * and damage messages, atomic saves under failures and SIGKILL, and the CLI.
 */
#include "testutil.h"
#include "internal.h" /* gf__checkpoint_probe */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "article.h"

/* ---- helpers ---- */

/* A file that must exist. */
static unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *b = gf_test_read_file(path, len);
    if (!b) fail_msg("cannot open %s: %s", path, strerror(errno));
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("expected \"%s\" in: %s", needle, hay);
}

/* Files in dir other than keep (temporary leftovers). */
static int other_files(const char *dir, const char *keep)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, keep)) n++;
    closedir(d);
    return n;
}

/* A small graph: w [rows,cols], b [cols], scalar c, optionally an extra
 * variable, optionally without b; seeded values. */
typedef struct small {
    gf_graph *g;
    gf_session *s;
    gf_node *vars[4];
    int n;
} small;

static void small_build(small *m, int rows, int cols, uint64_t seed, int extra, int with_b)
{
    m->g = gf_graph_new();
    m->n = 0;
    m->vars[m->n++] = gf_variable(m->g, "w", gf_truncated_normal(m->g, gf_dims(2, rows, cols), 0, 1));
    if (with_b) m->vars[m->n++] = gf_variable(m->g, "b", gf_truncated_normal(m->g, gf_dims(1, cols), 0, 1));
    m->vars[m->n++] = gf_variable(m->g, "c", gf_truncated_normal(m->g, gf_dims(0), 0, 1));
    if (extra) m->vars[m->n++] = gf_variable(m->g, "extra", gf_zeros(m->g, gf_dims(1, 2)));
    assert_int_equal(gf_graph_status(m->g), GF_OK);
    m->s = gf_session_new(m->g, &(gf_session_options){ .seed = seed });
    assert_int_equal(gf_session_status(m->s), GF_OK);
}

static void small_free(small *m)
{
    gf_session_free(m->s);
    gf_graph_free(m->g);
}

/* All variables' values, concatenated (malloc'ed). */
static float *snapshot(gf_session *s, gf_node *const *vars, int n, size_t *count)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (size_t)gf_tensor_count(gf_session_variable(s, vars[i]));
    float *out = malloc(total * sizeof *out + 1);
    assert_non_null(out);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const gf_tensor *t = gf_session_variable(s, vars[i]);
        memcpy(out + at, gf_tensor_data(t), (size_t)gf_tensor_count(t) * sizeof *out);
        at += (size_t)gf_tensor_count(t);
    }
    *count = total;
    return out;
}

static void assert_unchanged(const small *m, const float *before, size_t n)
{
    size_t k;
    float *now = snapshot(m->s, m->vars, m->n, &k);
    assert_int_equal(k, n);
    assert_memory_equal(now, before, n * sizeof *now);
    free(now);
}

/* ---- round trips ---- */

/* Adam's slots are variables too: they round-trip, bit for bit, with NaN,
 * -0, infinities and subnormals; saving the restored session gives the same
 * bytes. */
static void round_trip_is_bitwise(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p1 = gf_test_path(dir, "a.gf"), *p2 = gf_test_path(dir, "b.gf");
    const char *names[] = { "w", "b", "w/adam_m", "w/adam_v", "b/adam_m", "b/adam_v", "beta1_power", "beta2_power" };
    enum { NV = sizeof names / sizeof names[0] };
    gf_node *va[NV], *vb[NV];
    gf_session *sa = NULL, *sb = NULL;
    gf_graph *ga = NULL, *gb = NULL;
    for (int k = 0; k < 2; k++) {
        gf_graph *g = gf_graph_new();
        gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
        gf_node *w = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 3, 4), 0, 1));
        gf_node *b = gf_variable(g, "b", gf_truncated_normal(g, gf_dims(2, 1, 4), 0, 1));
        gf_node *y = gf_add(gf_matmul(x, w), b);
        gf_node *step = gf_minimize(gf_adam(g, 0.01f, 0, 0, 0), gf_reduce_sum(gf_mul(y, y), NULL, 0, 0), NULL, 0);
        assert_int_equal(gf_graph_status(g), GF_OK);
        gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 11 + (uint64_t)k });
        assert_int_equal(gf_session_status(s), GF_OK);
        gf_node **v = k ? vb : va;
        for (int i = 0; i < NV; i++) assert_non_null(v[i] = gf_graph_find(g, names[i]));
        if (k == 0) { /* a few steps so that the slots are not zero */
            gf_tensor *xs = gf_tensor_new(GF_F32, gf_dims(2, 5, 3), NULL);
            for (int i = 0; i < 15; i++) gf_tensor_data(xs)[i] = (float)(i % 7) - 3.0f;
            gf_feed feed = { x, xs };
            for (int i = 0; i < 3; i++) assert_int_equal(gf_session_run(s, &feed, 1, NULL, 0, &step, 1, NULL), GF_OK);
            gf_tensor_free(xs);
            float *wd = gf_tensor_data(gf_session_variable(s, w));
            float specials[] = { NAN, -0.0f, INFINITY, -INFINITY, 1e-45f, -3.4e38f };
            memcpy(wd, specials, sizeof specials);
            sa = s;
            ga = g;
        } else {
            sb = s;
            gb = g;
        }
    }
    size_t na, nb;
    float *before_a = snapshot(sa, va, NV, &na), *before_b = snapshot(sb, vb, NV, &nb);
    assert_int_equal(na, nb);
    assert_memory_not_equal(before_a, before_b, na * sizeof(float));

    assert_int_equal(gf_session_save(sa, p1), GF_OK);
    assert_string_equal(gf_session_error(sa), "");
    if (gf_session_restore(sb, p1) != GF_OK) fail_msg("%s", gf_session_error(sb));
    float *after_b = snapshot(sb, vb, NV, &nb);
    assert_memory_equal(after_b, before_a, na * sizeof(float));

    assert_int_equal(gf_session_save(sb, p2), GF_OK);
    size_t l1, l2;
    unsigned char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    assert_int_equal(other_files(dir, "a.gf"), 1); /* b.gf; no temporary file left */

    /* A new file gets 0644; an existing one keeps its mode. */
    struct stat st;
    assert_int_equal(stat(p1, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(chmod(p1, 0600), 0);
    assert_int_equal(gf_session_save(sa, p1), GF_OK);
    assert_int_equal(stat(p1, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    free(b1);
    free(b2);
    free(before_a);
    free(before_b);
    free(after_b);
    gf_session_free(sa);
    gf_session_free(sb);
    gf_graph_free(ga);
    gf_graph_free(gb);
    free(p1);
    free(p2);
    gf_test_rmdir(dir);
}

/* A file written from docs/checkpoint-format.md alone (not by gradflow)
 * restores; and a duplicate, a NUL in a name, an unknown dtype are refused. */
typedef struct buf { unsigned char b[1024]; size_t n; } buf;
static void b_u32(buf *b, uint32_t v) { for (int i = 0; i < 4; i++) b->b[b->n++] = (unsigned char)(v >> (8 * i)); }
static void b_u64(buf *b, uint64_t v) { for (int i = 0; i < 8; i++) b->b[b->n++] = (unsigned char)(v >> (8 * i)); }
static void b_raw(buf *b, const void *p, size_t n) { memcpy(b->b + b->n, p, n); b->n += n; }
static void b_record(buf *b, const char *name, size_t name_len, uint32_t dtype, int rank, const int64_t *dims,
                     const float *data)
{
    size_t start = b->n;
    int64_t count = 1;
    b_u32(b, (uint32_t)name_len);
    b_raw(b, name, name_len);
    b_u32(b, dtype);
    b_u32(b, (uint32_t)rank);
    for (int i = 0; i < rank; i++) {
        b_u64(b, (uint64_t)dims[i]);
        count *= dims[i];
    }
    for (int64_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &data[i], 4);
        b_u32(b, u);
    }
    b_u32(b, (uint32_t)crc32(0, b->b + start, (uInt)(b->n - start)));
}
static void b_header(buf *b, uint32_t count)
{
    b->n = 0;
    b_raw(b, "GFCKPT\0\1", 8);
    b_u32(b, 1);
    b_u32(b, 0);
    b_u32(b, count);
    b_u32(b, (uint32_t)crc32(0, b->b, 20));
}
static void b_trailer(buf *b)
{
    b_raw(b, "GFCKEND\0", 8);
    b_u64(b, b->n + 12);
    b_u32(b, (uint32_t)crc32(0, b->b, (uInt)b->n));
}

static void independent_writer_and_bad_records(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "hand.gf");
    small m;
    small_build(&m, 2, 3, 1, 0, 1);
    float w[6] = { 1, 2, 3, 4, 5, 6 }, bb[3] = { -1, -2, -3 }, c = 42;
    int64_t dw[2] = { 2, 3 }, db[1] = { 3 };
    static buf b;

    b_header(&b, 3);
    b_record(&b, "c", 1, 0, 0, NULL, &c);
    b_record(&b, "w", 1, 0, 2, dw, w);
    b_record(&b, "b", 1, 0, 1, db, bb);
    b_trailer(&b);
    spit(p, b.b, b.n);
    if (gf_session_restore(m.s, p) != GF_OK) fail_msg("%s", gf_session_error(m.s));
    size_t n;
    float *v = snapshot(m.s, m.vars, m.n, &n);
    float want[10] = { 1, 2, 3, 4, 5, 6, -1, -2, -3, 42 };
    assert_int_equal(n, 10);
    assert_memory_equal(v, want, sizeof want);
    free(v);
    /* gradflow writes the same bytes, in graph order. */
    char *q = gf_test_path(dir, "gf.gf");
    assert_int_equal(gf_session_save(m.s, q), GF_OK);
    size_t len;
    unsigned char *mine = slurp(q, &len);
    static buf o;
    b_header(&o, 3);
    b_record(&o, "w", 1, 0, 2, dw, w);
    b_record(&o, "b", 1, 0, 1, db, bb);
    b_record(&o, "c", 1, 0, 0, NULL, &c);
    b_trailer(&o);
    assert_int_equal(len, o.n);
    assert_memory_equal(mine, o.b, len);
    free(mine);
    free(q);

    float *before = snapshot(m.s, m.vars, m.n, &n);
    b_header(&b, 4); /* w twice */
    b_record(&b, "w", 1, 0, 2, dw, w);
    b_record(&b, "b", 1, 0, 1, db, bb);
    b_record(&b, "w", 1, 0, 2, dw, w);
    b_record(&b, "c", 1, 0, 0, NULL, &c);
    b_trailer(&b);
    spit(p, b.b, b.n);
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_FORMAT);
    assert_contains(gf_session_error(m.s), "tensor \"w\": appears twice in the file");

    b_header(&b, 3); /* a NUL in a name */
    b_record(&b, "w\0x", 3, 0, 2, dw, w);
    b_record(&b, "b", 1, 0, 1, db, bb);
    b_record(&b, "c", 1, 0, 0, NULL, &c);
    b_trailer(&b);
    spit(p, b.b, b.n);
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_FORMAT);
    assert_contains(gf_session_error(m.s), "tensor \"w\\x00x\": the name contains a NUL byte");

    b_header(&b, 3); /* dtype code 9; then dtype int32 against float32 */
    b_record(&b, "w", 1, 9, 2, dw, w);
    b_record(&b, "b", 1, 0, 1, db, bb);
    b_record(&b, "c", 1, 0, 0, NULL, &c);
    b_trailer(&b);
    spit(p, b.b, b.n);
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_FORMAT);
    assert_contains(gf_session_error(m.s), "tensor \"w\": unknown dtype code 9");
    b_header(&b, 3);
    b_record(&b, "w", 1, 1, 2, dw, w);
    b_record(&b, "b", 1, 0, 1, db, bb);
    b_record(&b, "c", 1, 0, 0, NULL, &c);
    b_trailer(&b);
    spit(p, b.b, b.n);
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_SHAPE);
    assert_contains(gf_session_error(m.s), "tensor \"w\": dtype int32 in file, float32 in the graph");

    b_header(&b, 3); /* version 2, with a valid header CRC */
    b.b[8] = 2;
    b.n = 20;
    b_u32(&b, (uint32_t)crc32(0, b.b, 20));
    spit(p, b.b, b.n);
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_FORMAT);
    assert_contains(gf_session_error(m.s), "format version 2; this gradflow reads version 1");

    assert_unchanged(&m, before, n);
    free(before);
    small_free(&m);
    free(p);
    gf_test_rmdir(dir);
}

/* ---- mismatches with the graph ---- */

static void mismatches_name_the_tensor(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "ck.gf");
    small a;
    small_build(&a, 3, 4, 1, 0, 1);
    assert_int_equal(gf_session_save(a.s, p), GF_OK);
    char want[600];

    struct { int rows, cols, extra, with_b; gf_status code; const char *msg; } cases[] = {
        { 3, 5, 0, 1, GF_ERR_SHAPE, "tensor \"w\": shape [3,4] in file, [3,5] in the graph (and 1 more problem)" },
        { 3, 5, 0, 0, GF_ERR_SHAPE, "tensor \"w\": shape [3,4] in file, [3,5] in the graph (and 1 more problem)" },
        { 2, 4, 0, 1, GF_ERR_SHAPE, "tensor \"w\": shape [3,4] in file, [2,4] in the graph" },
        { 3, 4, 1, 1, GF_ERR_SHAPE, "variable \"extra\" of the graph is not in the file" },
        { 3, 4, 0, 0, GF_ERR_SHAPE, "tensor \"b\": the graph has no variable of that name" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        small m;
        small_build(&m, cases[i].rows, cases[i].cols, 2, cases[i].extra, cases[i].with_b);
        size_t n;
        float *before = snapshot(m.s, m.vars, m.n, &n);
        assert_int_equal(gf_session_restore(m.s, p), cases[i].code);
        snprintf(want, sizeof want, "checkpoint %s: %s", p, cases[i].msg);
        assert_string_equal(gf_session_error(m.s), want);
        assert_unchanged(&m, before, n);
        free(before);
        small_free(&m);
    }

    /* A non-variable node of that name; several problems counted. */
    gf_graph *g = gf_graph_new();
    gf_variable(g, "w", gf_zeros(g, gf_dims(2, 3, 4)));
    gf_name(gf_placeholder(g, "b", GF_F32, gf_dims(1, 4)), "b");
    gf_variable(g, "c", gf_zeros(g, gf_dims(1, 7)));
    gf_session *s = gf_session_new(g, NULL);
    assert_int_equal(gf_session_restore(s, p), GF_ERR_SHAPE);
    snprintf(want, sizeof want,
             "checkpoint %s: tensor \"b\": the graph's node of that name is a placeholder, not a variable "
             "(and 1 more problem)", p);
    assert_string_equal(gf_session_error(s), want);
    gf_session_free(s);
    gf_graph_free(g);

    /* Several variables missing are all named. */
    g = gf_graph_new();
    gf_variable(g, "w", gf_zeros(g, gf_dims(2, 3, 4)));
    gf_variable(g, "b", gf_zeros(g, gf_dims(1, 4)));
    gf_variable(g, "c", gf_zeros(g, gf_dims(0)));
    gf_variable(g, "p", gf_zeros(g, gf_dims(0)));
    gf_variable(g, "q", gf_zeros(g, gf_dims(0)));
    s = gf_session_new(g, NULL);
    assert_int_equal(gf_session_restore(s, p), GF_ERR_SHAPE);
    snprintf(want, sizeof want, "checkpoint %s: 2 variables of the graph are not in the file: \"p\", \"q\"", p);
    assert_string_equal(gf_session_error(s), want);
    gf_session_free(s);
    gf_graph_free(g);

    small_free(&a);
    free(p);
    gf_test_rmdir(dir);
}

/* ---- damage ---- */

/* Every byte of a small checkpoint flipped (two ways): refused, with a
 * message saying the file is damaged, and nothing changed. */
static void every_byte_flip_is_refused(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "ck.gf"), *q = gf_test_path(dir, "bad.gf");
    small a, m;
    small_build(&a, 2, 3, 1, 0, 1);
    small_build(&m, 2, 3, 2, 0, 1);
    assert_int_equal(gf_session_save(a.s, p), GF_OK);
    size_t len, n;
    unsigned char *good = slurp(p, &len), *bad = malloc(len);
    float *before = snapshot(m.s, m.vars, m.n, &n);
    /* 24 header, w: 4+1+4+4+16 then 24 data bytes; CRC mismatch naming w. */
    size_t w_data = 24 + 29;
    const unsigned char masks[] = { 0x01, 0xff, 0x80 };
    int refused = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            memcpy(bad, good, len);
            bad[i] ^= masks[k];
            spit(q, bad, len);
            gf_status st = gf_session_restore(m.s, q);
            const char *msg = gf_session_error(m.s);
            if (st == GF_OK) fail_msg("byte %zu ^ 0x%02x accepted", i, masks[k]);
            assert_int_equal(st, GF_ERR_FORMAT);
            assert_true(!strncmp(msg, "checkpoint ", 11) && strstr(msg, q));
            if (!strstr(msg, "damaged") && !strstr(msg, "bad magic") && !strstr(msg, "format version"))
                fail_msg("byte %zu ^ 0x%02x: unclear message: %s", i, masks[k], msg);
            if (i >= w_data && i < w_data + 24) assert_contains(msg, "tensor \"w\": CRC mismatch (file damaged)");
            refused++;
        }
    print_message("%d flipped files of %zu bytes refused\n", refused, len);
    assert_unchanged(&m, before, n);
    /* The intact one still restores. */
    assert_int_equal(gf_session_restore(m.s, p), GF_OK);
    free(before);
    free(good);
    free(bad);
    small_free(&a);
    small_free(&m);
    free(p);
    free(q);
    gf_test_rmdir(dir);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "ck.gf"), *q = gf_test_path(dir, "cut.gf");
    small a, m;
    small_build(&a, 2, 3, 1, 0, 1);
    small_build(&m, 2, 3, 2, 0, 1);
    assert_int_equal(gf_session_save(a.s, p), GF_OK);
    size_t len, n;
    unsigned char *good = slurp(p, &len);
    float *before = snapshot(m.s, m.vars, m.n, &n);
    char want[64];
    for (size_t cut = 0; cut < len; cut++) {
        spit(q, good, cut);
        assert_int_equal(gf_session_restore(m.s, q), GF_ERR_FORMAT);
        snprintf(want, sizeof want, "truncated at byte %zu", cut);
        assert_contains(gf_session_error(m.s), want);
    }
    /* Trailing bytes are refused too. */
    unsigned char *more = malloc(len + 3);
    memcpy(more, good, len);
    memcpy(more + len, "xyz", 3);
    spit(q, more, len + 3);
    assert_int_equal(gf_session_restore(m.s, q), GF_ERR_FORMAT);
    assert_contains(gf_session_error(m.s), "3 bytes of trailing data after the end marker");
    assert_unchanged(&m, before, n);
    free(more);
    free(before);
    free(good);
    small_free(&a);
    small_free(&m);
    free(p);
    free(q);
    gf_test_rmdir(dir);
}

static void unreadable_inputs(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "absent.gf");
    small m;
    small_build(&m, 2, 3, 1, 0, 1);
    char want[600];
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_IO);
    snprintf(want, sizeof want, "checkpoint %s: cannot open: No such file or directory", p);
    assert_string_equal(gf_session_error(m.s), want);
    assert_int_equal(gf_session_restore(m.s, dir), GF_ERR_IO);
    assert_contains(gf_session_error(m.s), "not a regular file");
    char *t = gf_test_write_file(dir, "text.gf", "hello, world\n", 13);
    assert_int_equal(gf_session_restore(m.s, t), GF_ERR_FORMAT);
    assert_contains(gf_session_error(m.s), "not a gradflow checkpoint (bad magic)");
    assert_int_equal(gf_session_restore(m.s, NULL), GF_ERR_ARG);
    assert_int_equal(gf_session_save(m.s, ""), GF_ERR_ARG);
    assert_int_equal(gf_session_save(NULL, p), GF_ERR_ARG);
    assert_int_equal(gf_session_restore(NULL, p), GF_ERR_ARG);
    free(t);
    small_free(&m);
    free(p);
    gf_test_rmdir(dir);
}

/* ---- failing saves leave the old file ---- */

static int fail_allocs;
static void *maybe_malloc(void *ctx, size_t n) { (void)ctx; return fail_allocs ? NULL : malloc(n); }
static void *maybe_realloc(void *ctx, void *p, size_t n) { (void)ctx; return fail_allocs ? NULL : realloc(p, n); }
static void plain_free(void *ctx, void *p) { (void)ctx; free(p); }

/* Saves m into path in a child whose files may not exceed limit bytes;
 * returns the child's status code and fills msg. */
static gf_status save_in_limited_child(small *m, const char *path, rlim_t limit, char *msg, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = { limit, limit };
        setrlimit(RLIMIT_FSIZE, &rl);
        gf_status st = gf_session_save(m->s, path);
        const char *e = gf_session_error(m->s);
        ssize_t w1 = write(fds[1], e, strlen(e));
        (void)w1;
        _exit((int)st);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], msg, cap - 1);
    msg[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return (gf_status)WEXITSTATUS(status);
}

static void failed_saves_keep_the_old_file(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "ck.gf");
    small m;
    small_build(&m, 100, 100, 1, 0, 1);
    assert_int_equal(gf_session_save(m.s, p), GF_OK);
    size_t len, len2;
    unsigned char *old = slurp(p, &len), *now;
    gf_tensor_data(gf_session_variable(m.s, m.vars[0]))[0] += 1; /* the next save differs */
    char msg[1024], want[600];

    /* A full disk: writes fail past 4 KiB (EFBIG, as ENOSPC would). */
    assert_int_equal(save_in_limited_child(&m, p, 4096, msg, sizeof msg), GF_ERR_IO);
    snprintf(want, sizeof want, "checkpoint %s: cannot write: %s", p, strerror(EFBIG));
    assert_string_equal(msg, want);
    now = slurp(p, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(old, now, len);
    free(now);
    assert_int_equal(other_files(dir, "ck.gf"), 0); /* the temporary file is gone */

    /* Out of memory. */
    gf_set_allocator(&(gf_allocator){ maybe_malloc, maybe_realloc, plain_free, NULL });
    fail_allocs = 1;
    assert_int_equal(gf_session_save(m.s, p), GF_ERR_NOMEM);
    size_t n;
    fail_allocs = 0;
    float *before = snapshot(m.s, m.vars, m.n, &n);
    fail_allocs = 1;
    assert_int_equal(gf_session_restore(m.s, p), GF_ERR_NOMEM);
    assert_contains(gf_session_error(m.s), "out of memory");
    fail_allocs = 0;
    gf_set_allocator(NULL);
    assert_unchanged(&m, before, n);
    free(before);
    now = slurp(p, &len2);
    assert_memory_equal(old, now, len);
    free(now);

    /* A directory that does not exist; /dev/full (never replaced). */
    char *nowhere = gf_test_path(dir, "no/such/dir/ck.gf");
    assert_int_equal(gf_session_save(m.s, nowhere), GF_ERR_IO);
    assert_contains(gf_session_error(m.s), nowhere);
    assert_contains(gf_session_error(m.s), "No such file or directory");
    free(nowhere);
    assert_int_equal(gf_session_save(m.s, "/dev/full"), GF_ERR_IO);
    assert_string_equal(gf_session_error(m.s), "checkpoint /dev/full: exists and is not a regular file");
    struct stat sb;
    if (stat("/dev/full", &sb) == 0) assert_true(S_ISCHR(sb.st_mode));
    assert_int_equal(gf_session_save(m.s, dir), GF_ERR_IO); /* a directory */

    /* A directory without write permission (root ignores it: skipped). */
    char *ro = gf_test_path(dir, "ro");
    assert_int_equal(mkdir(ro, 0755), 0);
    char *rp = gf_test_path(ro, "ck.gf");
    assert_int_equal(gf_session_save(m.s, rp), GF_OK);
    unsigned char *ro_old = slurp(rp, &len);
    assert_int_equal(chmod(ro, 0555), 0);
    char *probe = gf_test_path(ro, "probe");
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        close(fd);
        unlink(probe);
        print_message("read-only directory: skipped (this user ignores permissions)\n");
    } else {
        gf_tensor_data(gf_session_variable(m.s, m.vars[0]))[0] += 1;
        assert_int_equal(gf_session_save(m.s, rp), GF_ERR_IO);
        assert_contains(gf_session_error(m.s), "Permission denied");
        assert_contains(gf_session_error(m.s), rp);
        now = slurp(rp, &len2);
        assert_int_equal(len, len2);
        assert_memory_equal(ro_old, now, len);
        free(now);
    }
    chmod(ro, 0755);
    free(probe);
    free(ro_old);
    free(rp);
    free(ro);
    free(old);
    small_free(&m);
    free(p);
    gf_test_rmdir(dir);
}

/* Killing a saving process at chosen points (gf__checkpoint_probe), not at
 * chosen times: the probe counts the points of one save, then a child is
 * killed at each of them in turn while saving version k+1 over version k.
 * Killed before the rename, the file restores to version k; from the rename
 * on, to version k+1; never to a mix, never to an error. */
static int probe_target, probe_count, probe_rename;

static void count_points(const char *point)
{
    probe_count++;
    if (!strcmp(point, "rename")) probe_rename = probe_count;
}

static void kill_at_target(const char *point)
{
    (void)point;
    if (++probe_count == probe_target) raise(SIGKILL);
}

static void set_all(small *m, float v)
{
    for (int i = 0; i < m->n; i++) {
        const gf_tensor *t = gf_session_variable(m->s, m->vars[i]);
        for (int64_t j = 0; j < gf_tensor_count(t); j++) gf_tensor_data(t)[j] = v;
    }
}

static void killed_saves_leave_a_whole_checkpoint(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "ck.gf");
    small m;
    small_build(&m, 64, 256, 1, 0, 1); /* 64 KiB: several write chunks */
    set_all(&m, 0);
    assert_int_equal(gf_session_save(m.s, p), GF_OK);
    probe_count = probe_rename = 0;
    gf__checkpoint_probe = count_points;
    assert_int_equal(gf_session_save(m.s, p), GF_OK);
    gf__checkpoint_probe = NULL;
    int points = probe_count;
    assert_true(points > 10 && probe_rename > 1 && probe_rename < points);
    int old_seen = 0, new_seen = 0;
    for (int k = 1; k <= points; k++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            set_all(&m, (float)k);
            probe_count = 0;
            probe_target = k;
            gf__checkpoint_probe = kill_at_target;
            gf_session_save(m.s, p);
            _exit(3); /* not reached: killed at point k */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) fail_msg("point %d: the child was not killed", k);
        if (gf_session_restore(m.s, p) != GF_OK) fail_msg("killed at point %d: %s", k, gf_session_error(m.s));
        float v = gf_tensor_data(gf_session_variable(m.s, m.vars[0]))[0];
        for (int i = 0; i < m.n; i++) {
            const gf_tensor *t = gf_session_variable(m.s, m.vars[i]);
            for (int64_t j = 0; j < gf_tensor_count(t); j++)
                if (gf_tensor_data(t)[j] != v) fail_msg("killed at point %d: a mixed checkpoint", k);
        }
        /* The file held version k-1 when the child started saving k. */
        float want = k < probe_rename ? (float)(k - 1) : (float)k;
        if (v != want)
            fail_msg("killed at point %d (the rename is point %d): restored version %g, expected %g", k,
                     probe_rename, (double)v, (double)want);
        if (k < probe_rename) old_seen++; else new_seen++;
        if (v != (float)k) { /* the next child saves over version k */
            set_all(&m, (float)k);
            assert_int_equal(gf_session_save(m.s, p), GF_OK);
        }
    }
    print_message("killed at each of the %d points of a save: %d before the rename restored the old "
                  "version, %d from the rename on the new one; %d temporary files left behind\n",
                  points, old_seen, new_seen, other_files(dir, "ck.gf"));
    small_free(&m);
    free(p);
    gf_test_rmdir(dir);
}

/* ---- the command line ---- */

/* The article's net (hidden 30) restored from path; a_2 on the first n
 * test images; argmax and max per image. */
static void net_predict(const char *path, const char *data, int n, int *digit, float *maxv)
{
    gf_error lerr;
    gf_model *model = gf_model_load(path, NULL, &lerr);
    if (!model) fail_msg("%s", lerr.message);
    gf_session *s = gf_model_session(model);
    struct { gf_node *a_0, *a_2; } net = { gf_model_input(model, "images"), gf_model_output(model, "probs") };
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(data, NULL, &m, &err)) fail_msg("%s", err.message);
    const gf_tensor *xs, *ys;
    assert_int_equal(gf_dataset_head(m->test, n, &xs, &ys), GF_OK);
    gf_feed feed = { net.a_0, xs };
    const gf_tensor *a2 = gf_test_run1(s, &feed, 1, net.a_2);
    for (int i = 0; i < n; i++) {
        const float *row = gf_tensor_data(a2) + 10 * i;
        digit[i] = 0;
        for (int j = 1; j < 10; j++)
            if (row[j] > row[digit[i]]) digit[i] = j;
        maxv[i] = row[digit[i]];
    }
    gf_mnist_free(m);
    gf_model_free(model);
}

static void cli_train_eval_predict_agree(void **state)
{
    (void)state;
    const char *data = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !data) skip();
    char *dir = gf_test_tmpdir(), *f = gf_test_path(dir, "net.gf"), *g = gf_test_path(dir, "again.gf");
    static char out[1 << 16];
    char args[4096];

    snprintf(args, sizeof args,
             "train --data '%s' --steps 200 --eval-size 1000 --save '%s' --json", data, f);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    const char *last = NULL;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (!strncmp(line, "{\"step\":200,", 12) && strstr(line, "\"final\":true}")) last = line;
    if (!last) fail_msg("no final evaluation after step 200");
    long long train_correct = (long long)gf_test_json_num(last, "correct");
    assert_int_equal((long long)gf_test_json_num(last, "total"), 1000);

    snprintf(args, sizeof args, "eval '%s' --data '%s' --json", f, data);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    assert_int_equal((long long)gf_test_json_num(out, "correct"), train_correct);
    assert_int_equal((long long)gf_test_json_num(out, "total"), 1000);
    const char *conf = strstr(out, "\"confusion\":[[");
    assert_non_null(conf);
    conf += strlen("\"confusion\":[");
    long long sum = 0, diag = 0;
    for (int r = 0; r < 10; r++) {
        assert_true(*conf == '[');
        conf++;
        for (int c = 0; c < 10; c++) {
            char *end;
            long long v = strtoll(conf, &end, 10);
            sum += v;
            if (r == c) diag += v;
            conf = end + 1; /* ',' or ']' */
        }
        if (*conf == ',') conf++;
    }
    assert_int_equal(sum, 1000);
    assert_int_equal(diag, train_correct);
    print_message("train and eval: %lld/1000 correct\n", train_correct);

    /* predict on idx test images 0..4 agrees with the network's argmax. */
    int want[5];
    float maxv[5];
    net_predict(f, data, 5, want, maxv);
    snprintf(args, sizeof args, "predict '%s' idx:%s:0 idx:%s:1 idx:%s:2 idx:%s:3 idx:%s:4", f, data, data, data,
             data, data);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    int i = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
        char prefix[4200];
        snprintf(prefix, sizeof prefix, "idx:%s:%d  digit %d  (p=%.3f)", data, i, want[i], (double)maxv[i]);
        if (strncmp(line, prefix, strlen(prefix))) fail_msg("expected '%s...', got '%s'", prefix, line);
    }
    assert_int_equal(i, 5);

    /* The same digit 0 as PGM files, binary and ASCII. */
    gf_mnist *m;
    gf_error err;
    if (gf_mnist_load(data, NULL, &m, &err)) fail_msg("%s", err.message);
    const float *px = gf_tensor_data(gf_dataset_images(m->test));
    static char pgm[8192];
    int o = snprintf(pgm, sizeof pgm, "P5\n# test digit 0\n28 28\n255\n");
    for (int k = 0; k < 784; k++) pgm[o++] = (char)(unsigned char)(px[k] * 255.0f + 0.5f);
    free(gf_test_write_file(dir, "d0.pgm", pgm, (size_t)o));
    o = snprintf(pgm, sizeof pgm, "P2\n28 28 255\n");
    for (int k = 0; k < 784; k++)
        o += snprintf(pgm + o, sizeof pgm - (size_t)o, "%d%c", (int)(px[k] * 255.0f + 0.5f), k % 28 == 27 ? '\n' : ' ');
    free(gf_test_write_file(dir, "d0a.pgm", pgm, (size_t)o));
    gf_mnist_free(m);
    snprintf(args, sizeof args, "predict '%s' '%s/d0.pgm' '%s/d0a.pgm' --json", f, dir, dir);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    char *l1 = strtok(out, "\n"), *l2 = strtok(NULL, "\n");
    assert_non_null(l1);
    assert_non_null(l2);
    assert_int_equal((long long)gf_test_json_num(l1, "digit"), want[0]);
    assert_int_equal((long long)gf_test_json_num(l2, "digit"), want[0]);

    /* A bad image fails that image (exit 1); the others are still predicted. */
    free(gf_test_write_file(dir, "small.pgm", "P2\n27 28 255\n", 13));
    snprintf(args, sizeof args, "predict '%s' '%s/small.pgm' idx:%s:0", f, dir, data);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 1);
    assert_contains(out, "27x28 pixels, expected 28x28");
    assert_contains(out, "  digit ");

    /* --resume then 0 steps saves the same bytes. */
    snprintf(args, sizeof args, "train --data '%s' --steps 0 --resume '%s' --save '%s'", data, f, g);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    size_t l1n, l2n;
    unsigned char *b1 = slurp(f, &l1n), *b2 = slurp(g, &l2n);
    assert_int_equal(l1n, l2n);
    assert_memory_equal(b1, b2, l1n);
    free(b1);
    free(b2);

    /* Periodic saves. */
    snprintf(args, sizeof args, "train --data '%s' --steps 50 --save-every 20 --save '%s' --eval-every 1000 --json",
             data, g);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    assert_contains(out, "{\"saved\":");
    int saves = 0;
    for (const char *p = out; (p = strstr(p, "{\"saved\":")); p++) saves++;
    assert_int_equal(saves, 3); /* after steps 20, 40 and 50 */
    assert_contains(out, "\"after_steps\":20}");
    assert_contains(out, "\"after_steps\":50}");

    /* Saving every 7 steps trains and evaluates exactly as saving at the end. */
    static char evals[2][1 << 14];
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "train --data '%s' --steps 50 --eval-every 10 --save '%s' %s --json", data,
                 k ? g : f, k ? "--save-every 7" : "");
        assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
        size_t at = 0;
        for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            if (!strncmp(line, "{\"step\":", 8))
                at += (size_t)snprintf(evals[k] + at, sizeof evals[k] - at, "%s\n", line);
    }
    assert_non_null(strstr(evals[0], "{\"step\":41,")); /* after steps 1, 11, ..., 41 */
    assert_string_equal(evals[0], evals[1]);
    b1 = slurp(f, &l1n);
    b2 = slurp(g, &l2n);
    assert_int_equal(l1n, l2n);
    assert_memory_equal(b1, b2, l1n);
    free(b1);
    free(b2);

    /* Another network size: a clear refusal, naming the variable. */
    snprintf(args, sizeof args, "train --data '%s' --steps 0 --hidden 31 --resume '%s'", data, f);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 1);
    assert_contains(out, "variable \"w_1\" is [784,30] in the model file, [784,31] in this network");
    snprintf(args, sizeof args, "eval '%s' --data '%s' --hidden 31", f, data);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 1);
    assert_contains(out, "is a model file, which says its own sizes; leave out --hidden");

    free(f);
    free(g);
    gf_test_rmdir(dir);
}

static void cli_usage_and_help(void **state)
{
    (void)state;
    if (!gf_test_gradflow()) skip();
    static char out[1 << 16];
    assert_int_equal(gf_test_run_gradflow("eval --help", 1, out, sizeof out), 0);
    assert_contains(out, "usage: gradflow eval FILE");
    assert_contains(out, "Exit status");
    assert_int_equal(gf_test_run_gradflow("predict --help", 1, out, sizeof out), 0);
    assert_contains(out, "usage: gradflow predict FILE IMAGE...");
    assert_contains(out, "PNG");
    assert_int_equal(gf_test_run_gradflow("train --help", 1, out, sizeof out), 0);
    assert_contains(out, "--save FILE");
    assert_contains(out, "--resume FILE");
    assert_int_equal(gf_test_run_gradflow("--help", 1, out, sizeof out), 0);
    assert_contains(out, "eval");
    assert_contains(out, "predict");
    assert_int_equal(gf_test_run_gradflow("eval", 1, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("eval a b", 1, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("eval x.gf --bogus", 1, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("predict x.gf", 1, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("predict", 1, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("train --save-every 10", 1, out, sizeof out), 2);
    assert_int_equal(gf_test_run_gradflow("eval /nonexistent/x.gf --data /nonexistent", 1, out, sizeof out), 1);
    assert_contains(out, "/nonexistent/x.gf: cannot open: No such file or directory");
}

/* `gradflow train --save-every 1` killed 20 times as it runs: the model
 * file on disk loads every time. Where each kill lands varies from run to run
 * but the verdict cannot (every moment must leave a restorable file), and
 * every point of a save is covered deterministically by
 * killed_saves_leave_a_whole_checkpoint above. */
static void cli_train_killed_mid_save(void **state)
{
    (void)state;
    const char *data = gf_test_mnist_dir();
    if (!gf_test_gradflow() || !data) skip();
    char *dir = gf_test_tmpdir(), *f = gf_test_path(dir, "net.gf");
    static char out[1 << 16];
    char args[4096];
    snprintf(args, sizeof args, "train --data '%s' --steps 1 --save '%s'", data, f);
    assert_int_equal(gf_test_run_gradflow(args, 1, out, sizeof out), 0);
    gf_rng rng;
    gf_rng_seed(&rng, 99, 0);
    for (int iter = 0; iter < 20; iter++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execl(gf_test_gradflow(), "gradflow", "train", "--data", data, "--steps", "1000000", "--save-every", "1",
                  "--save", f, "--eval-every", "1000000000", (char *)NULL);
            _exit(127);
        }
        struct timespec ts = { 0, (long)(50 + gf_rng_below(&rng, 250)) * 1000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status)) fail_msg("gradflow train ended by itself (status %d)", status);
        gf_error err;
        gf_model *m = gf_model_load(f, NULL, &err);
        if (!m) fail_msg("iteration %d: %s", iter, err.message);
        gf_model_free(m);
    }
    print_message("20 kills of gradflow train --save-every 1: the model file loaded each time "
                  "(%d killed mid-save, leaving a temporary file)\n", other_files(dir, "net.gf"));
    free(f);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_is_bitwise),
        cmocka_unit_test(independent_writer_and_bad_records),
        cmocka_unit_test(mismatches_name_the_tensor),
        cmocka_unit_test(every_byte_flip_is_refused),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(unreadable_inputs),
        cmocka_unit_test(failed_saves_keep_the_old_file),
        cmocka_unit_test(killed_saves_leave_a_whole_checkpoint),
        cmocka_unit_test(cli_usage_and_help),
        cmocka_unit_test(cli_train_eval_predict_agree),
        cmocka_unit_test(cli_train_killed_mid_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
