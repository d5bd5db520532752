/*
 * gradcheck_cases.c — the case list of `gradflow gradcheck`: each op on
 * plain and broadcasting shapes, checked against finite differences. Cases
 * are keyed by the op's name (gf_node_op); every op with a gradient rule
 * must have one (test_gradients walks the op table), and each case's
 * inputs come from a seed made of the op's name and the case's place among
 * that op's cases, so adding a case changes no other op's checks.
 */
#include "gradcheck_cases.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "article.h"

typedef gf_node *(*build_fn)(gf_node *a, gf_node *b);

static gf_node *op_add(gf_node *a, gf_node *b) { return gf_add(a, b); }
static gf_node *op_sub(gf_node *a, gf_node *b) { return gf_sub(a, b); }
static gf_node *op_mul(gf_node *a, gf_node *b) { return gf_mul(a, b); }
static gf_node *op_div(gf_node *a, gf_node *b) { return gf_div(a, b); }
static gf_node *op_neg(gf_node *a, gf_node *b) { (void)b; return gf_neg(a); }
static gf_node *op_exp(gf_node *a, gf_node *b) { (void)b; return gf_exp(a); }
static gf_node *op_sigmoid(gf_node *a, gf_node *b) { (void)b; return gf_sigmoid(a); }
static gf_node *op_sqrt(gf_node *a, gf_node *b) { (void)b; return gf_sqrt(a); }
static gf_node *op_mm(gf_node *a, gf_node *b) { return gf_matmul_t(a, b, 0, 0); }
static gf_node *op_mm_ta(gf_node *a, gf_node *b) { return gf_matmul_t(a, b, 1, 0); }
static gf_node *op_mm_tb(gf_node *a, gf_node *b) { return gf_matmul_t(a, b, 0, 1); }
static gf_node *op_mm_tab(gf_node *a, gf_node *b) { return gf_matmul_t(a, b, 1, 1); }
static gf_node *op_transpose(gf_node *a, gf_node *b) { (void)b; return gf_transpose(a); }
static gf_node *op_transpose_201(gf_node *a, gf_node *b)
{
    (void)b;
    return gf_transpose_perm(a, (const int[]){ 2, 0, 1 });
}
static gf_node *op_sum0(gf_node *a, gf_node *b) { (void)b; return gf_reduce_sum(a, (const int[]){ 0 }, 1, 0); }
static gf_node *op_sum1k(gf_node *a, gf_node *b) { (void)b; return gf_reduce_sum(a, (const int[]){ -1 }, 1, 1); }
static gf_node *op_sum_all(gf_node *a, gf_node *b) { (void)b; return gf_reduce_sum(a, NULL, 0, 0); }
static gf_node *op_sum02(gf_node *a, gf_node *b) { (void)b; return gf_reduce_sum(a, (const int[]){ 0, 2 }, 2, 0); }
static gf_node *op_mean0(gf_node *a, gf_node *b) { (void)b; return gf_reduce_mean(a, (const int[]){ 0 }, 1, 0); }
static gf_node *op_mean1k(gf_node *a, gf_node *b) { (void)b; return gf_reduce_mean(a, (const int[]){ 1 }, 1, 1); }
static gf_node *op_mean_all(gf_node *a, gf_node *b) { (void)b; return gf_reduce_mean(a, NULL, 0, 1); }
static gf_node *op_mean12(gf_node *a, gf_node *b) { (void)b; return gf_reduce_mean(a, (const int[]){ 1, 2 }, 2, 0); }

/* Second-order cases for the ops that only gradients build: the gradient
 * of a broadcast operand is a sum_to, the gradient of a sum or mean is a
 * broadcast_like; differentiating those again exercises their own rules. */
static gf_node *grad_wrt(gf_node *y, gf_node *x)
{
    gf_node *d = NULL;
    gf_gradients(gf_node_graph(y), &y, 1, &x, 1, NULL, &d);
    return d;
}
static gf_node *op_sum_to(gf_node *a, gf_node *b)
{
    gf_node *s = gf_add(a, b);
    return gf_mul(grad_wrt(gf_mul(s, s), b), a); /* d/db = sum_to(2(a+b)) */
}
static gf_node *op_broadcast_like(gf_node *a, gf_node *b)
{
    (void)b;
    gf_node *m = gf_reduce_mean(gf_mul(a, a), (const int[]){ 0 }, 1, 0);
    return gf_mul(grad_wrt(gf_mul(m, m), a), a); /* holds broadcast_like */
}

