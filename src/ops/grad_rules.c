/*
 * grad_rules.c — each differentiable op's gradient rule, written with graph
 * ops so that gradients can be differentiated again. A rule gets the node,
 * the gradient of the loss with respect to its output and which inputs
 * need a gradient, and fills those (NULL where none flows).
 */
#include "op.h"

/* The gradient of a broadcast operand x of out = x OP other: dy summed over
 * the dimensions broadcasting added (TensorFlow's BroadcastGradientArgs).
 * Skipped when the shapes prove no broadcast can happen. */
static gf_node *unbroadcast(gf_node *dy, gf_node *x, gf_node *other, gf_node *out)
{
    if (!dy) return NULL;
    gf_shape xs = x->shape, os = out->shape, ot = other->shape;
    bool same = xs.rank == os.rank;
    for (int i = 0; same && i < xs.rank; i++) {
        if (xs.dim[i] != os.dim[i]) same = false;
        else if (xs.dim[i] == GF_ANY) {
            /* x is open here: the other operand must be 1 (or absent) here,
             * else x might be 1 at run time and broadcast. */
            int j = ot.rank - os.rank + i;
            same = j < 0 || ot.dim[j] == 1;
        }
    }
    return same ? dy : gf__sum_to(dy, x);
}

static gf_node *one(gf_node *n) { return gf_scalar(n->graph, 1.0f); }

#define GRAD(name) void name(gf_node *n, gf_node *dy, const bool *need, gf_node **dx)

GRAD(gf__grad_add)
{
    gf_node *a = n->inputs[0], *b = n->inputs[1];
    if (need[0]) dx[0] = unbroadcast(dy, a, b, n);
    if (need[1]) dx[1] = unbroadcast(dy, b, a, n);
}

GRAD(gf__grad_sub)
{
    gf_node *a = n->inputs[0], *b = n->inputs[1];
    if (need[0]) dx[0] = unbroadcast(dy, a, b, n);
    if (need[1]) dx[1] = unbroadcast(gf_neg(dy), b, a, n);
}

GRAD(gf__grad_mul)
{
    gf_node *a = n->inputs[0], *b = n->inputs[1];
    if (need[0]) dx[0] = unbroadcast(gf_mul(dy, b), a, b, n);
    if (need[1]) dx[1] = unbroadcast(gf_mul(dy, a), b, a, n);
}

/* out = a / b: da = dy / b, db = -dy * out / b. */
GRAD(gf__grad_div)
{
    gf_node *a = n->inputs[0], *b = n->inputs[1];
    if (need[0]) dx[0] = unbroadcast(gf_div(dy, b), a, b, n);
    if (need[1]) dx[1] = unbroadcast(gf_neg(gf_div(gf_mul(dy, n), b)), b, a, n);
}

GRAD(gf__grad_neg)
{
    (void)n;
    if (need[0]) dx[0] = gf_neg(dy);
}

/* d exp(x) = exp(x) dx: the op's own output. */
GRAD(gf__grad_exp)
{
    if (need[0]) dx[0] = gf_mul(dy, n);
}

/* d sigmoid(x) = s (1 - s) dx with s the op's output. */
GRAD(gf__grad_sigmoid)
{
    if (need[0]) dx[0] = gf_mul(dy, gf_mul(n, gf_sub(one(n), n)));
}

/* d sqrt(x) = dx / (2 sqrt(x)). */
GRAD(gf__grad_sqrt)
{
    if (need[0]) dx[0] = gf_div(dy, gf_mul(gf_scalar(n->graph, 2.0f), n));
}

/* out = op(a) @ op(b). With no transposes: da = dy @ b^T, db = a^T @ dy;
 * the other three cases follow by transposing those (TensorFlow's rules). */
