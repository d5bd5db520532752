/*
 * gen_seeds.c — writes the seed corpora of the fuzz targets into DIR/<target>/
 * (fuzz/corpus): valid IDX files, checkpoints, graph programs and model files.
 */
/* Usage: fuzz_gen_seeds DIR. The files are committed; rerun this only when
 * a target's input format changes (make fuzz-seeds). */
#include "fuzz_checkpoint.c"
#include "fuzz_graph.c"
#include "fuzz_idx.c"
#include "fuzz_model.c"

#include <errno.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *out_dir;

static void put(const char *target, const char *name, const void *bytes, size_t n)
{
    gf_fuzz_seed_put(out_dir, target, name, bytes, n);
}

static size_t gzip_into(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) exit(1);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return len;
}

/* An IDX header of the given dims, then data 0,7,14,... (mod 10 when labels). */
static size_t idx_file(uint8_t *buf, int rank, const uint32_t *dims, int labels)
{
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 8;
    buf[3] = (uint8_t)rank;
    size_t count = 1, at = 4;
    for (int i = 0; i < rank; i++) {
        for (int k = 3; k >= 0; k--) buf[at++] = (uint8_t)(dims[i] >> (8 * k));
        count *= dims[i];
    }
    for (size_t i = 0; i < count; i++) buf[at++] = (uint8_t)(labels ? i % 10 : i * 7);
    return at;
}

static void idx_seeds(void)
{
    uint8_t f[512], g[1024];
    static const uint32_t img[3] = { 2, 3, 4 }, lab[1] = { 5 }, mat[2] = { 4, 6 }, r4[4] = { 1, 2, 2, 3 };
    size_t n = idx_file(f, 3, img, 0);
    put("fuzz_idx", "images-2x3x4", f, n);
    put("fuzz_idx", "images-2x3x4.gz", g, gzip_into(f, n, g, sizeof g));
    /* Two gzip members, cut inside the data. */
    size_t a = gzip_into(f, 10, g, sizeof g);
    size_t b = gzip_into(f + 10, n - 10, g + a, sizeof g - a);
    put("fuzz_idx", "images-2members.gz", g, a + b);
    n = idx_file(f, 1, lab, 1);
    put("fuzz_idx", "labels-5", f, n);
    put("fuzz_idx", "labels-5.gz", g, gzip_into(f, n, g, sizeof g));
    n = idx_file(f, 2, mat, 0);
    put("fuzz_idx", "matrix-4x6", f, n);
    n = idx_file(f, 4, r4, 0);
    put("fuzz_idx", "rank4.gz", g, gzip_into(f, n, g, sizeof g));
}

static void checkpoint_seeds(void)
{
    char buf[640];
    const char *path = gf_fuzz_path("seed.gfc", buf, sizeof buf);
    fc_model m;
    if (!path || fc_model_build(&m) != 0) exit(1);
    gf_session_options opt = { .seed = 3 };
    gf_session *s = gf_session_new(m.g, &opt);
    if (gf_session_save(s, path) != GF_OK) {
        fprintf(stderr, "save: %s\n", gf_session_error(s));
        exit(1);
    }
    gf_session_free(s);
    gf_graph_free(m.g);
    FILE *fp = fopen(path, "rb");
    static uint8_t file[8192];
    size_t n = fp ? fread(file + 1, 1, sizeof file - 1, fp) : 0;
    if (fp) fclose(fp);
    remove(path);
    if (n == 0) exit(1);
    file[0] = 0x07; /* repair every CRC after mutation */
    put("fuzz_checkpoint", "model-repair", file, n + 1);
    file[0] = 0x00; /* as is */
    put("fuzz_checkpoint", "model-raw", file, n + 1);
    /* Only the header and trailer: no records. */
    static const uint8_t hdr[24] = { 'G', 'F', 'C', 'K', 'P', 'T', 0, 1, 1, 0, 0, 0, 0, 0, 0, 0 };
    uint8_t empty[1 + 24 + 20] = { 0x07 };
    memcpy(empty + 1, hdr, 24);
    memcpy(empty + 25, "GFCKEND", 8);
    put("fuzz_checkpoint", "no-records", empty, sizeof empty);
}

