/*
 * shape_rules.c — every op's shape rule: output shape and dtype from the
 * inputs', or the reason they are refused. Used at build and at run time.
 */
#include "op.h"

#include <stdio.h>
#include <string.h>

#define SHAPE_ARGS                                                              \
    const gf_node *n, const gf_shape *in, const gf_dtype *dt, gf_shape *out,   \
        gf_dtype *out_dt, char *msg, size_t len

static bool need_float(const gf_dtype *dt, int k, char *msg, size_t len)
{
    for (int i = 0; i < k; i++) {
        if (dt[i] != GF_F32) {
            snprintf(msg, len, "input %d has dtype %s, expected float32 (use cast)", i,
                     gf_dtype_name(dt[i]));
            return false;
        }
    }
    return true;
}

bool gf__shape_source(SHAPE_ARGS)
{
    (void)in; (void)dt; (void)msg; (void)len;
    *out = n->shape;
    *out_dt = n->dtype;
    return true;
}

bool gf__shape_unary(SHAPE_ARGS)
{
    (void)n;
    if (!need_float(dt, 1, msg, len)) return false;
    *out = in[0];
    *out_dt = GF_F32;
    return true;
}

static bool broadcast(const gf_shape *in, gf_shape *out, char *msg, size_t len)
{
    if (gf__broadcast_shape(in[0], in[1], out)) return true;
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    snprintf(msg, len, "shapes %s and %s do not broadcast", gf_shape_format(in[0], a, sizeof a),
             gf_shape_format(in[1], b, sizeof b));
    return false;
}

bool gf__shape_binary(SHAPE_ARGS)
{
    (void)n;
    if (!need_float(dt, 2, msg, len)) return false;
    *out_dt = GF_F32;
    return broadcast(in, out, msg, len);
}

bool gf__shape_compare(SHAPE_ARGS)
{
    (void)n;
    if (dt[0] != dt[1]) {
        snprintf(msg, len, "inputs have dtypes %s and %s, expected one dtype",
                 gf_dtype_name(dt[0]), gf_dtype_name(dt[1]));
        return false;
    }
    *out_dt = GF_BOOL;
    return broadcast(in, out, msg, len);
}

bool gf__shape_matmul(SHAPE_ARGS)
{
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    if (!need_float(dt, 2, msg, len)) return false;
    if (in[0].rank != 2 || in[1].rank != 2) {
        snprintf(msg, len, "both inputs must be rank 2, got shapes %s and %s",
                 gf_shape_format(in[0], a, sizeof a), gf_shape_format(in[1], b, sizeof b));
        return false;
    }
    int ta = n->attrs.matmul.transpose_a, tb = n->attrs.matmul.transpose_b;
    int64_t rows = in[0].dim[ta ? 1 : 0], ka = in[0].dim[ta ? 0 : 1];
    int64_t kb = in[1].dim[tb ? 1 : 0], cols = in[1].dim[tb ? 0 : 1];
    if (ka != kb && ka != GF_ANY && kb != GF_ANY) {
        snprintf(msg, len,
                 "dimensions must be equal, but are %lld and %lld, with input shapes %s and %s%s",
                 (long long)ka, (long long)kb, gf_shape_format(in[0], a, sizeof a),
                 gf_shape_format(in[1], b, sizeof b),
                 ta || tb ? (ta && tb ? " (both transposed)" : ta ? " (a transposed)" : " (b transposed)")
                          : "");
        return false;
    }
    *out = gf_dims(2, 0, 0);
    out->dim[0] = rows;
    out->dim[1] = cols;
    *out_dt = GF_F32;
    return true;
}

bool gf__shape_transpose(SHAPE_ARGS)
{
    (void)dt; (void)msg; (void)len;
    /* The constructor checked that perm is a permutation of 0..rank-1. */
    *out = in[0];
    for (int i = 0; i < in[0].rank; i++) out->dim[i] = in[0].dim[n->attrs.transpose.perm[i]];
    *out_dt = dt[0];
    return true;
}

