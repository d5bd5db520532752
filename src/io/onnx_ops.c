/*
 * onnx_ops.c — the ONNX export's op table: one row per gradflow op that
 * maps to ONNX (opset 13), with the writer of its nodes. docs/onnx.md lists
 * the same rows; an op without a row cannot be exported.
 */
#include "onnx.h"

#include <string.h>

#define INT_ATTR(n, v) { .name = (n), .kind = GF_OX_INT, .i = (v) }
#define INTS_ATTR(n, v, k) { .name = (n), .kind = GF_OX_INTS, .ints = (v), .n_ints = (k) }

/* row->onnx applied to every input of n. */
static bool plain(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    const char *in[GF_MAX_INPUTS];
    for (int i = 0; i < n->n_inputs; i++)
        if (!(in[i] = gf__ox_input(x, n, i))) return false;
    gf__ox_node(x, row->onnx, in, n->n_inputs, out, NULL, 0);
    return true;
}

/* square(a) = Mul(a, a). */
static bool square(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    (void)row;
    const char *a = gf__ox_input(x, n, 0);
    if (!a) return false;
    const char *in[] = { a, a };
    gf__ox_node(x, "Mul", in, 2, out, NULL, 0);
    return true;
}

/* The index (0 or 1) of a dropout mask among mul's inputs applied to the
 * other input, or -1. */
static int mask_side(const gf_node *n)
{
    if (n->op != GF_OP(MUL)) return -1;
    for (int j = 0; j < 2; j++) {
        const gf_node *m = n->inputs[j];
        if ((m->op == GF_OP(DROPOUT_MASK) || m->op == GF_OP(DROPOUT_KEEP_MASK)) && m->inputs[0] == n->inputs[1 - j])
            return j;
    }
    return -1;
}

const gf_node *gf__ox_dropout_data(gf_ox *x, const gf_node *n)
{
    int j = mask_side(n);
    if (j < 0) return NULL;
    const gf_node *mask = n->inputs[j], *data = n->inputs[1 - j];
    if (mask->op == GF_OP(DROPOUT_MASK)) {
        gf__ox_fail(x, GF_ERR_ARG,
                    "dropout \"%s\" has keep_prob %g fixed in the graph, so gradflow drops units at every run; "
                    "export an output built without gf_dropout, or with gf_dropout_keep and a keep_prob "
                    "placeholder (dropped from the export)",
                    n->name, (double)mask->attrs.dropout.keep_prob);
        return NULL;
    }
    const gf_node *kp = mask->inputs[1];
    if (kp->op == GF_OP(PLACEHOLDER) && !gf__ox_is_input(x, kp)) return data;
    if (kp->op == GF_OP(CONSTANT) && gf_shape_count(kp->shape) == 1 && kp->value[0] == 1.0f) return data;
    gf__ox_fail(x, GF_ERR_ARG,
                "dropout \"%s\": its keep_prob \"%s\" (op %s) %s; the export drops dropout (inference), which "
                "needs keep_prob a placeholder left out of the inputs, or the constant 1",
                n->name, kp->name, kp->op->name,
                kp->op == GF_OP(PLACEHOLDER) ? "is an input of the export" : "is not one that can be taken as 1");
    return NULL;
}

/* mul, or dropout's x * mask: x itself (inference keeps every unit). */
static bool mul(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    int j = mask_side(n);
    if (j < 0) return plain(x, n, row, out);
    gf__ox_alias(x, n, 1 - j);
    return true;
}

/* matmul: MatMul, or Gemm with transA/transB when an operand is transposed. */
static bool matmul(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    (void)row;
    const char *in[] = { gf__ox_input(x, n, 0), gf__ox_input(x, n, 1) };
    if (!in[0] || !in[1]) return false;
    int ta = n->attrs.matmul.transpose_a, tb = n->attrs.matmul.transpose_b;
    if (!ta && !tb) {
        gf__ox_node(x, "MatMul", in, 2, out, NULL, 0);
        return true;
    }
    gf_ox_attr at[] = { INT_ATTR("transA", ta), INT_ATTR("transB", tb) };
    gf__ox_node(x, "Gemm", in, 2, out, at, 2);
    return true;
}

