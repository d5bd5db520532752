/*
 * model_rebuild.c — a node record of a model file made into a node again
 * (model.h): through the op's public constructor, which checks its
 * arguments, or, for the internal ops of gradient rules, after checking
 * here what their constructors take on trust; then the op's shape rule
 * runs as for any node. One row per op that is not generated from the op
 * list (ops/op.h); tests/test_model.c fails for an op without one.
 */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rb_args {
    gf_graph *g;
    const char *name;
    gf_dtype dt;
    gf_shape shape;
    gf_node *const *in;
    const gf_model_fields *f;
    const gf_attrs *a;
    char *why;
    size_t len;
} rb_args;

typedef gf_node *(*rebuild_fn)(const rb_args *r);

/* NULL with the reason: an attribute out of the range the op takes. */
static gf_node *refuse(const rb_args *r, const char *fmt, ...) GF_PRINTF(2, 3);
static gf_node *refuse(const rb_args *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, r->len, fmt, ap);
    va_end(ap);
    return NULL;
}

/* ---- sources ---- */

static gf_node *rb_placeholder(const rb_args *r) { return gf_placeholder(r->g, r->name, r->dt, r->shape); }

static gf_node *rb_constant(const rb_args *r)
{
    const gf_model_fields *f = r->f;
    int64_t k = gf__shape_count_checked(r->shape);
    char b[GF_SHAPE_STR];
    if (!f->has_value) return refuse(r, "a constant needs attribute \"value\"");
    if (k < 0 || (uint64_t)k != f->n_value)
        return refuse(r, "attribute \"value\" holds %llu floats, shape %s holds %s", (unsigned long long)f->n_value,
                      gf_shape_format(r->shape, b, sizeof b), k < 0 ? "an unknown number" : "another number");
    float *data = gf__malloc((size_t)(k ? k : 1) * sizeof(float));
    if (!data) return gf__graph_fail(r->g, GF_ERR_NOMEM, "constant: out of memory");
    for (int64_t i = 0; i < k; i++) {
        uint32_t u = gf__get_u32(f->value + 4 * i);
        memcpy(&data[i], &u, 4);
    }
    gf_node *n = gf_constant(r->g, r->shape, data);
    gf__free(data);
    return n;
}

static gf_node *rb_variable(const rb_args *r)
{
    if (!r->in[0]) return refuse(r, "a variable needs attribute \"init\" (its initializer)");
    gf_node *v = gf_variable(r->g, r->name, r->in[0]);
    return r->f->trainable == 0 ? gf_set_trainable(v, 0) : v;
}

static gf_node *rb_truncated_normal(const rb_args *r)
{
    return gf_truncated_normal(r->g, r->shape, r->a->init.mean, r->a->init.stddev);
}

static gf_node *rb_zeros(const rb_args *r) { return gf_zeros(r->g, r->shape); }

/* ---- public ops ---- */

static gf_node *rb_matmul(const rb_args *r)
{
    return gf_matmul_t(r->in[0], r->in[1], r->a->matmul.transpose_a, r->a->matmul.transpose_b);
}

static gf_node *rb_transpose(const rb_args *r)
{
    if (r->a->transpose.rank != r->in[0]->shape.rank)
        return refuse(r, "attribute \"transpose.perm\" has %d entries, the input's rank is %d", r->a->transpose.rank,
                      r->in[0]->shape.rank);
    return gf_transpose_perm(r->in[0], r->a->transpose.perm);
}

static gf_node *rb_reduce_sum(const rb_args *r)
{
    const gf_reduce_attrs *a = &r->a->reduce;
    return gf_reduce_sum(r->in[0], a->axes, a->n_axes, a->keepdims);
}

static gf_node *rb_reduce_mean(const rb_args *r)
{
    const gf_reduce_attrs *a = &r->a->reduce;
    return gf_reduce_mean(r->in[0], a->axes, a->n_axes, a->keepdims);
}

static gf_node *rb_argmax(const rb_args *r) { return gf_argmax(r->in[0], r->a->argmax.axis); }
static gf_node *rb_cast(const rb_args *r) { return gf_cast(r->in[0], (gf_dtype)r->a->cast.to); }
static gf_node *rb_assign(const rb_args *r) { return gf_assign(r->in[0], r->in[1]); }

