/*
 * cse.c — rewrite: common-subexpression elimination. Two pnodes with the
 * same op, attributes and (merged) inputs, or two equal constants, become
 * one; identity reshapes of gradients disappear.
 */
#include "../plan/plan.h"

#include <stdlib.h>
#include <string.h>

static bool mergeable(const gf_pnode *q)
{
    unsigned fl = q->n.op->flags;
    return !(fl & (GF_OPF_RANDOM | GF_OPF_ASSIGN | GF_OPF_PLACEHOLDER | GF_OPF_VARIABLE | GF_OPF_COLLECTIVE)) &&
           !q->alias;
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

static uint64_t hash(const gf_pnode *q)
{
    uint64_t h = mix(0xcbf29ce484222325ULL, (uint64_t)(uintptr_t)q->n.op);
    for (int j = 0; j < q->n.n_inputs; j++) h = mix(h, (uint64_t)(uintptr_t)gf__pn_in(q, j));
    for (int i = 0; i < q->n.shape.rank; i++) h = mix(h, (uint64_t)q->n.shape.dim[i]);
    if (q->n.op->flags & GF_OPF_CONSTANT) {
        uint32_t bits;
        memcpy(&bits, q->n.value, sizeof bits); /* first element is enough */
        h = mix(h, bits);
    }
    return h;
}

static bool same(const gf_pnode *a, const gf_pnode *b)
{
    if (a->n.op != b->n.op || a->n.dtype != b->n.dtype || !gf__shape_equal(a->n.shape, b->n.shape) ||
        !gf__attrs_equal(&a->n.attrs, &b->n.attrs))
        return false;
    for (int j = 0; j < a->n.n_inputs; j++)
        if (gf__pn_in(a, j) != gf__pn_in(b, j)) return false;
    if (a->n.op->flags & GF_OPF_CONSTANT) /* bitwise: -0.0 and NaN payloads stay apart */
        return !memcmp(a->n.value, b->n.value, (size_t)gf_shape_count(a->n.shape) * sizeof(float));
    return true;
}

/* sum_to or broadcast_like between equal shapes (no mean scaling) is the
 * identity: the gradient rules insert them where shapes could differ,
 * and the plan knows whether they do. */
static bool is_identity(const gf_pnode *q)
{
    if (!(q->n.op->flags & GF_OPF_LIKE) || q->n.attrs.broadcast_like.reduce.mean_scale) return false;
    const gf_pnode *x = gf__pn_in(q, 0);
    return gf__shape_equal(x->n.shape, q->n.shape) && x->n.dtype == q->n.dtype;
}

void gf__opt_cse(gf_plan *p)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)p->n_pn) cap *= 2;
    gf_pnode **table = gf__calloc(cap, sizeof *table);
    if (!table) return; /* an optimisation: skipping it is correct */
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i];
        if (!q->alias && is_identity(q)) {
            q->alias = gf__pn_in(q, 0);
            if (q->fetched) q->alias->fetched = true;
            continue;
        }
        if (!mergeable(q)) continue;
        for (size_t h = hash(q) & (cap - 1);; h = (h + 1) & (cap - 1)) {
            if (!table[h]) {
                table[h] = q;
                break;
            }
            if (same(table[h], q)) {
                q->alias = table[h];
                if (q->fetched) table[h]->fetched = true;
                break;
            }
        }
    }
    gf__free(table);
}