bool gf__shape_reduce(SHAPE_ARGS)
{
    if (!need_float(dt, 1, msg, len)) return false;
    /* Axes were normalised and checked by the constructor; none = all. */
    const gf_reduce_attrs *ra = &n->attrs.reduce;
    bool reduced[GF_MAX_RANK] = { false };
    for (int i = 0; i < ra->n_axes; i++) reduced[ra->axes[i]] = true;
    if (ra->n_axes == 0)
        for (int i = 0; i < in[0].rank; i++) reduced[i] = true;
    gf_shape r = { .rank = 0 };
    for (int i = 0; i < in[0].rank; i++) {
        if (!reduced[i]) r.dim[r.rank++] = in[0].dim[i];
        else if (ra->keepdims) r.dim[r.rank++] = 1;
    }
    *out = r;
    *out_dt = GF_F32;
    return true;
}

bool gf__shape_argmax(SHAPE_ARGS)
{
    if (dt[0] == GF_BOOL) {
        snprintf(msg, len, "input has dtype bool, expected float32 or int32");
        return false;
    }
    int axis = n->attrs.argmax.axis;
    if (in[0].dim[axis] == 0) {
        char a[GF_SHAPE_STR];
        snprintf(msg, len, "axis %d of %s is empty: argmax of nothing", axis,
                 gf_shape_format(in[0], a, sizeof a));
        return false;
    }
    gf_shape r = { .rank = 0 };
    for (int i = 0; i < in[0].rank; i++)
        if (i != axis) r.dim[r.rank++] = in[0].dim[i];
    *out = r;
    *out_dt = GF_I32;
    return true;
}

bool gf__shape_cast(SHAPE_ARGS)
{
    (void)dt; (void)msg; (void)len;
    *out = in[0];
    *out_dt = n->attrs.cast.to;
    return true;
}

/* apply_adam(var, m, v, grad, lr_t): four float32 tensors of var's shape
 * and a float32 scalar. */
bool gf__shape_apply_adam(SHAPE_ARGS)
{
    (void)n;
    static const char *what[5] = { "var", "m", "v", "grad", "lr_t" };
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    for (int i = 0; i < 5; i++)
        if (dt[i] != GF_F32) {
            snprintf(msg, len, "%s has dtype %s: expected float32", what[i], gf_dtype_name(dt[i]));
            return false;
        }
    for (int i = 1; i < 4; i++) {
        bool ok = in[i].rank == in[0].rank;
        for (int d = 0; ok && d < in[0].rank; d++)
            ok = in[i].dim[d] == in[0].dim[d] || (i == 3 && in[i].dim[d] == GF_ANY);
        if (!ok) {
            snprintf(msg, len, "%s has shape %s: expected var's shape %s", what[i],
                     gf_shape_format(in[i], b, sizeof b), gf_shape_format(in[0], a, sizeof a));
            return false;
        }
    }
    if (gf_shape_count(in[4]) != 1 || in[4].rank > 1) {
        snprintf(msg, len, "lr_t has shape %s: expected a scalar", gf_shape_format(in[4], a, sizeof a));
        return false;
    }
    *out = in[0];
    *out_dt = GF_F32;
    return true;
}

bool gf__shape_assign(SHAPE_ARGS)
{
    (void)n;
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    if (dt[0] != dt[1]) {
        snprintf(msg, len, "value has dtype %s, variable has %s", gf_dtype_name(dt[1]),
                 gf_dtype_name(dt[0]));
        return false;
    }
    bool ok = in[0].rank == in[1].rank;
    for (int i = 0; ok && i < in[0].rank; i++)
        ok = in[0].dim[i] == in[1].dim[i] || in[1].dim[i] == GF_ANY;
    if (!ok) {
        snprintf(msg, len, "value of shape %s cannot be assigned to a variable of shape %s",
                 gf_shape_format(in[1], b, sizeof b), gf_shape_format(in[0], a, sizeof a));
        return false;
    }
    *out = in[0];
    *out_dt = dt[0];
    return true;
}

bool gf__shape_group(SHAPE_ARGS)
{
    (void)n; (void)in; (void)dt; (void)msg; (void)len;
    *out = gf_dims(0);
    *out_dt = GF_F32;
    return true;
}

/* True when dimension a may equal b (an open one may be anything). */
static bool dim_fits(int64_t a, int64_t b) { return a == b || a == GF_ANY || b == GF_ANY; }

