/*
 * build.c — the public node constructors: each checks its arguments, fills
 * the attributes and hands the op's row to gf__node_build.
 */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* True when x cannot be used; gf__node_build then records why. */
static bool unusable(gf_node *x)
{
    return !x || x->id < 0 || !x->graph || x->graph->status != GF_OK;
}

static const char *shape_str(gf_shape s, char *buf) { return gf_shape_format(s, buf, GF_SHAPE_STR); }

/* Checks a declared shape: rank 0..4, dims >= 0 or GF_ANY (when open_ok). */
static bool check_shape(gf_graph *g, const char *what, const char *name, gf_shape s, bool open_ok)
{
    if (s.rank < 0 || s.rank > GF_MAX_RANK) {
        gf__graph_fail(g, GF_ERR_SHAPE, "%s \"%s\": rank %d is out of range: expected 0..%d",
                       what, name ? name : "", s.rank, GF_MAX_RANK);
        return false;
    }
    for (int i = 0; i < s.rank; i++) {
        if (s.dim[i] >= 0 || (open_ok && s.dim[i] == GF_ANY)) continue;
        char b[GF_SHAPE_STR];
        gf__graph_fail(g, GF_ERR_SHAPE, "%s \"%s\": dimension %d of %s is %lld: expected %s", what,
                       name ? name : "", i, shape_str(s, b), (long long)s.dim[i],
                       open_ok ? "a size >= 0 or GF_ANY" : "a size >= 0 (no open dimensions)");
        return false;
    }
    int64_t known = 1; /* open dims aside, the rest must stay countable */
    for (int i = 0; i < s.rank; i++)
        if (s.dim[i] > 0 && (__builtin_mul_overflow(known, s.dim[i], &known) || known > ((int64_t)1 << 40))) {
            char b[GF_SHAPE_STR];
            gf__graph_fail(g, GF_ERR_SHAPE, "%s \"%s\": shape %s has too many elements", what,
                           name ? name : "", shape_str(s, b));
            return false;
        }
    if (gf__shape_count_checked(s) == -2) {
        char b[GF_SHAPE_STR];
        gf__graph_fail(g, GF_ERR_SHAPE, "%s \"%s\": shape %s has too many elements", what,
                       name ? name : "", shape_str(s, b));
        return false;
    }
    return true;
}

static gf_node *source(gf_graph *g, const gf_op *op, const char *name, gf_dtype dt, gf_shape s,
                       bool open_ok, const gf_attrs *attrs)
{
    if (!g) return gf__node_build(NULL, op, NULL, 0, NULL);
    if (g->status != GF_OK) return &g->poison;
    if ((unsigned)dt > GF_BOOL)
        return gf__graph_fail(g, GF_ERR_ARG, "%s \"%s\": unknown dtype %d", op->name,
                              name ? name : "", (int)dt);
    if (!check_shape(g, op->name, name, s, open_ok)) return &g->poison;
    gf_node *n = gf__node_build(g, op, NULL, 0, attrs);
    if (n->id < 0) return n;
    n->shape = s;
    n->dtype = dt;
    if (name) gf_name(n, name);
    return n;
}

gf_node *gf_placeholder(gf_graph *g, const char *name, gf_dtype dt, gf_shape shape)
{
    return source(g, GF_OP(PLACEHOLDER), name, dt, shape, true, NULL);
}

gf_node *gf_constant(gf_graph *g, gf_shape shape, const float *data)
{
    if (g && g->status == GF_OK && !data && gf_shape_count(shape) > 0)
        return gf__graph_fail(g, GF_ERR_ARG, "constant: data is NULL");
    gf_node *n = source(g, GF_OP(CONSTANT), NULL, GF_F32, shape, false, NULL);
    if (n->id < 0) return n;
    int64_t cnt = gf_shape_count(shape);
    n->value = gf__graph_alloc(g, (size_t)(cnt ? cnt : 1) * sizeof(float));
    if (!n->value) return gf__graph_fail(g, GF_ERR_NOMEM, "constant: out of memory");
    if (cnt) memcpy(n->value, data, (size_t)cnt * sizeof(float));
    return n;
}

gf_node *gf_scalar(gf_graph *g, float value)
{
    return gf_constant(g, gf_dims(0), &value);
}

