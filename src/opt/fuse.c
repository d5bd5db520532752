/*
 * fuse.c — rewrite: a tree of elementwise ops whose inner values nobody else
 * reads becomes one step that runs them block by block, in cache.
 */
#include "../plan/plan.h"

#include <stdlib.h>
#include <string.h>

static bool fusable(const gf_pnode *q)
{
    return q->live && !q->alias && !q->view && q->kind == GF_STEP_KERNEL && q->n.op->ew &&
           q->n.dtype == GF_F32;
}

typedef struct builder {
    gf_fused f;
    gf_pnode *root;
    gf_pnode *members[GF_FUSED_MAX_INSN];
    int member_reg[GF_FUSED_MAX_INSN];
    int n_members;
    bool full;
} builder;

/* Registers while building: external input i is -1-i, instruction k is k. */
static int external(builder *b, gf_pnode *x)
{
    for (int i = 0; i < b->f.prog.n_in; i++)
        if (b->f.in[i] == x) return -1 - i;
    if (b->f.prog.n_in == GF_FUSED_MAX_IN) {
        b->full = true;
        return -1;
    }
    b->f.in[b->f.prog.n_in] = x;
    return -1 - b->f.prog.n_in++;
}

/* Whether x, read outside the chain too, can be stored by it: every other
 * live reader must come after the chain's root (so after the fused step),
 * and x is not an alias target that something else stands for. */
static bool storable(const gf_plan *p, const gf_pnode *x, const builder *b)
{
    for (int i = x->index + 1; i < b->root->index; i++) {
        const gf_pnode *q = &p->pn[i];
        gf_pnode *in[GF_FUSED_MAX_IN + 4];
        bool member = false; /* readers inside the chain are fine */
        for (int m = 0; m < b->n_members; m++) member |= b->members[m] == q;
        if (!q->live || q->alias || q->absorbed || member) continue;
        int k = gf__step_inputs(q, in);
        for (int j = 0; j < k; j++)
            if (in[j] == x) return false;
    }
    return true;
}

/* Emits q's program (inputs first); returns q's register. */
static int absorb(const gf_plan *p, builder *b, gf_pnode *q)
{
    int reg[GF_MAX_INPUTS] = { 0, 0 };
    gf_pnode *store[GF_MAX_INPUTS] = { NULL, NULL };
    for (int j = 0; j < q->n.n_inputs; j++) {
        gf_pnode *x = gf__pn_in(q, j);
        int seen = -1; /* reached before (x OP x, or a diamond): reuse */
        for (int m = 0; m < b->n_members; m++)
            if (b->members[m] == x) seen = b->member_reg[m];
        if (seen >= 0) {
            reg[j] = seen;
            continue;
        }
        bool outside = false; /* already read as an input: it stays one */
        for (int i = 0; i < b->f.prog.n_in; i++) outside |= b->f.in[i] == x;
        bool inner = fusable(x) && !x->absorbed && !outside &&
                     gf__shape_equal(x->n.shape, b->root->n.shape) && b->n_members + 1 < GF_FUSED_MAX_INSN;
        bool shared = x->users > 1 || x->fetched;
        if (inner && shared && !(x->users == 2 && q->n.n_inputs == 2 && gf__pn_in(q, 0) == gf__pn_in(q, 1)))
            inner = storable(p, x, b);
        if (inner) {
            int m = b->n_members++;
            b->members[m] = x;
            reg[j] = b->member_reg[m] = absorb(p, b, x);
            if (shared) store[j] = x;
        } else {
            reg[j] = external(b, x);
        }
    }
    for (int j = 0; j < q->n.n_inputs; j++)
        if (store[j]) b->f.store[reg[j]] = store[j];
    int k = b->f.prog.n_insn++;
    b->f.prog.insn[k].fn = q->n.op->ew;
    b->f.prog.insn[k].a = reg[0];
    b->f.prog.insn[k].b = q->n.n_inputs > 1 ? reg[1] : reg[0];
    b->f.store[k] = NULL;
    return k;
}

gf_status gf__opt_fuse(gf_plan *p)
{
    for (int i = p->n_pn - 1; i >= 0; i--) {
        gf_pnode *r = &p->pn[i];
        if (!fusable(r) || r->absorbed) continue;
        builder *b = gf__calloc(1, sizeof *b);
        if (!b) return GF_ERR_NOMEM;
        b->root = r;
        absorb(p, b, r);
        if (b->full || b->f.prog.n_insn < 2) {
            gf__free(b);
            continue;
        }
        /* Final register numbers: inputs first, then instructions. */
        int n_in = b->f.prog.n_in;
        for (int k = 0; k < b->f.prog.n_insn; k++) {
            int *regs[2] = { &b->f.prog.insn[k].a, &b->f.prog.insn[k].b };
            for (int j = 0; j < 2; j++) *regs[j] = *regs[j] < 0 ? -1 - *regs[j] : n_in + *regs[j];
        }
        for (int k = 0; k < n_in; k++) gf__broadcast_strides(b->f.in[k]->n.shape, r->n.shape, b->f.prog.stride[k]);
        for (int m = 0; m < b->n_members; m++) b->members[m]->absorbed = true;
        for (int k = 0; k < b->f.prog.n_insn; k++)
            if (b->f.store[k]) b->f.store[k]->produced_by = r;
        /* The kernel's view: the pnodes' values, whose data the plan sets
         * when it places buffers and at each run. */
        for (int k = 0; k < n_in; k++) b->f.prog.in[k] = &b->f.in[k]->val;
        for (int k = 0; k < b->f.prog.n_insn; k++)
            b->f.prog.insn[k].store = b->f.store[k] ? &b->f.store[k]->val : NULL;
        gf_fused *f = gf__malloc(sizeof *f);
        if (!f) {
            gf__free(b);
            return GF_ERR_NOMEM;
        }
        memcpy(f, &b->f, sizeof *f);
        gf__free(b);
        r->fused = f;
        r->kind = GF_STEP_FUSED;
    }
    return GF_OK;
}
