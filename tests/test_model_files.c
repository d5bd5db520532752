/*
 * test_model_files.c — model files as bytes: a file written here from
 * docs/model-format.md alone loads and computes; every byte flip and every
 * truncation of a saved file is refused with a clear message; hostile files
 * (unknown ops, forward inputs, attributes out of range, shapes that do not
 * follow, counts larger than the file) are refused naming the section,
 * node and field, without allocating what they claim.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- an independent writer ---- */

typedef struct fb {
    unsigned char *p;
    size_t n, cap;
} fb;

static void fb_bytes(fb *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}
static void fb_u8(fb *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    fb_bytes(b, &c, 1);
}
static void fb_u32(fb *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) fb_u8(b, (v >> (8 * i)) & 0xff);
}
static void fb_u64(fb *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) fb_u8(b, (unsigned)((v >> (8 * i)) & 0xff));
}
static void fb_f32(fb *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    fb_u32(b, u);
}
static void fb_str(fb *b, const char *s)
{
    fb_u32(b, (uint32_t)strlen(s));
    fb_bytes(b, s, strlen(s));
}
static uint32_t crc(const unsigned char *p, size_t n) { return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n); }

/* A name with a NUL byte inside (node() writes its 3 bytes). */
static const char nul_name[4] = "x\0y";

/* A node record's fixed part; n_attrs attributes must follow. */
static void node(fb *b, const char *name, const char *op, int dtype, int rank, const int64_t *dims, int n_in,
                 const int *in, int n_attrs)
{
    size_t len = name == nul_name ? 3 : strlen(name);
    fb_u32(b, (uint32_t)len);
    fb_bytes(b, name, len);
    fb_str(b, op);
    fb_u32(b, (uint32_t)dtype);
    fb_u32(b, (uint32_t)rank);
    for (int i = 0; i < rank; i++) fb_u64(b, (uint64_t)dims[i]);
    fb_u32(b, (uint32_t)n_in);
    for (int i = 0; i < n_in; i++) fb_u32(b, (uint32_t)in[i]);
    fb_u32(b, (uint32_t)n_attrs);
}
static void attr_int(fb *b, const char *key, int64_t v)
{
    fb_str(b, key);
    fb_u8(b, 1);
    fb_u64(b, (uint64_t)v);
}
static void attr_float(fb *b, const char *key, float v)
{
    fb_str(b, key);
    fb_u8(b, 2);
    fb_f32(b, v);
}

/* The whole file from five payloads. */
static unsigned char *assemble(fb *sec, size_t *len)
{
    static const char *tags[5] = { "META", "NODE", "SIGN", "VARS", "RAND" };
    fb f = { 0 };
    fb_bytes(&f, "GFMODEL", 8);
    fb_u32(&f, 1);
    fb_u32(&f, 0);
    fb_u32(&f, 5);
    fb_u32(&f, crc(f.p, 20));
    for (int k = 0; k < 5; k++) {
        size_t start = f.n;
        fb_bytes(&f, tags[k], 4);
        fb_u64(&f, sec[k].n);
        fb_bytes(&f, sec[k].p, sec[k].n);
        fb_u32(&f, crc(f.p + start, f.n - start));
        free(sec[k].p);
    }
    fb_bytes(&f, "GFMEND\0", 8);
    fb_u64(&f, f.n + 12);
    fb_u32(&f, crc(f.p, f.n));
    *len = f.n;
    return f.p;
}

/* The variants of the small graph below, each one thing wrong. */
enum {
    GOOD, UNKNOWN_OP, FORWARD_INPUT, INPUT_COUNT, SHAPE_SAID, FLAG_RANGE, UNKNOWN_KEY, KEY_TYPE, KEY_TWICE,
    SHAPES_CLASH, MANY_NODES, VALUES_COUNT, EVEN_INC, SIGN_NOT_PH, SAME_NAME, HUGE_DIM, BIG_CONSTANT, POOL_STRIDE,
    PERM_COUNT, UNREDUCE_AXIS, KEEP_PROB, NUL_NAME, STREAM_MISSING, SECTION_HUGE, OUTPUT_NEEDS, N_VARIANTS
};

/* The graph: 0 x [?,3], 1 truncated_normal [3,2], 2 variable w (init 1),
 * 3 y = matmul(x, w) [?,2], 4 a constant [2] and 5 z = y + constant;
 * signature images -> x, probs -> z; w's values 1..6; one stream. */