gf_node *gf_truncated_normal(gf_graph *g, gf_shape shape, float mean, float stddev)
{
    if (g && g->status == GF_OK && (!isfinite(mean) || !isfinite(stddev) || stddev < 0))
        return gf__graph_fail(g, GF_ERR_ARG,
                              "truncated_normal: mean %g and stddev %g: expected finite values, stddev >= 0",
                              (double)mean, (double)stddev);
    gf_attrs a = { .init = { .mean = mean, .stddev = stddev } };
    return source(g, GF_OP(TRUNCATED_NORMAL), NULL, GF_F32, shape, false, &a);
}

gf_node *gf_zeros(gf_graph *g, gf_shape shape)
{
    return source(g, GF_OP(ZEROS), NULL, GF_F32, shape, false, NULL);
}

gf_node *gf_variable(gf_graph *g, const char *name, gf_node *init)
{
    if (!g) return gf__node_build(NULL, GF_OP(VARIABLE), NULL, 0, NULL);
    if (g->status != GF_OK) return &g->poison;
    if (!init)
        return gf__graph_fail(g, GF_ERR_ARG, "variable \"%s\": initializer is NULL", name ? name : "");
    if (init->graph != g)
        return gf__graph_fail(g, GF_ERR_ARG, "variable \"%s\": initializer \"%s\" belongs to another graph",
                              name ? name : "", init->name);
    if (init->id < 0)
        return gf__graph_fail(g, GF_ERR_ARG, "variable \"%s\": initializer is a poisoned node", name ? name : "");
    char b[GF_SHAPE_STR];
    if (!gf__shape_known(init->shape))
        return gf__graph_fail(g, GF_ERR_SHAPE,
                              "variable \"%s\": initializer \"%s\" has shape %s: expected a fully known shape",
                              name ? name : "", init->name, shape_str(init->shape, b));
    if (init->dtype != GF_F32)
        return gf__graph_fail(g, GF_ERR_SHAPE, "variable \"%s\": initializer \"%s\" has dtype %s: expected float32",
                              name ? name : "", init->name, gf_dtype_name(init->dtype));
    gf_node *n = source(g, GF_OP(VARIABLE), name, GF_F32, init->shape, false, NULL);
    if (n->id < 0) return n;
    n->init = init;
    n->var_index = g->n_variables++;
    n->trainable = true;
    return n;
}

gf_node *gf_set_trainable(gf_node *var, int trainable)
{
    if (unusable(var)) return var;
    if (!(var->op->flags & GF_OPF_VARIABLE))
        return gf__graph_fail(var->graph, GF_ERR_ARG, "set_trainable: \"%s\" (op %s) is not a variable",
                              var->name, var->op->name);
    var->trainable = trainable != 0;
    return var;
}

/* ---- operations ---- */

static gf_node *build3(const gf_op *op, gf_node *a, gf_node *b, gf_node *c, const gf_attrs *attrs)
{
    gf_node *in[3] = { a, b, c };
    return gf__node_build(gf__graph_of(in, op->arity), op, in, op->arity, attrs);
}

static gf_node *build(const gf_op *op, gf_node *a, gf_node *b, const gf_attrs *attrs)
{
    return build3(op, a, b, NULL, attrs);
}

/* The constructors the op list generates (ctor UNARY, BINARY and
 * INTERNAL_BINARY): no arguments to check, no attributes. */
#define CTOR_UNARY(ID, name) \
    gf_node *gf_##name(gf_node *x) { return build(GF_OP(ID), x, NULL, NULL); }
#define CTOR_BINARY(ID, name) \
    gf_node *gf_##name(gf_node *a, gf_node *b) { return build(GF_OP(ID), a, b, NULL); }
#define CTOR_INTERNAL_BINARY(ID, name) \
    gf_node *gf__##name(gf_node *a, gf_node *b) { return build(GF_OP(ID), a, b, NULL); }
#define CTOR_CUSTOM(ID, name)
#define CTOR(ID, name, arity, flags, shape, kernel, grad, ew, ctor) CTOR_##ctor(ID, name)
GF_OPS(CTOR)
#undef CTOR

/* The rest are written here: they check their arguments or fill attributes. */


gf_node *gf_matmul_t(gf_node *a, gf_node *b, int transpose_a, int transpose_b)
{
    gf_attrs at = { .matmul = { .transpose_a = !!transpose_a, .transpose_b = !!transpose_b } };
    return build(GF_OP(MATMUL), a, b, &at);
}

