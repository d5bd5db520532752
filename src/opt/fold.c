/*
 * fold.c — rewrite: constant folding. An op whose inputs are all constants
 * is computed once, when the plan is compiled, unless its result is large
 * (more than GF_FOLD_MAX_FLOATS): then it stays a step of the run, as in
 * TensorFlow, so that compiling stays cheap and a plan does not hold a big
 * copy of what a kernel can recompute.
 */
#include "../plan/plan.h"

#include <stdlib.h>

static bool is_const(const gf_pnode *q)
{
    return q->view && !(q->n.op->flags & (GF_OPF_PLACEHOLDER | GF_OPF_VARIABLE));
}

gf_status gf__opt_fold(gf_plan *p)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i];
        unsigned fl = q->n.op->flags;
        if (q->alias || q->view || q->n.n_inputs == 0 || (fl & (GF_OPF_RANDOM | GF_OPF_ASSIGN | GF_OPF_COLLECTIVE)))
            continue;
        bool all = true;
        for (int j = 0; j < q->n.n_inputs && all; j++) /* shape-only inputs need not be constant */
            all = is_const(gf__pn_in(q, j)) || (j == q->n.n_inputs - 1 && (fl & GF_OPF_SHAPE_ONLY));
        if (!all) continue;
        int64_t n = gf_shape_count(q->n.shape);
        if (n > GF_FOLD_MAX_FLOATS) continue;
        float **list = gf__realloc(p->folded, ((size_t)p->n_folded + 1) * sizeof *list);
        if (!list) return GF_ERR_NOMEM;
        p->folded = list;
        float *buf = gf__malloc((size_t)(n ? n : 1) * sizeof *buf);
        if (!buf) return GF_ERR_NOMEM;
        p->folded[p->n_folded++] = buf;
        const gf_tensor *in[GF_MAX_INPUTS] = { NULL };
        for (int j = 0; j < q->n.n_inputs; j++) in[j] = &gf__pn_in(q, j)->val;
        q->val = (gf_tensor){ .dtype = q->n.dtype, .shape = q->n.shape, .data = buf };
        gf_kctx ctx = { .threads = 1 };
        if (n > 0) q->n.op->kernel(&q->val, in, &q->n, &ctx); /* see gf__plan_run (plan/run.c) */
        q->view = true; /* a constant from now on */
    }
    return GF_OK;
}
