/*
 * fuzz_graph.c — libFuzzer target for graph building and running: the input
 * is a program of random ops, shapes and arguments, bad ones included.
 */
/* Each step reads an opcode byte and its arguments from the input (zeros
 * once it is used up): sources of random rank and dimensions (GF_ANY too),
 * every public op constructor with random axes, perms and flags, inputs
 * that are NULL, poisoned or from a second graph, gf_gradients and
 * gf_minimize, then sessions that run random fetches and targets with feeds
 * of random, possibly wrong, shapes and dtypes. Errors are expected; a
 * crash, a leak, a sanitizer report or a broken promise (GF_FUZZ_CHECK) is
 * a finding. Runs stay small: every node a run may compute is bounded by
 * FG_LIMIT elements (tracked here as an upper bound per node), and nothing
 * else is run. */
#include "gradflow.h"
#include "fuzz_util.h"
#include "../src/ops/op.h" /* the op list: OP_UNARY and OP_BINARY walk it */

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FG_POOL 40          /* nodes kept to pick inputs from */
#define FG_LIMIT 16384.0    /* most elements of any node a run may compute */
#define FG_FEED_DIM 5       /* open dimensions are fed at most this */
#define FG_MAX_PH 8
#define FG_MAX_FEEDS 8
#define FG_MAX_STEPS 200
#define FG_MAX_RUNS 12
#define FG_MAX_GRADS 8
#define FG_MAX_SESSIONS 6

typedef struct fg_entry {
    gf_node *n;
    double out;   /* upper bound of the node's elements when run */
    double cost;  /* upper bound of the elements of any node it needs */
} fg_entry;

typedef struct fg {
    const uint8_t *p;
    size_t len, at;
    gf_graph *g, *g2;
    fg_entry pool[FG_POOL];
    int np, next;              /* pool size; the slot a full pool replaces next */
    gf_node *ph[FG_MAX_PH];    /* placeholders of g */
    int nph;
    gf_node *other[4];         /* nodes of g2 */
    int nother;
    gf_session *s[2];
    gf_optimizer *opt;
    int big_var;               /* a variable too large to initialise: no sessions */
    double max_var;            /* largest variable (bounds optimizer updates) */
    int runs, grads, sessions;
    float consts[256];
    char name[320];
} fg;

/* GF_FUZZ_TRACE=1 in the environment prints each step (for reading what a
 * seed or a regression file does). */
static int fg_trace = -1;

/* ---- the ops built from the op list ----
 * OP_UNARY and OP_BINARY pick among the ops whose public constructor the op
 * list generates (ctor UNARY; ctor BINARY with a broadcasting shape rule),
 * in the list's order, so that a new op is fuzzed with no edit here; then
 * among those written by hand: check_numerics (it takes a message) after
 * the unary ones, group (it sequences, its value is no elementwise result)
 * after the binary ones. softmax_cross_entropy_with_logits and gather_rows
 * (ctor BINARY too) have opcodes of their own. */
static const gf_op *fg_unary_ops[GF_OP_COUNT + 1], *fg_binary_ops[GF_OP_COUNT + 1];
static unsigned fg_n_unary, fg_n_binary;

static void fg_ops_init(void)
{
    if (fg_n_unary) return;
    for (int i = 0; i < GF_OP_COUNT; i++) {
        const gf_op *op = &gf__ops[i];
        if (op->ctor == GF_CTOR_UNARY) fg_unary_ops[fg_n_unary++] = op;
        else if (op->ctor == GF_CTOR_BINARY && (op->shape == gf__shape_binary || op->shape == gf__shape_compare))
            fg_binary_ops[fg_n_binary++] = op;
    }
    fg_unary_ops[fg_n_unary++] = GF_OP(CHECK_NUMERICS);
    fg_binary_ops[fg_n_binary++] = GF_OP(GROUP);
}

/* ---- reading the program ---- */

static unsigned fg_u8(fg *f) { return f->at < f->len ? f->p[f->at++] : 0u; }
static unsigned fg_below(fg *f, unsigned k) { return fg_u8(f) % k; }
static uint32_t fg_u32(fg *f)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | fg_u8(f);
    return v;
}

static float fg_value(fg *f)
{
    static const float t[] = { 0.0f, 1.0f, -1.0f, 2.0f, 0.5f, -3.0f, 10.0f, 1e-30f, 1e30f, -1e30f,
                               INFINITY, -INFINITY, NAN, 3.0f, 4.0f, 7.0f, 100.0f, -0.0f, 9.0f,
                               1e38f, 1e-45f, 16777217.0f, -2147483648.0f, 3e9f };
    unsigned b = fg_u8(f);
    if (b < sizeof t / sizeof t[0]) return t[b];
    return (float)((int)b - 140) / 8.0f;
}

static int64_t fg_dim(fg *f)
{
    static const int64_t common[16] = { 1, 2, 3, 4, 5, 2, 3, 1, GF_ANY, GF_ANY, 0, 6, 2, 4, GF_ANY, 1 };
    unsigned b = fg_u8(f);
    if (b < 240) return common[b % 16];
    switch (b) {
    case 240: return -2;
    case 241: return (int64_t)1 << 20;
    case 242: return (int64_t)1 << 40;
    case 243: return INT64_MAX;
    case 244: return INT32_MAX;
    case 245: return INT64_MIN;
    case 246: return 100;
    case 247: return 1000;
    default: return (int64_t)(b - 240); /* 8..15 */
    }
}

/* A shape: mostly rank 0..4 with small or open dimensions; sometimes a bad
 * rank or a dimension the constructors must refuse. */
static gf_shape fg_shape(fg *f)
{
    unsigned b = fg_u8(f);
    static const int ranks[16] = { 0, 1, 2, 3, 4, 2, 2, 1, 3, 2, 1, 2, 3, 4, 5, -3 };
    int rank = ranks[b % 16];
    if (rank == 5) return gf_dims(5, 1, 2, 3, 4, 5); /* rank -1 */
    if (rank < 0) {
        gf_shape s = { .rank = (b & 0x10) ? 9 : -3 };
        return s;
    }
    int64_t d[GF_MAX_RANK] = { 0 };
    for (int i = 0; i < rank; i++) d[i] = fg_dim(f);
    return gf_shape_from(rank, d);
}