/* sum_to(g, like): like must broadcast to g's shape; out has like's. */
bool gf__shape_sum_to(SHAPE_ARGS)
{
    (void)n;
    gf_shape b;
    bool ok = gf__broadcast_shape(in[1], in[0], &b) && b.rank == in[0].rank;
    for (int i = 0; ok && i < b.rank; i++) ok = dim_fits(b.dim[i], in[0].dim[i]);
    if (!need_float(dt, 1, msg, len)) return false;
    if (!ok) {
        char a[GF_SHAPE_STR], c[GF_SHAPE_STR];
        snprintf(msg, len, "shape %s cannot be summed down to %s", gf_shape_format(in[0], a, sizeof a),
                 gf_shape_format(in[1], c, sizeof c));
        return false;
    }
    *out = in[1];
    *out_dt = GF_F32;
    return true;
}

/* broadcast_like(g, like): NumPy mode: g must broadcast to like's shape.
 * Reduced mode: g is like's shape reduced as attrs.broadcast_like.reduce (keepdims or
 * not). out has like's shape. */
bool gf__shape_broadcast_like(SHAPE_ARGS)
{
    bool ok;
    if (!need_float(dt, 1, msg, len)) return false;
    const gf_reduce_attrs *ra = &n->attrs.broadcast_like.reduce;
    if (n->attrs.broadcast_like.mode == GF_BCAST_NUMPY) {
        gf_shape b;
        ok = gf__broadcast_shape(in[0], in[1], &b) && b.rank == in[1].rank;
        for (int i = 0; ok && i < b.rank; i++) ok = dim_fits(b.dim[i], in[1].dim[i]);
    } else {
        bool reduced[GF_MAX_RANK] = { false };
        for (int i = 0; i < ra->n_axes; i++) reduced[ra->axes[i]] = true;
        if (ra->n_axes == 0)
            for (int i = 0; i < in[1].rank; i++) reduced[i] = true;
        int k = 0;
        ok = true;
        for (int i = 0; ok && i < in[1].rank; i++) {
            if (reduced[i] && !ra->keepdims) continue;
            ok = k < in[0].rank && dim_fits(in[0].dim[k], reduced[i] ? 1 : in[1].dim[i]);
            k++;
        }
        ok = ok && k == in[0].rank;
    }
    if (!ok) {
        char a[GF_SHAPE_STR], c[GF_SHAPE_STR];
        snprintf(msg, len, "shape %s cannot be broadcast to %s", gf_shape_format(in[0], a, sizeof a),
                 gf_shape_format(in[1], c, sizeof c));
        return false;
    }
    *out = in[1];
    *out_dt = GF_F32;
    return true;
}

/* ---- the model zoo ---- */

/* The known one of two dimensions that fit (dim_fits), else open. */
static int64_t merge_dim(int64_t a, int64_t b) { return a != GF_ANY ? a : b; }

/* softmax, log_softmax: float32, rank >= 1; the shape is kept. */
bool gf__shape_last_axis(SHAPE_ARGS)
{
    if (!need_float(dt, 1, msg, len)) return false;
    if (in[0].rank < 1) {
        snprintf(msg, len, "input is a scalar: expected rank >= 1 (%s works along the last axis)",
                 n->op->name);
        return false;
    }
    *out = in[0];
    *out_dt = GF_F32;
    return true;
}

/* softmax_cross_entropy_with_logits(labels [..., k], logits [..., k]):
 * equal shapes of rank >= 1; out [...] drops the class axis. */
bool gf__shape_xent(SHAPE_ARGS)
{
    (void)n;
    if (!need_float(dt, 2, msg, len)) return false;
    bool ok = in[0].rank == in[1].rank && in[0].rank >= 1;
    for (int i = 0; ok && i < in[0].rank; i++) ok = dim_fits(in[0].dim[i], in[1].dim[i]);
    if (!ok) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
        snprintf(msg, len,
                 "labels of shape %s and logits of shape %s: expected equal shapes of rank >= 1 "
                 "(classes along the last axis)",
                 gf_shape_format(in[0], a, sizeof a), gf_shape_format(in[1], b, sizeof b));
        return false;
    }
    gf_shape r = { .rank = in[1].rank - 1 };
    for (int i = 0; i < r.rank; i++) r.dim[i] = merge_dim(in[1].dim[i], in[0].dim[i]);
    *out = r;
    *out_dt = GF_F32;
    return true;
}