/* The model zoo. gather_rows picks rows 2, 0, 2, 1: a repeated
 * row checks that the scatter-add of its gradient adds up. */
static gf_node *op_relu(gf_node *a, gf_node *b) { (void)b; return gf_relu(a); }
static gf_node *op_tanh(gf_node *a, gf_node *b) { (void)b; return gf_tanh(a); }
static gf_node *op_log(gf_node *a, gf_node *b) { (void)b; return gf_log(a); }
static gf_node *op_square(gf_node *a, gf_node *b) { (void)b; return gf_square(a); }
static gf_node *op_maximum(gf_node *a, gf_node *b) { return gf_maximum(a, b); }
static gf_node *op_softmax(gf_node *a, gf_node *b) { (void)b; return gf_softmax(a); }
static gf_node *op_log_softmax(gf_node *a, gf_node *b) { (void)b; return gf_log_softmax(a); }
static gf_node *op_xent(gf_node *a, gf_node *b) { return gf_softmax_cross_entropy_with_logits(a, b); }
static gf_node *op_flatten(gf_node *a, gf_node *b) { (void)b; return gf_reshape(a, gf_dims(1, GF_ANY)); }
static gf_node *op_reshape_x2(gf_node *a, gf_node *b) { (void)b; return gf_reshape(a, gf_dims(2, GF_ANY, 2)); }
static gf_node *op_concat0(gf_node *a, gf_node *b) { return gf_concat(a, b, 0); }
static gf_node *op_concat1(gf_node *a, gf_node *b) { return gf_concat(a, b, 1); }
static gf_node *op_concat_last(gf_node *a, gf_node *b) { return gf_concat(a, b, -1); }
static gf_node *op_slice_rows(gf_node *a, gf_node *b) { (void)b; return gf_slice_rows(a, 1, 2); }
static gf_node *op_gather_rows(gf_node *a, gf_node *b)
{
    (void)b;
    static const float idx[4] = { 2, 0, 2, 1 };
    return gf_gather_rows(a, gf_cast(gf_constant(gf_node_graph(a), gf_dims(1, 4), idx), GF_I32));
}
/* Second order for the ops only the zoo's gradients build: each holds the
 * gradient of square(op(a)), whose own gradient is then taken. */
static gf_node *op_reshape_like(gf_node *a, gf_node *b)
{
    (void)b;
    gf_node *r = gf_reshape(a, gf_dims(1, GF_ANY));
    return gf_mul(grad_wrt(gf_square(r), a), a);
}
static gf_node *op_concat_parts(gf_node *a, gf_node *b)
{
    gf_node *c = gf_concat(a, b, 1); /* d/da holds concat_slice, its gradient concat_pad */
    return gf_mul(grad_wrt(gf_square(c), a), a);
}
static gf_node *op_pad_rows(gf_node *a, gf_node *b)
{
    (void)b;
    return gf_mul(grad_wrt(gf_square(gf_slice_rows(a, 1, 2)), a), a);
}
static gf_node *op_scatter_add_rows(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(op_gather_rows(a, b)), a), a);
}
/* Third order: d holds concat_slice, the gradient of square(d) holds its
 * adjoint concat_pad, whose own rule the check then runs. */
static gf_node *op_concat_pad(gf_node *a, gf_node *b)
{
    gf_node *d = grad_wrt(gf_square(gf_concat(a, b, 1)), a);
    return gf_mul(grad_wrt(gf_square(d), a), a);
}
static gf_node *op_check_numerics(gf_node *a, gf_node *b) { (void)b; return gf_check_numerics(a, "gradcheck"); }

/* Convolution and pooling (NHWC): a is the input, b the filter. The
 * gradient ops are checked through a gradient of square(op(a)), as the
 * zoo's, and max_pool_grad_grad a third order down. */
#define CONV(name, sh, sw, pad) \
    static gf_node *name(gf_node *a, gf_node *b) { return gf_conv2d(a, b, sh, sw, pad); }