gf_node *gf_matmul(gf_node *a, gf_node *b) { return gf_matmul_t(a, b, 0, 0); }

gf_node *gf_transpose_perm(gf_node *x, const int *perm)
{
    if (unusable(x)) return build(GF_OP(TRANSPOSE), x, NULL, NULL);
    gf_attrs at = { .transpose = { .rank = x->shape.rank } };
    bool seen[GF_MAX_RANK] = { false };
    for (int i = 0; i < x->shape.rank; i++) {
        int p = perm ? perm[i] : -1;
        if (p < 0 || p >= x->shape.rank || seen[p]) {
            char b[GF_SHAPE_STR];
            return gf__graph_fail(x->graph, GF_ERR_ARG,
                                  "transpose: perm%s is not a permutation of 0..%d for input \"%s\" of shape %s",
                                  perm ? "" : " is NULL and", x->shape.rank - 1, x->name,
                                  shape_str(x->shape, b));
        }
        seen[p] = true;
        at.transpose.perm[i] = p;
    }
    return build(GF_OP(TRANSPOSE), x, NULL, &at);
}

gf_node *gf_transpose(gf_node *x)
{
    if (unusable(x)) return build(GF_OP(TRANSPOSE), x, NULL, NULL);
    int perm[GF_MAX_RANK];
    for (int i = 0; i < x->shape.rank; i++) perm[i] = x->shape.rank - 1 - i;
    return gf_transpose_perm(x, perm);
}

/* Normalises axis into 0..rank-1, or records an error naming the op. */
static bool norm_axis(const gf_op *op, gf_node *x, int axis, int *out)
{
    int r = x->shape.rank;
    if (axis < -r || axis >= r) {
        char b[GF_SHAPE_STR];
        gf__graph_fail(x->graph, GF_ERR_ARG,
                       "%s: axis %d is out of range for input \"%s\" of shape %s: expected %d..%d",
                       op->name, axis, x->name, shape_str(x->shape, b), -r, r - 1);
        return false;
    }
    *out = axis < 0 ? axis + r : axis;
    return true;
}

static gf_node *reduce(const gf_op *op, gf_node *x, const int *axes, int n_axes, int keepdims)
{
    if (unusable(x)) return build(op, x, NULL, NULL);
    gf_attrs at = { .reduce = { .keepdims = !!keepdims } };
    gf_reduce_attrs *r = &at.reduce;
    if (n_axes < 0 || n_axes > x->shape.rank || (n_axes > 0 && !axes))
        return gf__graph_fail(x->graph, GF_ERR_ARG, "%s: %d axes%s for input \"%s\" of rank %d",
                              op->name, n_axes, n_axes > 0 && !axes ? " but axes is NULL" : "",
                              x->name, x->shape.rank);
    for (int i = 0; i < n_axes; i++) {
        int a;
        if (!norm_axis(op, x, axes[i], &a)) return &x->graph->poison;
        for (int j = 0; j < r->n_axes; j++)
            if (r->axes[j] == a)
                return gf__graph_fail(x->graph, GF_ERR_ARG, "%s: axis %d is listed twice",
                                      op->name, axes[i]);
        r->axes[r->n_axes++] = a;
    }
    return build(op, x, NULL, &at);
}

gf_node *gf_reduce_sum(gf_node *x, const int *axes, int n_axes, int keepdims)
{
    return reduce(GF_OP(REDUCE_SUM), x, axes, n_axes, keepdims);
}

gf_node *gf_reduce_mean(gf_node *x, const int *axes, int n_axes, int keepdims)
{
    return reduce(GF_OP(REDUCE_MEAN), x, axes, n_axes, keepdims);
}

gf_node *gf_argmax(gf_node *x, int axis)
{
    if (unusable(x)) return build(GF_OP(ARGMAX), x, NULL, NULL);
    if (x->shape.rank == 0)
        return gf__graph_fail(x->graph, GF_ERR_ARG, "argmax: input \"%s\" is a scalar: expected rank >= 1",
                              x->name);
    gf_attrs at = { .argmax = { .axis = 0 } };
    if (!norm_axis(GF_OP(ARGMAX), x, axis, &at.argmax.axis)) return &x->graph->poison;
    return build(GF_OP(ARGMAX), x, NULL, &at);
}