static bool transpose(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    const char *in = gf__ox_input(x, n, 0);
    if (!in) return false;
    int64_t perm[GF_MAX_RANK];
    for (int i = 0; i < n->attrs.transpose.rank; i++) perm[i] = n->attrs.transpose.perm[i];
    gf_ox_attr at[] = { INTS_ATTR("perm", perm, n->attrs.transpose.rank) };
    gf__ox_node(x, row->onnx, &in, 1, out, at, 1);
    return true;
}

/* reduce_sum: ReduceSum with the axes as an input (opset 13); reduce_mean:
 * ReduceMean with them as an attribute. No axes: every axis. */
static bool reduce(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    const gf_reduce_attrs *r = &n->attrs.reduce;
    const char *in[2] = { gf__ox_input(x, n, 0), NULL };
    if (!in[0]) return false;
    int64_t axes[GF_MAX_RANK];
    for (int i = 0; i < r->n_axes; i++) axes[i] = r->axes[i];
    gf_ox_attr at[] = { INT_ATTR("keepdims", r->keepdims != 0), INTS_ATTR("axes", axes, r->n_axes) };
    bool sum = n->op == GF_OP(REDUCE_SUM);
    if (sum && r->n_axes > 0 && !(in[1] = gf__ox_const_i64(x, n, "axes", axes, r->n_axes))) return false;
    gf__ox_node(x, row->onnx, in, in[1] ? 2 : 1, out, at, !sum && r->n_axes > 0 ? 2 : 1);
    return true;
}

/* argmax: ArgMax (int64, first index on ties) cast to int32. */
static bool argmax(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    (void)row;
    const char *in = gf__ox_input(x, n, 0), *i64 = gf__ox_temp(x, n, "int64");
    if (!in || !i64) return false;
    gf_ox_attr at[] = { INT_ATTR("axis", n->attrs.argmax.axis), INT_ATTR("keepdims", 0) };
    gf__ox_node(x, "ArgMax", &in, 1, i64, at, 2);
    gf_ox_attr to[] = { INT_ATTR("to", GF_ONNX_INT32) };
    gf__ox_node(x, "Cast", &i64, 1, out, to, 1);
    return true;
}

static bool cast(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    const char *in = gf__ox_input(x, n, 0);
    if (!in) return false;
    gf_ox_attr at[] = { INT_ATTR("to", gf__ox_elem_type(n->attrs.cast.to)) };
    gf__ox_node(x, row->onnx, &in, 1, out, at, 1);
    return true;
}

/* softmax, log_softmax: along the last axis (opset 13 normalises one axis). */
static bool last_axis(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    const char *in = gf__ox_input(x, n, 0);
    if (!in) return false;
    gf_ox_attr at[] = { INT_ATTR("axis", -1) };
    gf__ox_node(x, row->onnx, &in, 1, out, at, 1);
    return true;
}

/* reshape: the target as an int64 initializer, -1 for the inferred (open)
 * dimension. ONNX reads a 0 as "copy the input's", so it is refused. */
static bool reshape(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    int64_t dims[GF_MAX_RANK];
    for (int i = 0; i < n->attrs.reshape.rank; i++) {
        dims[i] = n->attrs.reshape.dims[i] < 0 ? -1 : n->attrs.reshape.dims[i];
        if (dims[i] == 0)
            return gf__ox_fail(x, GF_ERR_SHAPE,
                               "reshape \"%s\": a target dimension of 0 means \"copy the input's\" in ONNX's "
                               "Reshape (opset 13), so it cannot be exported",
                               n->name);
    }
    const char *in[] = { gf__ox_input(x, n, 0), gf__ox_const_i64(x, n, "shape", dims, n->attrs.reshape.rank) };
    if (!in[0] || !in[1]) return false;
    gf__ox_node(x, row->onnx, in, 2, out, NULL, 0);
    return true;
}

/* ---- convolution and pooling: NHWC around ONNX's NCHW ---- */

