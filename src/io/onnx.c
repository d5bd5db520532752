/*
 * onnx.c — gf_onnx_export: the inference part of a graph, from the given
 * inputs to the given outputs, as an ONNX model (IR version 7, opset 13)
 * with the session's variable values as initializers (docs/onnx.md). This
 * file walks the graph, names the values and writes the model's bytes; the
 * op table (onnx_ops.c) writes each op's nodes.
 */
#include "onnx.h"
#include "atomic.h"
#include "protobuf.h"
#include "session.h"

#include <stdio.h>
#include <string.h>

#define GF_STR_(v) #v
#define GF_STR(v) GF_STR_(v)

/* ---- the names in use: values, nodes and initializers share them ---- */

typedef struct nameset {
    char **slot;        /* open addressing; owned strings */
    size_t cap, n;
} nameset;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool ns_has(const nameset *ns, const char *s)
{
    if (!ns->cap) return false;
    for (size_t i = hash(s) & (ns->cap - 1);; i = (i + 1) & (ns->cap - 1)) {
        if (!ns->slot[i]) return false;
        if (!strcmp(ns->slot[i], s)) return true;
    }
}

/* Adds a copy of s (not already in); returns it, or NULL when out of memory. */
static const char *ns_add(nameset *ns, const char *s)
{
    if (2 * (ns->n + 1) > ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 64;
        char **slot = gf__calloc(cap, sizeof *slot);
        if (!slot) return NULL;
        for (size_t j = 0; j < ns->cap; j++) {
            if (!ns->slot[j]) continue;
            size_t i = hash(ns->slot[j]) & (cap - 1);
            while (slot[i]) i = (i + 1) & (cap - 1);
            slot[i] = ns->slot[j];
        }
        gf__free(ns->slot);
        ns->slot = slot;
        ns->cap = cap;
    }
    size_t len = strlen(s);
    char *copy = gf__malloc(len + 1);
    if (!copy) return NULL;
    memcpy(copy, s, len + 1);
    size_t i = hash(s) & (ns->cap - 1);
    while (ns->slot[i]) i = (i + 1) & (ns->cap - 1);
    ns->slot[i] = copy;
    ns->n++;
    return copy;
}

static void ns_free(nameset *ns)
{
    for (size_t i = 0; i < ns->cap; i++) gf__free(ns->slot[i]);
    gf__free(ns->slot);
}

/* ---- the export ---- */

struct gf_ox {
    gf_session *s;
    const char *path;
    gf_status st;
    char msg[512];
    int n_nodes;
    const char **names;   /* by node id: its value's name once written (owned by used) */
    const char **want;    /* by node id: the output name it must produce, or NULL */
    int *input_of;        /* by node id: the export input it is, or -1 */
    int *root;            /* by node id: the output that first needed it, or -1 (not needed) */
    gf_node *const *outputs;
    const char **out_names, **in_names;
    nameset used;
    gf_pb nodes, inits, inputs, outs;
};

bool gf__ox_fail(gf_ox *x, gf_status code, const char *fmt, ...)
{
    if (x->st != GF_OK) return false;
    x->st = code;
    int k = snprintf(x->msg, sizeof x->msg, "onnx export %s: ", x->path);
    if (k < 0 || (size_t)k >= sizeof x->msg) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg + k, sizeof x->msg - (size_t)k, fmt, ap);
    va_end(ap);
    return false;
}

static bool nomem(gf_ox *x)
{
    return gf__ox_fail(x, GF_ERR_NOMEM, "out of memory");
}

bool gf__ox_is_input(const gf_ox *x, const gf_node *node)
{
    return x->input_of[node->id] >= 0;
}

