/*
 * gemm.c — matrix multiply, the reference path: C = op(A) @ op(B) with one
 * loop order per transpose combination so the innermost loop is contiguous.
 */
#include "kernels.h"

#include <string.h>

void gf__gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *restrict a, int64_t lda,
              const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof *c);
    if (!tb) {
        /* C [m,n] += A' [m,k] @ B [k,n]: rows of B are contiguous. */
        for (int64_t i = 0; i < m; i++) {
            float *restrict ci = c + i * ldc;
            for (int64_t p = 0; p < k; p++) {
                float av = ta ? a[p * lda + i] : a[i * lda + p];
                const float *restrict bp = b + p * ldb;
                for (int64_t j = 0; j < n; j++) ci[j] += av * bp[j];
            }
        }
    } else {
        /* C [m,n] = A' [m,k] @ B^T, B [n,k]: dot products of rows. */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                const float *bj = b + j * ldb;
                float acc = 0.0f;
                if (!ta) {
                    const float *ai = a + i * lda;
                    for (int64_t p = 0; p < k; p++) acc += ai[p] * bj[p];
                } else {
                    for (int64_t p = 0; p < k; p++) acc += a[p * lda + i] * bj[p];
                }
                c[i * ldc + j] = acc;
            }
    }
}

/* out [m,n] = op(in0) @ op(in1). */
GF_KERNEL(gf__k_matmul)
{
    (void)ctx;
    int ta = n->attrs.transpose_a, tb = n->attrs.transpose_b;
    const gf_shape sa = in[0]->shape, sb = in[1]->shape;
    int64_t m = out->shape.dim[0], nn = out->shape.dim[1];
    int64_t k = ta ? sa.dim[0] : sa.dim[1];
    gf__gemm(ta, tb, m, nn, k, in[0]->data, sa.dim[1], in[1]->data, sb.dim[1], out->data, nn);
}