CONV(op_conv_s1_same, 1, 1, GF_SAME)
CONV(op_conv_s2_valid, 2, 2, GF_VALID)
CONV(op_conv_s2_same, 2, 2, GF_SAME)
CONV(op_conv_s23_same, 2, 3, GF_SAME)
CONV(op_conv_s1_valid, 1, 1, GF_VALID)
/* The second-order cases are cubic in a and b: halved, so that float32
 * rounding stays below the finite differences' tolerance. */
static gf_node *half(gf_node *x) { return gf_mul(x, gf_scalar(gf_node_graph(x), 0.5f)); }
static gf_node *op_conv_bpi_s1_same(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(gf_conv2d(half(a), half(b), 1, 1, GF_SAME)), a), a);
}
static gf_node *op_conv_bpi_s2_valid(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(gf_conv2d(half(a), half(b), 2, 2, GF_VALID)), a), a);
}
static gf_node *op_conv_bpf_s1_same(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(gf_conv2d(half(a), half(b), 1, 1, GF_SAME)), b), b);
}
static gf_node *op_conv_bpf_s2_same(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(gf_conv2d(half(a), half(b), 2, 2, GF_SAME)), b), b);
}
#define POOL(name, f, kh, kw, sh, sw, pad) \
    static gf_node *name(gf_node *a, gf_node *b) { (void)b; return f(a, kh, kw, sh, sw, pad); }
POOL(op_max_2x2_s2_same, gf_max_pool, 2, 2, 2, 2, GF_SAME)
POOL(op_max_3x3_s1_same, gf_max_pool, 3, 3, 1, 1, GF_SAME)
POOL(op_max_2x3_s21_valid, gf_max_pool, 2, 3, 2, 1, GF_VALID)
POOL(op_max_4x4_s1_same, gf_max_pool, 4, 4, 1, 1, GF_SAME)
POOL(op_avg_2x2_s2_same, gf_avg_pool, 2, 2, 2, 2, GF_SAME)
POOL(op_avg_3x2_s1_valid, gf_avg_pool, 3, 2, 1, 1, GF_VALID)
POOL(op_avg_4x4_s3_same, gf_avg_pool, 4, 4, 3, 3, GF_SAME)
static gf_node *op_max_pool_grad(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(op_max_2x2_s2_same(a, b)), a), a);
}
static gf_node *op_max_pool_grad_s1(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(op_max_3x3_s1_same(a, b)), a), a);
}
static gf_node *op_max_pool_grad_grad(gf_node *a, gf_node *b)
{
    gf_node *d = grad_wrt(gf_square(op_max_3x3_s1_same(a, b)), a);
    return gf_mul(grad_wrt(gf_square(d), a), a);
}
static gf_node *op_avg_pool_grad(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(op_avg_2x2_s2_same(a, b)), a), a);
}
static gf_node *op_avg_pool_grad_s1(gf_node *a, gf_node *b)
{
    return gf_mul(grad_wrt(gf_square(op_avg_3x2_s1_valid(a, b)), a), a);
}

enum { ANY_SIGN, POSITIVE, AWAY_FROM_ZERO }; /* value domains */
/* Grids 0.2 apart, offset by 0.1 from each other: maximum's operands, one
 * from each, never tie or come within a finite-difference step. */
enum { ODD_TENTHS = AWAY_FROM_ZERO + 1, EVEN_TENTHS };
/* Distinct values 0.05 apart in random order: a pool's maximum is never
 * tied, nor within a finite-difference step of its runner-up. */
enum { DISTINCT = EVEN_TENTHS + 1 };

typedef struct gc_case {
    const char *op;
    build_fn build;
    int arity;
    gf_shape a, b;
    int domain_a, domain_b;
} gc_case;

#define S0 { 0, { 0 } }
#define S1(x) { 1, { x } }
#define S2(x, y) { 2, { x, y } }
#define S3(x, y, z) { 3, { x, y, z } }
#define S4(x, y, z, w) { 4, { x, y, z, w } }

