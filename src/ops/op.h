/*
 * op.h — the op list and the row type of the op table: an operation is its
 * name, arity, flags, shape rule, kernel, gradient rule and, when it is
 * elementwise, the block function the fuser chains. Everything else looks
 * ops up here.
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
    GF_OPF_LIKE = 1 << 6,        /* inputs[1] lends only its shape, never its values, and the op
                                    is the identity when inputs[0] already has the output's shape */
    GF_OPF_CONTROL = 1 << 7,     /* inputs are run first, their values never read */
    GF_OPF_SHAPE_LAST = 1 << 8,  /* the last input lends only its shape, never its values */
    GF_OPF_UPDATE = 1 << 9,      /* with ASSIGN: changes inputs[0] and the variables inputs[1..2]
                                    in place, after every other step of the run (no commit) */
    GF_OPF_COLLECTIVE = 1 << 10  /* sums over micro-batches and a group: never folded,
                                    merged or fused; the kernel gets gf_kctx.coll */
};
/* Flags under which an op's last input lends only its shape. */
#define GF_OPF_SHAPE_ONLY (GF_OPF_LIKE | GF_OPF_SHAPE_LAST)

/* One all-reduce node's sum of the micro-batches added so far (owned by
 * the session, by node id): count of them, n floats each. */
typedef struct gf_accum {
    float *data;
    int64_t n, cap;
    int count;
} gf_accum;

/* What the all-reduce kernels (kernels/collective.c) need of a run, lent
 * by the session: its group, and whether this run only adds micro-batches
 * into the accumulators (gf_session_accumulate) or finishes the sum. */
typedef struct gf_collective {
    const gf_process_group *group;      /* NULL: alone */
    bool accumulate;
} gf_collective;

/* Per-run context a kernel may need. */
/* What conv2d does to each output vector as it stores it, when the
 * planner says so (opt/conv_epilogue.c): + bias [O] (bias NULL: nothing;
 * bias_first: bias + y, else y + bias), then relu (y < 0 ? 0 : y) with
 * relu: the operations of the add and relu ops. */
typedef struct gf_conv_epilogue {
    const float *bias;
    bool bias_first, relu;
} gf_conv_epilogue;

typedef struct gf_kctx {
    gf_rng *rng;                /* random ops only */
    const gf_collective *coll;  /* collective ops only (NULL: alone, nothing accumulated) */
    gf_accum *acc;              /* collective ops only: the node's accumulator */
    bool coll_defer;            /* collective ops: leave the group's sum and the mean
                                   to the caller (a bucket, plan/run.c) ... */
    int64_t coll_parts;         /* ... and say here how many micro-batches it summed */
    int threads;                /* threads a large kernel may use (>= 1) */
    gf_status status;           /* the few kernels that can fail set these */
    char *msg;                  /* (check_numerics); msg_len bytes */
    size_t msg_len;
    gf_conv_epilogue epi;       /* conv2d in plans: its epilogue (none: all zero) */
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
    int ctor;                   /* GF_CTOR_*: how its constructor is made */
    gf_node *(*make1)(gf_node *x);             /* the generated constructor: */
    gf_node *(*make2)(gf_node *a, gf_node *b); /* ctor UNARY; BINARY, INTERNAL_BINARY */
};

/* The op list's ctor column (below), for code that walks the table (the
 * fuzzer builds every generated public op through make1/make2). */
enum { GF_CTOR_CUSTOM, GF_CTOR_UNARY, GF_CTOR_BINARY, GF_CTOR_INTERNAL_BINARY };