static unsigned char *small_file(int v, size_t *len)
{
    fb s[5] = { { 0 } };
    int n_nodes = v == MANY_NODES ? 1000000 : 6;
    fb_str(&s[0], "a test");
    fb_u64(&s[0], 5);
    fb_u32(&s[0], (uint32_t)n_nodes);
    fb_u32(&s[0], 1);

    fb *b = &s[1];
    const int64_t q3[2] = { -1, 3 }, d32[2] = { 3, 2 }, q2[2] = { -1, 2 }, d2[1] = { 2 }, huge[2] = { (int64_t)1 << 41, 3 };
    node(b, v == NUL_NAME ? nul_name : "x", "placeholder", 0, 2, v == HUGE_DIM ? huge : q3, 0, NULL, 0);
    node(b, "tn", v == UNKNOWN_OP ? "frobnicate" : "truncated_normal", 0, 2, d32, 0, NULL, 1);
    attr_float(b, "init.stddev", 1.0f);
    node(b, v == SAME_NAME ? "x" : "w", "variable", 0, 2, d32, 0, NULL, 2);
    fb_str(b, "init");
    fb_u8(b, 7);
    fb_u32(b, 1);
    attr_int(b, "trainable", 1);
    int in3[2] = { 0, v == FORWARD_INPUT ? 5 : 2 };
    int n_attrs = v == FLAG_RANGE || v == UNKNOWN_KEY || v == KEY_TYPE || v == SHAPES_CLASH ? 1 : v == KEY_TWICE ? 2 : 0;
    node(b, "y", "matmul", 0, 2, v == SHAPE_SAID ? q3 : q2, v == INPUT_COUNT ? 1 : 2, in3, n_attrs);
    if (v == FLAG_RANGE) attr_int(b, "matmul.transpose_a", 2);
    if (v == UNKNOWN_KEY) attr_int(b, "matmul.transpose_c", 1);
    if (v == KEY_TYPE) attr_float(b, "matmul.transpose_b", 1);
    if (v == SHAPES_CLASH) attr_int(b, "matmul.transpose_b", 1);
    if (v == KEY_TWICE) {
        attr_int(b, "matmul.transpose_b", 0);
        attr_int(b, "matmul.transpose_b", 0);
    }
    /* node 4: a constant, or a variant op on y */
    if (v == POOL_STRIDE || v == PERM_COUNT || v == UNREDUCE_AXIS || v == KEEP_PROB) {
        if (v == POOL_STRIDE) { /* max_pool_grad(y, y) with no window: stride 0 */
            node(b, "c", "max_pool_grad", 0, 2, q2, 2, (const int[]){ 3, 3 }, 0);
        } else if (v == PERM_COUNT) {
            node(b, "c", "transpose", 0, 2, (const int64_t[]){ 2, -1 }, 1, (const int[]){ 3 }, 1);
            fb_str(b, "transpose.perm");
            fb_u8(b, 3);
            fb_u32(b, 1);
            fb_u64(b, 0);
        } else if (v == UNREDUCE_AXIS) {
            node(b, "c", "broadcast_like", 0, 2, q2, 2, (const int[]){ 3, 3 }, 2);
            attr_int(b, "broadcast_like.mode", 1);
            fb_str(b, "broadcast_like.reduce.axes");
            fb_u8(b, 3);
            fb_u32(b, 1);
            fb_u64(b, 2);
        } else {
            node(b, "c", "dropout_mask", 0, 2, q2, 1, (const int[]){ 3 }, 1);
            attr_float(b, "dropout.keep_prob", 0.0f);
        }
    } else {
        node(b, "c", "constant", 0, 1, d2, 0, NULL, 1);
        fb_str(b, "value");
        fb_u8(b, 6);
        fb_u64(b, v == BIG_CONSTANT ? (uint64_t)1 << 38 : 2);
        fb_f32(b, 0.5f);
        fb_f32(b, -1.0f);
    }
    node(b, "z", "add", 0, 2, q2, 2, (const int[]){ 3, 4 }, 0);

    fb_u32(&s[2], v == OUTPUT_NEEDS ? 0 : 1);
    if (v != OUTPUT_NEEDS) {
        fb_str(&s[2], "images");
        fb_u32(&s[2], v == SIGN_NOT_PH ? 3 : 0);
    }
    fb_u32(&s[2], 1);
    fb_str(&s[2], "probs");
    fb_u32(&s[2], 5);

    fb_u32(&s[3], 1);
    fb_u32(&s[3], 2);
    fb_u64(&s[3], v == VALUES_COUNT ? 5 : 6);
    for (int i = 0; i < (v == VALUES_COUNT ? 5 : 6); i++) fb_f32(&s[3], (float)(i + 1));

    fb_u32(&s[4], v == STREAM_MISSING ? 0 : 1);
    if (v != STREAM_MISSING) {
        fb_u32(&s[4], 1);
        fb_u64(&s[4], 12345);
        fb_u64(&s[4], v == EVEN_INC ? 8 : 9);
    }
    unsigned char *f = assemble(s, len);
    if (v == SECTION_HUGE) { /* NODE's length (after META), CRCs left as they are */
        size_t node_at = 24 + 12 + 4 + 6 + 8 + 4 + 4 + 4;
        for (int i = 0; i < 8; i++) f[node_at + 4 + i] = (unsigned char)((((uint64_t)1 << 62) >> (8 * i)) & 0xff);
    }
    return f;
}

