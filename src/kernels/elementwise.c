/*
 * elementwise.c — elementwise kernels: binary ops with NumPy broadcasting
 * (fast paths for equal shapes and scalar operands), unary maps, casts.
 */
#include "kernels.h"
#include "simd.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* out [shape] = a [broadcast] OP b [broadcast]. Three loops: same shape, a
 * scalar operand, and the general 4-D walk with zero strides for broadcast
 * dimensions (whose innermost dimension is a contiguous run or a repeat). */
#define BINARY_KERNEL(fname, EXPR)                                                    \
    GF_KERNEL(fname)                                                                  \
    {                                                                                 \
        (void)n; (void)ctx;                                                           \
        const float *A = in[0]->data, *B = in[1]->data;                              \
        float *o = out->data;                                                         \
        int64_t cnt = gf_shape_count(out->shape);                                     \
        int64_t na = gf_shape_count(in[0]->shape), nb = gf_shape_count(in[1]->shape); \
        if (cnt == 0) return; /* nothing to write (loops below assume cnt > 0) */  \
        if (na == cnt && nb == cnt) {                                                 \
            for (int64_t i = 0; i < cnt; i++) { float x = A[i], y = B[i]; o[i] = (EXPR); } \
            return;                                                                   \
        }                                                                             \
        if (nb == 1 && na == cnt) {                                                   \
            float y = B[0];                                                           \
            for (int64_t i = 0; i < cnt; i++) { float x = A[i]; o[i] = (EXPR); }      \
            return;                                                                   \
        }                                                                             \
        if (na == 1 && nb == cnt) {                                                   \
            float x = A[0];                                                           \
            for (int64_t i = 0; i < cnt; i++) { float y = B[i]; o[i] = (EXPR); }      \
            return;                                                                   \
        }                                                                             \
        int64_t d[GF_MAX_RANK], sa[GF_MAX_RANK], sb[GF_MAX_RANK];                    \
        gf__shape_pad4(out->shape, d);                                                \
        gf__broadcast_strides(in[0]->shape, out->shape, sa);                          \
        gf__broadcast_strides(in[1]->shape, out->shape, sb);                          \
        for (int64_t i0 = 0; i0 < d[0]; i0++)                                         \
        for (int64_t i1 = 0; i1 < d[1]; i1++)                                         \
        for (int64_t i2 = 0; i2 < d[2]; i2++) {                                       \
            const float *pa = A + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];               \
            const float *pb = B + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];               \
            for (int64_t i3 = 0; i3 < d[3]; i3++) {                                   \
                float x = pa[i3 * sa[3]], y = pb[i3 * sb[3]];                          \
                *o++ = (EXPR);                                                        \
            }                                                                         \
        }                                                                             \
    }

/* o [n] = a [n] OP b [n]: the fuser's building blocks. */
#define EW_BINARY(fname, EXPR)                                                       \
    void fname(float *restrict o, const float *restrict a, const float *restrict b, int64_t n) \
    {                                                                                \
        for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } \
    }
#define EW_UNARY(fname, EXPR)                                                        \
    void fname(float *restrict o, const float *restrict a, const float *restrict b, int64_t n) \
    {                                                                                \
        (void)b;                                                                     \
        for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); }           \
    }

/* The same for one IEEE operation (+ - * /, sqrt or negation) or a
 * comparison and a choice (relu, maximum, a mask), whose result is the
 * same bits at any vector width: a second copy of the loop built for
 * AVX2 (8 floats a step, not SSE's 4; no FMA) when the SIMD kernels are
 * on, and a third for AVX-512 (16) where the CPU has it. The fused sigmoid over an evaluation's [10000,30] spends most of
 * its time in such loops. */
#if GF_HAVE_AVX2_KERNELS
#define EW_EXACT_LOOP(LOAD, EXPR) \
    for (int64_t i = 0; i < n; i++) { LOAD; o[i] = (EXPR); }
#define EW_EXACT_FN(fname, LOAD, EXPR)                                               \
    __attribute__((target("avx2"))) static void fname##_avx2(                       \
        float *restrict o, const float *restrict a, const float *restrict b, int64_t n) \
    {                                                                                \
        (void)b;                                                                     \
        EW_EXACT_LOOP(LOAD, EXPR)                                                    \
    }                                                                                \
    __attribute__((target("avx512f"))) static void fname##_avx512(                  \
        float *restrict o, const float *restrict a, const float *restrict b, int64_t n) \
    {                                                                                \
        (void)b;                                                                     \
        EW_EXACT_LOOP(LOAD, EXPR)                                                    \
    }                                                                                \
    void fname(float *restrict o, const float *restrict a, const float *restrict b, int64_t n) \
    {                                                                                \
        (void)b;                                                                     \
        if (gf__avx512_enabled()) {                                                  \
            fname##_avx512(o, a, b, n);                                              \
            return;                                                                  \
        }                                                                            \
        if (gf__simd_enabled()) {                                                    \
            fname##_avx2(o, a, b, n);                                                \
            return;                                                                  \
        }                                                                            \
        EW_EXACT_LOOP(LOAD, EXPR)                                                    \
    }
#define EW_EXACT(fname, EXPR) EW_EXACT_FN(fname, float x = a[i]; float y = b[i], EXPR)
#define EW_EXACT_UNARY(fname, EXPR) EW_EXACT_FN(fname, float x = a[i], EXPR)
#else
#define EW_EXACT(fname, EXPR) EW_BINARY(fname, EXPR)
#define EW_EXACT_UNARY(fname, EXPR) EW_UNARY(fname, EXPR)
#endif

