/*
 * inplace.c — rewrite: assign(v, v - a*X) (or v + X, v - X) updates v in
 * place, and where X is a matmul used only here, inside the GEMM itself.
 */
#include "../plan/plan.h"

/* x has v's elements in v's layout: same count, and x broadcasts to v's
 * shape (e.g. [30] for [1,30]). */
static bool fits(const gf_pnode *x, const gf_pnode *v)
{
    gf_shape b;
    return gf_shape_count(x->n.shape) == gf_shape_count(v->n.shape) &&
           gf__broadcast_shape(x->n.shape, v->n.shape, &b) && gf__shape_equal(b, v->n.shape);
}

/* Matches value = v -/+ [scale *] X for the variable v. */
static bool match(gf_pnode *a, gf_pnode *v, gf_pnode *e)
{
    gf_pnode *m;
    if ((e->n.op == GF_OP(SUB) || e->n.op == GF_OP(ADD)) && gf__pn_in(e, 0) == v) {
        m = gf__pn_in(e, 1);
        a->sign = e->n.op == GF_OP(SUB) ? -1.0f : 1.0f;
    } else if (e->n.op == GF_OP(ADD) && gf__pn_in(e, 1) == v) {
        m = gf__pn_in(e, 0);
        a->sign = 1.0f;
    } else {
        return false;
    }
    a->scale = NULL;
    a->x = m;
    if (m->n.op == GF_OP(MUL)) {
        gf_pnode *s0 = gf__pn_in(m, 0), *s1 = gf__pn_in(m, 1);
        if (gf_shape_count(s0->n.shape) == 1 && fits(s1, v)) {
            a->scale = s0;
            a->x = s1;
        } else if (gf_shape_count(s1->n.shape) == 1 && fits(s0, v)) {
            a->scale = s1;
            a->x = s0;
        }
    }
    return fits(a->x, v) && a->x->n.dtype == GF_F32 && a->x != v && a->scale != v;
}

/* Whether update a reads a variable that update b writes. */
static bool reads_written(const gf_pnode *a, const gf_pnode *b)
{
    gf_pnode *in[GF_FUSED_MAX_IN + 4], *w[3];
    int k = gf__step_inputs(a, in), kw = gf__pn_assigned(b, w);
    for (int i = 0; i < k; i++)
        for (int j = 0; j < kw; j++)
            if (in[i] == w[j] && !(i == 0 && j == 0 && a == b)) return true;
    return false;
}

void gf__opt_inplace(gf_plan *p)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *a = &p->pn[i];
        if (!a->live || a->alias || !(a->n.op->flags & GF_OPF_ASSIGN)) continue;
        gf_pnode *v = gf__pn_in(a, 0);
        /* In place, the new value exists only after every other step: it
         * may be fetched, but no step may read it, and v must not be
         * fetched (the caller gets v's value from before the run). */
        int readers = a->users - a->fetched;
        if (v->fetched || readers > 0 || !match(a, v, gf__pn_in(a, 1))) continue;
        a->kind = GF_STEP_AXPY;
    }
    /* Updates run last, one after another: an AXPY that reads a variable
     * another update changes in place must not run in place itself (it
     * then runs with the other steps, before any update), nor one whose
     * variable an update op (apply_adam, always in place) reads. */
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *a = &p->pn[i];
        if (a->kind != GF_STEP_AXPY || !a->live) continue;
        for (int j = 0; j < p->n_pn && a->kind == GF_STEP_AXPY; j++) {
            gf_pnode *b = &p->pn[j];
            if (b == a || !b->live || !gf__pn_updates(b)) continue;
            if (reads_written(a, b) || ((b->n.op->flags & GF_OPF_UPDATE) && reads_written(b, a)))
                a->kind = GF_STEP_KERNEL;
        }
    }
}

/* X = op(A) @ op(B) read by nothing but the update: the GEMM writes into
 * the variable (C += alpha A B) and X is never stored. Needs liveness
 * recomputed after gf__opt_inplace. */
void gf__opt_inplace_gemm(gf_plan *p)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *a = &p->pn[i], *x = a->x;
        if (a->kind != GF_STEP_AXPY || x->n.op != GF_OP(MATMUL) || x->fetched || x->users != 1) continue;
        bool clash = false;
        for (int j = 0; j < p->n_pn && !clash; j++) {
            gf_pnode *b = &p->pn[j];
            if (!gf__pn_updates(b) || !b->live) continue;
            gf_pnode *w[3];
            for (int k = 0, kw = gf__pn_assigned(b, w); k < kw; k++)
                clash |= gf__pn_in(x, 0) == w[k] || gf__pn_in(x, 1) == w[k];
        }
        if (!clash) a->kind = GF_STEP_GEMM;
    }
}
