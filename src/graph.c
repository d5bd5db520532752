/*
 * graph.c — graphs and nodes: the arena that owns them, unique names, the
 * sticky first error, and the one function that checks and adds a node.
 */
#include "ops/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena: blocks freed together with the graph ---- */

typedef struct gf_arena {
    struct gf_arena *next;
    size_t used, cap;
    max_align_t data[];
} gf_arena;

void *gf__graph_alloc(gf_graph *g, size_t bytes)
{
    bytes = (bytes + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    gf_arena *a = g->arena;
    if (!a || a->cap - a->used < bytes) {
        size_t cap = bytes > 65536 ? bytes : 65536;
        a = gf__malloc(sizeof *a + cap);
        if (!a) return NULL;
        a->next = g->arena;
        a->used = 0;
        a->cap = cap;
        g->arena = a;
    }
    void *p = (char *)a->data + a->used;
    a->used += bytes;
    memset(p, 0, bytes);
    return p;
}

/* ---- the graph ---- */

/* Returned when no graph can be found (every input NULL). Never written. */
static gf_node nil_node = { .id = -1, .name = "<nil>", .shape = { .rank = -1 } };

gf_graph *gf_graph_new(void)
{
    gf_graph *g = gf__calloc(1, sizeof *g);
    if (!g) return NULL;
    g->poison.graph = g;
    g->poison.id = -1;
    g->poison.shape.rank = -1;
    g->poison.var_index = -1;
    snprintf(g->poison.name, sizeof g->poison.name, "<poisoned>");
    return g;
}

void gf_graph_free(gf_graph *g)
{
    if (!g) return;
    for (gf_arena *a = g->arena, *next; a; a = next) {
        next = a->next;
        gf__free(a);
    }
    gf__free(g->nodes);
    gf__free(g->names);
    gf__free(g);
}

gf_status gf_graph_status(const gf_graph *g) { return g ? g->status : GF_ERR_ARG; }

const char *gf_graph_error(const gf_graph *g)
{
    if (!g) return "graph is NULL";
    return g->error;
}

gf_status gf_graph_clear_error(gf_graph *g)
{
    if (!g) return GF_ERR_ARG;
    gf_status was = g->status;
    g->status = GF_OK;
    g->error[0] = '\0';
    return was;
}

int gf_graph_node_count(const gf_graph *g) { return g ? g->n_nodes : 0; }

gf_node *gf__graph_fail(gf_graph *g, gf_status code, const char *fmt, ...)
{
    if (!g) return &nil_node;
    if (g->status == GF_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->error, sizeof g->error, fmt, ap);
        va_end(ap);
        g->status = code;
    }
    return &g->poison;
}

gf_graph *gf__graph_of(gf_node *const *inputs, int n)
{
    /* Skips graph-less poison too, so that its use is recorded on the
     * graph of the other input. */
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->graph) return inputs[i]->graph;
    return NULL;
}

/* ---- names: an open-addressing table of nodes keyed by name ---- */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

#define TOMBSTONE ((gf_node *)&nil_node)

/* The slot holding name, or the empty slot where it would go. */
static size_t name_slot(const gf_graph *g, const char *name)
{
    size_t mask = g->cap_names - 1, i = name_hash(name) & mask, free_slot = (size_t)-1;
    for (;; i = (i + 1) & mask) {
        gf_node *n = g->names[i];
        if (!n) return free_slot != (size_t)-1 ? free_slot : i;
        if (n == TOMBSTONE) {
            if (free_slot == (size_t)-1) free_slot = i;
        } else if (!strcmp(n->name, name)) {
            return i;
        }
    }
}

static bool names_grow(gf_graph *g)
{
    if ((size_t)(g->n_names + 1) * 2 <= g->cap_names) return true;
    size_t cap = g->cap_names ? g->cap_names * 2 : 256;
    gf_node **old = g->names;
    size_t old_cap = g->cap_names;
    g->names = gf__calloc(cap, sizeof *g->names);
    if (!g->names) {
        g->names = old;
        return false;
    }
    g->cap_names = cap;
    g->n_names = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] && old[i] != TOMBSTONE) {
            g->names[name_slot(g, old[i]->name)] = old[i];
            g->n_names++;
        }
    gf__free(old);
    return true;
}

