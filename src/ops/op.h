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
    gf_status status;           /* the few kernels that can fail set these */
    char *msg;                  /* (check_numerics); msg_len bytes */
    size_t msg_len;
    unsigned finite_in;         /* bit j: input j is known to be all finite */
    unsigned finite_seen;       /* out, bit j: the kernel found input j all finite */
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
    X(ADD, add) X(SUB, sub) X(MUL, mul) X(DIV, div)               \
    X(NEG, neg) X(EXP, exp) X(SIGMOID, sigmoid)                           \
    X(MATMUL, matmul) X(TRANSPOSE, transpose)                                  \
    X(REDUCE_SUM, reduce_sum) X(REDUCE_MEAN, reduce_mean)                      \
    X(ARGMAX, argmax) X(EQUAL, equal) X(CAST, cast) X(ASSIGN, assign)          \
    X(SQRT, sqrt) X(GROUP, group)                                              \
    X(SUM_TO, sum_to) X(BROADCAST_LIKE, broadcast_like)                        \
    X(RELU, relu) X(TANH, tanh) X(LOG, log) X(SQUARE, square)                  \
    X(MAXIMUM, maximum) X(SOFTMAX, softmax) X(LOG_SOFTMAX, log_softmax)        \
    X(SOFTMAX_XENT, softmax_cross_entropy_with_logits) X(RESHAPE, reshape)     \
    X(CONCAT, concat) X(SLICE_ROWS, slice_rows) X(GATHER_ROWS, gather_rows)    \
    X(ONE_HOT, one_hot) X(GREATER_MASK, greater_mask)                          \
    X(RESHAPE_LIKE, reshape_like) X(CONCAT_SLICE, concat_slice)                \
    X(CONCAT_PAD, concat_pad) X(PAD_ROWS, pad_rows)                            \
    X(SCATTER_ADD_ROWS, scatter_add_rows) X(DROPOUT_MASK, dropout_mask)        \
    X(CHECK_NUMERICS, check_numerics)

#define GF_OP_ENUM(id, name) GF_OP_##id,
enum { GF_OPS(GF_OP_ENUM) GF_OP_COUNT };
#undef GF_OP_ENUM

extern const gf_op gf__ops[GF_OP_COUNT];
/* The row of op ID (GF_OP(MATMUL)): the one way to name an op in code;
 * nodes and passes compare these pointers. */
#define GF_OP(ID) (&gf__ops[GF_OP_##ID])

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
/* The model-zoo ops' shape rules (ops/shape_rules.c, end of file). */
#define GF_SHAPE_RULE(name) \
    bool name(const gf_node *, const gf_shape *, const gf_dtype *, gf_shape *, gf_dtype *, char *, size_t);
GF_SHAPE_RULE(gf__shape_last_axis) GF_SHAPE_RULE(gf__shape_xent) GF_SHAPE_RULE(gf__shape_reshape)
GF_SHAPE_RULE(gf__shape_reshape_like) GF_SHAPE_RULE(gf__shape_concat) GF_SHAPE_RULE(gf__shape_concat_slice)
GF_SHAPE_RULE(gf__shape_concat_pad) GF_SHAPE_RULE(gf__shape_slice_rows) GF_SHAPE_RULE(gf__shape_pad_rows)
GF_SHAPE_RULE(gf__shape_gather_rows) GF_SHAPE_RULE(gf__shape_scatter_add_rows) GF_SHAPE_RULE(gf__shape_one_hot)
#undef GF_SHAPE_RULE

/* Gradient rules (ops/grad_rules.c). */
#define GF_GRAD_RULE(name) void name(gf_node *n, gf_node *dy, const bool *need, gf_node **dx);
GF_GRAD_RULE(gf__grad_add) GF_GRAD_RULE(gf__grad_sub) GF_GRAD_RULE(gf__grad_mul)
GF_GRAD_RULE(gf__grad_div) GF_GRAD_RULE(gf__grad_neg) GF_GRAD_RULE(gf__grad_exp)
GF_GRAD_RULE(gf__grad_sigmoid) GF_GRAD_RULE(gf__grad_sqrt) GF_GRAD_RULE(gf__grad_matmul)
GF_GRAD_RULE(gf__grad_transpose) GF_GRAD_RULE(gf__grad_reduce_sum)
GF_GRAD_RULE(gf__grad_reduce_mean) GF_GRAD_RULE(gf__grad_sum_to)
GF_GRAD_RULE(gf__grad_broadcast_like)
GF_GRAD_RULE(gf__grad_check_numerics)
GF_GRAD_RULE(gf__grad_relu) GF_GRAD_RULE(gf__grad_tanh) GF_GRAD_RULE(gf__grad_log)
GF_GRAD_RULE(gf__grad_square) GF_GRAD_RULE(gf__grad_maximum) GF_GRAD_RULE(gf__grad_softmax)
GF_GRAD_RULE(gf__grad_log_softmax) GF_GRAD_RULE(gf__grad_xent) GF_GRAD_RULE(gf__grad_reshape)
GF_GRAD_RULE(gf__grad_reshape_like) GF_GRAD_RULE(gf__grad_concat) GF_GRAD_RULE(gf__grad_concat_slice)
GF_GRAD_RULE(gf__grad_concat_pad) GF_GRAD_RULE(gf__grad_slice_rows) GF_GRAD_RULE(gf__grad_pad_rows)
GF_GRAD_RULE(gf__grad_gather_rows) GF_GRAD_RULE(gf__grad_scatter_add_rows)
/* For ops whose output does not change with their inputs' values (masks
 * of comparisons, dropout's random mask): no gradient flows, no error. */
GF_GRAD_RULE(gf__grad_none)
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

/* Model-zoo internals (ops/build.c). Attributes are packed into gf_attrs:
 * reshape keeps its target in axes[0..n_axes-1] (-1: inferred); concat and
 * its parts keep the axis in axes[0] (parts: mode 0 front, 1 back);
 * slice_rows/pad_rows keep start, count in axes[0], axes[1]; scatter keeps
 * the row count and one_hot the depth in axes[0]; dropout_mask keeps
 * keep_prob in mean and the seed's two 32-bit halves in axes[0], axes[1]. */
/* out [shape of a and b broadcast] = a > b ? 1 : 0, float32 (no gradient). */
gf_node *gf__greater_mask(gf_node *a, gf_node *b);
/* out [shape of like] = g's elements in order (same count). */
gf_node *gf__reshape_like(gf_node *g, gf_node *like);
/* out [shape of like] = the first (back = 0) or last (back = 1)
 * like.dim[axis] entries of full along axis: the parts of a concat. */
gf_node *gf__concat_slice(gf_node *full, gf_node *like, int axis, int back);
/* out [shape of like] = part at the front (back = 0) or back (back = 1) of
 * axis, zeros elsewhere: the adjoint of gf__concat_slice. */
gf_node *gf__concat_pad(gf_node *part, gf_node *like, int axis, int back);
/* out [shape of like] = zeros with rows start..start+count-1 = g [count,...]. */
gf_node *gf__pad_rows(gf_node *g, gf_node *like, int start, int count);
/* out [rows, g.dim[r:]...] = zeros, then out[indices[i]] += g[i] for every
 * index i of indices (rank r, int32): the adjoint of gf_gather_rows. */
gf_node *gf__scatter_add_rows(gf_node *g, gf_node *indices, int64_t rows);
/* out [shape of like] = 1/keep_prob with probability keep_prob, else 0,
 * drawn from the node's random stream mixed with seed. */
gf_node *gf__dropout_mask(gf_node *like, float keep_prob, uint64_t seed);

#endif