gf_node *gf_cast(gf_node *x, gf_dtype dt)
{
    if (!unusable(x) && (unsigned)dt > GF_BOOL)
        return gf__graph_fail(x->graph, GF_ERR_ARG, "cast: unknown dtype %d", (int)dt);
    gf_attrs at = { .cast = { .to = dt } };
    return build(GF_OP(CAST), x, NULL, &at);
}

gf_node *gf_assign(gf_node *var, gf_node *value)
{
    if (!unusable(var) && !(var->op->flags & GF_OPF_VARIABLE))
        return gf__graph_fail(var->graph, GF_ERR_ARG,
                              "assign: input 0 (\"%s\", op %s) is not a variable", var->name,
                              var->op->name);
    return build(GF_OP(ASSIGN), var, value, NULL);
}

gf_node *gf__apply_adam(gf_node *var, gf_node *m, gf_node *v, gf_node *grad, gf_node *lr_t, float beta1,
                        float beta2, float epsilon)
{
    gf_node *in[5] = { var, m, v, grad, lr_t };
    for (int i = 0; i < 3; i++)
        if (!unusable(in[i]) && !(in[i]->op->flags & GF_OPF_VARIABLE))
            return gf__graph_fail(in[i]->graph, GF_ERR_ARG, "apply_adam: input %d (\"%s\", op %s) is not a variable",
                                  i, in[i]->name, in[i]->op->name);
    gf_attrs at = { .adam = { .beta1 = beta1, .beta2 = beta2, .epsilon = epsilon } };
    gf_graph *g = unusable(var) ? NULL : var->graph;
    for (int i = 0; i < 5 && !g; i++)
        if (in[i] && in[i]->graph) g = in[i]->graph;
    return gf__node_build(g, GF_OP(APPLY_ADAM), in, 5, &at);
}

/* ---- internal ops for gradient rules ---- */

gf_node *gf__broadcast_like(gf_node *g, gf_node *like)
{
    gf_attrs a = { .broadcast_like = { .mode = GF_BCAST_NUMPY } };
    return build(GF_OP(BROADCAST_LIKE), g, like, &a);
}

gf_node *gf__unreduce(gf_node *dy, gf_node *x, const gf_reduce_attrs *r, bool mean)
{
    gf_attrs a = { .broadcast_like = { .mode = GF_BCAST_REDUCED,
                                       .reduce = { .mean_scale = mean, .keepdims = r->keepdims,
                                                   .n_axes = r->n_axes } } };
    for (int i = 0; i < r->n_axes; i++) a.broadcast_like.reduce.axes[i] = r->axes[i];
    return build(GF_OP(BROADCAST_LIKE), dy, x, &a);
}

gf_node *gf__reduce_as(gf_node *dy, const gf_reduce_attrs *r)
{
    return r->mean_scale ? gf_reduce_mean(dy, r->axes, r->n_axes, r->keepdims)
                         : gf_reduce_sum(dy, r->axes, r->n_axes, r->keepdims);
}

/* ---- the model zoo ---- */

gf_node *gf_reshape(gf_node *x, gf_shape shape)
{
    if (unusable(x)) return build(GF_OP(RESHAPE), x, NULL, NULL);
    gf_graph *g = x->graph;
    char b[GF_SHAPE_STR];
    if (shape.rank < 0 || shape.rank > GF_MAX_RANK)
        return gf__graph_fail(g, GF_ERR_SHAPE, "reshape: rank %d is out of range for input \"%s\": expected 0..%d",
                              shape.rank, x->name, GF_MAX_RANK);
    gf_attrs at = { .reshape = { .rank = shape.rank } };
    gf_shape given = shape; /* the -1 taken as 1, for the size check */
    int inferred = 0;
    for (int i = 0; i < shape.rank; i++) {
        int64_t d = shape.dim[i];
        if (d < -1 || d > INT32_MAX || (d == -1 && inferred++))
            return gf__graph_fail(g, GF_ERR_SHAPE,
                                  "reshape: target shape %s for input \"%s\": dimension %d is %lld: expected a size "
                                  ">= 0, or -1 (GF_ANY) once to infer it",
                                  shape_str(shape, b), x->name, i, (long long)d);
        at.reshape.dims[i] = (int)d;
        if (d == -1) given.dim[i] = 1;
    }
    if (gf__shape_count_checked(given) == -2)
        return gf__graph_fail(g, GF_ERR_SHAPE, "reshape: target shape %s has too many elements", shape_str(shape, b));
    return build(GF_OP(RESHAPE), x, NULL, &at);
}