/* ---- the op list ----
 *
 * One row per op says everything about it; the enum GF_OP_<ID>, the table
 * gf__ops (ops/table.c), the prototypes of the row's functions (below) and
 * the simple constructors (ops/build.c) are all generated from it:
 *
 *   X(ID, name, arity, flags, shape, kernel, grad, ew, ctor)
 *
 * ID      GF_OP(ID) is the op's row, GF_OP_##ID its index
 * name    the op's name (gf_node_op, default node names, messages): the
 *         public constructor's name without gf_ (internal ops: gf__)
 * arity   number of inputs
 * flags   GF_OPF_* (0: an ordinary op)
 * shape   shape rule (ops/shape_rules.c)
 * kernel  kernel (kernels/); NONE: a source whose value comes from elsewhere
 * grad    gradient rule (ops/grad_rules.c); NONE: the op has no gradient,
 *         and differentiating through it is an error naming it
 * ew      float32 elementwise ops only: the block function the fuser chains
 *         (kernels/elementwise.c makes it and the kernel from one
 *         expression); NONE: not fusable
 * ctor    the constructor: UNARY generates gf_<name>(x), BINARY
 *         gf_<name>(a, b), INTERNAL_BINARY gf__<name>(a, b), all three
 *         with no attributes (declare the public ones in gradflow.h);
 *         CUSTOM: written by hand in ops/build.c (arguments to check,
 *         attributes to fill)
 *
 * docs/design.md ("Adding an op") lists every step. */