/* A fully known shape of at most max elements (dims 0..5). */
static gf_shape fg_small_shape(fg *f, int64_t max)
{
    int rank = (int)fg_below(f, 5);
    int64_t d[GF_MAX_RANK] = { 0 }, c = 1;
    for (int i = 0; i < rank; i++) {
        d[i] = (int64_t)fg_below(f, 6);
        if (d[i] && c * d[i] > max) d[i] = 1;
        c *= d[i] ? d[i] : 1;
    }
    return gf_shape_from(rank, d);
}

static gf_dtype fg_dtype(fg *f)
{
    unsigned b = fg_u8(f);
    if (b < 250) return (gf_dtype)(b % 3);
    return b == 250 ? (gf_dtype)3 : b == 251 ? (gf_dtype)-1 : GF_F32;
}

static const char *fg_name(fg *f)
{
    static const char *t[] = { "x", "y", "w", "x_1", "a/b", "", "gradients/x", "add", "placeholder",
                               "variable", "w_1", "x_2", "b", "cost", "<poisoned>", "x_1_1" };
    unsigned b = fg_u8(f);
    if (b < 8) return NULL;
    if (b < 240) return t[b % (sizeof t / sizeof t[0])];
    size_t n = (size_t)(b - 239) * 19; /* up to 16*19 = 304 characters */
    if (n >= sizeof f->name) n = sizeof f->name - 1;
    memset(f->name, 'n', n);
    f->name[n] = '\0';
    if (n > 2) f->name[n - 2] = '_';
    return f->name;
}

static int fg_axis(fg *f)
{
    static const int t[16] = { 0, 1, -1, 2, -2, 3, 0, 1, -3, 4, -4, -5, 5, 100, INT_MIN, INT_MAX };
    return t[fg_below(f, 16)];
}

/* ---- bounds ---- */

static double fg_max(double a, double b) { return a > b ? a : b; }

/* Upper bound of a shape's elements, open dimensions counted as open. */
static double fg_bound(gf_shape s, double open)
{
    if (s.rank < 0 || s.rank > GF_MAX_RANK) return 0;
    double c = 1;
    for (int i = 0; i < s.rank; i++) c *= s.dim[i] < 0 ? open : (double)s.dim[i];
    return c;
}

/* Enters n in the pool: out is the op's bound for an open shape (a known
 * shape gives the exact count), cost the largest cost of its inputs. */
static fg_entry fg_add(fg *f, gf_node *n, double out, double in_cost)
{
    fg_entry e = { n, 0, 0 };
    if (!n) return e;
    if (!gf_node_is_poisoned(n)) {
        GF_FUZZ_CHECK(gf_graph_status(gf_node_graph(n)) == GF_OK);
        gf_shape s = gf_node_shape(n);
        GF_FUZZ_CHECK(s.rank >= 0 && s.rank <= GF_MAX_RANK);
        int64_t c = gf_shape_count(s);
        e.out = c >= 0 ? (double)c : fg_max(out, 1);
        e.cost = fg_max(e.out, in_cost);
    }
    if (fg_trace) {
        char b[64];
        fprintf(stderr, "  node %s (%s) %s%s out<=%g cost<=%g\n", gf_node_name(n), gf_node_op(n),
                gf_shape_format(gf_node_shape(n), b, sizeof b), gf_node_is_poisoned(n) ? " poisoned" : "",
                e.out, e.cost);
    }
    if (f->np < FG_POOL) {
        f->pool[f->np++] = e;
    } else {
        f->pool[f->next] = e;
        f->next = (f->next + 1) % FG_POOL;
    }
    return e;
}

/* ---- picking inputs ---- */

static fg_entry fg_pick(fg *f)
{
    fg_entry e = { NULL, 0, 0 };
    unsigned b = fg_u8(f);
    if (b >= 248 || f->np == 0) {
        switch (b % 4) {
        case 0: return e;                                /* NULL */
        case 1: e.n = gf_neg(NULL); return e;            /* graph-less poison */
        default:                                         /* another graph's node */
            if (f->nother) e.n = f->other[b % (unsigned)f->nother];
            return e;
        }
    }
    return f->pool[b % (unsigned)f->np];
}

static int fg_broadcasts(gf_shape a, gf_shape b)
{
    if (a.rank < 0 || b.rank < 0) return 0;
    for (int i = 1; i <= a.rank && i <= b.rank; i++) {
        int64_t x = a.dim[a.rank - i], y = b.dim[b.rank - i];
        if (x != y && x != 1 && y != 1 && x >= 0 && y >= 0) return 0;
    }
    return 1;
}

enum { LIKE_BROADCAST, LIKE_MATMUL, LIKE_SAME, LIKE_INDICES, LIKE_VARIABLE, LIKE_RANK };

static int fg_matches(fg_entry a, fg_entry e, int kind)
{
    if (!e.n || gf_node_is_poisoned(e.n)) return 0;
    gf_shape s = gf_node_shape(e.n), t = a.n ? gf_node_shape(a.n) : s;
    switch (kind) {
    case LIKE_BROADCAST:
        return gf_node_dtype(e.n) == gf_node_dtype(a.n) && fg_broadcasts(s, t);
    case LIKE_MATMUL:
        return s.rank == 2 && t.rank == 2 && (s.dim[0] == t.dim[1] || s.dim[0] < 0 || t.dim[1] < 0);
    case LIKE_SAME:
        if (s.rank != t.rank || gf_node_dtype(e.n) != gf_node_dtype(a.n)) return 0;
        for (int i = 0; i < s.rank; i++)
            if (s.dim[i] != t.dim[i] && s.dim[i] >= 0 && t.dim[i] >= 0) return 0;
        return 1;
    case LIKE_INDICES: return gf_node_dtype(e.n) == GF_I32;
    case LIKE_VARIABLE: return !strcmp(gf_node_op(e.n), "variable");
    case LIKE_RANK: return s.rank == t.rank && gf_node_dtype(e.n) == gf_node_dtype(a.n);
    }
    return 0;
}

/* A second input that fits a (a scan of the pool from a random start), or
 * a random one when the program says so or none fits. */
