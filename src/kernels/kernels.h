/*
 * kernels.h — the numeric loops behind the op table. Each kernel receives an
 * output with its final shape and storage and inputs already computed.
 * The kernels and block functions the op table names are declared by the
 * op list (ops/op.h); here are the helpers the kernels share.
 */
#ifndef GF_KERNELS_H
#define GF_KERNELS_H

#include "../ops/op.h"

/* elementwise.c: index of the first NaN or infinity in x [n], or -1. */
int64_t gf__first_nonfinite(const float *x, int64_t n);
/* exp.c: o [n] = exp(a [n]) (o may be a), the one float32 exp of the exp
 * op, fused or not: AVX2 when gf__simd_enabled(), else portable C; the two
 * give the same bits. The variants themselves are for tests; _avx2 exists
 * only on x86 with GCC or Clang and needs gf__cpu_has_avx2_fma(). */
void gf__exp_block(float *o, const float *a, int64_t n);
void gf__exp_block_portable(float *o, const float *a, int64_t n);
void gf__exp_block_avx2(float *o, const float *a, int64_t n);
/* The same with AVX-512 (simd.h: where gf__cpu_has_avx512()); same bits. */
void gf__exp_block_avx512(float *o, const float *a, int64_t n);
/* gemm.c */
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
/* What a caller knows and learns about a product's finiteness, for the
 * zero-skipping paths (0*inf is NaN: they skip a zero of op(A) only where
 * op(B) is finite, which they check unless told). */
typedef struct gf_gemm_hint {
    int b_finite;   /* in: op(B) is known to hold only finite numbers */
    int b_checked;  /* out: 1 when the call found all of op(B) finite */
    int c_finite;   /* out: 1 when every value the call wrote is finite
                       (0: not known; only the one-thread sparse-rows
                       update reports it) */
} gf_gemm_hint;
/* gf__gemm with a hint (NULL: none). */
void gf__gemm_hinted(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float beta, float *c, int64_t ldc, int threads,
                     gf_gemm_hint *hint);
/* The same in plain C, one thread: the specification that tests compare
 * against (c = alpha * sum over p, ascending, of a*b, plus beta * c). */
void gf__gemm_portable(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb,
                       float beta, float *c, int64_t ldc);

/* collective.c: the end of an all-reduce whose group sum its caller made
 * (gf_kctx.coll_defer): a mean divides out [shape] once by contributions
 * (micro-batches times ranks); a sum is left as it is. */
void gf__all_reduce_finish(const gf_node *n, gf_tensor *out, int64_t contributions);

/* winograd.c: stride-1 convolutions with square 3x3 and 5x5 filters by
 * Winograd's transforms. The shapes of one conv2d (conv.c's comment): */
typedef struct gf_conv_dims {
    int64_t n, h, w, c;     /* input x [n,h,w,c] */
    int64_t kh, kw, o;      /* filter f [kh,kw,c,o] */
    int64_t oh, ow;         /* output y [n,oh,ow,o] */
    int64_t sh, sw, ph, pw; /* strides; padding before (gf__window_out) */
} gf_conv_dims;
/* 1 when the three below take these shapes and pay: stride 1, a square 3x3
 * or 5x5 filter, at least 8 channels in and out, an output of at least
 * one tile. */
int gf__winograd_fits(const gf_conv_dims *d);
/* y = conv2d(x, f); dx = its gradient to x given dy; df = to f given x
 * and dy (the ops' shapes, d fitting). threads >= 1; the same bits for
 * every thread count. Each returns 0, or the floats of scratch it could
 * not have (then the output is undefined). */
int64_t gf__winograd_backprop_input(const gf_conv_dims *d, const float *dy, const float *f, float *dx, int threads);
int64_t gf__winograd_backprop_filter(const gf_conv_dims *d, const float *x, const float *dy, float *df,
                                     int threads);/* conv_direct.c: conv2d and its filter gradient as direct sums, for 1 to 4
 * input channels and filters at most 8 wide (what Winograd does not take):
 * the same contract as the two above. */
int gf__conv_direct_fits(const gf_conv_dims *d);
/* v [n] = the epilogue of output channels o0 .. o0+n-1 (n a vector's
 * worth: inlined into each kernel's SIMD builds, the loops vectorise):
 * relu's v < 0 ? +0 : v keeps -0 and NaN, as the relu op does. */
static inline __attribute__((always_inline)) void gf__conv_epilogue(const gf_conv_epilogue *e, int64_t o0, float *v,
                                                                     int n)
{
    if (e->bias && e->bias_first)
        for (int i = 0; i < n; i++) v[i] = e->bias[o0 + i] + v[i];
    else if (e->bias)
        for (int i = 0; i < n; i++) v[i] = v[i] + e->bias[o0 + i];
    if (e->relu)
        for (int i = 0; i < n; i++) v[i] = v[i] < 0.0f ? 0.0f : v[i];
}
int64_t gf__conv_direct(const gf_conv_dims *d, const float *x, const float *f, float *y, int threads,
                        const gf_conv_epilogue *epi);
int64_t gf__winograd_conv2d(const gf_conv_dims *d, const float *x, const float *f, float *y, int threads,
                            const gf_conv_epilogue *epi);
/* Whether conv2d of x by f (node n's strides and padding) takes a kernel
 * that applies an epilogue as it stores: gf__conv_direct or
 * gf__winograd_conv2d (conv.c). */
bool gf__conv2d_stores_epilogue(gf_shape x, gf_shape f, const gf_node *n);
int64_t gf__conv_direct_backprop_filter(const gf_conv_dims *d, const float *x, const float *dy, float *df,
                                        int threads);

#endif