GRAD(gf__grad_matmul)
{
    gf_node *a = n->inputs[0], *b = n->inputs[1];
    int ta = n->attrs.matmul.transpose_a, tb = n->attrs.matmul.transpose_b;
    if (!ta && !tb) {
        if (need[0]) dx[0] = gf_matmul_t(dy, b, 0, 1);
        if (need[1]) dx[1] = gf_matmul_t(a, dy, 1, 0);
    } else if (!ta && tb) {
        if (need[0]) dx[0] = gf_matmul_t(dy, b, 0, 0);
        if (need[1]) dx[1] = gf_matmul_t(dy, a, 1, 0);
    } else if (ta && !tb) {
        if (need[0]) dx[0] = gf_matmul_t(b, dy, 0, 1);
        if (need[1]) dx[1] = gf_matmul_t(a, dy, 0, 0);
    } else {
        if (need[0]) dx[0] = gf_matmul_t(b, dy, 1, 1);
        if (need[1]) dx[1] = gf_matmul_t(dy, a, 1, 1);
    }
}

/* The inverse permutation. */
GRAD(gf__grad_transpose)
{
    int inv[GF_MAX_RANK];
    for (int i = 0; i < n->attrs.transpose.rank; i++) inv[n->attrs.transpose.perm[i]] = i;
    if (need[0]) dx[0] = gf_transpose_perm(dy, inv);
}

/* dy spread back over the reduced axes. */
GRAD(gf__grad_reduce_sum)
{
    if (need[0]) dx[0] = gf__unreduce(dy, n->inputs[0], &n->attrs.reduce, false);
}

/* As the sum, divided by the number of elements averaged (known at run
 * time only when a reduced dimension is open). */
GRAD(gf__grad_reduce_mean)
{
    if (need[0]) dx[0] = gf__unreduce(dy, n->inputs[0], &n->attrs.reduce, true);
}

/* sum_to(g, like) is linear in g: its gradient broadcasts dy back. */
GRAD(gf__grad_sum_to)
{
    if (need[0]) dx[0] = gf__broadcast_like(dy, n->inputs[0]);
}

/* broadcast_like(g, like) is linear in g: its gradient sums dy back. */
GRAD(gf__grad_broadcast_like)
{
    if (!need[0]) return;
    if (n->attrs.broadcast_like.mode == GF_BCAST_NUMPY) dx[0] = gf__sum_to(dy, n->inputs[0]);
    else dx[0] = gf__reduce_as(dy, &n->attrs.broadcast_like.reduce);
}

/* ---- the model zoo ---- */

GRAD(gf__grad_none)
{
    (void)n; (void)dy; (void)need; (void)dx;
}

/* d relu(x) = dx where x > 0 (the output is > 0 exactly there), else 0. */
GRAD(gf__grad_relu)
{
    if (need[0]) dx[0] = gf_mul(dy, gf__greater_mask(n, gf_scalar(n->graph, 0.0f)));
}

/* d tanh(x) = (1 - y^2) dx with y the op's output. */
GRAD(gf__grad_tanh)
{
    if (need[0]) dx[0] = gf_mul(dy, gf_sub(one(n), gf_mul(n, n)));
}

/* d log(x) = dx / x. */
GRAD(gf__grad_log)
{
    if (need[0]) dx[0] = gf_div(dy, n->inputs[0]);
}

/* d x^2 = 2 x dx. */
GRAD(gf__grad_square)
{
    if (need[0]) dx[0] = gf_mul(dy, gf_mul(gf_scalar(n->graph, 2.0f), n->inputs[0]));
}

/* maximum(a, b): dy goes to a where a >= b (ties to a, as TensorFlow), to b
 * where b > a, each summed back over its broadcast dimensions. */
GRAD(gf__grad_maximum)
{
    gf_node *a = n->inputs[0], *b = n->inputs[1];
    gf_node *b_wins = gf__greater_mask(b, a);
    if (need[0]) dx[0] = unbroadcast(gf_mul(dy, gf_sub(one(n), b_wins)), a, b, n);
    if (need[1]) dx[1] = unbroadcast(gf_mul(dy, b_wins), b, a, n);
}

static const int last_axis[1] = { -1 };