/* Allocations are watched: none may be larger than the file. */
static size_t largest;
static void *watch_malloc(void *ctx, size_t n)
{
    (void)ctx;
    if (n > largest) largest = n;
    return malloc(n);
}
static void *watch_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (n > largest) largest = n;
    return realloc(p, n);
}
static void watch_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static void written_from_the_spec(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "spec.gfm");
    size_t len;
    unsigned char *bytes = small_file(GOOD, &len);
    free(gf_test_write_file(dir, "spec.gfm", bytes, len));
    free(bytes);
    gf_error err;
    gf_model *m = gf_model_load(path, NULL, &err);
    if (!m) fail_msg("%s", err.message);
    gf_node *x = gf_model_input(m, "images"), *z = gf_model_output(m, "probs");
    assert_string_equal(gf_node_name(x), "x");
    assert_string_equal(gf_node_name(z), "z");
    float xv[3] = { 1, 0, 2 };
    gf_tensor *xt = gf_tensor_wrap(GF_F32, gf_dims(2, 1, 3), xv, NULL);
    gf_feed feed = { x, xt };
    const gf_tensor *out = gf_test_run1(gf_model_session(m), &feed, 1, z);
    /* x @ [[1,2],[3,4],[5,6]] + [0.5,-1] = [11.5, 13] */
    float want[2] = { 11.5f, 13.0f };
    gf_test_assert_close(gf_tensor_data(out), want, 2, 0);
    assert_string_equal(gf_node_op(gf_graph_find(gf_model_graph(m), "w")), "variable");
    gf_tensor_free(xt);
    gf_model_free(m);
    free(path);
    gf_test_rmdir(dir);
}