/* reshape: the target (attrs.reshape: rank dims, one of them maybe -1)
 * must hold the input's element count; -1 is inferred from it, or stays
 * open while the input's count is. Any dtype. */
bool gf__shape_reshape(SHAPE_ARGS)
{
    gf_shape t = { .rank = n->attrs.reshape.rank };
    int infer = -1;
    int64_t known = 1; /* product of the target's given dims (checked <= 2^40) */
    for (int i = 0; i < t.rank; i++) {
        t.dim[i] = n->attrs.reshape.dims[i];
        if (t.dim[i] < 0) infer = i;
        else known *= t.dim[i];
    }
    int64_t c = gf__shape_count_checked(in[0]), given = 1;
    for (int i = 0; i < in[0].rank; i++) /* an overflow here cannot match */
        if (in[0].dim[i] != GF_ANY && __builtin_mul_overflow(given, in[0].dim[i], &given)) given = -1;
    bool ok;
    if (c >= 0 && infer >= 0) ok = known > 0 && c % known == 0;
    else if (c >= 0) ok = c == known;
    else if (infer >= 0) ok = true; /* decided at run time */
    else ok = given == 0 ? known == 0 : known % given == 0;
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    if (!ok) {
        gf_shape_format(in[0], a, sizeof a);
        gf_shape_format(t, b, sizeof b); /* ? marks the inferred dimension */
        if (c >= 0)
            snprintf(msg, len, "cannot reshape %lld elements (shape %s) into shape %s%s", (long long)c, a, b,
                     infer >= 0 ? (known == 0 ? " (no dimension can be inferred next to a 0)"
                                              : " (the ? must divide them exactly)") : "");
        else
            snprintf(msg, len, "cannot reshape shape %s into shape %s: the element counts cannot match", a, b);
        return false;
    }
    if (infer >= 0) t.dim[infer] = c >= 0 ? c / known : GF_ANY;
    *out = t;
    *out_dt = dt[0];
    return true;
}

/* reshape_like(g, like): like's shape, with g's dtype and element count. */
bool gf__shape_reshape_like(SHAPE_ARGS)
{
    (void)n;
    int64_t c0 = gf__shape_count_checked(in[0]), c1 = gf__shape_count_checked(in[1]);
    if (c0 >= 0 && c1 >= 0 && c0 != c1) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
        snprintf(msg, len, "shape %s (%lld elements) cannot be reshaped to %s (%lld elements)",
                 gf_shape_format(in[0], a, sizeof a), (long long)c0, gf_shape_format(in[1], b, sizeof b),
                 (long long)c1);
        return false;
    }
    *out = in[1];
    *out_dt = dt[0];
    return true;
}

/* concat(a, b) along attrs.concat.axis: one dtype, one rank, equal dims off
 * the axis; the axis's dims add up. */
bool gf__shape_concat(SHAPE_ARGS)
{
    int axis = n->attrs.concat.axis;
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    if (dt[0] != dt[1]) {
        snprintf(msg, len, "inputs have dtypes %s and %s, expected one dtype", gf_dtype_name(dt[0]),
                 gf_dtype_name(dt[1]));
        return false;
    }
    bool ok = in[0].rank == in[1].rank && axis < in[0].rank;
    for (int i = 0; ok && i < in[0].rank; i++) ok = i == axis || dim_fits(in[0].dim[i], in[1].dim[i]);
    if (!ok) {
        snprintf(msg, len, "shapes %s and %s must have one rank and match except along axis %d",
                 gf_shape_format(in[0], a, sizeof a), gf_shape_format(in[1], b, sizeof b), axis);
        return false;
    }
    gf_shape r = in[0];
    for (int i = 0; i < r.rank; i++) r.dim[i] = merge_dim(in[0].dim[i], in[1].dim[i]);
    int64_t sum;
    if (in[0].dim[axis] == GF_ANY || in[1].dim[axis] == GF_ANY) sum = GF_ANY;
    else if (__builtin_add_overflow(in[0].dim[axis], in[1].dim[axis], &sum) || sum > ((int64_t)1 << 40)) {
        snprintf(msg, len, "concatenating %s and %s along axis %d gives too many elements",
                 gf_shape_format(in[0], a, sizeof a), gf_shape_format(in[1], b, sizeof b), axis);
        return false;
    }
    r.dim[axis] = sum;
    *out = r;
    *out_dt = dt[0];
    return true;
}