/* y = softmax(x) along the last axis: dx = (dy - sum(dy * y)) * y, the
 * sum along the last axis, kept for broadcasting. */
GRAD(gf__grad_softmax)
{
    if (need[0]) dx[0] = gf_mul(gf_sub(dy, gf_reduce_sum(gf_mul(dy, n), last_axis, 1, 1)), n);
}

/* y = log_softmax(x): dx = dy - exp(y) * sum(dy) along the last axis. */
GRAD(gf__grad_log_softmax)
{
    if (need[0]) dx[0] = gf_sub(dy, gf_mul(gf_exp(n), gf_reduce_sum(dy, last_axis, 1, 1)));
}

/* loss = sum_j labels_j (lse(logits) - logits_j) per row, dy [...] spread
 * over the class axis:
 *   d logits = dy * (softmax(logits) * sum_j labels_j - labels), which is
 *     TensorFlow's softmax - labels when each row of labels sums to 1 (as
 *     it must for a cross-entropy) and exact for any labels;
 *   d labels = -dy * log_softmax(logits), as TensorFlow. */
GRAD(gf__grad_xent)
{
    gf_node *labels = n->inputs[0], *logits = n->inputs[1];
    gf_reduce_attrs last = { .axes = { logits->shape.rank - 1 }, .n_axes = 1 };
    gf_node *dyk = gf__unreduce(dy, logits, &last, false);
    if (need[1]) {
        gf_node *mass = gf_reduce_sum(labels, last_axis, 1, 1);
        dx[1] = gf_mul(dyk, gf_sub(gf_mul(gf_softmax(logits), mass), labels));
    }
    if (need[0]) dx[0] = gf_neg(gf_mul(dyk, gf_log_softmax(logits)));
}

/* Reshapes are linear: the gradient is dy in the input's shape. */
GRAD(gf__grad_reshape)
{
    if (need[0]) dx[0] = gf__reshape_like(dy, n->inputs[0]);
}

GRAD(gf__grad_reshape_like)
{
    if (need[0]) dx[0] = gf__reshape_like(dy, n->inputs[0]);
}

/* concat(a, b): each input gets its part of dy along the axis. */
GRAD(gf__grad_concat)
{
    int axis = n->attrs.concat.axis;
    if (need[0]) dx[0] = gf__concat_slice(dy, n->inputs[0], axis, 0);
    if (need[1]) dx[1] = gf__concat_slice(dy, n->inputs[1], axis, 1);
}

/* Taking a part and padding it back are each other's adjoints. */
GRAD(gf__grad_concat_slice)
{
    if (need[0]) dx[0] = gf__concat_pad(dy, n->inputs[0], n->attrs.concat.axis, n->attrs.concat.back);
}

GRAD(gf__grad_concat_pad)
{
    if (need[0]) dx[0] = gf__concat_slice(dy, n->inputs[0], n->attrs.concat.axis, n->attrs.concat.back);
}

/* Slicing rows and padding them back are each other's adjoints. */
GRAD(gf__grad_slice_rows)
{
    if (need[0]) dx[0] = gf__pad_rows(dy, n->inputs[0], n->attrs.rows.start, n->attrs.rows.count);
}

GRAD(gf__grad_pad_rows)
{
    if (need[0]) dx[0] = gf_slice_rows(dy, n->attrs.rows.start, n->attrs.rows.count);
}

/* gather_rows(x, indices): dy's rows added into the rows they came from
 * (a scatter-add; indices get no gradient). The number of rows of x must
 * be known when the graph is built. */
GRAD(gf__grad_gather_rows)
{
    gf_node *x = n->inputs[0];
    if (!need[0]) return;
    if (x->shape.dim[0] == GF_ANY || x->shape.dim[0] > INT32_MAX) {
        char b[GF_SHAPE_STR];
        gf__graph_fail(n->graph, GF_ERR_SHAPE,
                       "gather_rows \"%s\": the gradient with respect to input 0 (\"%s\", shape %s) needs "
                       "its number of rows known when the graph is built (and below 2^31)",
                       n->name, x->name, gf_shape_format(x->shape, b, sizeof b));
        return;
    }
    dx[0] = gf__scatter_add_rows(dy, n->inputs[1], x->shape.dim[0]);
}