/* base, or base + "/" + suffix, made unique with "_1", "_2", ...; owned by x. */
static const char *fresh(gf_ox *x, const char *base, const char *suffix)
{
    if (x->st != GF_OK) return NULL;
    size_t cap = strlen(base) + (suffix ? strlen(suffix) : 0) + 24;
    char *buf = gf__malloc(cap);
    if (!buf) return nomem(x), NULL;
    int k = snprintf(buf, cap, suffix ? "%s/%s" : "%s", base, suffix);
    for (long i = 1; ns_has(&x->used, buf); i++) snprintf(buf + k, cap - (size_t)k, "_%ld", i);
    const char *name = ns_add(&x->used, buf);
    gf__free(buf);
    if (!name) nomem(x);
    return name;
}

const char *gf__ox_temp(gf_ox *x, const gf_node *n, const char *suffix)
{
    return fresh(x, n->name, suffix);
}

int gf__ox_elem_type(gf_dtype dt)
{
    return dt == GF_I32 ? GF_ONNX_INT32 : dt == GF_BOOL ? GF_ONNX_BOOL : GF_ONNX_FLOAT;
}

/* ---- protobuf messages (onnx.proto's field numbers) ---- */

enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME = 2, MODEL_PRODUCER_VERSION = 3, MODEL_DOC = 6,
    MODEL_GRAPH = 7, MODEL_OPSET_IMPORT = 8,
    OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11, GRAPH_OUTPUT = 12,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP_TYPE = 4, NODE_ATTRIBUTE = 5,
    ATTR_NAME = 1, ATTR_I = 3, ATTR_S = 4, ATTR_INTS = 8, ATTR_TYPE = 20,
    ATTR_TYPE_INT = 2, ATTR_TYPE_STRING = 3, ATTR_TYPE_INTS = 7,
    TENSOR_DIMS = 1, TENSOR_DATA_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW_DATA = 9,
    VALUE_NAME = 1, VALUE_TYPE = 2, TYPE_TENSOR = 1, TENSOR_ELEM_TYPE = 1, TENSOR_SHAPE = 2,
    SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2
};

void gf__ox_node(gf_ox *x, const char *op_type, const char *const *in, int n_in, const char *out,
                 const gf_ox_attr *attrs, int n_attrs)
{
    if (x->st != GF_OK) return;
    gf_pb *b = &x->nodes;
    size_t m = gf__pb_begin(b, GRAPH_NODE);
    for (int i = 0; i < n_in; i++) gf__pb_string(b, NODE_INPUT, in[i]);
    gf__pb_string(b, NODE_OUTPUT, out);
    gf__pb_string(b, NODE_NAME, out); /* unique, as the value names are */
    gf__pb_string(b, NODE_OP_TYPE, op_type);
    for (int a = 0; a < n_attrs; a++) {
        const gf_ox_attr *at = &attrs[a];
        size_t ma = gf__pb_begin(b, NODE_ATTRIBUTE);
        gf__pb_string(b, ATTR_NAME, at->name);
        if (at->kind == GF_OX_INT) {
            gf__pb_int(b, ATTR_I, at->i);
            gf__pb_int(b, ATTR_TYPE, ATTR_TYPE_INT);
        } else if (at->kind == GF_OX_INTS) {
            for (int k = 0; k < at->n_ints; k++) gf__pb_int(b, ATTR_INTS, at->ints[k]);
            gf__pb_int(b, ATTR_TYPE, ATTR_TYPE_INTS);
        } else {
            gf__pb_string(b, ATTR_S, at->s);
            gf__pb_int(b, ATTR_TYPE, ATTR_TYPE_STRING);
        }
        gf__pb_end(b, ma);
    }
    gf__pb_end(b, m);
    if (b->nomem) nomem(x);
}

/* An initializer: name, dims, element type, and its count elements as
 * floats or int64s (one of f32, i64). */
