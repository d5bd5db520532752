/*
 * layout.c — kernels that move elements without arithmetic (or with only
 * additions): reshape, concat and its parts, rows sliced, padded, gathered
 * and scatter-added, and one_hot.
 */
#include "kernels.h"

#include <string.h>

/* A shape seen as [outer, len, inner] around axis. */
static void split_axis(gf_shape s, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= s.dim[i];
    for (int i = axis + 1; i < s.rank; i++) *inner *= s.dim[i];
    *len = s.dim[axis];
}

/* Elements per row of s (the product of its dimensions past the first). */
static int64_t row_size(gf_shape s)
{
    int64_t r = 1;
    for (int i = 1; i < s.rank; i++) r *= s.dim[i];
    return r;
}

static void copy(float *dst, const float *src, int64_t n)
{
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof *dst);
}

static void zero(float *dst, int64_t n)
{
    if (n > 0) memset(dst, 0, (size_t)n * sizeof *dst);
}

/* The row an index names, or -1 when it is outside 0..rows-1. */
static int64_t row_index(float v, int64_t rows)
{
    return v >= 0.0f && (double)v < (double)rows ? (int64_t)v : -1;
}

/* out [any shape of the same count] = x, elements in row-major order. Also
 * reshape_like's kernel (its second input lends only the shape). */
GF_KERNEL(gf__k_reshape)
{
    (void)n; (void)ctx;
    if (out->data != in[0]->data) copy(out->data, in[0]->data, gf_shape_count(out->shape));
}

/* out [.., la+lb, ..] = a [.., la, ..] followed by b [.., lb, ..] along
 * axis (attrs.concat.axis); the other dimensions are equal. */
GF_KERNEL(gf__k_concat)
{
    (void)ctx;
    int axis = n->attrs.concat.axis;
    int64_t outer, la, lb = in[1]->shape.dim[axis], inner;
    split_axis(in[0]->shape, axis, &outer, &la, &inner);
    const float *a = in[0]->data, *b = in[1]->data;
    float *o = out->data;
    for (int64_t i = 0; i < outer; i++) { /* an empty operand may have no data */
        if (la * inner > 0) copy(o, a + i * la * inner, la * inner);
        o += la * inner;
        if (lb * inner > 0) copy(o, b + i * lb * inner, lb * inner);
        o += lb * inner;
    }
}

/* out [.., lp, ..] = the first (back 0) or last (back 1) lp entries of
 * full [.., lf, ..] along axis. */
GF_KERNEL(gf__k_concat_slice)
{
    (void)ctx;
    int axis = n->attrs.concat.axis;
    int64_t outer, lp, inner, lf = in[0]->shape.dim[axis];
    split_axis(out->shape, axis, &outer, &lp, &inner);
    int64_t off = n->attrs.concat.back ? lf - lp : 0;
    for (int64_t i = 0; i < outer; i++)
        copy(out->data + i * lp * inner, in[0]->data + (i * lf + off) * inner, lp * inner);
}

/* out [.., lf, ..] = zeros with part [.., lp, ..] at the front (back 0) or
 * back (back 1) of axis. */
GF_KERNEL(gf__k_concat_pad)
{
    (void)ctx;
    int axis = n->attrs.concat.axis;
    int64_t outer, lf, inner, lp = in[0]->shape.dim[axis];
    split_axis(out->shape, axis, &outer, &lf, &inner);
    int64_t off = n->attrs.concat.back ? lf - lp : 0;
    zero(out->data, gf_shape_count(out->shape));
    for (int64_t i = 0; i < outer; i++)
        copy(out->data + (i * lf + off) * inner, in[0]->data + i * lp * inner, lp * inner);
}

/* out [count, ...] = x [rows, ...] rows start..start+count-1. */
GF_KERNEL(gf__k_slice_rows)
{
    (void)ctx;
    int64_t rs = row_size(in[0]->shape), cnt = gf_shape_count(out->shape);
    copy(out->data, in[0]->data + (int64_t)n->attrs.rows.start * rs, cnt);
}

/* out [rows, ...] = zeros with rows start..start+count-1 = g [count, ...]. */
GF_KERNEL(gf__k_pad_rows)
{
    (void)ctx;
    int64_t rs = row_size(out->shape);
    zero(out->data, gf_shape_count(out->shape));
    copy(out->data + (int64_t)n->attrs.rows.start * rs, in[0]->data, gf_shape_count(in[0]->shape));
}

/* out [indices.shape..., x.dim[1:]...] = x [rows, ...] row indices[i] for
 * each index i; an index outside 0..rows-1 gives a row of zeros. */
GF_KERNEL(gf__k_gather_rows)
{
    (void)n; (void)ctx;
    int64_t rs = row_size(in[0]->shape), rows = in[0]->shape.dim[0];
    int64_t ni = gf_shape_count(in[1]->shape);
    const float *idx = in[1]->data;
    for (int64_t i = 0; i < ni; i++) {
        int64_t r = row_index(idx[i], rows);
        if (r >= 0) copy(out->data + i * rs, in[0]->data + r * rs, rs);
        else zero(out->data + i * rs, rs);
    }
}

/* out [rows, ...] = zeros, then out[indices[i]] += g [indices.shape...,
 * ...] row i, in index order; an index outside 0..rows-1 is skipped. */
GF_KERNEL(gf__k_scatter_add_rows)
{
    (void)n; (void)ctx;
    int64_t rs = row_size(out->shape), rows = out->shape.dim[0];
    int64_t ni = gf_shape_count(in[1]->shape);
    const float *idx = in[1]->data, *g = in[0]->data;
    zero(out->data, gf_shape_count(out->shape));
    for (int64_t i = 0; i < ni; i++) {
        int64_t r = row_index(idx[i], rows);
        if (r < 0) continue;
        float *o = out->data + r * rs;
        for (int64_t j = 0; j < rs; j++) o[j] += g[i * rs + j];
    }
}

/* out [indices.shape..., depth] = 1 at [i, indices[i]], else 0; an index
 * outside 0..depth-1 gives a row of zeros (as TensorFlow). */
GF_KERNEL(gf__k_one_hot)
{
    (void)n; (void)ctx;
    int64_t depth = out->shape.dim[out->shape.rank - 1], ni = gf_shape_count(in[0]->shape);
    zero(out->data, gf_shape_count(out->shape));
    for (int64_t i = 0; i < ni; i++) {
        int64_t r = row_index(in[0]->data[i], depth);
        if (r >= 0) out->data[i * depth + r] = 1.0f;
    }
}
