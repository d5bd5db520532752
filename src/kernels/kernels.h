/*
 * kernels.h — the numeric loops behind the op table. Each kernel receives an
 * output with its final shape and storage and inputs already computed.
 */
#ifndef GF_KERNELS_H
#define GF_KERNELS_H

#include "../ops/op.h"

#define GF_KERNEL(name) \
    void name(gf_tensor *out, const gf_tensor *const *in, const gf_node *n, gf_kctx *ctx)

/* elementwise.c */
GF_KERNEL(gf__k_add);
GF_KERNEL(gf__k_sub);
GF_KERNEL(gf__k_mul);
GF_KERNEL(gf__k_div);
GF_KERNEL(gf__k_equal);
GF_KERNEL(gf__k_neg);
GF_KERNEL(gf__k_exp);
GF_KERNEL(gf__k_sigmoid);
GF_KERNEL(gf__k_sqrt);
GF_KERNEL(gf__k_cast);
GF_KERNEL(gf__k_copy_input1);
GF_KERNEL(gf__k_zeros);
/* random.c */
GF_KERNEL(gf__k_truncated_normal);
/* gemm.c */
GF_KERNEL(gf__k_matmul);
/* C [m,n] = A' [m,k] @ B' [k,n] where A' = A or A^T (lda = A's row length),
 * likewise B'. C is overwritten. */
void gf__gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *restrict a, int64_t lda,
              const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc);
/* transpose.c */
GF_KERNEL(gf__k_transpose);
/* reduce.c */
GF_KERNEL(gf__k_reduce_sum);
GF_KERNEL(gf__k_reduce_mean);
GF_KERNEL(gf__k_argmax);
GF_KERNEL(gf__k_sum_to);
GF_KERNEL(gf__k_broadcast_like);

#endif