static void initializer(gf_ox *x, const char *name, int rank, const int64_t *dims, int elem, const float *f32,
                        const int64_t *i64, int64_t count)
{
    if (x->st != GF_OK) return;
    gf_pb *b = &x->inits;
    size_t m = gf__pb_begin(b, GRAPH_INITIALIZER);
    for (int i = 0; i < rank; i++) gf__pb_int(b, TENSOR_DIMS, dims[i]);
    gf__pb_int(b, TENSOR_DATA_TYPE, elem);
    gf__pb_string(b, TENSOR_NAME, name);
    if (f32) gf__pb_floats_le(b, TENSOR_RAW_DATA, f32, count);
    else gf__pb_int64s_le(b, TENSOR_RAW_DATA, i64, count);
    gf__pb_end(b, m);
    if (b->nomem) nomem(x);
}

const char *gf__ox_const_i64(gf_ox *x, const gf_node *n, const char *suffix, const int64_t *v, int count)
{
    const char *name = gf__ox_temp(x, n, suffix);
    int64_t dim = count;
    if (name) initializer(x, name, 1, &dim, GF_ONNX_INT64, NULL, v, count);
    return x->st == GF_OK ? name : NULL;
}

const char *gf__ox_const_f32(gf_ox *x, const gf_node *n, const char *suffix, gf_shape shape, const float *v)
{
    const char *name = gf__ox_temp(x, n, suffix);
    if (name) initializer(x, name, shape.rank, shape.dim, GF_ONNX_FLOAT, v, NULL, gf_shape_count(shape));
    return x->st == GF_OK ? name : NULL;
}

const float *gf__ox_values(gf_ox *x, const gf_node *n)
{
    if (n->op == GF_OP(VARIABLE)) return gf__session_var(x->s, n->var_index)->data;
    if (n->op == GF_OP(CONSTANT)) return n->value;
    return NULL;
}

/* A graph input's or output's name and type: open dimensions are the
 * symbolic "batch" when first, else unnamed. */
static void value_info(gf_ox *x, gf_pb *b, int field, const char *name, const gf_node *n)
{
    size_t m = gf__pb_begin(b, field);
    gf__pb_string(b, VALUE_NAME, name);
    size_t mt = gf__pb_begin(b, VALUE_TYPE);
    size_t mtt = gf__pb_begin(b, TYPE_TENSOR);
    gf__pb_int(b, TENSOR_ELEM_TYPE, gf__ox_elem_type(n->dtype));
    size_t ms = gf__pb_begin(b, TENSOR_SHAPE);
    for (int i = 0; i < n->shape.rank; i++) {
        size_t md = gf__pb_begin(b, SHAPE_DIM);
        if (n->shape.dim[i] >= 0) gf__pb_int(b, DIM_VALUE, n->shape.dim[i]);
        else if (i == 0) gf__pb_string(b, DIM_PARAM, "batch");
        gf__pb_end(b, md);
    }
    gf__pb_end(b, ms);
    gf__pb_end(b, mtt);
    gf__pb_end(b, mt);
    gf__pb_end(b, m);
    if (b->nomem) nomem(x);
}

/* The value name of node m, writing it as an initializer on first use when
 * it is a variable, a constant or zeros. */
static const char *value_of(gf_ox *x, const gf_node *m)
{
    if (x->st != GF_OK) return NULL;
    if (x->names[m->id]) return x->names[m->id];
    const float *v = gf__ox_values(x, m);
    float *zeros = NULL;
    if (!v && m->op == GF_OP(ZEROS)) {
        v = zeros = gf__calloc((size_t)gf_shape_count(m->shape) + 1, sizeof *zeros);
        if (!zeros) return nomem(x), NULL;
    }
    if (!v) {
        gf__ox_fail(x, GF_ERR_STATE, "node \"%s\" (op %s) is read before it is written (an exporter bug)",
                    m->name, m->op->name);
        return NULL;
    }
    const char *name = fresh(x, m->name, NULL);
    if (name) initializer(x, name, m->shape.rank, m->shape.dim, GF_ONNX_FLOAT, v, NULL, gf_shape_count(m->shape));
    gf__free(zeros);
    if (x->st != GF_OK) return NULL;
    return x->names[m->id] = name;
}

const char *gf__ox_input(gf_ox *x, const gf_node *n, int i)
{
    return value_of(x, n->inputs[i]);
}