static fg_entry fg_pick_like(fg *f, fg_entry a, int kind)
{
    unsigned b = fg_u8(f);
    if (!(b & 0x80) || f->np == 0 || (!a.n && kind != LIKE_INDICES && kind != LIKE_VARIABLE))
        return fg_pick(f);
    if (a.n && gf_node_is_poisoned(a.n)) return fg_pick(f);
    for (int k = 0; k < f->np; k++) {
        fg_entry e = f->pool[(b + (unsigned)k) % (unsigned)f->np];
        if (fg_matches(a, e, kind)) return e;
    }
    return fg_pick(f);
}

/* ---- building ---- */

static gf_node *fg_constant(fg *f, double *out)
{
    unsigned mode = fg_u8(f);
    *out = 1;
    if (mode < 220) {
        gf_shape s = fg_small_shape(f, 256);
        int64_t c = gf_shape_count(s);
        float a = fg_value(f), b = fg_value(f);
        for (int64_t i = 0; i < c; i++) f->consts[i] = (i & 1) ? a : b + (float)i;
        *out = (double)c;
        return gf_constant(f->g, s, f->consts);
    }
    switch (mode % 6) {
    case 0: return gf_constant(f->g, gf_dims(2, 2, 3), NULL);         /* NULL data */
    case 1: return gf_constant(f->g, gf_dims(1, 0), NULL);            /* empty, NULL data: fine */
    case 2: return gf_constant(f->g, gf_dims(2, GF_ANY, 2), f->consts); /* open: refused */
    case 3: return gf_constant(f->g, gf_dims(1, -2), f->consts);
    case 4: {
        int64_t d[2] = { (int64_t)1 << 40, (int64_t)1 << 40 };         /* overflow: refused */
        return gf_constant(f->g, gf_shape_from(2, d), f->consts);
    }
    default: return gf_constant(f->g, fg_shape(f), NULL);
    }
}

/* The shapes a reshape of x may ask for: mostly ones with x's count. */
static gf_shape fg_reshape_target(fg *f, gf_node *x)
{
    unsigned mode = fg_below(f, 8);
    gf_shape s = x ? gf_node_shape(x) : (gf_shape){ .rank = -1 };
    int64_t c = gf_shape_count(s);
    switch (mode) {
    case 0: return gf_dims(1, GF_ANY);
    case 1: return c >= 0 ? gf_shape_from(1, &c) : gf_dims(2, GF_ANY, 2);
    case 2: {
        int64_t d[2] = { 1, c >= 0 ? c : GF_ANY };
        return gf_shape_from(2, d);
    }
    case 3:
        if (s.rank >= 1 && s.rank <= GF_MAX_RANK) {
            int64_t d[GF_MAX_RANK];
            for (int i = 0; i < s.rank; i++) d[i] = s.dim[s.rank - 1 - i];
            return gf_shape_from(s.rank, d);
        }
        return gf_dims(0);
    case 4: return gf_dims(2, GF_ANY, GF_ANY); /* two open: refused */
    case 5: {
        int64_t d[3] = { 2, GF_ANY, s.rank > 0 ? s.dim[s.rank - 1] : 1 };
        return gf_shape_from(3, d);
    }
    default: return fg_shape(f);
    }
}

/* Gradients of 1..3 ys with respect to 1..4 xs, sometimes with grad_ys. */
static void fg_gradients(fg *f)
{
    if (f->grads >= FG_MAX_GRADS) return;
    f->grads++;
    gf_node *ys[3] = { NULL }, *xs[4] = { NULL }, *gys[3] = { NULL }, *out[4] = { NULL };
    fg_entry xe[4] = { { NULL, 0, 0 } };
    int ny = (int)fg_below(f, 4), nx = (int)fg_below(f, 5);
    if (ny == 0 && (fg_u8(f) & 1)) ny = 1;
    double cost = 0;
    for (int i = 0; i < ny; i++) {
        fg_entry e = fg_pick(f);
        ys[i] = e.n;
        cost = fg_max(cost, e.cost);
    }
    for (int i = 0; i < nx; i++) {
        xe[i] = fg_pick(f);
        xs[i] = xe[i].n;
        cost = fg_max(cost, xe[i].cost);
    }
    unsigned mode = fg_u8(f);
    int with_gys = mode & 1;
    if (with_gys)
        for (int i = 0; i < ny; i++) {
            fg_entry y = { ys[i], 0, 0 };
            fg_entry e = fg_pick_like(f, y, LIKE_SAME);
            gys[i] = e.n;
            cost = fg_max(cost, e.cost);
        }
    gf_graph *g = (mode & 0x30) == 0x30 ? f->g2 : (mode & 0x30) == 0x20 && (mode & 2) ? NULL : f->g;
    gf_status st;
    if (mode & 4) {
        unsigned flags = (mode & 8) ? GF_GRAD_ZEROS : fg_u8(f);
        st = gf_gradients_ex(g, ys, ny, xs, nx, with_gys ? gys : NULL, flags, out);
    } else {
        st = gf_gradients(g, ys, ny, xs, nx, with_gys ? gys : NULL, out);
    }
    for (int i = 0; i < nx; i++) {
        if (st != GF_OK) GF_FUZZ_CHECK(out[i] == NULL);
        if (out[i]) fg_add(f, out[i], xe[i].out, cost);
    }
}

static gf_optimizer *fg_optimizer(fg *f, gf_graph *g)
{
    float a = fg_value(f), b = fg_value(f);
    switch (fg_below(f, 3)) {
    case 0: return gf_gradient_descent(g, a);
    case 1: return gf_momentum(g, a, b);
    default: {
        float c = fg_value(f), d = fg_value(f);
        return gf_adam(g, a, b, c, d);
    }
    }
}

static void fg_minimize(fg *f)
{
    if (f->grads >= FG_MAX_GRADS) return;
    f->grads++;
    unsigned mode = fg_u8(f);
    gf_optimizer *opt = f->opt;
    if (!opt || (mode & 1)) {
        int on_g2 = (mode & 0x0e) == 0x0e;
        opt = fg_optimizer(f, on_g2 ? f->g2 : f->g);
        if (!on_g2) f->opt = opt;
    }
    if ((mode & 0x70) == 0x70) opt = NULL;
    fg_entry c = fg_pick(f);
    gf_node *vl[3] = { NULL };
    int nv = 0;
    double cost = fg_max(c.cost, f->max_var);
    if (mode & 0x80) {
        nv = (int)fg_below(f, 4);
        for (int i = 0; i < nv; i++) {
            fg_entry v = fg_pick_like(f, c, LIKE_VARIABLE);
            vl[i] = v.n;
            cost = fg_max(cost, v.cost);
        }
    }
    gf_node *n = gf_minimize(opt, c.n, nv ? vl : NULL, nv);
    fg_add(f, n, 1, cost);
}