/* The part/whole check of concat_slice and concat_pad: one rank, equal
 * dims off the axis, the part no longer than the whole along it. */
static bool part_of(const gf_node *n, gf_shape part, gf_shape whole, gf_shape like, gf_shape *out,
                    char *msg, size_t len)
{
    int axis = n->attrs.concat.axis;
    bool ok = part.rank == whole.rank && axis < part.rank;
    for (int i = 0; ok && i < part.rank; i++)
        ok = i == axis ? part.dim[i] == GF_ANY || whole.dim[i] == GF_ANY || part.dim[i] <= whole.dim[i]
                       : dim_fits(part.dim[i], whole.dim[i]);
    if (!ok) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
        snprintf(msg, len, "shape %s is not a part of shape %s along axis %d", gf_shape_format(part, a, sizeof a),
                 gf_shape_format(whole, b, sizeof b), axis);
        return false;
    }
    *out = like;
    for (int i = 0; i < like.rank; i++)
        if (i != axis) out->dim[i] = merge_dim(part.dim[i], whole.dim[i]);
    return true;
}

/* concat_slice(full, like): like's shape, a part of full. */
bool gf__shape_concat_slice(SHAPE_ARGS)
{
    *out_dt = dt[0];
    return part_of(n, in[1], in[0], in[1], out, msg, len);
}

/* concat_pad(part, like): like's shape, which part is a part of. */
bool gf__shape_concat_pad(SHAPE_ARGS)
{
    if (!need_float(dt, 1, msg, len)) return false;
    *out_dt = GF_F32;
    return part_of(n, in[0], in[1], in[1], out, msg, len);
}

/* slice_rows(x): rows start..start+count-1 (attrs.rows) of x
 * (rank >= 1, any dtype), which must have them. */
bool gf__shape_slice_rows(SHAPE_ARGS)
{
    char a[GF_SHAPE_STR];
    int64_t start = n->attrs.rows.start, count = n->attrs.rows.count;
    if (in[0].rank < 1) {
        snprintf(msg, len, "input is a scalar: expected rank >= 1 (rows are along the first axis)");
        return false;
    }
    if (in[0].dim[0] != GF_ANY && start + count > in[0].dim[0]) {
        snprintf(msg, len, "rows %lld..%lld (start %lld, count %lld) are out of range for shape %s", (long long)start,
                 (long long)(start + count - 1), (long long)start, (long long)count,
                 gf_shape_format(in[0], a, sizeof a));
        return false;
    }
    *out = in[0];
    out->dim[0] = count;
    *out_dt = dt[0];
    return true;
}

/* pad_rows(g [count, ...], like [rows, ...]): like's shape; g's rows go at
 * start, which must leave room for them. */
bool gf__shape_pad_rows(SHAPE_ARGS)
{
    int64_t start = n->attrs.rows.start, count = n->attrs.rows.count;
    if (!need_float(dt, 1, msg, len)) return false;
    bool ok = in[0].rank == in[1].rank && in[0].rank >= 1 && dim_fits(in[0].dim[0], count) &&
              (in[1].dim[0] == GF_ANY || start + count <= in[1].dim[0]);
    for (int i = 1; ok && i < in[0].rank; i++) ok = dim_fits(in[0].dim[i], in[1].dim[i]);
    if (!ok) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
        snprintf(msg, len, "%lld rows of shape %s cannot be placed at row %lld of shape %s", (long long)count,
                 gf_shape_format(in[0], a, sizeof a), (long long)start, gf_shape_format(in[1], b, sizeof b));
        return false;
    }
    *out = in[1];
    for (int i = 1; i < out->rank; i++) out->dim[i] = merge_dim(in[1].dim[i], in[0].dim[i]);
    *out_dt = GF_F32;
    return true;
}