static gf_node *rb_reshape(const rb_args *r)
{
    gf_shape t = { .rank = r->a->reshape.rank };
    for (int i = 0; i < t.rank; i++) t.dim[i] = r->a->reshape.dims[i];
    return gf_reshape(r->in[0], t);
}

static gf_node *rb_concat(const rb_args *r) { return gf_concat(r->in[0], r->in[1], r->a->concat.axis); }

static gf_node *rb_slice_rows(const rb_args *r)
{
    return gf_slice_rows(r->in[0], r->a->rows.start, r->a->rows.count);
}

static gf_node *rb_one_hot(const rb_args *r) { return gf_one_hot(r->in[0], r->a->one_hot.depth); }

static gf_node *rb_check_numerics(const rb_args *r)
{
    return gf_check_numerics(r->in[0], r->a->check_numerics.text);
}

static gf_node *rb_conv2d(const rb_args *r)
{
    const gf_attrs *a = r->a;
    return gf_conv2d(r->in[0], r->in[1], a->window.stride_h, a->window.stride_w, (gf_padding)a->window.padding);
}

static gf_node *rb_max_pool(const rb_args *r)
{
    const gf_attrs *a = r->a;
    return gf_max_pool(r->in[0], a->window.ksize_h, a->window.ksize_w, a->window.stride_h, a->window.stride_w,
                       (gf_padding)a->window.padding);
}

static gf_node *rb_avg_pool(const rb_args *r)
{
    const gf_attrs *a = r->a;
    return gf_avg_pool(r->in[0], a->window.ksize_h, a->window.ksize_w, a->window.stride_h, a->window.stride_w,
                       (gf_padding)a->window.padding);
}

/* ---- internal ops: their constructors trust the attributes ---- */

static bool flag_ok(int v) { return v == 0 || v == 1; }

/* A reduction's axes against a rank: distinct, each 0..rank-1. */
static bool axes_ok(const gf_reduce_attrs *ra, int rank)
{
    if (ra->n_axes < 0 || ra->n_axes > rank || !flag_ok(ra->keepdims) || !flag_ok(ra->mean_scale)) return false;
    for (int i = 0; i < ra->n_axes; i++) {
        if (ra->axes[i] < 0 || ra->axes[i] >= rank) return false;
        for (int j = 0; j < i; j++)
            if (ra->axes[j] == ra->axes[i]) return false;
    }
    return true;
}

static gf_node *rb_broadcast_like(const rb_args *r)
{
    const gf_attrs *a = r->a;
    if (a->broadcast_like.mode == GF_BCAST_NUMPY) return gf__broadcast_like(r->in[0], r->in[1]);
    if (a->broadcast_like.mode != GF_BCAST_REDUCED)
        return refuse(r, "attribute \"broadcast_like.mode\" is %d, expected 0 or 1", a->broadcast_like.mode);
    const gf_reduce_attrs *ra = &a->broadcast_like.reduce;
    if (!axes_ok(ra, r->in[1]->shape.rank))
        return refuse(r, "attributes \"broadcast_like.reduce.*\": not a reduction of a rank-%d input (distinct axes "
                         "0..%d, flags 0 or 1)", r->in[1]->shape.rank, r->in[1]->shape.rank - 1);
    return gf__unreduce(r->in[0], r->in[1], ra, ra->mean_scale);
}

static gf_node *concat_part(const rb_args *r, gf_node *(*make)(gf_node *, gf_node *, int, int))
{
    int axis = r->a->concat.axis, rank = r->in[0]->shape.rank;
    if (axis < 0 || axis >= rank || axis >= r->in[1]->shape.rank)
        return refuse(r, "attribute \"concat.axis\" is %d, expected 0..%d", axis, rank - 1);
    if (!flag_ok(r->a->concat.back))
        return refuse(r, "attribute \"concat.back\" is %d, expected 0 or 1", r->a->concat.back);
    return make(r->in[0], r->in[1], axis, r->a->concat.back);
}

