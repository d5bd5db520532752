/*
 * reduce.c — reductions: sum and mean over a set of axes (keepdims or not),
 * and argmax along one axis (first maximum on ties, as NumPy).
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* out [kept dims] = sum of in over the reduced axes. The input is walked in
 * memory order and added into the output element it maps to, so the order
 * of additions is fixed. Returns the number of elements summed into each
 * output element. */
static int64_t reduce_sum(gf_tensor *out, const gf_tensor *x, const gf_node *n)
{
    const gf_shape s = x->shape;
    bool reduced[GF_MAX_RANK] = { false };
    for (int i = 0; i < n->attrs.n_axes; i++) reduced[n->attrs.axes[i]] = true;
    if (n->attrs.n_axes == 0)
        for (int i = 0; i < s.rank; i++) reduced[i] = true;

    /* Pad to rank 4; output strides are 0 along reduced dimensions. */
    int pad = GF_MAX_RANK - s.rank;
    int64_t d[GF_MAX_RANK], ostr[GF_MAX_RANK], group = 1, st = 1;
    for (int i = GF_MAX_RANK - 1; i >= 0; i--) {
        int src = i - pad;
        d[i] = src >= 0 ? s.dim[src] : 1;
        if (src >= 0 && reduced[src]) {
            ostr[i] = 0;
            group *= d[i];
        } else {
            ostr[i] = st;
            st *= d[i];
        }
    }
    float *o = out->data;
    memset(o, 0, (size_t)gf_shape_count(out->shape) * sizeof *o);
    const float *p = x->data;
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++) {
                float *orow = o + i0 * ostr[0] + i1 * ostr[1] + i2 * ostr[2];
                if (ostr[3] == 0) {
                    float acc = 0.0f;
                    for (int64_t i3 = 0; i3 < d[3]; i3++) acc += *p++;
                    *orow += acc;
                } else {
                    for (int64_t i3 = 0; i3 < d[3]; i3++) orow[i3] += *p++;
                }
            }
    return group;
}

GF_KERNEL(gf__k_reduce_sum)
{
    (void)ctx;
    reduce_sum(out, in[0], n);
}

GF_KERNEL(gf__k_reduce_mean)
{
    (void)ctx;
    int64_t group = reduce_sum(out, in[0], n);
    int64_t cnt = gf_shape_count(out->shape);
    /* mean of nothing is NaN, as NumPy */
    float inv = group ? 1.0f / (float)group : NAN;
    for (int64_t i = 0; i < cnt; i++) out->data[i] = group ? out->data[i] * inv : inv;
}

/* out [outer,inner] = argmax over len of in [outer,len,inner]. A NaN wins
 * (the first one), as NumPy. */
GF_KERNEL(gf__k_argmax)
{
    (void)ctx;
    const gf_shape s = in[0]->shape;
    int axis = n->attrs.axes[0];
    int64_t outer = 1, len = s.dim[axis], inner = 1;
    for (int i = 0; i < axis; i++) outer *= s.dim[i];
    for (int i = axis + 1; i < s.rank; i++) inner *= s.dim[i];
    const float *x = in[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *p = x + o * len * inner + i;
            int64_t best = 0;
            float bv = p[0];
            for (int64_t k = 1; k < len && !isnan(bv); k++) {
                float v = p[k * inner];
                if (v > bv || isnan(v)) {
                    bv = v;
                    best = k;
                }
            }
            out->data[o * inner + i] = (float)best;
        }
}
