/*
 * pool_mask.c — rewrite: relu's gradient after a max pool,
 *   mul(max_pool_grad(h, dy), greater_mask(h, 0))   (h = relu's output),
 * becomes max_pool_grad with its window.relu_grad flag set: the kernel
 * multiplies each image's result by the mask while it is still in cache,
 * instead of a separate pass over the whole [N,H,W,C] (in the CNN, two
 * passes over 5 MB and 2.5 MB a step). The same operations on the same
 * values, so the same bits.
 */
#include "../plan/plan.h"

/* Whether z is a one-element constant holding zero (+0 or -0: x > 0 and
 * x > -0 are the same test). */
static bool is_zero(const gf_pnode *z)
{
    return (z->n.op->flags & GF_OPF_CONSTANT) && gf_shape_count(z->n.shape) == 1 && z->n.value &&
           z->n.value[0] == 0.0f;
}

void gf__opt_pool_mask(gf_plan *p)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *m = &p->pn[i];
        if (!m->live || m->alias || m->n.op != GF_OP(MUL)) continue;
        for (int j = 0; j < 2; j++) {
            gf_pnode *g = gf__pn_in(m, j), *mask = gf__pn_in(m, 1 - j);
            if (g->n.op != GF_OP(MAX_POOL_GRAD) || g->fetched || g->users != 1 || g->n.attrs.window.relu_grad)
                continue;
            if (mask->n.op != GF_OP(GREATER_MASK) || gf__pn_in(mask, 0) != gf__pn_in(g, 0) ||
                !is_zero(gf__pn_in(mask, 1)) || !gf__shape_equal(m->n.shape, g->n.shape))
                continue;
            g->n.attrs.window.relu_grad = 1;
            m->alias = g; /* m's readers (and fetches) now read g */
            if (m->fetched) g->fetched = true;
            break;
        }
    }
}
