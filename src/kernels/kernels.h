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
/* Block functions of the elementwise ops (the op table's ew column). */
void gf__ew_add(float *o, const float *a, const float *b, int64_t n);
void gf__ew_sub(float *o, const float *a, const float *b, int64_t n);
void gf__ew_mul(float *o, const float *a, const float *b, int64_t n);
void gf__ew_div(float *o, const float *a, const float *b, int64_t n);
void gf__ew_neg(float *o, const float *a, const float *b, int64_t n);
void gf__ew_exp(float *o, const float *a, const float *b, int64_t n);
void gf__ew_sigmoid(float *o, const float *a, const float *b, int64_t n);
void gf__ew_sqrt(float *o, const float *a, const float *b, int64_t n);
/* random.c */
GF_KERNEL(gf__k_truncated_normal);
/* gemm.c */
GF_KERNEL(gf__k_matmul);
/* C [m,n] = alpha * op(A) [m,k] @ op(B) [k,n] + beta * C, op = transpose
 * when ta/tb; lda/ldb/ldc are row strides of A, B, C as stored. beta == 0
 * means C is not read (it may hold garbage or NaN); k == 0 gives C = beta*C.
 * threads >= 1: how many threads may be used; results are bitwise identical
 * for every thread count (each output element is computed by one thread, in
 * one fixed order of k). Uses AVX2+FMA when the CPU has it (not when the
 * environment sets GF_NO_SIMD=1), else gf__gemm_portable. */
void gf__gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb,
              float beta, float *c, int64_t ldc, int threads);
/* The same in plain C, one thread: the specification that tests compare
 * against (c = alpha * sum over p, ascending, of a*b, plus beta * c). */
void gf__gemm_portable(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb,
                       float beta, float *c, int64_t ldc);
/* transpose.c */
GF_KERNEL(gf__k_transpose);
/* reduce.c */
GF_KERNEL(gf__k_reduce_sum);
GF_KERNEL(gf__k_reduce_mean);
GF_KERNEL(gf__k_argmax);
GF_KERNEL(gf__k_sum_to);
GF_KERNEL(gf__k_broadcast_like);

#endif