static void hostile_files_are_refused(void **state)
{
    (void)state;
    static const char *want[N_VARIANTS] = {
        [UNKNOWN_OP] = "section NODE: node 1 \"tn\": unknown op \"frobnicate\"",
        [FORWARD_INPUT] = "node 3 \"y\" (op matmul): input 1 is node 5, expected an earlier node (0..2)",
        [INPUT_COUNT] = "node 3 \"y\" (op matmul): 1 inputs, op matmul takes 2",
        [SHAPE_SAID] = "node 3 \"y\" (op matmul): the file says float32 [?,3], the op makes float32 [?,2]",
        [FLAG_RANGE] = "attribute \"matmul.transpose_a\" holds a value op matmul does not take",
        [UNKNOWN_KEY] = "node 3 \"y\" (op matmul): unknown attribute \"matmul.transpose_c\"",
        [KEY_TYPE] = "attribute \"matmul.transpose_b\": type 2 (float), expected 1 (int)",
        [KEY_TWICE] = "attribute \"matmul.transpose_b\" appears twice",
        [SHAPES_CLASH] = "node 3 \"y\" (op matmul): matmul \"matmul\": dimensions must be equal",
        [MANY_NODES] = "section NODE: 1000000 nodes cannot fit in its",
        [VALUES_COUNT] = "section VARS: variable \"w\": 5 values, its shape holds 6",
        [EVEN_INC] = "section RAND: stream 0 (node 1): increment 8, expected an odd number",
        [SIGN_NOT_PH] = "section SIGN: input \"images\" is node 3 \"y\" (op matmul), not a placeholder",
        [SAME_NAME] = "node 2 \"x\" (op variable): an earlier node has the same name",
        [HUGE_DIM] = "node 0 \"x\" (op placeholder): dimension 0 is 2199023255552, expected -1 (open) or 0..2^40",
        [BIG_CONSTANT] = "attribute \"value\": 274877906944 floats, more than the section holds",
        [POOL_STRIDE] = "node 4 \"c\" (op max_pool_grad): attributes \"window.*\": ksize 0x0, strides 0x0",
        [PERM_COUNT] = "attribute \"transpose.perm\" has 1 entries, the input's rank is 2",
        [UNREDUCE_AXIS] = "attributes \"broadcast_like.reduce.*\": not a reduction of a rank-2 input",
        [KEEP_PROB] = "attribute \"dropout.keep_prob\" is 0, expected 0 < keep_prob <= 1",
        [NUL_NAME] = "section NODE: node 0 \"x\\x00y\": the name contains a NUL byte",
        [STREAM_MISSING] = "section RAND: random node 1 \"tn\" has no stream",
        [SECTION_HUGE] = "section NODE runs past the end of the sections (file damaged)",
        [OUTPUT_NEEDS] = "section SIGN: output \"probs\" needs placeholder \"x\", which is not one of the inputs",
    };
    char *dir = gf_test_tmpdir(), *path = gf_test_path(dir, "bad.gfm");
    for (int v = 1; v < N_VARIANTS; v++) {
        size_t len;
        unsigned char *bytes = small_file(v, &len);
        free(gf_test_write_file(dir, "bad.gfm", bytes, len));
        free(bytes);
        gf_error err = { 0 };
        largest = 0;
        gf_set_allocator(&(gf_allocator){ watch_malloc, watch_realloc, watch_free, NULL });
        gf_model *m = gf_model_load(path, NULL, &err);
        gf_set_allocator(NULL);
        if (m) fail_msg("variant %d loaded", v);
        assert_int_equal(err.code, GF_ERR_FORMAT);
        if (!strstr(err.message, want[v])) fail_msg("variant %d: \"%s\" lacks \"%s\"", v, err.message, want[v]);
        assert_true(!strncmp(err.message, "model ", 6) && strstr(err.message, path));
        if (largest > 128 * 1024 + len) fail_msg("variant %d: an allocation of %zu bytes for a file of %zu", v, largest, len);
    }
    free(path);
    gf_test_rmdir(dir);
}

/* ---- damage to a saved file ---- */

/* A small model with a bit of everything: a constant, a message, a random
 * node, a variable, a signature. */
static unsigned char *saved_model(const char *path, size_t *len)
{
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *w = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 2, 2), 0, 1));
    gf_node *y = gf_check_numerics(gf_add(gf_matmul(x, w), gf_scalar(g, 0.5f)), "y");
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 2 });
    gf_signature_entry in[] = { { "images", x } }, out[] = { { "probs", y } };
    gf_signature sig = { in, 1, out, 1 };
    assert_int_equal(gf_model_save(s, &sig, path), GF_OK);
    gf_session_free(s);
    gf_graph_free(g);
    unsigned char *b = gf_test_read_file(path, len);
    assert_non_null(b);
    return b;
}

static void load_fails(const char *path, gf_status code, const char *want, const char *what)
{
    gf_error err = { 0 };
    gf_model *m = gf_model_load(path, NULL, &err);
    if (m) fail_msg("%s: loaded", what);
    if (err.code != code) fail_msg("%s: code %d (%s)", what, err.code, err.message);
    if (want && !strstr(err.message, want)) fail_msg("%s: \"%s\" lacks \"%s\"", what, err.message, want);
    if (strncmp(err.message, "model ", 6) || !strstr(err.message, path)) fail_msg("%s: \"%s\"", what, err.message);
}