gf_node *gf_concat(gf_node *a, gf_node *b, int axis)
{
    gf_attrs at = { .concat = { .axis = 0 } };
    if (!unusable(a) && !norm_axis(GF_OP(CONCAT), a, axis, &at.concat.axis)) return &a->graph->poison;
    return build(GF_OP(CONCAT), a, b, &at);
}

gf_node *gf_slice_rows(gf_node *x, int64_t start, int64_t count)
{
    if (!unusable(x) && (start < 0 || count < 0 || start > INT32_MAX - count))
        return gf__graph_fail(x->graph, GF_ERR_ARG,
                              "slice_rows: start %lld and count %lld for input \"%s\": expected both >= 0",
                              (long long)start, (long long)count, x->name);
    gf_attrs at = { .rows = { .start = (int)start, .count = (int)count } };
    return build(GF_OP(SLICE_ROWS), x, NULL, &at);
}

gf_node *gf_one_hot(gf_node *indices, int depth)
{
    if (!unusable(indices) && depth < 0)
        return gf__graph_fail(indices->graph, GF_ERR_ARG, "one_hot: depth %d for indices \"%s\": expected >= 0",
                              depth, indices->name);
    gf_attrs at = { .one_hot = { .depth = depth } };
    return build(GF_OP(ONE_HOT), indices, NULL, &at);
}

gf_node *gf_dropout(gf_node *x, float keep_prob, uint64_t seed)
{
    if (!unusable(x) && !(keep_prob > 0.0f && keep_prob <= 1.0f))
        return gf__graph_fail(x->graph, GF_ERR_ARG,
                              "dropout: keep_prob %g for input \"%s\": expected 0 < keep_prob <= 1",
                              (double)keep_prob, x->name);
    if (!unusable(x) && keep_prob == 1.0f && x->dtype == GF_F32) return x; /* as TensorFlow */
    gf_node *y = gf_mul(x, gf__dropout_mask(x, keep_prob, seed));
    return y->id >= 0 ? gf_name(y, "dropout") : y;
}

/* ---- the zoo's internal ops ---- */

gf_node *gf__concat_slice(gf_node *full, gf_node *like, int axis, int back)
{
    gf_attrs at = { .concat = { .axis = axis, .back = back } };
    return build(GF_OP(CONCAT_SLICE), full, like, &at);
}

gf_node *gf__concat_pad(gf_node *part, gf_node *like, int axis, int back)
{
    gf_attrs at = { .concat = { .axis = axis, .back = back } };
    return build(GF_OP(CONCAT_PAD), part, like, &at);
}

gf_node *gf__pad_rows(gf_node *g, gf_node *like, int start, int count)
{
    gf_attrs at = { .rows = { .start = start, .count = count } };
    return build(GF_OP(PAD_ROWS), g, like, &at);
}

gf_node *gf__scatter_add_rows(gf_node *g, gf_node *indices, int64_t rows)
{
    gf_attrs at = { .rows = { .rows = rows } };
    return build(GF_OP(SCATTER_ADD_ROWS), g, indices, &at);
}

gf_node *gf__dropout_mask(gf_node *like, float keep_prob, uint64_t seed)
{
    gf_attrs at = { .dropout = { .keep_prob = keep_prob, .seed = seed } };
    return build(GF_OP(DROPOUT_MASK), like, NULL, &at);
}

gf_node *gf_check_numerics(gf_node *x, const char *message)
{
    if (unusable(x)) return build(GF_OP(CHECK_NUMERICS), x, NULL, NULL);
    size_t len = message ? strlen(message) : 0;
    char *text = gf__graph_alloc(x->graph, len + 1);
    if (!text) return gf__graph_fail(x->graph, GF_ERR_NOMEM, "check_numerics: out of memory");
    if (len) memcpy(text, message, len);
    gf_attrs a = { .check_numerics = { .text = text } };
    return build(GF_OP(CHECK_NUMERICS), x, NULL, &a);
}

gf_node *gf__dropout_keep_mask(gf_node *x, gf_node *keep_prob, uint64_t seed)
{
    gf_attrs at = { .dropout = { .seed = seed } };
    return build(GF_OP(DROPOUT_KEEP_MASK), x, keep_prob, &at);
}