static const gc_case cases[] = {
    { "add", op_add, 2, S2(3, 4), S2(3, 4), 0, 0 },
    { "add", op_add, 2, S2(3, 4), S2(1, 4), 0, 0 },
    { "add", op_add, 2, S2(3, 1), S2(1, 4), 0, 0 },
    { "add", op_add, 2, S0, S2(3, 4), 0, 0 },
    { "add", op_add, 2, S3(2, 3, 4), S2(3, 1), 0, 0 },
    { "sub", op_sub, 2, S2(3, 4), S1(4), 0, 0 },
    { "sub", op_sub, 2, S2(3, 1), S2(1, 4), 0, 0 },
    { "sub", op_sub, 2, S2(3, 4), S0, 0, 0 },
    { "mul", op_mul, 2, S2(3, 4), S2(3, 4), 0, 0 },
    { "mul", op_mul, 2, S2(3, 4), S2(1, 4), 0, 0 },
    { "mul", op_mul, 2, S2(3, 1), S2(1, 4), 0, 0 },
    { "mul", op_mul, 2, S0, S3(2, 3, 4), 0, 0 },
    { "div", op_div, 2, S2(3, 4), S2(3, 4), 0, AWAY_FROM_ZERO },
    { "div", op_div, 2, S2(3, 4), S2(3, 1), 0, AWAY_FROM_ZERO },
    { "div", op_div, 2, S0, S2(3, 4), 0, AWAY_FROM_ZERO },
    { "div", op_div, 2, S3(2, 3, 4), S1(4), 0, AWAY_FROM_ZERO },
    { "neg", op_neg, 1, S2(3, 4), S0, 0, 0 },
    { "exp", op_exp, 1, S2(3, 4), S0, 0, 0 },
    { "exp", op_exp, 1, S3(2, 3, 4), S0, 0, 0 },
    { "sigmoid", op_sigmoid, 1, S2(3, 4), S0, 0, 0 },
    { "sigmoid", op_sigmoid, 1, S3(2, 3, 4), S0, 0, 0 },
    { "sqrt", op_sqrt, 1, S2(3, 4), S0, POSITIVE, 0 },
    { "matmul", op_mm, 2, S2(3, 4), S2(4, 5), 0, 0 },
    { "matmul", op_mm_ta, 2, S2(4, 3), S2(4, 5), 0, 0 },
    { "matmul", op_mm_tb, 2, S2(3, 4), S2(5, 4), 0, 0 },
    { "matmul", op_mm_tab, 2, S2(4, 3), S2(5, 4), 0, 0 },
    { "transpose", op_transpose, 1, S2(3, 4), S0, 0, 0 },
    { "transpose", op_transpose_201, 1, S3(2, 3, 4), S0, 0, 0 },
    { "reduce_sum", op_sum0, 1, S2(3, 4), S0, 0, 0 },
    { "reduce_sum", op_sum1k, 1, S2(3, 4), S0, 0, 0 },
    { "reduce_sum", op_sum_all, 1, S2(3, 4), S0, 0, 0 },
    { "reduce_sum", op_sum02, 1, S3(2, 3, 4), S0, 0, 0 },
    { "reduce_mean", op_mean0, 1, S2(3, 4), S0, 0, 0 },
    { "reduce_mean", op_mean1k, 1, S2(3, 4), S0, 0, 0 },
    { "reduce_mean", op_mean_all, 1, S2(3, 4), S0, 0, 0 },
    { "reduce_mean", op_mean12, 1, S3(2, 3, 4), S0, 0, 0 },
    { "sum_to", op_sum_to, 2, S2(3, 4), S2(1, 4), 0, 0 },
    { "broadcast_like", op_broadcast_like, 1, S2(3, 4), S0, 0, 0 },
    { "relu", op_relu, 1, S2(3, 4), S0, AWAY_FROM_ZERO, 0 },
    { "relu", op_relu, 1, S3(2, 3, 4), S0, AWAY_FROM_ZERO, 0 },
    { "tanh", op_tanh, 1, S2(3, 4), S0, 0, 0 },
    { "log", op_log, 1, S2(3, 4), S0, POSITIVE, 0 },
    { "square", op_square, 1, S2(3, 4), S0, 0, 0 },
    { "maximum", op_maximum, 2, S2(3, 4), S2(3, 4), ODD_TENTHS, EVEN_TENTHS },
    { "maximum", op_maximum, 2, S2(3, 1), S2(1, 4), ODD_TENTHS, EVEN_TENTHS },
    { "maximum", op_maximum, 2, S0, S2(3, 4), EVEN_TENTHS, ODD_TENTHS },
    { "maximum", op_maximum, 2, S3(2, 3, 4), S1(4), EVEN_TENTHS, ODD_TENTHS },
    { "softmax", op_softmax, 1, S2(3, 4), S0, 0, 0 },
    { "softmax", op_softmax, 1, S3(2, 3, 4), S0, 0, 0 },
    { "log_softmax", op_log_softmax, 1, S2(3, 4), S0, 0, 0 },
    { "log_softmax", op_log_softmax, 1, S1(5), S0, 0, 0 },
    { "softmax_cross_entropy_with_logits", op_xent, 2, S2(3, 4), S2(3, 4), POSITIVE, 0 },
    { "softmax_cross_entropy_with_logits", op_xent, 2, S3(2, 2, 3), S3(2, 2, 3), 0, 0 },
    { "softmax_cross_entropy_with_logits", op_xent, 2, S1(5), S1(5), POSITIVE, 0 },
    { "reshape", op_reshape_x2, 1, S2(3, 4), S0, 0, 0 },
    { "reshape", op_flatten, 1, S3(2, 3, 4), S0, 0, 0 },
    { "concat", op_concat_last, 2, S2(3, 4), S2(3, 2), 0, 0 },
    { "concat", op_concat0, 2, S2(2, 4), S2(3, 4), 0, 0 },
    { "concat", op_concat1, 2, S3(2, 3, 4), S3(2, 1, 4), 0, 0 },
    { "slice_rows", op_slice_rows, 1, S2(4, 3), S0, 0, 0 },
    { "slice_rows", op_slice_rows, 1, S3(3, 2, 2), S0, 0, 0 },
    { "gather_rows", op_gather_rows, 1, S2(3, 4), S0, 0, 0 },
    { "gather_rows", op_gather_rows, 1, S3(3, 2, 2), S0, 0, 0 },
    { "reshape_like", op_reshape_like, 1, S2(3, 4), S0, 0, 0 },
    { "concat_slice", op_concat_parts, 2, S2(3, 4), S2(3, 2), 0, 0 },
    { "pad_rows", op_pad_rows, 1, S2(4, 3), S0, 0, 0 },
    { "scatter_add_rows", op_scatter_add_rows, 1, S2(3, 4), S0, 0, 0 },
    { "concat_pad", op_concat_pad, 2, S2(3, 4), S2(3, 2), 0, 0 },
    { "check_numerics", op_check_numerics, 1, S2(3, 4), S0, 0, 0 },
    { "conv2d", op_conv_s1_same, 2, S4(2, 5, 5, 3), S4(3, 3, 3, 2), 0, 0 },
    { "conv2d", op_conv_s2_valid, 2, S4(2, 5, 6, 2), S4(2, 3, 2, 3), 0, 0 },
    { "conv2d", op_conv_s2_same, 2, S4(1, 5, 4, 2), S4(3, 2, 2, 2), 0, 0 },
    { "conv2d", op_conv_s1_same, 2, S4(1, 3, 2, 1), S4(5, 4, 1, 2), 0, 0 }, /* window larger than the input */
    { "conv2d", op_conv_s23_same, 2, S4(2, 7, 7, 1), S4(5, 5, 1, 2), 0, 0 },
    { "conv2d", op_conv_s1_valid, 2, S4(1, 4, 3, 2), S4(1, 1, 2, 3), 0, 0 },      /* 1x1: no patches */
    { "conv2d_backprop_input", op_conv_bpi_s1_same, 2, S4(1, 4, 5, 2), S4(3, 3, 2, 2), 0, 0 },
    { "conv2d_backprop_input", op_conv_bpi_s2_valid, 2, S4(2, 5, 5, 1), S4(3, 2, 1, 2), 0, 0 },
    { "conv2d_backprop_filter", op_conv_bpf_s1_same, 2, S4(1, 4, 5, 2), S4(3, 3, 2, 2), 0, 0 },
    { "conv2d_backprop_filter", op_conv_bpf_s2_same, 2, S4(2, 5, 3, 1), S4(2, 3, 1, 2), 0, 0 },
    { "max_pool", op_max_2x2_s2_same, 1, S4(2, 5, 5, 2), S0, DISTINCT, 0 },
    { "max_pool", op_max_3x3_s1_same, 1, S4(1, 4, 5, 2), S0, DISTINCT, 0 },
    { "max_pool", op_max_2x3_s21_valid, 1, S4(2, 5, 4, 1), S0, DISTINCT, 0 },
    { "max_pool", op_max_4x4_s1_same, 1, S4(1, 3, 3, 2), S0, DISTINCT, 0 }, /* window larger than the input */
    { "max_pool_grad", op_max_pool_grad, 1, S4(2, 5, 5, 2), S0, DISTINCT, 0 },
    { "max_pool_grad", op_max_pool_grad_s1, 1, S4(1, 4, 3, 2), S0, DISTINCT, 0 },
    { "max_pool_grad_grad", op_max_pool_grad_grad, 1, S4(1, 4, 4, 2), S0, DISTINCT, 0 },
    { "avg_pool", op_avg_2x2_s2_same, 1, S4(2, 5, 5, 2), S0, 0, 0 },
    { "avg_pool", op_avg_3x2_s1_valid, 1, S4(1, 4, 5, 2), S0, 0, 0 },
    { "avg_pool", op_avg_4x4_s3_same, 1, S4(1, 3, 5, 1), S0, 0, 0 },
    { "avg_pool_grad", op_avg_pool_grad, 1, S4(2, 5, 5, 2), S0, 0, 0 },
    { "avg_pool_grad", op_avg_pool_grad_s1, 1, S4(1, 4, 5, 2), S0, 0, 0 },
};