static const int64_t TO_NCHW[] = { 0, 3, 1, 2 }, TO_NHWC[] = { 0, 2, 3, 1 }, TO_OIHW[] = { 3, 2, 0, 1 };

/* The window's attributes: kernel_shape, strides and TensorFlow's padding
 * made explicit (SAME: max((ceil(in/s)-1)*s + k - in, 0) in all, the
 * smaller half first); SAME over a spatial size open when the graph was
 * built becomes auto_pad SAME_UPPER (the same rule). Returns the number of
 * attributes written into at (4). */
static int window_attrs(const gf_node *n, int64_t kh, int64_t kw, int64_t k[2], int64_t s[2],
                        int64_t pads[4], gf_ox_attr at[4])
{
    const gf_shape in = n->inputs[0]->shape;
    k[0] = kh, k[1] = kw;
    s[0] = n->attrs.window.stride_h, s[1] = n->attrs.window.stride_w;
    at[0] = (gf_ox_attr)INTS_ATTR("kernel_shape", k, 2);
    at[1] = (gf_ox_attr)INTS_ATTR("strides", s, 2);
    bool same = n->attrs.window.padding == GF_SAME;
    if (same && (in.dim[1] < 0 || in.dim[2] < 0)) {
        at[2] = (gf_ox_attr){ .name = "auto_pad", .kind = GF_OX_STRING, .s = "SAME_UPPER" };
        return 3;
    }
    for (int a = 0; a < 2; a++) {
        int64_t out, before, total = 0;
        if (same && gf__window_out(in.dim[1 + a], k[a], s[a], GF_SAME, &out, &before) && out > 0) {
            total = (out - 1) * s[a] + k[a] - in.dim[1 + a];
            if (total < 0) total = 0;
        }
        pads[a] = total / 2;
        pads[2 + a] = total - total / 2;
    }
    at[2] = (gf_ox_attr)INTS_ATTR("pads", pads, 4);
    return 3;
}

/* in (NHWC) -> Transpose -> op(NCHW, extra...) -> Transpose -> out (NHWC). */
static bool around_nchw(gf_ox *x, const gf_node *n, const char *op, const char *extra, const gf_ox_attr *at,
                        int n_at, const char *out)
{
    const char *in = gf__ox_input(x, n, 0), *nchw = gf__ox_temp(x, n, "nchw"), *res = gf__ox_temp(x, n, op);
    if (!in || !nchw || !res) return false;
    gf_ox_attr p1[] = { INTS_ATTR("perm", TO_NCHW, 4) }, p2[] = { INTS_ATTR("perm", TO_NHWC, 4) };
    gf__ox_node(x, "Transpose", &in, 1, nchw, p1, 1);
    const char *ins[] = { nchw, extra };
    gf__ox_node(x, op, ins, extra ? 2 : 1, res, at, n_at);
    gf__ox_node(x, "Transpose", &res, 1, out, p2, 1);
    return true;
}

/* The filter [kh,kw,in,out] as ONNX's [out,in,kh,kw]: a transposed copy
 * when it is a variable or a constant, else a Transpose node. */
static const char *filter_oihw(gf_ox *x, const gf_node *n)
{
    const gf_node *f = n->inputs[1];
    const float *v = gf__ox_values(x, f);
    if (!v) {
        const char *in = gf__ox_input(x, n, 1), *t = gf__ox_temp(x, n, "filter_oihw");
        if (!in || !t) return NULL;
        gf_ox_attr p[] = { INTS_ATTR("perm", TO_OIHW, 4) };
        gf__ox_node(x, "Transpose", &in, 1, t, p, 1);
        return t;
    }
    int64_t kh = f->shape.dim[0], kw = f->shape.dim[1], ci = f->shape.dim[2], co = f->shape.dim[3];
    float *t = gf__malloc((size_t)gf_shape_count(f->shape) * sizeof *t + 1);
    if (!t) return gf__ox_fail(x, GF_ERR_NOMEM, "out of memory"), NULL;
    for (int64_t y = 0; y < kh; y++)
        for (int64_t z = 0; z < kw; z++)
            for (int64_t i = 0; i < ci; i++)
                for (int64_t o = 0; o < co; o++) t[((o * ci + i) * kh + y) * kw + z] = v[((y * kw + z) * ci + i) * co + o];
    const char *name = gf__ox_const_f32(x, f, "oihw", gf_dims(4, (int)co, (int)ci, (int)kh, (int)kw), t);
    gf__free(t);
    return name;
}