static gf_node *rb_concat_slice(const rb_args *r) { return concat_part(r, gf__concat_slice); }
static gf_node *rb_concat_pad(const rb_args *r) { return concat_part(r, gf__concat_pad); }

static gf_node *rb_pad_rows(const rb_args *r)
{
    int start = r->a->rows.start, count = r->a->rows.count;
    if (start < 0 || count < 0 || start > INT32_MAX - count)
        return refuse(r, "attributes \"rows.start\" %d and \"rows.count\" %d: expected both >= 0", start, count);
    return gf__pad_rows(r->in[0], r->in[1], start, count);
}

static gf_node *rb_scatter_add_rows(const rb_args *r)
{
    int64_t rows = r->a->rows.rows;
    if (rows < 0 || rows > GF_MODEL_MAX_ELEMENTS)
        return refuse(r, "attribute \"rows.rows\" is %lld, expected 0..2^40", (long long)rows);
    return gf__scatter_add_rows(r->in[0], r->in[1], rows);
}

static gf_node *rb_dropout_mask(const rb_args *r)
{
    float kp = r->a->dropout.keep_prob;
    if (!(kp > 0.0f && kp <= 1.0f))
        return refuse(r, "attribute \"dropout.keep_prob\" is %g, expected 0 < keep_prob <= 1", (double)kp);
    return gf__dropout_mask(r->in[0], kp, r->a->dropout.seed);
}

static gf_node *rb_dropout_keep_mask(const rb_args *r)
{
    return gf__dropout_keep_mask(r->in[0], r->in[1], r->a->dropout.seed);
}

/* Strides >= 1, padding SAME or VALID, and (pools) a window >= 1. */
static bool window_ok(const rb_args *r, bool pool)
{
    const gf_attrs *a = r->a;
    if (a->window.stride_h >= 1 && a->window.stride_w >= 1 && flag_ok(a->window.padding) &&
        (!pool || (a->window.ksize_h >= 1 && a->window.ksize_w >= 1)))
        return true;
    refuse(r, "attributes \"window.*\": ksize %dx%d, strides %dx%d, padding %d: expected %sstrides >= 1 and "
              "padding 0 (SAME) or 1 (VALID)", a->window.ksize_h, a->window.ksize_w, a->window.stride_h,
           a->window.stride_w, a->window.padding, pool ? "ksize and " : "");
    return false;
}

static gf_node *rb_conv2d_backprop_input(const rb_args *r)
{
    if (!window_ok(r, false)) return NULL;
    return gf__conv2d_backprop_input(r->in[0], r->in[1], r->in[2], r->a->window.stride_h, r->a->window.stride_w,
                                     r->a->window.padding);
}

static gf_node *rb_conv2d_backprop_filter(const rb_args *r)
{
    if (!window_ok(r, false)) return NULL;
    return gf__conv2d_backprop_filter(r->in[0], r->in[1], r->in[2], r->a->window.stride_h, r->a->window.stride_w,
                                      r->a->window.padding);
}

static gf_node *rb_max_pool_grad(const rb_args *r)
{
    return window_ok(r, true) ? gf__max_pool_grad(r->in[0], r->in[1], r->a) : NULL;
}

static gf_node *rb_max_pool_grad_grad(const rb_args *r)
{
    return window_ok(r, true) ? gf__max_pool_grad_grad(r->in[0], r->in[1], r->a) : NULL;
}

static gf_node *rb_avg_pool_grad(const rb_args *r)
{
    return window_ok(r, true) ? gf__avg_pool_grad(r->in[0], r->in[1], r->a) : NULL;
}

static gf_node *rb_apply_adam(const rb_args *r)
{
    const gf_attrs *a = r->a;
    if (!isfinite(a->adam.beta1) || !isfinite(a->adam.beta2) || !isfinite(a->adam.epsilon))
        return refuse(r, "attributes \"adam.*\": beta1 %g, beta2 %g, epsilon %g: expected finite values",
                      (double)a->adam.beta1, (double)a->adam.beta2, (double)a->adam.epsilon);
    return gf__apply_adam(r->in[0], r->in[1], r->in[2], r->in[3], r->in[4], a->adam.beta1, a->adam.beta2,
                          a->adam.epsilon);
}

