/*
 * transpose.c — rewrite: matmul(transpose(x), y) becomes matmul with the
 * transpose flag set, so the GEMM reads x in place and no copy is made.
 */
#include "../plan/plan.h"

static bool is_2d_swap(const gf_pnode *t)
{
    return t->n.op == GF_OP(TRANSPOSE) && t->n.shape.rank == 2 && t->n.attrs.transpose.perm[0] == 1;
}

void gf__opt_transpose(gf_plan *p)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *m = &p->pn[i];
        if (m->n.op != GF_OP(MATMUL)) continue;
        for (int j = 0; j < 2; j++) {
            gf_pnode *t = gf__pn_in(m, j);
            if (!is_2d_swap(t)) continue;
            m->n.inputs[j] = &gf__pn_in(t, 0)->n;
            if (j == 0) m->n.attrs.matmul.transpose_a = !m->n.attrs.matmul.transpose_a;
            else m->n.attrs.matmul.transpose_b = !m->n.attrs.matmul.transpose_b;
        }
    }
}