#define GF_OPS(X)                                                                                                \
    X(PLACEHOLDER, placeholder, 0, GF_OPF_SOURCE | GF_OPF_PLACEHOLDER, gf__shape_source, NONE, NONE, NONE, CUSTOM) \
    X(CONSTANT, constant, 0, GF_OPF_SOURCE | GF_OPF_CONSTANT, gf__shape_source, NONE, NONE, NONE, CUSTOM)       \
    X(VARIABLE, variable, 0, GF_OPF_SOURCE | GF_OPF_VARIABLE, gf__shape_source, NONE, NONE, NONE, CUSTOM)       \
    X(TRUNCATED_NORMAL, truncated_normal, 0, GF_OPF_SOURCE | GF_OPF_RANDOM, gf__shape_source,                    \
      gf__k_truncated_normal, NONE, NONE, CUSTOM)                                                                \
    X(ZEROS, zeros, 0, GF_OPF_SOURCE, gf__shape_source, gf__k_zeros, NONE, NONE, CUSTOM)                         \
    X(ADD, add, 2, 0, gf__shape_binary, gf__k_add, gf__grad_add, gf__ew_add, BINARY)                             \
    X(SUB, sub, 2, 0, gf__shape_binary, gf__k_sub, gf__grad_sub, gf__ew_sub, BINARY)                             \
    X(MUL, mul, 2, 0, gf__shape_binary, gf__k_mul, gf__grad_mul, gf__ew_mul, BINARY)                             \
    X(DIV, div, 2, 0, gf__shape_binary, gf__k_div, gf__grad_div, gf__ew_div, BINARY)                             \
    X(NEG, neg, 1, 0, gf__shape_unary, gf__k_neg, gf__grad_neg, gf__ew_neg, UNARY)                               \
    X(EXP, exp, 1, 0, gf__shape_unary, gf__k_exp, gf__grad_exp, gf__ew_exp, UNARY)                               \
    X(SIGMOID, sigmoid, 1, 0, gf__shape_unary, gf__k_sigmoid, gf__grad_sigmoid, gf__ew_sigmoid, UNARY)           \
    X(MATMUL, matmul, 2, 0, gf__shape_matmul, gf__k_matmul, gf__grad_matmul, NONE, CUSTOM)                       \
    X(TRANSPOSE, transpose, 1, 0, gf__shape_transpose, gf__k_transpose, gf__grad_transpose, NONE, CUSTOM)        \
    X(REDUCE_SUM, reduce_sum, 1, 0, gf__shape_reduce, gf__k_reduce_sum, gf__grad_reduce_sum, NONE, CUSTOM)       \
    X(REDUCE_MEAN, reduce_mean, 1, 0, gf__shape_reduce, gf__k_reduce_mean, gf__grad_reduce_mean, NONE, CUSTOM)   \
    X(ARGMAX, argmax, 1, 0, gf__shape_argmax, gf__k_argmax, NONE, NONE, CUSTOM)                                  \
    X(EQUAL, equal, 2, 0, gf__shape_compare, gf__k_equal, NONE, NONE, BINARY)                                    \
    X(CAST, cast, 1, 0, gf__shape_cast, gf__k_cast, NONE, NONE, CUSTOM)                                          \
    X(ASSIGN, assign, 2, GF_OPF_ASSIGN, gf__shape_assign, gf__k_copy_input1, NONE, NONE, CUSTOM)                 \
    X(SQRT, sqrt, 1, 0, gf__shape_unary, gf__k_sqrt, gf__grad_sqrt, gf__ew_sqrt, UNARY)                          \
    X(GROUP, group, 2, GF_OPF_CONTROL, gf__shape_group, gf__k_zeros, NONE, NONE, BINARY)                         \
    /* Internal ops of the gradient rules: sum_to(g, like), broadcast_like(g, like). */                          \
    X(SUM_TO, sum_to, 2, GF_OPF_LIKE, gf__shape_sum_to, gf__k_sum_to, gf__grad_sum_to, NONE, INTERNAL_BINARY)    \
    X(BROADCAST_LIKE, broadcast_like, 2, GF_OPF_LIKE, gf__shape_broadcast_like, gf__k_broadcast_like,           \
      gf__grad_broadcast_like, NONE, CUSTOM)                                                                     \
    /* The model zoo: activations, softmax family, layout. */                                                    \
    X(RELU, relu, 1, 0, gf__shape_unary, gf__k_relu, gf__grad_relu, gf__ew_relu, UNARY)                          \
    X(TANH, tanh, 1, 0, gf__shape_unary, gf__k_tanh, gf__grad_tanh, gf__ew_tanh, UNARY)                          \
    X(LOG, log, 1, 0, gf__shape_unary, gf__k_log, gf__grad_log, gf__ew_log, UNARY)                               \
    X(SQUARE, square, 1, 0, gf__shape_unary, gf__k_square, gf__grad_square, gf__ew_square, UNARY)                \
    X(MAXIMUM, maximum, 2, 0, gf__shape_binary, gf__k_maximum, gf__grad_maximum, gf__ew_maximum, BINARY)         \
    X(SOFTMAX, softmax, 1, 0, gf__shape_last_axis, gf__k_softmax, gf__grad_softmax, NONE, UNARY)                 \
    X(LOG_SOFTMAX, log_softmax, 1, 0, gf__shape_last_axis, gf__k_log_softmax, gf__grad_log_softmax, NONE, UNARY) \
    X(SOFTMAX_XENT, softmax_cross_entropy_with_logits, 2, 0, gf__shape_xent, gf__k_softmax_xent, gf__grad_xent,  \
      NONE, BINARY)                                                                                              \
    X(RESHAPE, reshape, 1, 0, gf__shape_reshape, gf__k_reshape, gf__grad_reshape, NONE, CUSTOM)                  \
    X(CONCAT, concat, 2, 0, gf__shape_concat, gf__k_concat, gf__grad_concat, NONE, CUSTOM)                       \
    X(SLICE_ROWS, slice_rows, 1, 0, gf__shape_slice_rows, gf__k_slice_rows, gf__grad_slice_rows, NONE, CUSTOM)   \
    X(GATHER_ROWS, gather_rows, 2, 0, gf__shape_gather_rows, gf__k_gather_rows, gf__grad_gather_rows, NONE,      \
      BINARY)                                                                                                    \
    X(ONE_HOT, one_hot, 1, 0, gf__shape_one_hot, gf__k_one_hot, NONE, NONE, CUSTOM)                              \
    /* Internal ops of the zoo's gradient rules and of dropout. gf__grad_none: no gradient flows, and that is   \
     * no error (the output does not change with the inputs' values). */                                        \
    X(GREATER_MASK, greater_mask, 2, 0, gf__shape_binary, gf__k_greater_mask, gf__grad_none,                     \
      gf__ew_greater_mask, INTERNAL_BINARY)                                                                      \
    X(RESHAPE_LIKE, reshape_like, 2, GF_OPF_LIKE, gf__shape_reshape_like, gf__k_reshape, gf__grad_reshape_like,  \
      NONE, INTERNAL_BINARY)                                                                                     \
    X(CONCAT_SLICE, concat_slice, 2, GF_OPF_LIKE, gf__shape_concat_slice, gf__k_concat_slice,                    \
      gf__grad_concat_slice, NONE, CUSTOM)                                                                       \
    X(CONCAT_PAD, concat_pad, 2, GF_OPF_LIKE, gf__shape_concat_pad, gf__k_concat_pad, gf__grad_concat_pad, NONE, \
      CUSTOM)                                                                                                    \
    X(PAD_ROWS, pad_rows, 2, GF_OPF_LIKE, gf__shape_pad_rows, gf__k_pad_rows, gf__grad_pad_rows, NONE, CUSTOM)   \
    X(SCATTER_ADD_ROWS, scatter_add_rows, 2, 0, gf__shape_scatter_add_rows, gf__k_scatter_add_rows,              \
      gf__grad_scatter_add_rows, NONE, CUSTOM)                                                                   \
    X(DROPOUT_MASK, dropout_mask, 1, GF_OPF_RANDOM, gf__shape_unary, gf__k_dropout_mask, gf__grad_none, NONE,    \
      CUSTOM)                                                                                                    \
    X(CHECK_NUMERICS, check_numerics, 1, 0, gf__shape_unary, gf__k_check_numerics, gf__grad_check_numerics,     \
      NONE, CUSTOM)                                                                                              \
    /* dropout with keep_prob a node: dropout_keep_mask(x, keep_prob) (x lends its shape; it is read anyway). */ \
    X(DROPOUT_KEEP_MASK, dropout_keep_mask, 2, GF_OPF_RANDOM, gf__shape_dropout_keep_mask,                      \
      gf__k_dropout_keep_mask, gf__grad_none, NONE, CUSTOM)                                                    \
    /* Convolution and pooling (NHWC) and their gradients' ops (kernels/conv.c, kernels/pool.c). */             \
    X(CONV2D, conv2d, 2, 0, gf__shape_conv2d, gf__k_conv2d, gf__grad_conv2d, NONE, CUSTOM)                       \
    X(CONV2D_BACKPROP_INPUT, conv2d_backprop_input, 3, GF_OPF_SHAPE_LAST, gf__shape_conv2d_backprop_input,      \
      gf__k_conv2d_backprop_input, gf__grad_conv2d_backprop_input, NONE, CUSTOM)                               \
    X(CONV2D_BACKPROP_FILTER, conv2d_backprop_filter, 3, GF_OPF_SHAPE_LAST, gf__shape_conv2d_backprop_filter,   \
      gf__k_conv2d_backprop_filter, gf__grad_conv2d_backprop_filter, NONE, CUSTOM)                             \
    X(MAX_POOL, max_pool, 1, 0, gf__shape_pool, gf__k_max_pool, gf__grad_max_pool, NONE, CUSTOM)                 \
    X(MAX_POOL_GRAD, max_pool_grad, 2, 0, gf__shape_max_pool_grad, gf__k_max_pool_grad, gf__grad_max_pool_grad, \
      NONE, CUSTOM)                                                                                              \
    X(MAX_POOL_GRAD_GRAD, max_pool_grad_grad, 2, 0, gf__shape_max_pool_grad_grad, gf__k_max_pool_grad_grad,    \
      gf__grad_max_pool_grad_grad, NONE, CUSTOM)                                                               \
    X(AVG_POOL, avg_pool, 1, 0, gf__shape_pool, gf__k_avg_pool, gf__grad_avg_pool, NONE, CUSTOM)                 \
    X(AVG_POOL_GRAD, avg_pool_grad, 2, GF_OPF_SHAPE_LAST, gf__shape_avg_pool_grad, gf__k_avg_pool_grad,         \
      gf__grad_avg_pool_grad, NONE, CUSTOM)                                                                      \
    /* Training ops of the optimizers (train/optimizer.c, kernels/optimizer.c). */                              \
    X(APPLY_ADAM, apply_adam, 5, GF_OPF_ASSIGN | GF_OPF_UPDATE, gf__shape_apply_adam, gf__k_apply_adam, NONE,    \
      NONE, CUSTOM)                                                                                              \
    /* Data parallelism (kernels/collective.c): x summed, or averaged, over the session's micro-batches and     \
     * group. No gradient: differentiate first, then reduce (gf_minimize_ex). */                                \
    X(ALL_REDUCE_SUM, all_reduce_sum, 1, GF_OPF_COLLECTIVE, gf__shape_unary, gf__k_all_reduce_sum, NONE, NONE,   \
      UNARY)                                                                                                     \
    X(ALL_REDUCE_MEAN, all_reduce_mean, 1, GF_OPF_COLLECTIVE, gf__shape_unary, gf__k_all_reduce_mean, NONE,      \
      NONE, UNARY)

