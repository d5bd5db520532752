/*
 * shape_rules.c — every op's shape rule: output shape and dtype from the
 * inputs', or the reason they are refused. Used at build and at run time.
 */
#include "op.h"

#include <stdio.h>

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
    int ta = n->attrs.transpose_a, tb = n->attrs.transpose_b;
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
    for (int i = 0; i < in[0].rank; i++) out->dim[i] = in[0].dim[n->attrs.axes[i]];
    *out_dt = dt[0];
    return true;
}

bool gf__shape_reduce(SHAPE_ARGS)
{
    if (!need_float(dt, 1, msg, len)) return false;
    /* Axes were normalised and checked by the constructor; none = all. */
    bool reduced[GF_MAX_RANK] = { false };
    for (int i = 0; i < n->attrs.n_axes; i++) reduced[n->attrs.axes[i]] = true;
    if (n->attrs.n_axes == 0)
        for (int i = 0; i < in[0].rank; i++) reduced[i] = true;
    gf_shape r = { .rank = 0 };
    for (int i = 0; i < in[0].rank; i++) {
        if (!reduced[i]) r.dim[r.rank++] = in[0].dim[i];
        else if (n->attrs.keepdims) r.dim[r.rank++] = 1;
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
    int axis = n->attrs.axes[0];
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
    *out_dt = n->attrs.to;
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
 * Reduced mode: g is like's shape reduced over attrs.axes (keepdims or
 * not). out has like's shape. */
bool gf__shape_broadcast_like(SHAPE_ARGS)
{
    bool ok;
    if (!need_float(dt, 1, msg, len)) return false;
    if (n->attrs.mode == GF_BCAST_NUMPY) {
        gf_shape b;
        ok = gf__broadcast_shape(in[0], in[1], &b) && b.rank == in[1].rank;
        for (int i = 0; ok && i < b.rank; i++) ok = dim_fits(b.dim[i], in[1].dim[i]);
    } else {
        bool reduced[GF_MAX_RANK] = { false };
        for (int i = 0; i < n->attrs.n_axes; i++) reduced[n->attrs.axes[i]] = true;
        if (n->attrs.n_axes == 0)
            for (int i = 0; i < in[1].rank; i++) reduced[i] = true;
        int k = 0;
        ok = true;
        for (int i = 0; ok && i < in[1].rank; i++) {
            if (reduced[i] && !n->attrs.keepdims) continue;
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