static bool need_int_indices(const gf_dtype *dt, int k, char *msg, size_t len)
{
    if (dt[k] == GF_I32) return true;
    snprintf(msg, len, "indices (input %d) have dtype %s, expected int32 (use cast)", k, gf_dtype_name(dt[k]));
    return false;
}

/* gather_rows(x [rows, ...], indices [...] int32): [indices..., x's dims
 * past the first], x's dtype. */
bool gf__shape_gather_rows(SHAPE_ARGS)
{
    (void)n;
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    if (!need_int_indices(dt, 1, msg, len)) return false;
    int rank = in[1].rank + in[0].rank - 1;
    if (in[0].rank < 1 || rank > GF_MAX_RANK) {
        snprintf(msg, len, "input of shape %s and indices of shape %s: expected input rank >= 1 and a result of "
                 "rank <= %d", gf_shape_format(in[0], a, sizeof a), gf_shape_format(in[1], b, sizeof b),
                 GF_MAX_RANK);
        return false;
    }
    gf_shape r = in[1];
    r.rank = rank;
    for (int i = 1; i < in[0].rank; i++) r.dim[in[1].rank + i - 1] = in[0].dim[i];
    *out = r;
    *out_dt = dt[0];
    return true;
}

/* scatter_add_rows(g [indices..., ...], indices int32): [rows (attrs.rows.rows),
 * g's dims past the indices'], float32. */
bool gf__shape_scatter_add_rows(SHAPE_ARGS)
{
    if (!need_float(dt, 1, msg, len) || !need_int_indices(dt, 1, msg, len)) return false;
    int ri = in[1].rank;
    bool ok = in[0].rank >= ri && 1 + in[0].rank - ri <= GF_MAX_RANK;
    for (int i = 0; ok && i < ri; i++) ok = dim_fits(in[0].dim[i], in[1].dim[i]);
    if (!ok) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
        snprintf(msg, len, "values of shape %s do not start with the indices' shape %s",
                 gf_shape_format(in[0], a, sizeof a), gf_shape_format(in[1], b, sizeof b));
        return false;
    }
    gf_shape r = { .rank = 1 + in[0].rank - ri };
    r.dim[0] = n->attrs.rows.rows;
    for (int i = ri; i < in[0].rank; i++) r.dim[1 + i - ri] = in[0].dim[i];
    *out = r;
    *out_dt = GF_F32;
    return true;
}

/* one_hot(indices [...] int32, rank <= 3): [indices..., depth] float32. */
bool gf__shape_one_hot(SHAPE_ARGS)
{
    if (!need_int_indices(dt, 0, msg, len)) return false;
    if (in[0].rank >= GF_MAX_RANK) {
        char a[GF_SHAPE_STR];
        snprintf(msg, len, "indices of shape %s: expected rank <= %d (one_hot adds an axis)",
                 gf_shape_format(in[0], a, sizeof a), GF_MAX_RANK - 1);
        return false;
    }
    *out = in[0];
    out->dim[out->rank++] = n->attrs.one_hot.depth;
    *out_dt = GF_F32;
    return true;
}

/* dropout_keep_mask(x, keep_prob): x's shape, float32; keep_prob a float32
 * scalar (its value is checked when run). */
bool gf__shape_dropout_keep_mask(SHAPE_ARGS)
{
    (void)n;
    if (!need_float(dt, 2, msg, len)) return false;
    if (in[1].rank != 0) {
        char a[GF_SHAPE_STR];
        snprintf(msg, len, "keep_prob (input 1) has shape %s: expected a scalar", gf_shape_format(in[1], a, sizeof a));
        return false;
    }
    *out = in[0];
    *out_dt = GF_F32;
    return true;
}

/* ---- convolution and pooling (NHWC) ---- */

bool gf__window_out(int64_t in, int64_t k, int64_t s, int padding, int64_t *out, int64_t *pad_before)
{
    if (padding == GF_SAME) {
        int64_t o = in / s + (in % s != 0); /* ceil(in / s) */
        int64_t need = o > 0 ? (o - 1) * s + k - in : 0;
        *out = o;
        *pad_before = need > 0 ? need / 2 : 0;
        return true;
    }
    if (k > in) return false;
    *out = (in - k) / s + 1; /* ceil((in - k + 1) / s) */
    *pad_before = 0;
    return true;
}