/* Random shapes, per op (RANDOM_PER_BINARY or RANDOM_PER_UNARY cases each):
 * a of rank 1..3 with dims 1..5; b drawn from a's shape with some dims set
 * to 1 and leading dims dropped, then the two maybe swapped, so that
 * either side broadcasts. */
static const struct { const char *op; build_fn build; int domain_b; } binary_ops[] = {
    { "add", op_add, 0 }, { "sub", op_sub, 0 }, { "mul", op_mul, 0 },
    { "div", op_div, AWAY_FROM_ZERO },
    { "maximum", op_maximum, EVEN_TENTHS }, /* a: ODD_TENTHS, set in random_binary */
};
static const struct { const char *op; build_fn build; int domain; } unary_ops[] = {
    { "neg", op_neg, 0 }, { "exp", op_exp, 0 }, { "sigmoid", op_sigmoid, 0 },
    { "sqrt", op_sqrt, POSITIVE }, { "transpose", op_transpose, 0 }, { "reduce_sum", op_sum_all, 0 },
    { "reduce_mean", op_mean_all, 0 },
    { "relu", op_relu, AWAY_FROM_ZERO }, { "tanh", op_tanh, 0 }, { "log", op_log, POSITIVE },
    { "square", op_square, 0 }, { "softmax", op_softmax, 0 }, { "log_softmax", op_log_softmax, 0 },
    { "reshape", op_flatten, 0 },
};
enum { RANDOM_PER_BINARY = 2, RANDOM_PER_UNARY = 1 };