#define GF_OP_ENUM(ID, ...) GF_OP_##ID,
enum { GF_OPS(GF_OP_ENUM) GF_OP_COUNT };
#undef GF_OP_ENUM

extern const gf_op gf__ops[GF_OP_COUNT];
/* The row of op ID (GF_OP(MATMUL)): the one way to name an op in code;
 * nodes and passes compare these pointers. */
#define GF_OP(ID) (&gf__ops[GF_OP_##ID])

/* What the list's columns expand to. GF__IS_NONE(x) is 1 for the token
 * NONE, else 0 (NONE pastes into GF__PROBE_NONE, which supplies an extra
 * argument); GF__FN(x) is then NULL or x, and GF__DECLARE(DECL, x)
 * nothing or the prototype DECL(x). */
#define GF__CAT(a, b) GF__CAT_(a, b)
#define GF__CAT_(a, b) a##b
#define GF__SECOND(a, b, ...) b
#define GF__SECOND_(...) GF__SECOND(__VA_ARGS__)
#define GF__PROBE_NONE ~, 1
#define GF__IS_NONE(x) GF__SECOND_(GF__PROBE_##x, 0, ~)
#define GF__FN(x) GF__CAT(GF__FN_, GF__IS_NONE(x))(x)
#define GF__FN_1(x) NULL
#define GF__FN_0(x) x
#define GF__DECLARE(DECL, x) GF__CAT(GF__DECLARE_, GF__IS_NONE(x))(DECL, x)
#define GF__DECLARE_1(DECL, x)
#define GF__DECLARE_0(DECL, x) DECL(x);