/* ---- running ---- */

typedef struct fg_feeds {
    gf_feed feed[FG_MAX_FEEDS];
    gf_tensor *t[FG_MAX_FEEDS];
    float *buf[FG_MAX_FEEDS];
    int n;
} fg_feeds;

/* A tensor for placeholder ph: its declared shape with open dimensions
 * filled (right), or a random small shape; NULL when too large. */
static gf_tensor *fg_tensor(fg *f, gf_node *ph, int right, float **buf)
{
    gf_shape s = gf_node_shape(ph);
    gf_dtype dt = gf_node_dtype(ph);
    *buf = NULL;
    if (right && s.rank >= 0 && s.rank <= GF_MAX_RANK) {
        for (int i = 0; i < s.rank; i++)
            if (s.dim[i] < 0) s.dim[i] = (int64_t)fg_below(f, FG_FEED_DIM + 1);
    } else {
        s = fg_small_shape(f, 625);
        dt = fg_dtype(f);
        if ((unsigned)dt > GF_BOOL) dt = GF_I32;
    }
    int64_t c = gf_shape_count(s);
    if (c < 0 || (double)c > FG_LIMIT) return NULL;
    float a = fg_value(f), b = fg_value(f);
    unsigned pat = fg_below(f, 4);
    *buf = malloc((size_t)(c ? c : 1) * sizeof(float));
    if (!*buf) return NULL;
    for (int64_t i = 0; i < c; i++) {
        switch (pat) {
        case 0: (*buf)[i] = (i % 3 == 0) ? a : (i % 3 == 1 ? b : (float)(i % 5)); break;
        case 1: (*buf)[i] = (float)(i % 4); break;          /* indices */
        case 2: (*buf)[i] = a; break;
        default: (*buf)[i] = (float)((int64_t)(i * 7) % 11) - 3.0f; break;
        }
    }
    gf_tensor *t = gf_tensor_wrap(dt, s, c ? *buf : ((fg_u8(f) & 1) ? NULL : *buf), NULL);
    if (!t) {
        free(*buf);
        *buf = NULL;
    }
    return t;
}

static void fg_make_feeds(fg *f, fg_feeds *fd)
{
    memset(fd, 0, sizeof *fd);
    unsigned mode = fg_u8(f);
    if (mode & 1) { /* every placeholder, rightly shaped (mostly) */
        for (int i = 0; i < f->nph && fd->n < FG_MAX_FEEDS; i++) {
            int k = fd->n++;
            fd->feed[k].node = f->ph[i];
            fd->t[k] = fg_tensor(f, f->ph[i], (fg_u8(f) & 7) != 0, &fd->buf[k]);
            fd->feed[k].value = fd->t[k];
        }
    }
    int extra = (int)((mode >> 1) % 4);
    for (int j = 0; j < extra && fd->n < FG_MAX_FEEDS; j++) {
        unsigned b = fg_u8(f);
        gf_node *node;
        if (b < 160 && f->nph) node = f->ph[b % (unsigned)f->nph];
        else node = fg_pick(f).n; /* a non-placeholder, NULL, another graph's */
        int k = fd->n++;
        fd->feed[k].node = node;
        if ((b & 7) != 7 && node && !gf_node_is_poisoned(node))
            fd->t[k] = fg_tensor(f, node, b & 8, &fd->buf[k]);
        fd->feed[k].value = fd->t[k];
    }
}

static void fg_free_feeds(fg_feeds *fd)
{
    for (int i = 0; i < fd->n; i++) {
        gf_tensor_free(fd->t[i]);
        free(fd->buf[i]);
    }
    fd->n = 0;
}

/* Nodes to fetch or target: only ones whose runs stay small, or bad ones
 * (NULL, poisoned, another graph's). Sets *bad when one is bad. */
static int fg_pick_run_nodes(fg *f, gf_node **nodes, int max, int *bad)
{
    int n = (int)fg_below(f, (unsigned)max + 1);
    int k = 0;
    for (int i = 0; i < n; i++) {
        fg_entry e = fg_pick(f);
        if (e.n && !gf_node_is_poisoned(e.n) && gf_node_graph(e.n) == f->g) {
            if (e.cost > FG_LIMIT) continue;
        } else {
            *bad = 1;
        }
        nodes[k++] = e.n;
    }
    return k;
}

static void fg_check_out(gf_node *n, const gf_tensor *t)
{
    GF_FUZZ_CHECK(t != NULL);
    gf_shape s = gf_tensor_shape(t), ns = gf_node_shape(n);
    GF_FUZZ_CHECK(s.rank >= 0 && s.rank <= GF_MAX_RANK);
    int64_t c = 1;
    for (int i = 0; i < s.rank; i++) {
        GF_FUZZ_CHECK(s.dim[i] >= 0);
        c *= s.dim[i];
    }
    GF_FUZZ_CHECK(c == gf_tensor_count(t));
    GF_FUZZ_CHECK((double)c <= 64 * FG_LIMIT);
    if (ns.rank != s.rank || gf_node_dtype(n) != gf_tensor_dtype(t)) {
        char a[64], b[64];
        fprintf(stderr, "fuzz_graph: node %s (op %s) inferred %s %s, run gave %s %s\n",
                gf_node_name(n), gf_node_op(n), gf_shape_format(ns, a, sizeof a),
                gf_dtype_name(gf_node_dtype(n)), gf_shape_format(s, b, sizeof b),
                gf_dtype_name(gf_tensor_dtype(t)));
        GF_FUZZ_CHECK(ns.rank == s.rank && gf_node_dtype(n) == gf_tensor_dtype(t));
    }
    for (int i = 0; i < s.rank; i++) GF_FUZZ_CHECK(ns.dim[i] < 0 || ns.dim[i] == s.dim[i]);
    if (c > 0) (void)gf_fuzz_touch(gf_tensor_data(t), (size_t)c * sizeof(float));
}

static gf_session *fg_session(fg *f)
{
    gf_session *s = f->s[fg_u8(f) & 1];
    return s ? s : f->s[0] ? f->s[0] : f->s[1];
}