static void every_byte_flip_is_refused(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "m.gfm"), *q = gf_test_path(dir, "bad.gfm");
    size_t len;
    unsigned char *good = saved_model(p, &len), *bad = malloc(len);
    const unsigned char masks[] = { 0x01, 0xff, 0x80 };
    int refused = 0;
    for (size_t i = 0; i < len; i++)
        for (size_t k = 0; k < sizeof masks; k++) {
            memcpy(bad, good, len);
            bad[i] ^= masks[k];
            free(gf_test_write_file(dir, "bad.gfm", bad, len));
            gf_error err = { 0 };
            gf_model *m = gf_model_load(q, NULL, &err);
            if (m) fail_msg("byte %zu ^ 0x%02x accepted", i, masks[k]);
            assert_int_equal(err.code, GF_ERR_FORMAT);
            assert_true(!strncmp(err.message, "model ", 6) && strstr(err.message, q));
            if (!strstr(err.message, "damaged") && !strstr(err.message, "bad magic") &&
                !strstr(err.message, "format version"))
                fail_msg("byte %zu ^ 0x%02x: unclear message: %s", i, masks[k], err.message);
            refused++;
        }
    print_message("%d flipped files of %zu bytes refused\n", refused, len);
    gf_error err;
    gf_model *m = gf_model_load(p, NULL, &err);
    assert_non_null(m);
    gf_model_free(m);
    free(good);
    free(bad);
    free(p);
    free(q);
    gf_test_rmdir(dir);
}

static void every_truncation_is_refused(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "m.gfm"), *q = gf_test_path(dir, "cut.gfm");
    size_t len;
    unsigned char *good = saved_model(p, &len);
    char want[64];
    for (size_t cut = 0; cut < len; cut++) {
        free(gf_test_write_file(dir, "cut.gfm", good, cut));
        snprintf(want, sizeof want, "truncated at byte %zu", cut);
        load_fails(q, GF_ERR_FORMAT, want, "a cut file");
    }
    unsigned char *more = malloc(len + 3);
    memcpy(more, good, len);
    memcpy(more + len, "xyz", 3);
    free(gf_test_write_file(dir, "cut.gfm", more, len + 3));
    load_fails(q, GF_ERR_FORMAT, "3 bytes of trailing data after the end marker", "trailing bytes");
    free(more);
    free(good);
    free(p);
    free(q);
    gf_test_rmdir(dir);
}

static void other_files_are_named(void **state)
{
    (void)state;
    char *dir = gf_test_tmpdir(), *p = gf_test_path(dir, "ck.gf"), *absent = gf_test_path(dir, "absent.gfm");
    gf_graph *g = gf_graph_new();
    gf_variable(g, "w", gf_zeros(g, gf_dims(1, 3)));
    gf_session *s = gf_session_new(g, NULL);
    assert_int_equal(gf_session_save(s, p), GF_OK);
    load_fails(p, GF_ERR_FORMAT, "a gradflow checkpoint (variables only), not a model file", "a checkpoint");
    load_fails(absent, GF_ERR_IO, "cannot open: No such file or directory", "no file");
    load_fails(dir, GF_ERR_IO, "not a regular file", "a directory");
    char *text = gf_test_write_file(dir, "notes.txt", "hello, world\n", 13);
    load_fails(text, GF_ERR_FORMAT, "not a gradflow model file (bad magic)", "a text file");
    /* A model file where a checkpoint is expected is named too. */
    gf_signature sig = { NULL, 0, NULL, 0 };
    assert_int_equal(gf_model_save(s, &sig, p), GF_OK);
    assert_int_equal(gf_session_restore(s, p), GF_ERR_FORMAT);
    gf_test_contains(gf_session_error(s), "bad magic");
    /* A directory or a missing folder cannot be saved to. */
    assert_int_equal(gf_model_save(s, NULL, dir), GF_ERR_IO);
    gf_test_contains(gf_session_error(s), "exists and is not a regular file");
    char *nowhere = gf_test_path(dir, "no/such/dir.gfm");
    assert_int_equal(gf_model_save(s, NULL, nowhere), GF_ERR_IO);
    gf_test_contains(gf_session_error(s), "cannot create a temporary file in");
    gf_session_free(s);
    gf_graph_free(g);
    free(nowhere);
    free(text);
    free(p);
    free(absent);
    gf_test_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(written_from_the_spec),
        cmocka_unit_test(hostile_files_are_refused),
        cmocka_unit_test(every_byte_flip_is_refused),
        cmocka_unit_test(every_truncation_is_refused),
        cmocka_unit_test(other_files_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