/* The spatial output size of a window k (maybe open) over in (maybe open)
 * along one axis; false with a message when VALID and k > in. */
static bool window_dim(const gf_node *n, const char *axis, int64_t in, int64_t k, int64_t s, gf_shape x,
                       int64_t *out, char *msg, size_t len)
{
    int64_t pad;
    if (in == GF_ANY || k == GF_ANY) {
        *out = GF_ANY;
        if (n->attrs.window.padding == GF_SAME && in != GF_ANY) gf__window_out(in, 1, s, GF_SAME, out, &pad);
        return true;
    }
    if (gf__window_out(in, k, s, n->attrs.window.padding, out, &pad)) return true;
    char a[GF_SHAPE_STR];
    snprintf(msg, len,
             "the window's %s %lld is larger than the input's %lld (input shape %s) with VALID padding: "
             "use SAME padding or a smaller window",
             axis, (long long)k, (long long)in, gf_shape_format(x, a, sizeof a));
    return false;
}

/* Rank 4 check for input k, named what. */
static bool need_rank4(const gf_shape *in, int k, const char *what, char *msg, size_t len)
{
    if (in[k].rank == 4) return true;
    char a[GF_SHAPE_STR];
    snprintf(msg, len, "%s (input %d) has shape %s: expected rank 4, %s", what, k,
             gf_shape_format(in[k], a, sizeof a),
             !strcmp(what, "filter") ? "[height, width, in_channels, out_channels]"
                                     : "[batch, height, width, channels] (NHWC)");
    return false;
}

/* conv2d's output shape for input x [N,H,W,C] and filter f [KH,KW,C,O]. */
static bool conv_out(const gf_node *n, gf_shape x, gf_shape f, gf_shape *out, char *msg, size_t len)
{
    if (!dim_fits(x.dim[3], f.dim[2])) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
        snprintf(msg, len,
                 "input channels must equal the filter's in_channels: dimensions must be equal, but are %lld "
                 "and %lld, with input shape %s and filter shape %s",
                 (long long)x.dim[3], (long long)f.dim[2], gf_shape_format(x, a, sizeof a),
                 gf_shape_format(f, b, sizeof b));
        return false;
    }
    gf_shape r = gf_dims(4, x.dim[0], 0, 0, f.dim[3]);
    if (!window_dim(n, "height", x.dim[1], f.dim[0], n->attrs.window.stride_h, x, &r.dim[1], msg, len) ||
        !window_dim(n, "width", x.dim[2], f.dim[1], n->attrs.window.stride_w, x, &r.dim[2], msg, len))
        return false;
    if (gf__shape_count_checked(r) == -2) {
        char a[GF_SHAPE_STR], b[GF_SHAPE_STR], c[GF_SHAPE_STR];
        snprintf(msg, len, "input shape %s and filter shape %s give an output %s with too many elements",
                 gf_shape_format(x, a, sizeof a), gf_shape_format(f, b, sizeof b), gf_shape_format(r, c, sizeof c));
        return false;
    }
    *out = r;
    return true;
}

/* A gradient's dy must have the shape of the op's output (open dims fit). */
static bool dy_fits(gf_shape dy, gf_shape want, const char *op_what, char *msg, size_t len)
{
    bool ok = dy.rank == want.rank;
    for (int i = 0; ok && i < dy.rank; i++) ok = dim_fits(dy.dim[i], want.dim[i]);
    if (ok) return true;
    char a[GF_SHAPE_STR], b[GF_SHAPE_STR];
    snprintf(msg, len, "the gradient has shape %s but %s has shape %s", gf_shape_format(dy, a, sizeof a), op_what,
             gf_shape_format(want, b, sizeof b));
    return false;
}

/* conv2d(input [N,H,W,C], filter [KH,KW,C,O]) -> [N,OH,OW,O]. */
bool gf__shape_conv2d(SHAPE_ARGS)
{
    if (!need_float(dt, 2, msg, len) || !need_rank4(in, 0, "input", msg, len) ||
        !need_rank4(in, 1, "filter", msg, len) || !conv_out(n, in[0], in[1], out, msg, len))
        return false;
    *out_dt = GF_F32;
    return true;
}