static gf_shape random_shape(gf_rng *r)
{
    gf_shape a = { .rank = 1 + (int)gf_rng_below(r, 3) };
    for (int i = 0; i < a.rank; i++) a.dim[i] = 1 + gf_rng_below(r, 5);
    return a;
}

static gc_case random_binary(gf_rng *r, int o)
{
    gf_shape a = random_shape(r);
    gf_shape b = { .rank = 1 + (int)gf_rng_below(r, (uint32_t)a.rank) };
    for (int i = 0; i < b.rank; i++)
        b.dim[i] = gf_rng_below(r, 3) ? a.dim[a.rank - b.rank + i] : 1;
    bool swap = gf_rng_below(r, 2) && binary_ops[o].domain_b == 0;
    gc_case c = { binary_ops[o].op, binary_ops[o].build, 2, swap ? b : a, swap ? a : b, 0, binary_ops[o].domain_b };
    if (c.domain_b == EVEN_TENTHS) c.domain_a = ODD_TENTHS;
    return c;
}

static gc_case random_unary(gf_rng *r, int o)
{
    return (gc_case){ unary_ops[o].op, unary_ops[o].build, 1, random_shape(r), { 0, { 0 } }, unary_ops[o].domain, 0 };
}

static void fill(gf_tensor *t, int domain, gf_rng *r)
{
    float *p = gf_tensor_data(t);
    if (domain == DISTINCT) { /* then shuffled (Fisher-Yates) */
        int64_t n = gf_tensor_count(t);
        for (int64_t i = 0; i < n; i++) p[i] = (float)(0.05 * (double)i - 0.025 * (double)n);
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)gf_rng_below(r, (uint32_t)(i + 1));
            float tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return;
    }
    for (int64_t i = 0; i < gf_tensor_count(t); i++) {
        double u = gf_rng_uniform(r);
        switch (domain) {
        case POSITIVE: p[i] = (float)(0.5 + 1.5 * u); break;
        case AWAY_FROM_ZERO: p[i] = (float)((0.5 + u) * (gf_rng_below(r, 2) ? 1 : -1)); break;
        case ODD_TENTHS: p[i] = (float)(0.2 * (double)gf_rng_below(r, 14) - 1.3); break;  /* -1.3..1.3 */
        case EVEN_TENTHS: p[i] = (float)(0.2 * (double)gf_rng_below(r, 15) - 1.4); break; /* -1.4..1.4 */
        default: p[i] = (float)(3.0 * u - 1.5); break;
        }
    }
}