static void fg_run(fg *f, int stats)
{
    gf_session *s = fg_session(f);
    if (!s || f->big_var || f->runs >= FG_MAX_RUNS) return;
    f->runs++;
    fg_feeds fd;
    fg_make_feeds(f, &fd);
    gf_node *fetch[4], *target[3];
    int bad = 0;
    int nf = fg_pick_run_nodes(f, fetch, 4, &bad);
    int nt = fg_pick_run_nodes(f, target, 3, &bad);
    const gf_tensor *outs[4] = { NULL };
    if (stats) {
        gf_plan_stats ps;
        memset(&ps, 0, sizeof ps);
        gf_status st = gf_session_plan_stats(s, fd.feed, fd.n, fetch, nf, target, nt, &ps);
        if (st == GF_OK) GF_FUZZ_CHECK(ps.nodes >= 0 && ps.steps >= 0 && !bad);
        else GF_FUZZ_CHECK(gf_session_error(s)[0] != '\0');
    } else {
        gf_status st = gf_session_run(s, fd.feed, fd.n, fetch, nf, target, nt, nf ? outs : NULL);
        if (fg_trace)
            fprintf(stderr, "  run: %d feeds, %d fetches, %d targets: %s %s\n", fd.n, nf, nt,
                    gf_status_string(st), gf_session_error(s));
        if (st == GF_OK) {
            GF_FUZZ_CHECK(!bad);
            for (int i = 0; i < nf; i++) fg_check_out(fetch[i], outs[i]);
        } else {
            GF_FUZZ_CHECK(gf_session_error(s)[0] != '\0');
        }
    }
    fg_free_feeds(&fd);
}

static void fg_gradient_check(fg *f)
{
    gf_session *s = fg_session(f);
    if (!s || f->big_var || f->runs >= FG_MAX_RUNS) return;
    f->runs++;
    fg_entry y = fg_pick(f), x = fg_pick(f);
    if (y.cost > FG_LIMIT || x.cost > FG_LIMIT) return;
    /* One read per statement: the order of reads must not depend on the
     * compiler (regressions replay under gcc what clang found). */
    gf_gradcheck_options o;
    memset(&o, 0, sizeof o);
    o.max_elements = 1 + fg_below(f, 3);
    o.directions = (int)fg_below(f, 2);
    o.step = fg_u8(f) < 200 ? 0.0 : (double)fg_value(f);
    o.seed = fg_u8(f);
    fg_feeds fd;
    fg_make_feeds(f, &fd);
    gf_gradcheck_result r;
    memset(&r, 0, sizeof r);
    int defaults = !(fg_u8(f) & 1);
    /* The defaults perturb every element of x, each costing a few runs of
     * y: only where that stays small (a 13500-element x took minutes). */
    if (x.out * y.cost > 64 * FG_LIMIT) defaults = 0;
    gf_status st = gf_gradient_check(s, y.n, x.n, fd.feed, fd.n, defaults ? NULL : &o, &r);
    if (st != GF_OK) GF_FUZZ_CHECK(gf_session_error(s)[0] != '\0');
    fg_free_feeds(&fd);
}

static void fg_session_new(fg *f)
{
    unsigned b = fg_u8(f);
    int k = b & 1;
    if (f->s[k] || f->big_var || f->sessions >= FG_MAX_SESSIONS) return;
    f->sessions++;
    gf_session_options o;
    memset(&o, 0, sizeof o);
    o.seed = fg_u8(f);
    o.threads = (int)fg_below(f, 3);
    o.disable = (b & 2) ? 0u : (b & 4) ? GF_NO_REWRITES : fg_u8(f);
    o.check_numerics = (b & 0x10) ? 1 : (b & 0x20) ? (int)fg_u8(f) - 1 : 0;
    f->s[k] = gf_session_new(f->g, (b & 8) ? NULL : &o);
    GF_FUZZ_CHECK(f->s[k] != NULL);
    if (gf_session_status(f->s[k]) != GF_OK) GF_FUZZ_CHECK(gf_session_error(f->s[k])[0] != '\0');
}

static void fg_sessions_free(fg *f)
{
    for (int k = 0; k < 2; k++) {
        gf_session_free(f->s[k]);
        f->s[k] = NULL;
    }
}

/* ---- odds and ends of the API ---- */

