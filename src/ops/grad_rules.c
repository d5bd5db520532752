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
    int ta = n->attrs.transpose_a, tb = n->attrs.transpose_b;
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
    for (int i = 0; i < n->attrs.n_axes; i++) inv[n->attrs.axes[i]] = i;
    if (need[0]) dx[0] = gf_transpose_perm(dy, inv);
}

/* dy spread back over the reduced axes. */
GRAD(gf__grad_reduce_sum)
{
    if (need[0]) dx[0] = gf__unreduce(dy, n->inputs[0], &n->attrs, false);
}

/* As the sum, divided by the number of elements averaged (known at run
 * time only when a reduced dimension is open). */
GRAD(gf__grad_reduce_mean)
{
    if (need[0]) dx[0] = gf__unreduce(dy, n->inputs[0], &n->attrs, true);
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
    if (n->attrs.mode == GF_BCAST_NUMPY) dx[0] = gf__sum_to(dy, n->inputs[0]);
    else dx[0] = gf__reduce_as(dy, &n->attrs);
}