#define UNARY_KERNEL(fname, EXPR)                               \
    GF_KERNEL(fname)                                            \
    {                                                           \
        (void)n; (void)ctx;                                     \
        const float *X = in[0]->data;                           \
        float *o = out->data;                                   \
        int64_t cnt = gf_shape_count(out->shape);               \
        for (int64_t i = 0; i < cnt; i++) { float x = X[i]; o[i] = (EXPR); } \
    }

/* An elementwise op of the op list from its expression, written once: the
 * kernel gf__k_NAME and the block function gf__ew_NAME (the row's ew
 * column), both computing EXPR of x (and y), so the fused and the unfused
 * op give the same bits. _EXACT: EXPR is one IEEE operation or a choice, and the block
 * gets the AVX2 copy above. */
#define EW_OP1(name, EXPR) UNARY_KERNEL(gf__k_##name, EXPR) EW_UNARY(gf__ew_##name, EXPR)
#define EW_OP2(name, EXPR) BINARY_KERNEL(gf__k_##name, EXPR) EW_BINARY(gf__ew_##name, EXPR)
#define EW_OP1_EXACT(name, EXPR) UNARY_KERNEL(gf__k_##name, EXPR) EW_EXACT_UNARY(gf__ew_##name, EXPR)
#define EW_OP2_EXACT(name, EXPR) BINARY_KERNEL(gf__k_##name, EXPR) EW_EXACT(gf__ew_##name, EXPR)

EW_OP2_EXACT(add, x + y)
EW_OP2_EXACT(sub, x - y)
EW_OP2_EXACT(mul, x * y)
EW_OP2_EXACT(div, x / y)
EW_OP1_EXACT(neg, -x)

/* equal's output is a mask: not fusable, a kernel only. */
BINARY_KERNEL(gf__k_equal, x == y ? 1.0f : 0.0f)

/* sigmoid without overflow: for x < 0 use e^x / (1 + e^x). */
static inline float sigmoidf(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

EW_OP1(sigmoid, sigmoidf(x))
EW_OP1_EXACT(sqrt, sqrtf(x))

/* exp, fused or not: gf__exp_block (exp.c), so both give the same bits. */
void gf__ew_exp(float *o, const float *a, const float *b, int64_t n)
{
    (void)b;
    gf__exp_block(o, a, n);
}

GF_KERNEL(gf__k_exp)
{
    (void)n; (void)ctx;
    gf__exp_block(out->data, in[0]->data, gf_shape_count(out->shape));
}

/* The zoo's elementwise ops, [shape] -> [shape] (maximum and the greater
 * mask broadcast). relu(NaN) and maximum with a NaN give NaN; maximum
 * returns its first input on ties (the one its gradient flows to). */
#define MAXIMUM(x, y) (((x) >= (y) || (x) != (x)) ? (x) : (y))
EW_OP1_EXACT(relu, x < 0.0f ? 0.0f : x)
EW_OP1(tanh, tanhf(x))
EW_OP1(log, logf(x))
EW_OP1_EXACT(square, x * x)
EW_OP2_EXACT(maximum, MAXIMUM(x, y))
EW_OP2_EXACT(greater_mask, x > y ? 1.0f : 0.0f)

GF_KERNEL(gf__k_cast)
{
    (void)ctx;
    const float *X = in[0]->data;
    float *o = out->data;
    int64_t cnt = gf_shape_count(out->shape);
    switch (n->attrs.cast.to) {
    case GF_BOOL:
        for (int64_t i = 0; i < cnt; i++) o[i] = X[i] != 0.0f ? 1.0f : 0.0f;
        break;
    case GF_I32: /* truncation toward zero, as C and TensorFlow's cast */
        for (int64_t i = 0; i < cnt; i++) o[i] = truncf(X[i]);
        break;
    case GF_F32:
        if (o != X) memcpy(o, X, (size_t)cnt * sizeof *o);
        break;
    }
}

/* out = in[1]: assign's value (the variable itself is written at run end). */
GF_KERNEL(gf__k_copy_input1)
{
    (void)n; (void)ctx;
    int64_t cnt = gf_shape_count(out->shape);
    if (cnt > 0) memcpy(out->data, in[1]->data, (size_t)cnt * sizeof(float));
}

GF_KERNEL(gf__k_zeros)
{
    (void)in; (void)n; (void)ctx;
    memset(out->data, 0, (size_t)gf_shape_count(out->shape) * sizeof(float));
}

/* Index of the first NaN or infinity in x [n], or -1. */
int64_t gf__first_nonfinite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

/* out = x, failing the run when x holds a NaN or an infinity. */
GF_KERNEL(gf__k_check_numerics)
{
    int64_t n_el = gf_shape_count(out->shape);
    if (n_el > 0) memcpy(out->data, in[0]->data, (size_t)n_el * sizeof(float));
    int64_t bad = gf__first_nonfinite(out->data, n_el);
    if (bad < 0) return;
    char b[GF_SHAPE_STR];
    ctx->status = GF_ERR_NUMERIC;
    snprintf(ctx->msg, ctx->msg_len, "check_numerics \"%s\": %s: found %s at element %lld of %s", n->name,
             n->attrs.check_numerics.text ? n->attrs.check_numerics.text : "", isnan(out->data[bad]) ? "NaN" : "infinity", (long long)bad,
             gf_shape_format(out->shape, b, sizeof b));
}