gf_node *gf_dropout_keep(gf_node *x, gf_node *keep_prob, uint64_t seed)
{
    gf_node *y = gf_mul(x, gf__dropout_keep_mask(x, keep_prob, seed));
    return y->id >= 0 ? gf_name(y, "dropout") : y;
}

/* ---- convolution and pooling ---- */

/* Checks strides, window and padding (the window only for pools: kh > 0),
 * recording an error naming op and x. */
static bool window_ok(const gf_op *op, gf_node *x, int kh, int kw, int sh, int sw, gf_padding padding)
{
    if (unusable(x)) return true; /* gf__node_build says why */
    const char *bad = NULL;
    if (sh < 1 || sw < 1) bad = "strides";
    else if (kh < 1 || kw < 1) bad = "window (ksize)";
    else if (padding != GF_SAME && padding != GF_VALID) bad = "padding";
    if (!bad) return true;
    gf__graph_fail(x->graph, GF_ERR_ARG,
                   "%s: %s invalid for input \"%s\": ksize %dx%d, strides %dx%d, padding %d: expected "
                   "ksize and strides >= 1 and padding GF_SAME or GF_VALID",
                   op->name, bad, x->name, kh, kw, sh, sw, (int)padding);
    return false;
}

gf_node *gf_conv2d(gf_node *input, gf_node *filter, int stride_h, int stride_w, gf_padding padding)
{
    if (!window_ok(GF_OP(CONV2D), input, 1, 1, stride_h, stride_w, padding)) return &input->graph->poison;
    gf_attrs at = { .window = { .stride_h = stride_h, .stride_w = stride_w, .padding = (int)padding } };
    return build(GF_OP(CONV2D), input, filter, &at);
}

gf_node *gf__conv2d_backprop_input(gf_node *dy, gf_node *filter, gf_node *input_like, int stride_h,
                                   int stride_w, int padding)
{
    gf_attrs at = { .window = { .stride_h = stride_h, .stride_w = stride_w, .padding = padding } };
    return build3(GF_OP(CONV2D_BACKPROP_INPUT), dy, filter, input_like, &at);
}

gf_node *gf__conv2d_backprop_filter(gf_node *input, gf_node *dy, gf_node *filter_like, int stride_h,
                                    int stride_w, int padding)
{
    gf_attrs at = { .window = { .stride_h = stride_h, .stride_w = stride_w, .padding = padding } };
    return build3(GF_OP(CONV2D_BACKPROP_FILTER), input, dy, filter_like, &at);
}

static gf_node *pool(const gf_op *op, gf_node *x, int kh, int kw, int sh, int sw, gf_padding padding)
{
    if (!window_ok(op, x, kh, kw, sh, sw, padding)) return &x->graph->poison;
    gf_attrs at = { .window = { .ksize_h = kh, .ksize_w = kw, .stride_h = sh, .stride_w = sw,
                                .padding = (int)padding } };
    return build(op, x, NULL, &at);
}

gf_node *gf_max_pool(gf_node *x, int ksize_h, int ksize_w, int stride_h, int stride_w, gf_padding padding)
{
    return pool(GF_OP(MAX_POOL), x, ksize_h, ksize_w, stride_h, stride_w, padding);
}

gf_node *gf_avg_pool(gf_node *x, int ksize_h, int ksize_w, int stride_h, int stride_w, gf_padding padding)
{
    return pool(GF_OP(AVG_POOL), x, ksize_h, ksize_w, stride_h, stride_w, padding);
}

static gf_attrs window_of(const gf_attrs *w)
{
    gf_attrs at = { .window = w->window };
    return at;
}

gf_node *gf__max_pool_grad(gf_node *x, gf_node *dy, const gf_attrs *w)
{
    gf_attrs at = window_of(w);
    return build(GF_OP(MAX_POOL_GRAD), x, dy, &at);
}

gf_node *gf__max_pool_grad_grad(gf_node *x, gf_node *g, const gf_attrs *w)
{
    gf_attrs at = window_of(w);
    return build(GF_OP(MAX_POOL_GRAD_GRAD), x, g, &at);
}

gf_node *gf__avg_pool_grad(gf_node *dy, gf_node *x_like, const gf_attrs *w)
{
    gf_attrs at = window_of(w);
    return build(GF_OP(AVG_POOL_GRAD), dy, x_like, &at);
}