/* The ops whose constructors are written by hand (ctor CUSTOM); the
 * generated ones are rebuilt through the op list's make1/make2. */
static const rebuild_fn custom[GF_OP_COUNT] = {
    [GF_OP_PLACEHOLDER] = rb_placeholder,
    [GF_OP_CONSTANT] = rb_constant,
    [GF_OP_VARIABLE] = rb_variable,
    [GF_OP_TRUNCATED_NORMAL] = rb_truncated_normal,
    [GF_OP_ZEROS] = rb_zeros,
    [GF_OP_MATMUL] = rb_matmul,
    [GF_OP_TRANSPOSE] = rb_transpose,
    [GF_OP_REDUCE_SUM] = rb_reduce_sum,
    [GF_OP_REDUCE_MEAN] = rb_reduce_mean,
    [GF_OP_ARGMAX] = rb_argmax,
    [GF_OP_CAST] = rb_cast,
    [GF_OP_ASSIGN] = rb_assign,
    [GF_OP_BROADCAST_LIKE] = rb_broadcast_like,
    [GF_OP_RESHAPE] = rb_reshape,
    [GF_OP_CONCAT] = rb_concat,
    [GF_OP_SLICE_ROWS] = rb_slice_rows,
    [GF_OP_ONE_HOT] = rb_one_hot,
    [GF_OP_CONCAT_SLICE] = rb_concat_slice,
    [GF_OP_CONCAT_PAD] = rb_concat_pad,
    [GF_OP_PAD_ROWS] = rb_pad_rows,
    [GF_OP_SCATTER_ADD_ROWS] = rb_scatter_add_rows,
    [GF_OP_DROPOUT_MASK] = rb_dropout_mask,
    [GF_OP_CHECK_NUMERICS] = rb_check_numerics,
    [GF_OP_DROPOUT_KEEP_MASK] = rb_dropout_keep_mask,
    [GF_OP_CONV2D] = rb_conv2d,
    [GF_OP_CONV2D_BACKPROP_INPUT] = rb_conv2d_backprop_input,
    [GF_OP_CONV2D_BACKPROP_FILTER] = rb_conv2d_backprop_filter,
    [GF_OP_MAX_POOL] = rb_max_pool,
    [GF_OP_MAX_POOL_GRAD] = rb_max_pool_grad,
    [GF_OP_MAX_POOL_GRAD_GRAD] = rb_max_pool_grad_grad,
    [GF_OP_AVG_POOL] = rb_avg_pool,
    [GF_OP_AVG_POOL_GRAD] = rb_avg_pool_grad,
    [GF_OP_APPLY_ADAM] = rb_apply_adam,
};

bool gf__model_op_loadable(const gf_op *op)
{
    int id = (int)(op - gf__ops);
    if (id < 0 || id >= GF_OP_COUNT) return false;
    switch (op->ctor) {
    case GF_CTOR_UNARY:
        return op->make1 != NULL;
    case GF_CTOR_BINARY:
    case GF_CTOR_INTERNAL_BINARY:
        return op->make2 != NULL;
    default:
        return custom[id] != NULL;
    }
}

gf_node *gf__model_rebuild(gf_graph *g, const gf_op *op, const char *name, gf_dtype dt, gf_shape shape,
                           gf_node *const *in, const gf_model_fields *f, char *why, size_t len)
{
    rb_args r = { g, name, dt, shape, in, f, &f->attrs, why, len };
    if (f->has_value && !(op->flags & GF_OPF_CONSTANT))
        return refuse(&r, "attribute \"value\" is for constants, not op %s", op->name);
    if ((f->init >= 0 || f->trainable >= 0) && !(op->flags & GF_OPF_VARIABLE))
        return refuse(&r, "attributes \"init\" and \"trainable\" are for variables, not op %s", op->name);
    if (!gf__model_op_loadable(op)) return refuse(&r, "op %s cannot be rebuilt", op->name);
    switch (op->ctor) {
    case GF_CTOR_UNARY:
        return op->make1(in[0]);
    case GF_CTOR_BINARY:
    case GF_CTOR_INTERNAL_BINARY:
        return op->make2(in[0], in[1]);
    default:
        return custom[op - gf__ops](&r);
    }
}