static const char *shapes(const gc_case *c, char *buf, size_t len)
{
    char a[64], b[64];
    gf_shape_format(c->a, a, sizeof a);
    if (c->arity == 1) snprintf(buf, len, "%s", a);
    else snprintf(buf, len, "%s, %s", a, gf_shape_format(c->b, b, sizeof b));
    return buf;
}

/* Checks one case with respect to each input. y = op(a, b) * C with C a
 * random constant, so that each output element weighs differently. */
static int run_case(const gc_case *c, uint64_t seed, double tol, gf_gc_report_fn report, void *ctx)
{
    gf_rng r;
    gf_rng_seed(&r, seed, 99);
    gf_graph *g = gf_graph_new();
    gf_node *in[2] = { gf_placeholder(g, "a", GF_F32, c->a), gf_placeholder(g, "b", GF_F32, c->b) };
    gf_node *out = c->build(in[0], in[1]);
    gf_tensor *val[2] = { gf_tensor_new(GF_F32, c->a, NULL), gf_tensor_new(GF_F32, c->b, NULL) };
    gf_tensor *w = gf_tensor_new(GF_F32, gf_node_shape(out), NULL);
    char what[160], sh[128], err[600] = "";
    shapes(c, sh, sizeof sh);
    int failed = 0;
    if (!val[0] || !val[1] || !w || gf_graph_status(g)) {
        snprintf(err, sizeof err, "%s", gf_graph_status(g) ? gf_graph_error(g) : "out of memory");
        report(ctx, c->op, sh, NULL, err);
        failed = 1;
        goto out;
    }
    fill(val[0], c->domain_a, &r);
    fill(val[1], c->domain_b, &r);
    fill(w, ANY_SIGN, &r);
    gf_node *y = gf_mul(out, gf_constant(g, gf_node_shape(out), gf_tensor_data(w)));
    gf_feed feeds[2] = { { in[0], val[0] }, { in[1], val[1] } };
    gf_session *s = gf_session_new(g, NULL);
    for (int k = 0; k < c->arity; k++) {
        gf_gradcheck_result res;
        gf_gradcheck_options o = { .directions = 2, .seed = seed };
        snprintf(what, sizeof what, "d/d%s, shapes %s", k ? "b" : "a", sh);
        if (gf_gradient_check(s, y, in[k], feeds, c->arity, &o, &res) != GF_OK) {
            snprintf(err, sizeof err, "%s", gf_session_error(s));
            report(ctx, c->op, what, NULL, err);
            failed++;
            continue;
        }
        report(ctx, c->op, what, &res, NULL);
        failed += !(res.max_error <= tol);
    }
    gf_session_free(s);
out:
    gf_tensor_free(val[0]);
    gf_tensor_free(val[1]);
    gf_tensor_free(w);
    gf_graph_free(g);
    return failed;
}

/* The article's 784-30-10 network: cost = sum((a_2 - y)^2) on a random
 * batch of 10, checked with respect to each variable. */
