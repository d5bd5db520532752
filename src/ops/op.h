/*
 * op.h — the row type of the op table: an operation is its name, arity,
 * flags, shape rule and kernel. Everything else looks ops up here.
 */
#ifndef GF_OP_H
#define GF_OP_H

#include "../internal.h"

enum {
    GF_OPF_SOURCE = 1 << 0,      /* no inputs; value comes from elsewhere */
    GF_OPF_PLACEHOLDER = 1 << 1, /* fed by the caller */
    GF_OPF_VARIABLE = 1 << 2,    /* reads session state */
    GF_OPF_CONSTANT = 1 << 3,    /* value stored in the graph */
    GF_OPF_RANDOM = 1 << 4,      /* needs the node's random stream */
    GF_OPF_ASSIGN = 1 << 5,      /* writes inputs[0] (a variable) at run end */
    GF_OPF_LIKE = 1 << 6,        /* inputs[1] lends only its shape, never its values */
    GF_OPF_CONTROL = 1 << 7      /* inputs are run first, their values never read */
};

/* Per-run context a kernel may need. */
typedef struct gf_kctx {
    gf_rng *rng;                /* random ops only */
    int threads;                /* threads a large kernel may use (>= 1) */
} gf_kctx;

/* An elementwise op over one contiguous block: o[i] = a[i] OP b[i] (b
 * unused by unary ops). The fuser chains these. */
typedef void (*gf_ew_fn)(float *o, const float *a, const float *b, int64_t n);

/* The shape rule: from the inputs' shapes and dtypes (open dims allowed at
 * build time, all known at run time) and the node's attributes, the output
 * shape and dtype. On refusal writes the detail (without the op/node prefix)
 * into msg and returns false. */
typedef bool (*gf_shape_fn)(const gf_node *n, const gf_shape *in, const gf_dtype *in_dt,
                            gf_shape *out, gf_dtype *out_dt, char *msg, size_t len);

/* The kernel: out has its final shape and storage; inputs are ready. */
typedef void (*gf_kernel_fn)(gf_tensor *out, const gf_tensor *const *in, const gf_node *n,
                             gf_kctx *ctx);

/* The gradient rule: given dy = d(loss)/d(n), builds d(loss)/d(input j)
 * into dx[j] with graph ops for each j with need[j] (leaving NULL where no
 * gradient flows, e.g. into an operand that only lends its shape). NULL in
 * the table: the op has no gradient, and differentiating through it is an
 * error naming it. */
typedef void (*gf_grad_fn)(gf_node *n, gf_node *dy, const bool *need, gf_node **dx);

struct gf_op {
    const char *name;
    int arity;
    unsigned flags;
    gf_shape_fn shape;
    gf_kernel_fn kernel;
    gf_grad_fn grad;
    gf_ew_fn ew;                /* float32 elementwise ops only: fusable */
};

/* The table (ops/table.c), one row per op, named by an X-macro enum. */
#define GF_OPS(X)                                                              \
    X(PLACEHOLDER, placeholder) X(CONSTANT, constant) X(VARIABLE, variable)   \
    X(TRUNCATED_NORMAL, truncated_normal) X(ZEROS, zeros)                      \
    X(ADD, add) X(SUB, subtract) X(MUL, multiply) X(DIV, divide)               \
    X(NEG, negative) X(EXP, exp) X(SIGMOID, sigmoid)                           \
    X(MATMUL, matmul) X(TRANSPOSE, transpose)                                  \
    X(REDUCE_SUM, reduce_sum) X(REDUCE_MEAN, reduce_mean)                      \
    X(ARGMAX, argmax) X(EQUAL, equal) X(CAST, cast) X(ASSIGN, assign)          \
    X(SQRT, sqrt) X(GROUP, group)                                              \
    X(SUM_TO, sum_to) X(BROADCAST_LIKE, broadcast_like)

#define GF_OP_ENUM(id, name) GF_OP_##id,
enum { GF_OPS(GF_OP_ENUM) GF_OP_COUNT };
#undef GF_OP_ENUM

extern const gf_op gf__ops[GF_OP_COUNT];

/* Shape rules (ops/shape_rules.c). */
bool gf__shape_source(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_unary(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_binary(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_compare(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_matmul(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_transpose(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_reduce(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_argmax(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_cast(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_assign(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_group(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_sum_to(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
bool gf__shape_broadcast_like(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);

/* Gradient rules (ops/grad_rules.c). */
#define GF_GRAD_RULE(name) void name(gf_node *n, gf_node *dy, const bool *need, gf_node **dx);
GF_GRAD_RULE(gf__grad_add) GF_GRAD_RULE(gf__grad_sub) GF_GRAD_RULE(gf__grad_mul)
GF_GRAD_RULE(gf__grad_div) GF_GRAD_RULE(gf__grad_neg) GF_GRAD_RULE(gf__grad_exp)
GF_GRAD_RULE(gf__grad_sigmoid) GF_GRAD_RULE(gf__grad_sqrt) GF_GRAD_RULE(gf__grad_matmul)
GF_GRAD_RULE(gf__grad_transpose) GF_GRAD_RULE(gf__grad_reduce_sum)
GF_GRAD_RULE(gf__grad_reduce_mean) GF_GRAD_RULE(gf__grad_sum_to)
GF_GRAD_RULE(gf__grad_broadcast_like)
#undef GF_GRAD_RULE

/* Internal ops used by gradient rules (ops/build.c). */
enum { GF_BCAST_NUMPY = 0, GF_BCAST_REDUCED = 1 };
/* out [shape of x] = g summed over the dimensions along which x broadcasts
 * to g (the inverse of broadcasting). */
gf_node *gf__sum_to(gf_node *g, gf_node *x);
/* out [shape of like] = g broadcast with NumPy's rule. */
gf_node *gf__broadcast_like(gf_node *g, gf_node *like);
/* out [shape of x] = dy, the result of reducing x as `r` says (axes,
 * keepdims), spread back over the reduced axes; divided by the number of
 * elements reduced when mean. */
gf_node *gf__unreduce(gf_node *dy, gf_node *x, const gf_attrs *r, bool mean);
/* The reduction r (sum, or mean when r->mean_scale) applied to dy. */
gf_node *gf__reduce_as(gf_node *dy, const gf_attrs *r);

#endif