gf_node *gf_graph_find(const gf_graph *g, const char *name)
{
    if (!g || !name || !g->cap_names) return NULL;
    gf_node *n = g->names[name_slot(g, name)];
    return n == TOMBSTONE ? NULL : n;
}

/* Writes into out a name not used in g: base, else base_1, base_2, ...
 * (from the hint kept on the node that holds base). */
static void unique_name(const gf_graph *g, const char *base, char *out)
{
    /* The name whole (up to GF_NAME_MAX - 1 chars) when free; on a clash,
     * cut to leave room for the "_k" suffix. */
    char full[GF_NAME_MAX], stem[GF_NAME_MAX - 12];
    snprintf(full, sizeof full, "%s", base && *base ? base : "node");
    gf_node *holder = gf_graph_find(g, full);
    if (!holder) {
        memcpy(out, full, sizeof full);
        return;
    }
    snprintf(stem, sizeof stem, "%.*s", (int)sizeof stem - 1, full);
    for (int k = holder->next_suffix > 0 ? holder->next_suffix : 1;; k++) {
        snprintf(out, GF_NAME_MAX, "%s_%d", stem, k);
        if (!gf_graph_find(g, out)) {
            holder->next_suffix = k + 1;
            return;
        }
    }
}

/* Enters n under its name; false when out of memory. */
static bool name_insert(gf_graph *g, gf_node *n)
{
    if (!names_grow(g)) return false;
    size_t i = name_slot(g, n->name);
    if (!g->names[i]) g->n_names++; /* a reused tombstone was counted */
    g->names[i] = n;
    return true;
}

gf_node *gf_name(gf_node *n, const char *name)
{
    if (!n || n->id < 0 || !n->graph || !name) return n;
    gf_graph *g = n->graph;
    if (!strcmp(n->name, name)) return n;
    if (!names_grow(g)) return gf__graph_fail(g, GF_ERR_NOMEM, "name \"%s\": out of memory", name);
    g->names[name_slot(g, n->name)] = TOMBSTONE;
    unique_name(g, name, n->name);
    n->next_suffix = 0;
    name_insert(g, n); /* cannot fail: the table was grown above */
    return n;
}

/* ---- building nodes ---- */

static const char *node_desc(const gf_node *n, char *buf, size_t len)
{
    char s[GF_SHAPE_STR];
    snprintf(buf, len, "\"%s\" %s", n->name, gf_shape_format(n->shape, s, sizeof s));
    return buf;
}

static bool same_float(float a, float b) { return !memcmp(&a, &b, sizeof a); }

static bool same_ints(const int *a, const int *b, int n) { return !memcmp(a, b, (size_t)n * sizeof *a); }

static bool reduce_equal(const gf_reduce_attrs *a, const gf_reduce_attrs *b)
{
    return same_ints(a->axes, b->axes, GF_MAX_RANK) && a->n_axes == b->n_axes && a->keepdims == b->keepdims &&
           a->mean_scale == b->mean_scale;
}

bool gf__attrs_equal(const gf_attrs *a, const gf_attrs *b)
{
    const char *ta = a->check_numerics.text, *tb = b->check_numerics.text;
    return reduce_equal(&a->reduce, &b->reduce) && a->argmax.axis == b->argmax.axis &&
           same_ints(a->transpose.perm, b->transpose.perm, GF_MAX_RANK) && a->transpose.rank == b->transpose.rank &&
           a->matmul.transpose_a == b->matmul.transpose_a && a->matmul.transpose_b == b->matmul.transpose_b &&
           a->cast.to == b->cast.to && same_float(a->init.mean, b->init.mean) &&
           same_float(a->init.stddev, b->init.stddev) && a->broadcast_like.mode == b->broadcast_like.mode &&
           reduce_equal(&a->broadcast_like.reduce, &b->broadcast_like.reduce) &&
           same_ints(a->reshape.dims, b->reshape.dims, GF_MAX_RANK) && a->reshape.rank == b->reshape.rank &&
           a->concat.axis == b->concat.axis && a->concat.back == b->concat.back &&
           a->rows.start == b->rows.start && a->rows.count == b->rows.count && a->rows.rows == b->rows.rows &&
           a->one_hot.depth == b->one_hot.depth && same_float(a->dropout.keep_prob, b->dropout.keep_prob) &&
           a->dropout.seed == b->dropout.seed && (ta == tb || (ta && tb && !strcmp(ta, tb))) &&
           a->window.ksize_h == b->window.ksize_h && a->window.ksize_w == b->window.ksize_w &&
           a->window.stride_h == b->window.stride_h && a->window.stride_w == b->window.stride_w &&
           a->window.padding == b->window.padding && a->window.relu_grad == b->window.relu_grad &&
           same_float(a->adam.beta1, b->adam.beta1) &&
           same_float(a->adam.beta2, b->adam.beta2) && same_float(a->adam.epsilon, b->adam.epsilon);
}