static int run_network(uint64_t seed, double tol, gf_gc_report_fn report, void *ctx)
{
    gf_article_net net;
    int failed = 0;
    gf_status st = gf_article_build_manual(&net, 30, 0.5f);
    gf_node *diff = gf_sub(net.a_2, net.y), *cost = gf_mul(diff, diff);
    gf_tensor *x = gf_tensor_new(GF_F32, gf_dims(2, 10, 784), NULL);
    gf_tensor *lab = gf_tensor_new(GF_F32, gf_dims(2, 10, 10), NULL);
    gf_session *s = st == GF_OK && x && lab ? gf_session_new(net.g, &(gf_session_options){ .seed = seed }) : NULL;
    if (!s || gf_session_status(s)) {
        report(ctx, "network", "784-30-10", NULL, s ? gf_session_error(s) : gf_graph_error(net.g));
        failed = 1;
        goto out;
    }
    gf_rng r;
    gf_rng_seed(&r, seed, 5);
    for (int64_t i = 0; i < 10 * 784; i++)
        gf_tensor_data(x)[i] = gf_rng_uniform(&r) < 0.8 ? 0.0f : (float)gf_rng_uniform(&r);
    for (int i = 0; i < 10; i++) gf_tensor_data(lab)[i * 10 + gf_rng_below(&r, 10)] = 1.0f;
    /* Smaller weights keep the sigmoids out of saturation, where float32
     * differences say nothing. */
    gf_node *vars[4] = { net.w_1, net.b_1, net.w_2, net.b_2 };
    const char *names[4] = { "d/dw_1", "d/db_1", "d/dw_2", "d/db_2" };
    for (int v = 0; v < 4; v++) {
        const gf_tensor *t = gf_session_variable(s, vars[v]);
        for (int64_t i = 0; i < gf_tensor_count(t); i++) gf_tensor_data(t)[i] *= 0.1f;
    }
    gf_feed feeds[2] = { { net.a_0, x }, { net.y, lab } };
    for (int v = 0; v < 4; v++) {
        gf_gradcheck_result res;
        gf_gradcheck_options o = { .max_elements = 200, .directions = 3, .seed = seed };
        if (gf_gradient_check(s, cost, vars[v], feeds, 2, &o, &res) != GF_OK) {
            report(ctx, "network", names[v], NULL, gf_session_error(s));
            failed++;
            continue;
        }
        report(ctx, "network", names[v], &res, NULL);
        failed += !(res.max_error <= tol);
    }
out:
    gf_session_free(s);
    gf_tensor_free(x);
    gf_tensor_free(lab);
    gf_graph_free(net.g);
    return failed;
}

/* The seed of the k-th case of op: the run's seed mixed with a hash of the
 * op's name (FNV-1a), so that no case's inputs depend on the others. */
static uint64_t case_seed(uint64_t seed, const char *op, uint64_t k)
{
    uint64_t h = 14695981039346656037u;
    for (const char *p = op; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
    return seed * 0x9e3779b97f4a7c15u + h + k;
}

/* The k-th case of op so far: its index among the cases of the same op. */
static uint64_t nth_of_op(size_t i)
{
    uint64_t k = 0;
    for (size_t j = 0; j < i; j++) k += !strcmp(cases[j].op, cases[i].op);
    return k;
}

const char *gf_gradcheck_case_op(size_t i)
{
    return i < sizeof cases / sizeof cases[0] ? cases[i].op : NULL;
}

int gf_gradcheck_all(uint64_t seed, double tol, gf_gc_report_fn report, void *ctx)
{
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        failed += run_case(&cases[i], case_seed(seed, cases[i].op, nth_of_op(i)), tol, report, ctx);
    /* Random shapes: from seeds of their own (1000 + k: no fixed case has
     * that many). */
    for (int o = 0; o < (int)(sizeof binary_ops / sizeof binary_ops[0]); o++)
        for (int k = 0; k < RANDOM_PER_BINARY; k++) {
            uint64_t cs = case_seed(seed, binary_ops[o].op, 1000 + (uint64_t)k);
            gf_rng r;
            gf_rng_seed(&r, cs, 17);
            gc_case c = random_binary(&r, o);
            failed += run_case(&c, cs, tol, report, ctx);
        }
    for (int o = 0; o < (int)(sizeof unary_ops / sizeof unary_ops[0]); o++)
        for (int k = 0; k < RANDOM_PER_UNARY; k++) {
            uint64_t cs = case_seed(seed, unary_ops[o].op, 1000 + (uint64_t)k);
            gf_rng r;
            gf_rng_seed(&r, cs, 17);
            gc_case c = random_unary(&r, o);
            failed += run_case(&c, cs, tol, report, ctx);
        }
    return failed + run_network(seed, tol, report, ctx);
}