static void fg_misc(fg *f)
{
    char *buf;
    switch (fg_below(f, 8)) {
    case 0: { /* shape formatting into exact-size buffers */
        gf_shape s = fg_shape(f);
        size_t len = 1 + fg_below(f, 40);
        buf = malloc(len);
        if (!buf) return;
        gf_shape_format(s, buf, len);
        GF_FUZZ_CHECK(memchr(buf, '\0', len) != NULL);
        free(buf);
        (void)gf_shape_count(s);
        return;
    }
    case 1: {
        int r = (int)fg_below(f, 8) - 2;
        gf_shape s = gf_dims(r, 1, 2, 3, 4);
        GF_FUZZ_CHECK(s.rank == (r >= 0 && r <= GF_MAX_RANK ? r : -1));
        return;
    }
    case 2: {
        gf_error err = { 0 };
        gf_shape s = fg_small_shape(f, 625);
        if (fg_u8(f) & 1) s = fg_shape(f);
        if (fg_bound(s, 1) > FG_LIMIT) return;
        gf_tensor *t = gf_tensor_new(fg_dtype(f), s, &err);
        if (t) {
            GF_FUZZ_CHECK(gf_tensor_count(t) == gf_shape_count(s));
            (void)gf_fuzz_touch(gf_tensor_data(t), (size_t)gf_tensor_count(t) * sizeof(float));
        } else {
            GF_FUZZ_CHECK(err.code != GF_OK && err.message[0]);
        }
        gf_tensor_free(t);
        return;
    }
    case 3:
        GF_FUZZ_CHECK(gf_status_string((gf_status)(int)(fg_u8(f) - 2)) != NULL);
        GF_FUZZ_CHECK(gf_dtype_name((gf_dtype)(int)(fg_u8(f) - 2)) != NULL);
        return;
    case 4: { /* accessors on any node */
        gf_node *n = fg_pick(f).n;
        char b[64];
        (void)gf_fuzz_touch(gf_node_name(n), strlen(gf_node_name(n)));
        (void)gf_fuzz_touch(gf_node_op(n), strlen(gf_node_op(n)));
        gf_shape_format(gf_node_shape(n), b, sizeof b);
        (void)gf_node_dtype(n);
        (void)gf_node_graph(n);
        return;
    }
    case 5: { /* names and lookups */
        const char *name = fg_name(f);
        gf_node *n = gf_graph_find((fg_u8(f) & 1) ? f->g : f->g2, name);
        if (n) GF_FUZZ_CHECK(name && !strcmp(gf_node_name(n), name));
        return;
    }
    case 6: { /* status, and a walk over the graph */
        unsigned b = fg_u8(f);
        gf_graph *g = (b & 1) ? f->g : (b & 2) ? f->g2 : NULL;
        GF_FUZZ_CHECK(gf_graph_error(g) != NULL);
        if (gf_graph_status(g) != GF_OK) GF_FUZZ_CHECK(gf_graph_error(g)[0] != '\0');
        int count = gf_graph_node_count(g);
        GF_FUZZ_CHECK(count >= 0 && (g || count == 0));
        GF_FUZZ_CHECK(gf_graph_node(g, -1) == NULL && gf_graph_node(g, count) == NULL &&
                      gf_graph_node(g, INT_MAX) == NULL && gf_graph_node(g, INT_MIN) == NULL);
        for (int i = 0; i < count; i++) {
            gf_node *n = gf_graph_node(g, i);
            GF_FUZZ_CHECK(n && gf_node_graph(n) == g && !gf_node_is_poisoned(n));
            int k = gf_node_input_count(n);
            GF_FUZZ_CHECK(k >= 0 && k <= 5); /* gradflow.h: 0 to 5 (apply_adam has five) */
            for (int j = 0; j < k; j++) {
                gf_node *in = gf_node_input(n, j);
                GF_FUZZ_CHECK(in && gf_node_graph(in) == g);
            }
            GF_FUZZ_CHECK(gf_node_input(n, -1) == NULL && gf_node_input(n, k) == NULL);
        }
        gf_node *x = fg_pick(f).n; /* NULL, poisoned, foreign */
        int k = gf_node_input_count(x);
        GF_FUZZ_CHECK(k >= 0 && k <= 5 && gf_node_input(x, k) == NULL);
        if (gf_node_is_poisoned(x)) GF_FUZZ_CHECK(k == 0);
        return;
    }
    default: { /* the constructors on a NULL graph */
        gf_node *n = NULL;
        switch (fg_below(f, 6)) {
        case 0: n = gf_placeholder(NULL, "x", GF_F32, gf_dims(1, 2)); break;
        case 1: n = gf_scalar(NULL, 1.0f); break;
        case 2: n = gf_variable(NULL, "v", fg_pick(f).n); break;
        case 3: n = gf_zeros(NULL, gf_dims(0)); break;
        case 4: n = gf_truncated_normal(NULL, gf_dims(1, 3), 0, 1); break;
        default: {
            gf_node *out[1] = { NULL }, *y = fg_pick(f).n;
            GF_FUZZ_CHECK(gf_gradients(NULL, &y, 1, &y, 1, NULL, out) != GF_OK);
            GF_FUZZ_CHECK(gf_minimize(NULL, y, NULL, 0) != NULL);
            return;
        }
        }
        GF_FUZZ_CHECK(n && gf_node_is_poisoned(n));
        return;
    }
    }
}

static void fg_reset_graph(fg *f)
{
    fg_sessions_free(f);
    gf_graph_free(f->g);
    f->g = gf_graph_new();
    f->np = f->next = f->nph = 0;
    f->opt = NULL;
    f->big_var = 0;
    f->max_var = 0;
    f->grads = f->sessions = 0;
}

/* ---- one step ---- */

enum {
    OP_PLACEHOLDER, OP_SCALAR, OP_CONSTANT, OP_TRUNC_NORMAL, OP_ZEROS, OP_VARIABLE, OP_TRAINABLE,
    OP_BINARY, OP_BINARY2, OP_UNARY, OP_UNARY2, OP_MATMUL, OP_TRANSPOSE, OP_REDUCE, OP_ARGMAX, OP_CAST,
    OP_ASSIGN, OP_XENT, OP_RESHAPE, OP_CONCAT, OP_SLICE, OP_GATHER, OP_ONE_HOT, OP_DROPOUT,
    OP_GRADIENTS, OP_MINIMIZE, OP_NAME, OP_SESSION, OP_RUN, OP_RUN2, OP_STATS, OP_VARIABLE_VALUE,
    OP_SESSION_FREE, OP_GRADCHECK, OP_RESET, OP_MISC, OP_COUNT,
    /* Later opcodes, picked by the bytes 252.. (252 = 7 * OP_COUNT), so
     * that every other byte keeps its meaning (fuzz/regressions/). */
    OP_CONV2D = OP_COUNT, OP_POOL, OP_DROPOUT_KEEP, OP_END
};
#define FG_LATE_BYTE 252

/* Strides and window sizes: mostly small, sometimes hostile. */
static int fg_window_int(fg *f)
{
    static const int t[16] = { 1, 2, 3, 1, 2, 5, 1, 2, 0, -1, 100, INT_MAX, 1 << 20, 4, 3, -2147483647 - 1 };
    return t[fg_below(f, 16)];
}

static gf_padding fg_padding(fg *f)
{
    unsigned b = fg_below(f, 8);
    return b < 4 ? GF_SAME : b < 7 ? GF_VALID : (gf_padding)7;
}

/* A rank-4 image or filter: a node of the pool, or zeros of a fuzzed
 * shape (zero sizes, huge windows, channels that do not match). */
static fg_entry fg_image(fg *f)
{
    if (fg_u8(f) & 1) return fg_pick(f);
    int64_t d[4];
    for (int i = 0; i < 4; i++) d[i] = fg_dim(f);
    gf_shape s = gf_shape_from(4, d);
    return fg_add(f, gf_zeros(f->g, s), fg_bound(s, 1), 0);
}