void gf__ox_alias(gf_ox *x, const gf_node *n, int i)
{
    const char *in = gf__ox_input(x, n, i);
    if (!in) return;
    if (x->want[n->id]) gf__ox_node(x, "Identity", &in, 1, x->names[n->id], NULL, 0);
    else x->names[n->id] = in;
}

/* ---- which nodes the outputs need ---- */

static bool is_source_with_value(const gf_node *n)
{
    return n->op == GF_OP(VARIABLE) || n->op == GF_OP(CONSTANT) || n->op == GF_OP(ZEROS);
}

/* Marks (x->root) every node an output needs, down to the inputs, checking
 * that each maps and that no placeholder outside the inputs is needed. */
static void mark(gf_ox *x, gf_node *const *outputs, int n_outputs)
{
    const gf_node **stack = gf__malloc((size_t)x->n_nodes * sizeof *stack);
    if (!stack) {
        nomem(x);
        return;
    }
    for (int o = 0; o < n_outputs && x->st == GF_OK; o++) {
        int top = 0;
        if (x->root[outputs[o]->id] < 0) {
            x->root[outputs[o]->id] = o;
            stack[top++] = outputs[o];
        }
        while (top > 0 && x->st == GF_OK) {
            const gf_node *n = stack[--top];
            if (gf__ox_is_input(x, n) || is_source_with_value(n)) continue;
            if (n->op == GF_OP(PLACEHOLDER)) {
                gf__ox_fail(x, GF_ERR_FEED,
                            "placeholder \"%s\" is not among the inputs, but output \"%s\" needs it: give it as "
                            "an input",
                            n->name, x->out_names[o]);
                break;
            }
            if (!gf__onnx_row(n->op)) {
                gf__ox_fail(x, GF_ERR_ARG,
                            "op %s (node \"%s\") has no ONNX mapping, and output \"%s\" needs it (docs/onnx.md "
                            "lists the ops that map)",
                            n->op->name, n->name, x->out_names[o]);
                break;
            }
            const gf_node *only = gf__ox_dropout_data(x, n);
            for (int i = 0; i < n->n_inputs && x->st == GF_OK; i++) {
                const gf_node *m = n->inputs[i];
                if ((only && m != only) || x->root[m->id] >= 0) continue;
                x->root[m->id] = o;
                stack[top++] = m;
            }
        }
    }
    gf__free(stack);
}

/* ---- the arguments ---- */

/* The k-th node of an argument array is usable in s's graph; its name
 * (names[k], or the node's own name) is non-empty. */
static bool check_node(gf_ox *x, gf_graph *g, const char *what, gf_node *const *nodes, const char *const *names,
                       int k)
{
    const gf_node *n = nodes[k];
    if (!n) return gf__ox_fail(x, GF_ERR_ARG, "%s %d is NULL", what, k);
    if (n->id < 0 || n->graph != g)
        return gf__ox_fail(x, GF_ERR_ARG, "%s %d (\"%s\") is %s", what, k, n->name,
                           n->id < 0 ? "a poisoned node" : "a node of another graph than the session's");
    if (names && (!names[k] || !*names[k])) return gf__ox_fail(x, GF_ERR_ARG, "%s name %d is NULL or empty", what, k);
    return true;
}