gf_node *gf__node_build(gf_graph *g, const gf_op *op, gf_node *const *inputs, int n_inputs,
                        const gf_attrs *attrs)
{
    if (!g) return &nil_node;
    if (g->status != GF_OK) return &g->poison;
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i])
            return gf__graph_fail(g, GF_ERR_ARG, "%s: input %d is NULL", op->name, i);
        if (inputs[i]->id < 0) /* before the graph: a node made on a NULL graph has none */
            return gf__graph_fail(g, GF_ERR_ARG, "%s: input %d is a poisoned node%s", op->name, i,
                                  !inputs[i]->graph       ? " (made on a NULL graph)"
                                  : inputs[i]->graph != g ? " (of another graph)"
                                                          : "");
        if (inputs[i]->graph != g) {
            char d[GF_NAME_MAX + GF_SHAPE_STR];
            return gf__graph_fail(g, GF_ERR_ARG, "%s: input %d (%s) belongs to another graph",
                                  op->name, i, node_desc(inputs[i], d, sizeof d));
        }
    }

    gf_node tmp = { .graph = g, .op = op, .n_inputs = n_inputs, .var_index = -1 };
    if (attrs) tmp.attrs = *attrs;
    for (int i = 0; i < n_inputs; i++) tmp.inputs[i] = inputs[i];
    char base[GF_NAME_MAX];
    if (g->scope) snprintf(base, sizeof base, "%s/%s", g->scope, op->name);
    else snprintf(base, sizeof base, "%s", op->name);
    unique_name(g, base, tmp.name);

    gf_shape in_shape[GF_MAX_INPUTS];
    gf_dtype in_dt[GF_MAX_INPUTS];
    for (int i = 0; i < n_inputs; i++) {
        in_shape[i] = inputs[i]->shape;
        in_dt[i] = inputs[i]->dtype;
    }
    char detail[384];
    if (op->arity > 0 && !op->shape(&tmp, in_shape, in_dt, &tmp.shape, &tmp.dtype, detail, sizeof detail))
        return gf__graph_fail(g, GF_ERR_SHAPE, "%s \"%s\": %s", op->name, tmp.name, detail);

    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        gf_node **nodes = gf__realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return gf__graph_fail(g, GF_ERR_NOMEM, "%s: out of memory", op->name);
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    gf_node *node = gf__graph_alloc(g, sizeof *node);
    if (!node) return gf__graph_fail(g, GF_ERR_NOMEM, "%s: out of memory", op->name);
    *node = tmp;
    if (!name_insert(g, node)) return gf__graph_fail(g, GF_ERR_NOMEM, "%s: out of memory", op->name);
    node->id = g->n_nodes;
    g->nodes[g->n_nodes++] = node;
    return node;
}

/* ---- node accessors ---- */

const char *gf_node_name(const gf_node *n) { return n ? n->name : ""; }
const char *gf_node_op(const gf_node *n) { return n && n->op ? n->op->name : "poisoned"; }
gf_dtype gf_node_dtype(const gf_node *n) { return n ? n->dtype : GF_F32; }
gf_graph *gf_node_graph(const gf_node *n) { return n ? n->graph : NULL; }
int gf_node_is_poisoned(const gf_node *n) { return !n || n->id < 0; }

gf_shape gf_node_shape(const gf_node *n)
{
    if (!n) return (gf_shape){ .rank = -1 };
    return n->shape;
}
