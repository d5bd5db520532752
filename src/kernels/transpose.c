/*
 * transpose.c — dimension permutation for rank 0..4 (out.dim[i] =
 * in.dim[perm[i]]), with a blocked fast path for the 2-D case.
 */
#include "kernels.h"

/* out [c,r] = in [r,c]^T, in 32x32 tiles for cache locality. */
static void transpose2d(const float *x, float *o, int64_t r, int64_t c)
{
    const int64_t T = 32;
    for (int64_t i0 = 0; i0 < r; i0 += T)
        for (int64_t j0 = 0; j0 < c; j0 += T)
            for (int64_t i = i0; i < i0 + T && i < r; i++)
                for (int64_t j = j0; j < j0 + T && j < c; j++) o[j * r + i] = x[i * c + j];
}

GF_KERNEL(gf__k_transpose)
{
    (void)ctx;
    const gf_shape s = in[0]->shape;
    const float *x = in[0]->data;
    float *o = out->data;
    if (s.rank == 2 && n->attrs.transpose.perm[0] == 1) {
        transpose2d(x, o, s.dim[0], s.dim[1]);
        return;
    }
    /* General: walk the output in order; input strides permuted. */
    int64_t in_stride[GF_MAX_RANK], st = 1;
    for (int i = s.rank - 1; i >= 0; i--) {
        in_stride[i] = st;
        st *= s.dim[i];
    }
    int64_t d[GF_MAX_RANK] = { 1, 1, 1, 1 }, str[GF_MAX_RANK] = { 0, 0, 0, 0 };
    int pad = GF_MAX_RANK - s.rank;
    for (int i = 0; i < s.rank; i++) {
        d[pad + i] = out->shape.dim[i];
        str[pad + i] = in_stride[n->attrs.transpose.perm[i]];
    }
    for (int64_t i0 = 0; i0 < d[0]; i0++)
        for (int64_t i1 = 0; i1 < d[1]; i1++)
            for (int64_t i2 = 0; i2 < d[2]; i2++)
                for (int64_t i3 = 0; i3 < d[3]; i3++)
                    *o++ = x[i0 * str[0] + i1 * str[1] + i2 * str[2] + i3 * str[3]];
}