static void fg_step(fg *f)
{
    unsigned code = fg_u8(f);
    unsigned op = code >= FG_LATE_BYTE && code < FG_LATE_BYTE + (OP_END - OP_COUNT) ? OP_COUNT + (code - FG_LATE_BYTE)
                                                                                    : code % OP_COUNT;
    gf_node *n = NULL;
    if (fg_trace) fprintf(stderr, "step at byte %zu: op %u\n", f->at - 1, op);
    switch (op) {
    case OP_PLACEHOLDER: {
        const char *name = fg_name(f);
        gf_dtype dt = fg_dtype(f);
        gf_shape s = fg_shape(f);
        n = gf_placeholder(f->g, name, dt, s);
        GF_FUZZ_CHECK(n != NULL);
        fg_entry e = fg_add(f, n, fg_bound(s, FG_FEED_DIM), 0);
        (void)e;
        if (!gf_node_is_poisoned(n) && f->nph < FG_MAX_PH) f->ph[f->nph++] = n;
        return;
    }
    case OP_SCALAR:
        fg_add(f, gf_scalar(f->g, fg_value(f)), 1, 0);
        return;
    case OP_CONSTANT: {
        double out;
        n = fg_constant(f, &out);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, out, 0);
        return;
    }
    case OP_TRUNC_NORMAL:
    case OP_ZEROS: {
        gf_shape s = (fg_u8(f) & 3) ? fg_small_shape(f, 256) : fg_shape(f);
        float mean = fg_value(f), stddev = fg_value(f);
        n = op == OP_ZEROS ? gf_zeros(f->g, s) : gf_truncated_normal(f->g, s, mean, stddev);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, fg_bound(s, 1), 0);
        return;
    }
    case OP_VARIABLE: {
        const char *name = fg_name(f);
        fg_entry init;
        unsigned b = fg_u8(f);
        if (b & 1) {
            init = fg_pick(f);
        } else {
            gf_shape s = (b & 2) ? fg_small_shape(f, 256) : fg_shape(f);
            gf_node *i = (b & 4) ? gf_zeros(f->g, s) : gf_truncated_normal(f->g, s, 0.0f, 1.0f);
            init = fg_add(f, i, 1, 0);
        }
        n = gf_variable(f->g, name, init.n);
        GF_FUZZ_CHECK(n != NULL);
        fg_entry e = fg_add(f, n, 1, 0);
        if (!gf_node_is_poisoned(n)) {
            if (init.cost > FG_LIMIT || e.out > FG_LIMIT) f->big_var = 1;
            f->max_var = fg_max(f->max_var, e.out);
        }
        return;
    }
    case OP_TRAINABLE: {
        gf_node *v = fg_pick(f).n;
        (void)gf_set_trainable(v, (int)fg_below(f, 3) - 1);
        return;
    }
    case OP_BINARY:
    case OP_BINARY2: {
        fg_entry a = fg_pick(f), b = fg_pick_like(f, a, LIKE_BROADCAST);
        double out = a.out * b.out, cost = fg_max(a.cost, b.cost);
        const gf_op *o = fg_binary_ops[fg_below(f, fg_n_binary)];
        n = o->make2(a.n, b.n);
        if (o == GF_OP(GROUP)) out = 1;
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, out, cost);
        return;
    }
    case OP_UNARY:
    case OP_UNARY2: {
        fg_entry x = fg_pick(f);
        const gf_op *o = fg_unary_ops[fg_below(f, fg_n_unary)];
        n = o == GF_OP(CHECK_NUMERICS) ? gf_check_numerics(x.n, fg_name(f)) : o->make1(x.n);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_MATMUL: {
        fg_entry a = fg_pick(f), b = fg_pick_like(f, a, LIKE_MATMUL);
        unsigned m = fg_u8(f);
        if (m & 1) n = gf_matmul(a.n, b.n);
        else n = gf_matmul_t(a.n, b.n, (int)((m >> 1) & 3) - 1, (int)((m >> 3) & 3) - 1);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, a.out * b.out, fg_max(a.cost, b.cost));
        return;
    }
    case OP_TRANSPOSE: {
        fg_entry x = fg_pick(f);
        unsigned m = fg_below(f, 4);
        static const int perms[6][4] = { { 0, 1, 2, 3 }, { 1, 0, 2, 3 }, { 3, 2, 1, 0 },
                                         { 2, 0, 1, 3 }, { 0, 0, 1, 2 }, { 1, 2, 3, 4 } };
        int perm[4];
        if (m == 0) {
            n = gf_transpose(x.n);
        } else if (m == 1) {
            n = gf_transpose_perm(x.n, NULL);
        } else if (m == 2) {
            memcpy(perm, perms[fg_below(f, 6)], sizeof perm);
            n = gf_transpose_perm(x.n, perm);
        } else {
            for (int i = 0; i < 4; i++) perm[i] = fg_axis(f);
            n = gf_transpose_perm(x.n, perm);
        }
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_REDUCE: {
        fg_entry x = fg_pick(f);
        int axes[6];
        static const int counts[8] = { 0, 1, 1, 2, 1, 3, 4, -1 };
        unsigned m = fg_u8(f);
        int na = (m & 0x80) ? 5 + (int)(m & 1) : counts[m % 8];
        for (int i = 0; i < 6; i++) axes[i] = fg_axis(f);
        const int *ap = (m & 0x40) && (m & 0x20) ? NULL : axes;
        int keep = (int)fg_below(f, 3);
        n = (m & 0x10) ? gf_reduce_mean(x.n, ap, na, keep) : gf_reduce_sum(x.n, ap, na, keep);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_ARGMAX: {
        fg_entry x = fg_pick(f);
        n = gf_argmax(x.n, fg_axis(f));
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_CAST: {
        fg_entry x = fg_pick(f);
        n = gf_cast(x.n, fg_dtype(f));
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_ASSIGN: {
        fg_entry none = { NULL, 0, 0 };
        fg_entry v = fg_pick_like(f, none, LIKE_VARIABLE);
        fg_entry x = fg_pick_like(f, v, LIKE_SAME);
        n = gf_assign(v.n, x.n);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, fg_max(v.out, x.out), fg_max(v.cost, x.cost));
        return;
    }
    case OP_XENT: {
        fg_entry a = fg_pick(f), b = fg_pick_like(f, a, LIKE_SAME);
        n = gf_softmax_cross_entropy_with_logits(a.n, b.n);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, fg_max(a.out, b.out), fg_max(a.cost, b.cost));
        return;
    }
    case OP_RESHAPE: {
        fg_entry x = fg_pick(f);
        n = gf_reshape(x.n, fg_reshape_target(f, x.n));
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_CONCAT: {
        fg_entry a = fg_pick(f), b = fg_pick_like(f, a, LIKE_RANK);
        n = gf_concat(a.n, b.n, fg_axis(f));
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, a.out + b.out, fg_max(a.cost, b.cost));
        return;
    }
    case OP_SLICE: {
        static const int64_t t[8] = { 0, 1, 2, 3, -1, (int64_t)1 << 40, INT64_MAX, 5 };
        fg_entry x = fg_pick(f);
        int64_t start = t[fg_below(f, 8)], count = t[fg_below(f, 8)];
        n = gf_slice_rows(x.n, start, count);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_GATHER: {
        fg_entry x = fg_pick(f), none = { NULL, 0, 0 };
        fg_entry i = fg_pick_like(f, none, LIKE_INDICES);
        n = gf_gather_rows(x.n, i.n);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out * i.out, fg_max(x.cost, i.cost));
        return;
    }
    case OP_ONE_HOT: {
        static const int t[8] = { 0, 1, 2, 3, 10, -1, 1 << 30, INT_MAX };
        fg_entry none = { NULL, 0, 0 };
        fg_entry i = fg_pick_like(f, none, LIKE_INDICES);
        int depth = t[fg_below(f, 8)];
        n = gf_one_hot(i.n, depth);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, i.out * (depth > 1 ? depth : 1), i.cost);
        return;
    }
    case OP_DROPOUT: {
        fg_entry x = fg_pick(f);
        float kp = (fg_u8(f) & 1) ? 0.5f : fg_value(f);
        n = gf_dropout(x.n, kp, fg_u32(f));
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_CONV2D: {
        fg_entry x = fg_image(f), w = fg_image(f);
        int sh = fg_window_int(f), sw = fg_window_int(f);
        n = gf_conv2d(x.n, w.n, sh, sw, fg_padding(f));
        GF_FUZZ_CHECK(n != NULL);
        /* elements at most x's times the filter's; work that times the
         * filter's again */
        double fo = fg_max(w.out, 1);
        fg_add(f, n, x.out * fo * fo, fg_max(x.cost, w.cost));
        return;
    }
    case OP_POOL: {
        fg_entry x = fg_image(f);
        int kh = fg_window_int(f), kw = fg_window_int(f), sh = fg_window_int(f), sw = fg_window_int(f);
        gf_padding p = fg_padding(f);
        n = (fg_u8(f) & 1) ? gf_max_pool(x.n, kh, kw, sh, sw, p) : gf_avg_pool(x.n, kh, kw, sh, sw, p);
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out * fg_max(x.out, 1), x.cost); /* work: each window at most the image */
        return;
    }
    case OP_DROPOUT_KEEP: {
        fg_entry x = fg_pick(f);
        unsigned m = fg_u8(f);
        gf_node *kp = (m & 1) ? fg_pick(f).n : gf_scalar(f->g, (m & 2) ? 0.5f : fg_value(f));
        n = gf_dropout_keep(x.n, kp, fg_u32(f));
        GF_FUZZ_CHECK(n != NULL);
        fg_add(f, n, x.out, x.cost);
        return;
    }
    case OP_GRADIENTS: fg_gradients(f); return;
    case OP_MINIMIZE: fg_minimize(f); return;
    case OP_NAME: {
        gf_node *x = fg_pick(f).n;
        const char *name = fg_name(f);
        gf_node *r = gf_name(x, name);
        GF_FUZZ_CHECK(r == x || (x && gf_node_is_poisoned(r)));
        if (x && !gf_node_is_poisoned(x) && name && gf_graph_status(gf_node_graph(x)) == GF_OK)
            GF_FUZZ_CHECK(gf_graph_find(gf_node_graph(x), gf_node_name(x)) == x);
        return;
    }
    case OP_SESSION: fg_session_new(f); return;
    case OP_RUN:
    case OP_RUN2: fg_run(f, 0); return;
    case OP_STATS: fg_run(f, 1); return;
    case OP_VARIABLE_VALUE: {
        gf_session *s = fg_session(f);
        if (!s || f->big_var) return;
        const gf_tensor *t = gf_session_variable(s, fg_pick(f).n);
        if (t) {
            float *d = gf_tensor_data(t);
            int64_t c = gf_tensor_count(t);
            for (int64_t i = 0; i < c && i < 4; i++) d[i] = fg_value(f);
        } else {
            GF_FUZZ_CHECK(gf_session_error(s)[0] != '\0');
        }
        return;
    }
    case OP_SESSION_FREE: {
        int k = (int)(fg_u8(f) & 1);
        gf_session_free(f->s[k]);
        f->s[k] = NULL;
        return;
    }
    case OP_GRADCHECK: fg_gradient_check(f); return;
    case OP_RESET: fg_reset_graph(f); return;
    default: fg_misc(f); return;
    }
}