/* scatter_add_rows(g, indices) is linear in g: gather dy's rows back. */
GRAD(gf__grad_scatter_add_rows)
{
    if (need[0]) dx[0] = gf_gather_rows(dy, n->inputs[1]);
}

/* check_numerics passes values through: so does its gradient. */
GRAD(gf__grad_check_numerics)
{
    (void)n;
    if (need[0]) dx[0] = dy;
}

/* ---- convolution and pooling ---- */

/* y = conv2d(x, f): dx = conv2d_backprop_input(dy, f, x), df =
 * conv2d_backprop_filter(x, dy, f). */
GRAD(gf__grad_conv2d)
{
    gf_node *x = n->inputs[0], *f = n->inputs[1];
    int sh = n->attrs.window.stride_h, sw = n->attrs.window.stride_w, p = n->attrs.window.padding;
    if (need[0]) dx[0] = gf__conv2d_backprop_input(dy, f, x, sh, sw, p);
    if (need[1]) dx[1] = gf__conv2d_backprop_filter(x, dy, f, sh, sw, p);
}

/* z = backprop_input(d, f, like) is bilinear in (d, f), the adjoint of
 * conv2d(., f): dd = conv2d(dz, f), df = backprop_filter(dz, d, f)
 * (TensorFlow's Conv2DBackpropInput gradient). */
GRAD(gf__grad_conv2d_backprop_input)
{
    gf_node *d = n->inputs[0], *f = n->inputs[1];
    int sh = n->attrs.window.stride_h, sw = n->attrs.window.stride_w, p = n->attrs.window.padding;
    if (need[0]) dx[0] = gf_conv2d(dy, f, sh, sw, (gf_padding)p);
    if (need[1]) dx[1] = gf__conv2d_backprop_filter(dy, d, f, sh, sw, p);
}

/* z = backprop_filter(x, d, like) is bilinear in (x, d): dx =
 * backprop_input(d, dz, x), dd = conv2d(x, dz) (TensorFlow's
 * Conv2DBackpropFilter gradient). */
GRAD(gf__grad_conv2d_backprop_filter)
{
    gf_node *x = n->inputs[0], *d = n->inputs[1];
    int sh = n->attrs.window.stride_h, sw = n->attrs.window.stride_w, p = n->attrs.window.padding;
    if (need[0]) dx[0] = gf__conv2d_backprop_input(d, dy, x, sh, sw, p);
    if (need[1]) dx[1] = gf_conv2d(x, dy, sh, sw, (gf_padding)p);
}

/* dy goes to each window's first maximum. */
GRAD(gf__grad_max_pool)
{
    if (need[0]) dx[0] = gf__max_pool_grad(n->inputs[0], dy, &n->attrs);
}

/* max_pool_grad(x, d) is linear in d (its adjoint picks dz at the maxima)
 * and piecewise constant in x: x gets no gradient (TensorFlow's zeros). */
GRAD(gf__grad_max_pool_grad)
{
    if (need[1]) dx[1] = gf__max_pool_grad_grad(n->inputs[0], dy, &n->attrs);
}

GRAD(gf__grad_max_pool_grad_grad)
{
    if (need[1]) dx[1] = gf__max_pool_grad(n->inputs[0], dy, &n->attrs);
}

/* avg_pool and avg_pool_grad are linear and each other's adjoints. */
GRAD(gf__grad_avg_pool)
{
    if (need[0]) dx[0] = gf__avg_pool_grad(dy, n->inputs[0], &n->attrs);
}

GRAD(gf__grad_avg_pool_grad)
{
    if (need[0])
        dx[0] = gf_avg_pool(dy, n->attrs.window.ksize_h, n->attrs.window.ksize_w, n->attrs.window.stride_h,
                            n->attrs.window.stride_w, (gf_padding)n->attrs.window.padding);
}