/* The signatures of the row's functions (GF_KERNEL and GF_GRAD_RULE also
 * begin their definitions). */
#define GF_SHAPE_RULE(f) \
    bool f(const gf_node *n, const gf_shape *in, const gf_dtype *in_dt, gf_shape *out, gf_dtype *out_dt, char *msg, size_t len)
#define GF_KERNEL(f) void f(gf_tensor *out, const gf_tensor *const *in, const gf_node *n, gf_kctx *ctx)
#define GF_GRAD_RULE(f) void f(gf_node *n, gf_node *dy, const bool *need, gf_node **dx)
#define GF_EW_BLOCK(f) void f(float *o, const float *a, const float *b, int64_t n)
#define GF__CTOR_UNARY(name)
#define GF__CTOR_BINARY(name)
#define GF__CTOR_CUSTOM(name)
#define GF__CTOR_INTERNAL_BINARY(name) gf_node *gf__##name(gf_node *a, gf_node *b);

/* The prototypes: every function a row names, and the internal
 * constructors the list generates. */
#define GF__OP_PROTOTYPES(ID, name, arity, flags, shape, kernel, grad, ew, ctor) \
    GF_SHAPE_RULE(shape);                                                         \
    GF__DECLARE(GF_KERNEL, kernel)                                                \
    GF__DECLARE(GF_GRAD_RULE, grad)                                               \
    GF__DECLARE(GF_EW_BLOCK, ew)                                                  \
    GF__CTOR_##ctor(name)