/* ---- model files ---- */

/* Saves s with sig and writes the file as seed NAME, after a mode byte. */
static void model_seed(gf_session *s, const gf_signature *sig, const char *name, int mode)
{
    char buf[640];
    const char *path = gf_fuzz_path("seed.gfm", buf, sizeof buf);
    if (!path || gf_model_save(s, sig, path) != GF_OK) {
        fprintf(stderr, "model seed %s: %s\n", name, gf_session_error(s));
        exit(1);
    }
    FILE *fp = fopen(path, "rb");
    static uint8_t file[1 << 17];
    size_t n = fp ? fread(file + 1, 1, sizeof file - 1, fp) : 0;
    if (fp) fclose(fp);
    remove(path);
    if (n == 0 || n == sizeof file - 1) exit(1);
    file[0] = (uint8_t)mode;
    put("fuzz_model", name, file, n + 1);
}

static void model_seeds(void)
{
    /* An affine layer trained by Adam, with train's signature. */
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 3));
    gf_node *y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *w = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 3, 2), 0, 0.5f));
    gf_node *b = gf_variable(g, "b", gf_zeros(g, gf_dims(1, 2)));
    gf_node *logits = gf_add(gf_matmul(x, w), b), *probs = gf_name(gf_softmax(logits), "probs");
    gf_node *cost = gf_reduce_mean(gf_softmax_cross_entropy_with_logits(y, logits), NULL, 0, 0);
    gf_node *train = gf_minimize(gf_adam(g, 0.01f, 0, 0, 0), cost, NULL, 0);
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 3 });
    gf_signature_entry in[] = { { "images", x }, { "labels", y } };
    gf_signature_entry out[] = { { "probs", probs }, { "classes", gf_argmax(probs, 1) }, { "cost", cost },
                                 { "train", train } };
    gf_signature sig = { in, 2, out, 4 };
    model_seed(s, &sig, "affine-adam-repair", 0x07);
    model_seed(s, &sig, "affine-adam-raw", 0x00);
    gf_session_free(s);
    gf_graph_free(g);

    /* Two small convolutions, pooling, momentum: the gradient ops. */
    g = gf_graph_new();
    x = gf_placeholder(g, "img", GF_F32, gf_dims(4, GF_ANY, 4, 4, 1));
    y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *f1 = gf_variable(g, "f1", gf_truncated_normal(g, gf_dims(4, 2, 2, 1, 2), 0, 0.5f));
    gf_node *f2 = gf_variable(g, "f2", gf_truncated_normal(g, gf_dims(4, 2, 2, 2, 2), 0, 0.5f));
    gf_node *h = gf_max_pool(gf_relu(gf_conv2d(x, f1, 1, 1, GF_SAME)), 2, 2, 2, 2, GF_SAME);
    h = gf_avg_pool(gf_conv2d(h, f2, 1, 1, GF_VALID), 1, 1, 1, 1, GF_VALID);
    logits = gf_reshape(h, gf_dims(2, GF_ANY, 2));
    cost = gf_reduce_sum(gf_softmax_cross_entropy_with_logits(y, logits), NULL, 0, 0);
    train = gf_minimize(gf_momentum(g, 0.1f, 0.9f), cost, NULL, 0);
    s = gf_session_new(g, &(gf_session_options){ .seed = 4 });
    gf_signature_entry cin[] = { { "images", x }, { "labels", y } };
    gf_signature_entry cout[] = { { "probs", gf_softmax(logits) }, { "train", train } };
    sig = (gf_signature){ cin, 2, cout, 2 };
    model_seed(s, &sig, "conv-momentum-repair", 0x07);
    gf_session_free(s);
    gf_graph_free(g);

    /* The convolutions' other kernels: a one-channel layer summed directly,
     * 8 -> 8 channels of 3x3 by Winograd's transforms, Adam. */
    g = gf_graph_new();
    x = gf_placeholder(g, "img", GF_F32, gf_dims(4, GF_ANY, 4, 4, 1));
    y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, 2));
    f1 = gf_variable(g, "f1", gf_truncated_normal(g, gf_dims(4, 3, 3, 1, 8), 0, 0.5f));
    f2 = gf_variable(g, "f2", gf_truncated_normal(g, gf_dims(4, 3, 3, 8, 8), 0, 0.5f));
    gf_node *f3 = gf_variable(g, "f3", gf_truncated_normal(g, gf_dims(4, 2, 2, 8, 2), 0, 0.5f));
    h = gf_relu(gf_conv2d(gf_relu(gf_conv2d(x, f1, 1, 1, GF_SAME)), f2, 1, 1, GF_SAME));
    h = gf_conv2d(gf_max_pool(h, 2, 2, 2, 2, GF_VALID), f3, 1, 1, GF_VALID);
    logits = gf_reshape(h, gf_dims(2, GF_ANY, 2));
    cost = gf_reduce_sum(gf_softmax_cross_entropy_with_logits(y, logits), NULL, 0, 0);
    train = gf_minimize(gf_adam(g, 0.01f, 0.9f, 0.999f, 1e-8f), cost, NULL, 0);
    s = gf_session_new(g, &(gf_session_options){ .seed = 5 });
    sig = (gf_signature){ cin, 2, cout, 2 };
    cout[0].node = gf_softmax(logits);
    cout[1].node = train;
    cin[0].node = x;
    cin[1].node = y;
    model_seed(s, &sig, "conv-winograd-adam-repair", 0x07);
    gf_session_free(s);
    gf_graph_free(g);

    /* Dropout (both kinds), layout ops, a message, a constant. */
    g = gf_graph_new();
    x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 4));
    gf_node *kp = gf_placeholder(g, "keep", GF_F32, gf_dims(0));
    gf_node *idx = gf_placeholder(g, "idx", GF_I32, gf_dims(1, 2));
    gf_node *d = gf_dropout_keep(gf_dropout(x, 0.5f, 7), kp, 3);
    gf_node *t = gf_transpose(gf_concat(d, gf_constant(g, gf_dims(2, 1, 4), (const float[]){ 1, 2, 3, 4 }), 0));
    gf_node *r = gf_reshape(gf_slice_rows(gf_transpose(t), 0, 1), gf_dims(2, 2, 2));
    gf_node *oh = gf_one_hot(idx, 3);
    gf_node *gr = gf_gather_rows(r, idx);
    gf_node *all = gf_check_numerics(gf_reduce_sum(gr, (const int[]){ 1 }, 1, 1), "sum");
    s = gf_session_new(g, &(gf_session_options){ .seed = 5 });
    gf_signature_entry din[] = { { "images", x }, { "keep_prob", kp }, { "indices", idx } };
    gf_signature_entry dout[] = { { "sum", all }, { "one_hot", oh }, { "bool", gf_cast(r, GF_BOOL) } };
    sig = (gf_signature){ din, 3, dout, 3 };
    model_seed(s, &sig, "dropout-layout-repair", 0x07);
    gf_session_free(s);
    gf_graph_free(g);
}