/* conv2d_backprop_input(dy, filter, like): like's shape; dy shaped as
 * conv2d(like, filter). */
bool gf__shape_conv2d_backprop_input(SHAPE_ARGS)
{
    gf_shape y;
    if (!need_float(dt, 2, msg, len) || !need_rank4(in, 0, "dy", msg, len) ||
        !need_rank4(in, 1, "filter", msg, len) || !need_rank4(in, 2, "input", msg, len) ||
        !conv_out(n, in[2], in[1], &y, msg, len) || !dy_fits(in[0], y, "the convolution's output", msg, len))
        return false;
    *out = in[2];
    out->dim[0] = merge_dim(in[2].dim[0], in[0].dim[0]);
    *out_dt = GF_F32;
    return true;
}

/* conv2d_backprop_filter(input, dy, like): like's shape; dy shaped as
 * conv2d(input, like). */
bool gf__shape_conv2d_backprop_filter(SHAPE_ARGS)
{
    gf_shape y;
    if (!need_float(dt, 2, msg, len) || !need_rank4(in, 0, "input", msg, len) ||
        !need_rank4(in, 1, "dy", msg, len) || !need_rank4(in, 2, "filter", msg, len) ||
        !conv_out(n, in[0], in[2], &y, msg, len) || !dy_fits(in[1], y, "the convolution's output", msg, len))
        return false;
    *out = in[2];
    *out_dt = GF_F32;
    return true;
}

/* A pool's output [N,OH,OW,C] for x [N,H,W,C]. */
static bool pool_out(const gf_node *n, gf_shape x, gf_shape *out, char *msg, size_t len)
{
    gf_shape r = x;
    return window_dim(n, "height", x.dim[1], n->attrs.window.ksize_h, n->attrs.window.stride_h, x, &r.dim[1], msg,
                      len) &&
           window_dim(n, "width", x.dim[2], n->attrs.window.ksize_w, n->attrs.window.stride_w, x, &r.dim[2], msg,
                      len) &&
           (*out = r, true);
}

bool gf__shape_pool(SHAPE_ARGS)
{
    if (!need_float(dt, 1, msg, len) || !need_rank4(in, 0, "input", msg, len) || !pool_out(n, in[0], out, msg, len))
        return false;
    *out_dt = GF_F32;
    return true;
}

/* max_pool_grad(x, dy): x's shape; dy shaped as max_pool(x). */
bool gf__shape_max_pool_grad(SHAPE_ARGS)
{
    gf_shape y;
    if (!need_float(dt, 2, msg, len) || !need_rank4(in, 0, "input", msg, len) || !pool_out(n, in[0], &y, msg, len) ||
        !dy_fits(in[1], y, "the pool's output", msg, len))
        return false;
    *out = in[0];
    out->dim[0] = merge_dim(in[0].dim[0], in[1].dim[0]);
    *out_dt = GF_F32;
    return true;
}

/* max_pool_grad_grad(x, g): max_pool(x)'s shape; g shaped as x. */
bool gf__shape_max_pool_grad_grad(SHAPE_ARGS)
{
    if (!need_float(dt, 2, msg, len) || !need_rank4(in, 0, "input", msg, len) ||
        !dy_fits(in[1], in[0], "the pool's input", msg, len) || !pool_out(n, in[0], out, msg, len))
        return false;
    out->dim[0] = merge_dim(in[0].dim[0], in[1].dim[0]);
    *out_dt = GF_F32;
    return true;
}

/* avg_pool_grad(dy, like): like's shape; dy shaped as avg_pool(like). */
bool gf__shape_avg_pool_grad(SHAPE_ARGS)
{
    gf_shape y;
    if (!need_float(dt, 1, msg, len) || !need_rank4(in, 1, "input", msg, len) ||
        !pool_out(n, in[1], &y, msg, len) || !dy_fits(in[0], y, "the pool's output", msg, len))
        return false;
    *out = in[1];
    out->dim[0] = merge_dim(in[1].dim[0], in[0].dim[0]);
    *out_dt = GF_F32;
    return true;
}