GF_OPS(GF__OP_PROTOTYPES)
#undef GF__OP_PROTOTYPES

/* Internal ops used by gradient rules (ops/build.c). */
enum { GF_BCAST_NUMPY = 0, GF_BCAST_REDUCED = 1 };
/* gf__sum_to(g, x) (generated): out [shape of x] = g summed over the
 * dimensions along which x broadcasts to g (the inverse of broadcasting). */
/* out [shape of like] = g broadcast with NumPy's rule. */
gf_node *gf__broadcast_like(gf_node *g, gf_node *like);
/* out [shape of x] = dy, the result of reducing x as `r` says (axes,
 * keepdims), spread back over the reduced axes; divided by the number of
 * elements reduced when mean. */
gf_node *gf__unreduce(gf_node *dy, gf_node *x, const gf_reduce_attrs *r, bool mean);
/* The reduction r (sum, or mean when r->mean_scale) applied to dy. */
gf_node *gf__reduce_as(gf_node *dy, const gf_reduce_attrs *r);

/* Model-zoo internals (ops/build.c); their attributes are gf_attrs's
 * members named for them (internal.h). */
/* gf__greater_mask(a, b) (generated): out [shape of a and b broadcast] =
 * a > b ? 1 : 0, float32 (no gradient).
 * gf__reshape_like(g, like) (generated): out [shape of like] = g's
 * elements in order (same count). */
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
/* out [shape of x] = 1/keep_prob with probability keep_prob, else 0, with
 * keep_prob read from the float32 scalar node at run time (a run error
 * naming the node unless 0 < keep_prob <= 1). */
gf_node *gf__dropout_keep_mask(gf_node *x, gf_node *keep_prob, uint64_t seed);

/* Convolution's and pooling's gradient ops (ops/build.c); w holds the
 * strides, padding and (pools) window of the op they differentiate.
 * out [shape of input_like] = the gradient of conv2d(input, filter) with
 * respect to its input, given dy [batch, oh, ow, out] (a transposed
 * convolution). */
/* The Adam update of var with its slots m and v (all variables of one
 * shape), given grad and the float32 scalar lr_t (the bias-corrected
 * learning rate), in place when the run ends, as TensorFlow's ApplyAdam:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g g;  var -= lr_t m / (sqrt(v) + eps)
 * Its value is var's new value. Built by gf_minimize (train/optimizer.c). */
gf_node *gf__apply_adam(gf_node *var, gf_node *m, gf_node *v, gf_node *grad, gf_node *lr_t, float beta1,
                        float beta2, float epsilon);

gf_node *gf__conv2d_backprop_input(gf_node *dy, gf_node *filter, gf_node *input_like, int stride_h,
                                   int stride_w, int padding);
/* out [shape of filter_like] = the gradient of conv2d(input, filter) with
 * respect to the filter, given dy. */
gf_node *gf__conv2d_backprop_filter(gf_node *input, gf_node *dy, gf_node *filter_like, int stride_h,
                                    int stride_w, int padding);
/* out [shape of x] = dy [shape of max_pool(x)] routed to each window's
 * first maximum (summed where windows overlap). */
gf_node *gf__max_pool_grad(gf_node *x, gf_node *dy, const gf_attrs *w);
/* out [shape of max_pool(x)] = g [shape of x] at each window's first
 * maximum: max_pool_grad's adjoint in its dy. */
gf_node *gf__max_pool_grad_grad(gf_node *x, gf_node *g, const gf_attrs *w);
/* out [shape of x_like] = dy [shape of avg_pool(x)] spread evenly over
 * each window's elements inside x. */
gf_node *gf__avg_pool_grad(gf_node *dy, gf_node *x_like, const gf_attrs *w);
/* The pool's output size along one axis, and the padding before it, for
 * input size in, window k, stride s (TensorFlow's rule); false when
 * VALID and k > in. */
bool gf__window_out(int64_t in, int64_t k, int64_t s, int padding, int64_t *out, int64_t *pad_before);

#endif