static bool conv2d(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    (void)row;
    gf_shape f = n->inputs[1]->shape;
    if (!gf__shape_known(f))
        return gf__ox_fail(x, GF_ERR_SHAPE, "conv2d \"%s\": the filter's shape must be known (it is %s)", n->name,
                           gf_shape_format(f, (char[GF_SHAPE_STR]){ 0 }, GF_SHAPE_STR));
    int64_t k[2], s[2], pads[4];
    gf_ox_attr at[4];
    int n_at = window_attrs(n, f.dim[0], f.dim[1], k, s, pads, at);
    const char *w = filter_oihw(x, n);
    return w && around_nchw(x, n, "Conv", w, at, n_at, out);
}

/* max_pool: MaxPool (padding never wins); avg_pool: AveragePool counting
 * only the window's elements inside the input, as TensorFlow's SAME. */
static bool pool(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out)
{
    int64_t k[2], s[2], pads[4];
    gf_ox_attr at[4];
    int n_at = window_attrs(n, n->attrs.window.ksize_h, n->attrs.window.ksize_w, k, s, pads, at);
    if (n->op == GF_OP(AVG_POOL)) at[n_at++] = (gf_ox_attr)INT_ATTR("count_include_pad", 0);
    return around_nchw(x, n, row->onnx, NULL, at, n_at, out);
}

/* ---- the table ---- */

static const gf_ox_row rows[] = {
    { GF_OP_ADD, "Add", plain },
    { GF_OP_SUB, "Sub", plain },
    { GF_OP_MUL, "Mul", mul },
    { GF_OP_DIV, "Div", plain },
    { GF_OP_NEG, "Neg", plain },
    { GF_OP_EXP, "Exp", plain },
    { GF_OP_SIGMOID, "Sigmoid", plain },
    { GF_OP_MATMUL, "MatMul; Gemm (transA, transB)", matmul },
    { GF_OP_TRANSPOSE, "Transpose", transpose },
    { GF_OP_REDUCE_SUM, "ReduceSum", reduce },
    { GF_OP_REDUCE_MEAN, "ReduceMean", reduce },
    { GF_OP_ARGMAX, "ArgMax, Cast", argmax },
    { GF_OP_EQUAL, "Equal", plain },
    { GF_OP_CAST, "Cast", cast },
    { GF_OP_SQRT, "Sqrt", plain },
    { GF_OP_RELU, "Relu", plain },
    { GF_OP_TANH, "Tanh", plain },
    { GF_OP_LOG, "Log", plain },
    { GF_OP_SQUARE, "Mul", square },
    { GF_OP_MAXIMUM, "Max", plain },
    { GF_OP_SOFTMAX, "Softmax", last_axis },
    { GF_OP_LOG_SOFTMAX, "LogSoftmax", last_axis },
    { GF_OP_RESHAPE, "Reshape", reshape },
    { GF_OP_CHECK_NUMERICS, "Identity", plain },
    { GF_OP_ALL_REDUCE_SUM, "Identity", plain },
    { GF_OP_ALL_REDUCE_MEAN, "Identity", plain },
    { GF_OP_CONV2D, "Transpose, Conv, Transpose", conv2d },
    { GF_OP_MAX_POOL, "MaxPool", pool },
    { GF_OP_AVG_POOL, "AveragePool", pool },
};

const gf_ox_row *gf__onnx_rows(int *count)
{
    *count = (int)(sizeof rows / sizeof rows[0]);
    return rows;
}

const gf_ox_row *gf__onnx_row(const gf_op *op)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (&gf__ops[rows[i].op] == op) return &rows[i];
    return NULL;
}