/* Every argument, then the names of inputs and outputs, reserved. */
static void setup(gf_ox *x, gf_node *const *inputs, const char *const *input_names, int n_inputs,
                  gf_node *const *outputs, const char *const *output_names, int n_outputs)
{
    gf_graph *g = gf__session_graph(x->s);
    if (n_inputs < 0 || (n_inputs > 0 && !inputs) || n_outputs < 1 || !outputs) {
        gf__ox_fail(x, GF_ERR_ARG, "expected inputs (n_inputs %d) and at least one output (n_outputs %d), "
                                   "with non-NULL arrays", n_inputs, n_outputs);
        return;
    }
    for (int k = 0; k < n_inputs; k++)
        if (!check_node(x, g, "input", inputs, input_names, k)) return;
    for (int k = 0; k < n_outputs; k++)
        if (!check_node(x, g, "output", outputs, output_names, k)) return;
    if (g->status != GF_OK) {
        gf__ox_fail(x, GF_ERR_STATE, "the graph is in error: %s", g->error);
        return;
    }
    x->n_nodes = g->n_nodes;
    size_t nn = (size_t)x->n_nodes + 1;
    x->names = gf__calloc(nn, sizeof *x->names);
    x->want = gf__calloc(nn, sizeof *x->want);
    x->input_of = gf__malloc(nn * sizeof *x->input_of);
    x->root = gf__malloc(nn * sizeof *x->root);
    x->in_names = gf__calloc((size_t)n_inputs + 1, sizeof *x->in_names);
    x->out_names = gf__calloc((size_t)n_outputs + 1, sizeof *x->out_names);
    if (!x->names || !x->want || !x->input_of || !x->root || !x->in_names || !x->out_names) {
        nomem(x);
        return;
    }
    for (int i = 0; i < x->n_nodes; i++) x->input_of[i] = x->root[i] = -1;
    for (int k = 0; k < n_inputs; k++) {
        const gf_node *n = inputs[k];
        const char *name = input_names ? input_names[k] : n->name;
        if (x->input_of[n->id] >= 0) {
            gf__ox_fail(x, GF_ERR_ARG, "node \"%s\" is given as input %d and as input %d", n->name,
                        x->input_of[n->id], k);
            return;
        }
        if (ns_has(&x->used, name)) {
            gf__ox_fail(x, GF_ERR_ARG, "two inputs are named \"%s\"", name);
            return;
        }
        x->input_of[n->id] = k;
        if (!(x->in_names[k] = x->names[n->id] = ns_add(&x->used, name))) {
            nomem(x);
            return;
        }
    }
    for (int k = 0; k < n_outputs; k++) {
        const gf_node *n = outputs[k];
        const char *name = output_names ? output_names[k] : n->name;
        if (ns_has(&x->used, name)) {
            gf__ox_fail(x, GF_ERR_ARG, "output %d is named \"%s\", as an input or another output is", k, name);
            return;
        }
        if (!(x->out_names[k] = ns_add(&x->used, name))) {
            nomem(x);
            return;
        }
        /* The node computing an output writes it under the output's name. */
        if (!x->want[n->id] && !gf__ox_is_input(x, n) && n->op->arity > 0) x->want[n->id] = x->out_names[k];
    }
}

/* ---- writing ---- */

/* Every needed node's ONNX nodes, in node id order (a topological order). */
static void emit_all(gf_ox *x)
{
    gf_graph *g = gf__session_graph(x->s);
    for (int id = 0; id < x->n_nodes && x->st == GF_OK; id++) {
        const gf_node *n = g->nodes[id];
        if (x->root[id] < 0 || gf__ox_is_input(x, n) || n->op->arity == 0) continue;
        const char *out = x->want[id] ? x->want[id] : fresh(x, n->name, NULL);
        if (!out) break;
        x->names[id] = out;
        const gf_ox_row *row = gf__onnx_row(n->op);
        row->emit(x, n, row, out);
    }
}

/* The graph's inputs and outputs (an Identity where an output's value
 * carries another name: an input, a variable, a node given twice). */
static void emit_signature(gf_ox *x, int n_inputs, gf_node *const *inputs, int n_outputs)
{
    for (int k = 0; k < n_inputs && x->st == GF_OK; k++)
        value_info(x, &x->inputs, GRAPH_INPUT, x->in_names[k], inputs[k]);
    for (int k = 0; k < n_outputs && x->st == GF_OK; k++) {
        const char *v = value_of(x, x->outputs[k]);
        if (v && strcmp(v, x->out_names[k]) != 0) gf__ox_node(x, "Identity", &v, 1, x->out_names[k], NULL, 0);
        value_info(x, &x->outs, GRAPH_OUTPUT, x->out_names[k], x->outputs[k]);
    }
}

