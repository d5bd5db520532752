/*
 * gradients.c — reverse-mode automatic differentiation: graph in, more graph
 * out (tf.gradients). Each op's rule lives in its op-table row.
 */
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

static gf_status check_list(gf_graph *g, const char *what, gf_node *const *nodes, int n)
{
    if (n < 0 || (n > 0 && !nodes)) {
        gf__graph_fail(g, GF_ERR_ARG, "gradients: %d %s but the array is NULL", n, what);
        return GF_ERR_ARG;
    }
    for (int i = 0; i < n; i++) {
        gf_node *x = nodes[i];
        const char *why = !x                 ? "is NULL"
                          : x->id < 0 && !x->graph ? "is a poisoned node (made on a NULL graph)"
                          : x->graph != g          ? "belongs to another graph"
                          : x->id < 0              ? "is a poisoned node"
                                                   : NULL;
        if (why) {
            gf__graph_fail(g, GF_ERR_ARG, "gradients: %s[%d] %s", what, i, why);
            return GF_ERR_ARG;
        }
    }
    return GF_OK;
}

/* Whether dy can be y's incoming gradient: float32, the same rank, and
 * equal dimensions where both are known when built. */
static bool like_shaped(const gf_node *dy, const gf_node *y)
{
    if (dy->dtype != GF_F32 || dy->shape.rank != y->shape.rank) return false;
    for (int d = 0; d < y->shape.rank; d++)
        if (dy->shape.dim[d] != y->shape.dim[d] && dy->shape.dim[d] != GF_ANY && y->shape.dim[d] != GF_ANY)
            return false;
    return true;
}

/* acc := acc + c, building one add per extra contribution. */
static void accumulate(gf_node **acc, gf_node *c)
{
    *acc = *acc ? gf_add(*acc, c) : c;
}

gf_status gf_gradients_ex(gf_graph *g, gf_node *const *ys, int n_ys, gf_node *const *xs, int n_xs,
                          gf_node *const *grad_ys, unsigned flags, gf_node **out)
{
    if (!g) return GF_ERR_ARG;
    if (out)
        for (int i = 0; i < n_xs; i++) out[i] = NULL;
    if (g->status != GF_OK) return g->status;
    if (!out && n_xs > 0) {
        gf__graph_fail(g, GF_ERR_ARG, "gradients: out is NULL");
        return g->status;
    }
    if (check_list(g, "ys", ys, n_ys) || check_list(g, "xs", xs, n_xs)) return g->status;
    if (grad_ys && check_list(g, "grad_ys", grad_ys, n_ys)) return g->status;
    for (int i = 0; i < n_ys; i++) {
        if (ys[i]->dtype != GF_F32) {
            gf__graph_fail(g, GF_ERR_ARG, "gradients: ys[%d] (\"%s\") has dtype %s: expected float32",
                           i, ys[i]->name, gf_dtype_name(ys[i]->dtype));
            return g->status;
        }
        if (grad_ys && !like_shaped(grad_ys[i], ys[i])) {
            char want[GF_SHAPE_STR], got[GF_SHAPE_STR];
            gf__graph_fail(g, GF_ERR_SHAPE,
                           "gradients: grad_ys[%d] (\"%s\") is %s of shape %s, but ys[%d] (\"%s\") is float32 "
                           "of shape %s: each grad_ys must have its y's dtype and shape",
                           i, grad_ys[i]->name, gf_dtype_name(grad_ys[i]->dtype),
                           gf_shape_format(grad_ys[i]->shape, got, sizeof got), i, ys[i]->name,
                           gf_shape_format(ys[i]->shape, want, sizeof want));
            return g->status;
        }
    }

    int nn = g->n_nodes;
    bool *from_x = gf__calloc((size_t)nn, sizeof *from_x), *to_y = gf__calloc((size_t)nn, sizeof *to_y);
    gf_node **acc = gf__calloc((size_t)nn, sizeof *acc);
    if (!from_x || !to_y || !acc) {
        gf__graph_fail(g, GF_ERR_NOMEM, "gradients: out of memory");
        goto done;
    }
    /* Node ids are a topological order: inputs always come first. */
    for (int i = 0; i < n_xs; i++) from_x[xs[i]->id] = true;
    for (int id = 0; id < nn; id++) {
        gf_node *n = g->nodes[id];
        for (int j = 0; j < n->n_inputs && !from_x[id]; j++) from_x[id] = from_x[n->inputs[j]->id];
    }
    for (int i = 0; i < n_ys; i++) to_y[ys[i]->id] = true;
    for (int id = nn - 1; id >= 0; id--) {
        gf_node *n = g->nodes[id];
        if (!to_y[id]) continue;
        for (int j = 0; j < n->n_inputs; j++) to_y[n->inputs[j]->id] = true;
    }

    const char *saved_scope = g->scope;
    g->scope = "gradients";
    for (int i = 0; i < n_ys; i++) {
        if (!from_x[ys[i]->id]) continue; /* y does not depend on any x */
        accumulate(&acc[ys[i]->id], grad_ys ? grad_ys[i] : gf__broadcast_like(gf_scalar(g, 1.0f), ys[i]));
    }
    /* Walk back from the last node: each node's contributions are summed
     * once, then its rule passes the total to its inputs. */
    for (int id = nn - 1; id >= 0 && g->status == GF_OK; id--) {
        gf_node *n = g->nodes[id];
        if (!acc[id] || !from_x[id] || !to_y[id] || n->n_inputs == 0) continue;
        if (!n->op->grad) {
            gf__graph_fail(g, GF_ERR_ARG,
                           "gradients: op %s (\"%s\") has no gradient, and it lies between the ys and xs",
                           n->op->name, n->name);
            break;
        }
        gf_node *dx[GF_MAX_INPUTS] = { NULL };
        bool need[GF_MAX_INPUTS] = { false };
        for (int j = 0; j < n->n_inputs; j++) need[j] = from_x[n->inputs[j]->id];
        n->op->grad(n, acc[id], need, dx);
        for (int j = 0; j < n->n_inputs; j++) {
            gf_node *in = n->inputs[j];
            if (dx[j] && from_x[in->id]) accumulate(&acc[in->id], dx[j]);
        }
    }
    for (int i = 0; i < n_xs && g->status == GF_OK; i++) {
        out[i] = acc[xs[i]->id];
        if (!out[i] && (flags & GF_GRAD_ZEROS)) out[i] = gf__broadcast_like(gf_scalar(g, 0.0f), xs[i]);
    }
    g->scope = saved_scope;
done:
    gf__free(from_x);
    gf__free(to_y);
    gf__free(acc);
    if (g->status != GF_OK)
        for (int i = 0; i < n_xs; i++) out[i] = NULL;
    return g->status;
}

gf_status gf_gradients(gf_graph *g, gf_node *const *ys, int n_ys, gf_node *const *xs, int n_xs,
                       gf_node *const *grad_ys, gf_node **out)
{
    return gf_gradients_ex(g, ys, n_ys, xs, n_xs, grad_ys, 0, out);
}