int gf_fuzz_graph(const uint8_t *data, size_t size);
int gf_fuzz_graph(const uint8_t *data, size_t size)
{
    if (fg_trace < 0) fg_trace = getenv("GF_FUZZ_TRACE") != NULL;
    fg_ops_init();
    fg *f = calloc(1, sizeof *f);
    if (!f) return 0;
    f->p = data;
    f->len = size;
    f->g = gf_graph_new();
    f->g2 = gf_graph_new();
    if (!f->g || !f->g2) abort();
    /* The second graph: a few good nodes to pass where they do not belong. */
    gf_node *p2 = gf_placeholder(f->g2, "x", GF_F32, gf_dims(2, GF_ANY, 2));
    gf_node *v2 = gf_variable(f->g2, "w", gf_zeros(f->g2, gf_dims(2, 2, 2)));
    f->other[f->nother++] = p2;
    f->other[f->nother++] = v2;
    f->other[f->nother++] = gf_matmul(p2, v2);
    f->other[f->nother++] = gf_cast(p2, GF_I32);
    for (int step = 0; step < FG_MAX_STEPS && f->at < f->len; step++) fg_step(f);
    if (fg_trace) fprintf(stderr, "graph: %s\n", gf_graph_error(f->g));
    fg_sessions_free(f);
    gf_graph_free(f->g);
    gf_graph_free(f->g2);
    free(f);
    return 0;
}

#ifndef GF_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return gf_fuzz_graph(data, size); }
#endif