/* ---- graph programs, assembled with fuzz_graph.c's opcodes ---- */

typedef struct prog {
    uint8_t b[512];
    size_t n;
} prog;

static void emit_bytes(prog *p, const int *b, size_t n)
{
    for (size_t i = 0; i < n && p->n < sizeof p->b; i++) p->b[p->n++] = (uint8_t)b[i];
}
#define emit(p, ...) \
    emit_bytes(p, (const int[]){ __VA_ARGS__ }, sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

/* The choice byte of OP_UNARY (binary 0) or OP_BINARY (binary 1) that
 * picks op `name` (fuzz_graph.c's lists, drawn from the op list). */
static int fg_op_choice(int binary, const char *name)
{
    fg_ops_init();
    const gf_op *const *ops = binary ? fg_binary_ops : fg_unary_ops;
    unsigned n = binary ? fg_n_binary : fg_n_unary;
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(ops[i]->name, name)) return (int)i;
    fprintf(stderr, "gen_seeds: no op %s among fuzz_graph's choices\n", name);
    exit(1);
}

/* Bytes that fg_dim / fg_small_shape turn back into these values. */
enum { D1 = 0, D2 = 1, D3 = 2, D4 = 3, D5 = 4, DANY = 8, D0 = 10 };
enum { NAME_X = 16, NAME_Y = 17, NAME_W = 18, NAME_B = 28 };
enum { RANK1 = 1, RANK2 = 2, RANK3 = 3 };