/* ModelProto = header fields, the graph (its pieces in turn), the opset. */
static void write_model(gf_ox *x)
{
    static const char producer_version[] = GF_STR(GF_VERSION_MAJOR) "." GF_STR(GF_VERSION_MINOR) "." GF_STR(
        GF_VERSION_PATCH);
    gf_pb head = { 0 }, name = { 0 }, tail = { 0 };
    gf__pb_int(&head, MODEL_IR_VERSION, GF_ONNX_IR_VERSION);
    gf__pb_string(&head, MODEL_PRODUCER_NAME, "gradflow");
    gf__pb_string(&head, MODEL_PRODUCER_VERSION, producer_version);
    gf__pb_string(&name, GRAPH_NAME, "gradflow");
    const gf_pb *parts[] = { &x->nodes, &name, &x->inits, &x->inputs, &x->outs };
    size_t graph_len = 0;
    for (int i = 0; i < 5; i++) graph_len += parts[i]->len;
    gf__pb_header(&head, MODEL_GRAPH, graph_len);
    size_t m = gf__pb_begin(&tail, MODEL_OPSET_IMPORT);
    gf__pb_string(&tail, OPSET_DOMAIN, "");
    gf__pb_int(&tail, OPSET_VERSION, GF_ONNX_OPSET);
    gf__pb_end(&tail, m);
    if (head.nomem || name.nomem || tail.nomem) {
        nomem(x);
    } else {
        const gf_pb *parts7[] = { &head, &x->nodes, &name, &x->inits, &x->inputs, &x->outs, &tail };
        char msg[400];
        gf_atomic a;
        gf_status st = gf__atomic_open(&a, x->path, msg, sizeof msg);
        if (st == GF_OK) {
            for (int i = 0; i < 7; i++) gf__atomic_write(&a, parts7[i]->p, parts7[i]->len);
            st = gf__atomic_close(&a, x->path, msg, sizeof msg);
        }
        if (st != GF_OK) {
            x->st = st;
            snprintf(x->msg, sizeof x->msg, "onnx export %s: %s", x->path, msg);
        }
    }
    gf__pb_free(&head);
    gf__pb_free(&name);
    gf__pb_free(&tail);
}

gf_status gf_onnx_export(gf_session *s, gf_node *const *inputs, const char *const *input_names, int n_inputs,
                         gf_node *const *outputs, const char *const *output_names, int n_outputs, const char *path)
{
    if (!s) return GF_ERR_ARG;
    if (gf_session_status(s) != GF_OK) return gf_session_status(s); /* the message stays */
    if (!path || !*path) return gf__session_fail(s, GF_ERR_ARG, "onnx export: the path is NULL or empty");
    gf_ox x = { .s = s, .path = path, .outputs = outputs };
    setup(&x, inputs, input_names, n_inputs, outputs, output_names, n_outputs);
    gf_status init = x.st == GF_OK ? gf__session_init_variables(s) : GF_OK;
    if (init != GF_OK) gf__ox_fail(&x, init, "initialising variables: %s", gf_session_error(s));
    if (x.st == GF_OK) mark(&x, outputs, n_outputs);
    if (x.st == GF_OK) emit_all(&x);
    if (x.st == GF_OK) emit_signature(&x, n_inputs, inputs, n_outputs);
    if (x.st == GF_OK) write_model(&x);
    gf_status st = x.st;
    gf__session_fail(s, st, "%s", st == GF_OK ? "" : x.msg);
    ns_free(&x.used);
    gf__free(x.names);
    gf__free(x.want);
    gf__free(x.input_of);
    gf__free(x.root);
    gf__free(x.in_names);
    gf__free(x.out_names);
    gf__pb_free(&x.nodes);
    gf__pb_free(&x.inits);
    gf__pb_free(&x.inputs);
    gf__pb_free(&x.outs);
    return st;
}