static void graph_seeds(void)
{
    prog p = { { 0 }, 0 };
    /* A softmax regression trained one step: pool 0 x [?,3], 1-2 w [3,2],
     * 3 matmul, 4 labels [?,2], 5 xent, 6 mean, 7 minimize. */
    emit(&p, OP_PLACEHOLDER, NAME_X, GF_F32, RANK2, DANY, D3);
    emit(&p, OP_VARIABLE, NAME_W, 2, 2, 3, 2);
    emit(&p, OP_MATMUL, 0, 0x80, 1);            /* x @ w */
    emit(&p, OP_PLACEHOLDER, NAME_Y, GF_F32, RANK2, DANY, D2);
    emit(&p, OP_XENT, 4, 0x80);                  /* labels y, logits: matmul */
    emit(&p, OP_REDUCE, 5, 0x10, 0, 0, 0, 0, 0, 0, 0);
    emit(&p, OP_MINIMIZE, 1, 4, 4, 0, 6);       /* gradient descent, lr 0.5 */
    emit(&p, OP_SESSION, 2, 1, 0);               /* seed 1, one thread */
    /* Run: every placeholder fed rightly (4 rows), fetch the mean, target
     * the step. */
    emit(&p, OP_RUN, 0, 1, 1, 4, 1, 2, 0, 1, 4, 1, 0, 1, 1, 6, 1, 7);
    emit(&p, OP_GRADIENTS, 0);
    put("fuzz_graph", "softmax-regression", p.b, p.n);

    /* Shapes in every op: reductions, transposes, concat, reshape, argmax. */
    p.n = 0;
    emit(&p, OP_PLACEHOLDER, NAME_X, GF_F32, RANK3, DANY, D2, D3);
    emit(&p, OP_TRANSPOSE, 0, 2, 3);
    emit(&p, OP_REDUCE, 1, 1, 2, 0, 0, 0, 0, 0, 1);
    emit(&p, OP_CONCAT, 0, 0x80, 2);
    emit(&p, OP_RESHAPE, 3, 0);
    emit(&p, OP_ARGMAX, 0, 2);
    emit(&p, OP_ONE_HOT, 0x80, 4);
    emit(&p, OP_GATHER, 0, 0x80);
    emit(&p, OP_UNARY, 2, fg_op_choice(0, "softmax"));
    emit(&p, OP_SESSION, 2, 1, 0);
    emit(&p, OP_RUN, 0, 1, 1, 2, 1, 2, 0, 2, 6, 8, 0);
    put("fuzz_graph", "shapes", p.b, p.n);

    /* Errors: NULL and foreign inputs, bad ranks, then a reset. */
    p.n = 0;
    emit(&p, OP_BINARY, 248, 0, 0, 0);
    emit(&p, OP_MATMUL, 250, 250, 1);
    emit(&p, OP_RESET);
    emit(&p, OP_PLACEHOLDER, NAME_X, GF_I32, 14);
    emit(&p, OP_MISC, 7, 5);
    put("fuzz_graph", "errors", p.b, p.n);

    /* Variables, assign, group, dropout, a second session and stats. */
    p.n = 0;
    emit(&p, OP_VARIABLE, NAME_B, 2, 1, 4);
    emit(&p, OP_DROPOUT, 1, 1, 0, 0, 0, 7);
    emit(&p, OP_ASSIGN, 0x80, 0x80);
    emit(&p, OP_BINARY, 3, 0x80, fg_op_choice(1, "group"));
    emit(&p, OP_SESSION, 3, 5, 2);               /* two threads */
    emit(&p, OP_STATS, 1, 0, 1, 4, 1, 3);
    emit(&p, OP_RUN, 1, 0, 2, 1, 2, 1, 3);
    emit(&p, OP_VARIABLE_VALUE, 1, 1, 12, 12, 12, 12);
    put("fuzz_graph", "variables", p.b, p.n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR (fuzz/corpus)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    idx_seeds();
    checkpoint_seeds();
    graph_seeds();
    model_seeds();
    return 0;
}
