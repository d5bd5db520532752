/*
 * place.c — schedules a compiled plan's steps (topological order, in-place
 * updates last) and places their buffers in one arena by liveness, with a
 * free list: a value's space is reused after its last reader.
 */
#include "plan.h"

#include <stdlib.h>

/* ---- placement: offsets in one arena, reused after a value's last use ---- */

typedef struct span { size_t at, len; } span;

typedef struct placer {
    span *free;
    int n_free, cap;
    size_t end;
} placer;

static size_t place(placer *pl, size_t len)
{
    int best = -1;
    for (int i = 0; i < pl->n_free; i++)
        if (pl->free[i].len >= len && (best < 0 || pl->free[i].len < pl->free[best].len)) best = i;
    if (best < 0) {
        size_t at = pl->end;
        pl->end += len;
        return at;
    }
    size_t at = pl->free[best].at;
    pl->free[best].at += len;
    pl->free[best].len -= len;
    return at;
}

static void release(placer *pl, size_t at, size_t len)
{
    for (int i = 0; i < pl->n_free; i++) { /* merge with a neighbour */
        if (pl->free[i].at + pl->free[i].len == at) {
            pl->free[i].len += len;
            return;
        }
        if (at + len == pl->free[i].at) {
            pl->free[i].at = at;
            pl->free[i].len += len;
            return;
        }
    }
    if (pl->n_free == pl->cap) {
        int cap = pl->cap ? 2 * pl->cap : 16;
        span *f = gf__realloc(pl->free, (size_t)cap * sizeof *f);
        if (!f) return; /* the span is lost: wastes memory, stays correct */
        pl->free = f;
        pl->cap = cap;
    }
    pl->free[pl->n_free++] = (span){ at, len };
}

static size_t floats_of(const gf_pnode *q)
{
    size_t n = (size_t)gf_shape_count(q->n.shape);
    return (n + 15) / 16 * 16 + (n == 0 ? 16 : 0); /* 64-byte granules */
}

static bool is_step(const gf_pnode *q)
{
    return q->live && !q->alias && !q->view && !q->produced_by && !q->absorbed;
}

static bool is_update(const gf_pnode *q) { return gf__pn_updates(q); }

/* The pass each step runs in (pass[i] for pn[i]): ordinary steps (0),
 * in-place updates (3). With all-reduce steps that read no other's
 * result, those run together as one bucket (1), after every step they
 * need and before every step that reads them (2), so that run.c reduces
 * them in one group call. Returns the bucket's size (0: no bucket). */
static int passes(gf_plan *p, unsigned char *pass)
{
    unsigned char *dep = gf__calloc((size_t)p->n_pn + 1, 1); /* reads an all-reduce result */
    int n_coll = 0;
    bool nested = false;
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i], *in[GF_FUSED_MAX_IN + 4];
        pass[i] = is_update(q) ? 3 : 0;
        if (!dep || !is_step(q)) continue;
        bool coll = q->kind == GF_STEP_KERNEL && (q->n.op->flags & GF_OPF_COLLECTIVE);
        int k = gf__step_inputs(q, in);
        bool reads = false;
        for (int j = 0; j < k; j++) reads |= dep[in[j] - p->pn];
        nested |= coll && reads;
        n_coll += coll;
        dep[i] = coll || reads;
        for (int s2 = 0; dep[i] && q->kind == GF_STEP_FUSED && s2 < q->fused->prog.n_insn; s2++)
            if (q->fused->store[s2]) dep[q->fused->store[s2] - p->pn] = 1; /* its side results too */
        if (!is_update(q)) pass[i] = coll ? 1 : reads ? 2 : 0;
    }
    if (!dep || nested || n_coll == 0) { /* one reduction at a time, in graph order */
        for (int i = 0; i < p->n_pn; i++) pass[i] = is_update(&p->pn[i]) ? 3 : 0;
        n_coll = 0;
    }
    gf__free(dep);
    return n_coll;
}

/* Whether gradient x, which bucket step r all-reduces, can be computed in
 * r's part of the bucket: a float step of its own (not a view, a side
 * result or an update), of r's size, that nobody fetches, that no other
 * all-reduce takes, and that no step after the bucket reads (it changes
 * to the sum there). */
static bool into_slot(const gf_plan *p, const gf_pnode *x, const gf_pnode *r, const unsigned char *in_slot)
{
    return is_step(x) && !is_update(x) && (x->kind == GF_STEP_KERNEL || x->kind == GF_STEP_FUSED) &&
           x->n.dtype == GF_F32 && !x->fetched && !(x->n.op->flags & (GF_OPF_ASSIGN | GF_OPF_COLLECTIVE)) &&
           !in_slot[x - p->pn] && floats_of(x) == floats_of(r) && x->last_use < p->bucket_first + p->n_bucket;
}

gf_status gf__plan_place(const gf_run_ctx *c, gf_plan *p)
{
    p->steps = gf__malloc(((size_t)p->n_pn + 1) * sizeof *p->steps);
    p->commit = gf__malloc(((size_t)p->n_pn + 1) * sizeof *p->commit);
    size_t *at = gf__malloc(((size_t)p->n_pn + 1) * sizeof *at);
    unsigned char *pass = gf__malloc((size_t)p->n_pn + 1);
    if (!p->steps || !p->commit || !at || !pass) {
        gf__free(at);
        gf__free(pass);
        return gf__plan_fail(c, GF_ERR_NOMEM, "session: out of memory planning a run");
    }
    /* at[i]: pn[i]'s offset in the arena; NOT_PLACED until placed (a value
     * absorbed into a fused chain may still be listed as a control input,
     * e.g. of a group that runs before the chain: never release it). */
    enum { NOT_PLACED = -1 };
    for (int i = 0; i <= p->n_pn; i++) at[i] = (size_t)NOT_PLACED;
    /* Ordinary steps in topological order (the all-reduce bucket in the
     * middle: passes()), then the in-place updates, so that every other
     * read of a variable comes before it changes. */
    p->n_bucket = passes(p, pass);
    for (int ps = 0; ps < 4; ps++)
        for (int i = 0; i < p->n_pn; i++) {
            gf_pnode *q = &p->pn[i];
            if (!is_step(q) || pass[i] != ps) continue;
            if (ps == 1 && p->bucket_first < 0) p->bucket_first = p->n_steps;
            p->steps[p->n_steps++] = q;
            if (!is_update(q) && (q->n.op->flags & GF_OPF_ASSIGN)) p->commit[p->n_commit++] = q;
        }
    gf__free(pass);
    for (int i = 0; i < p->n_pn; i++) p->pn[i].last_use = -1;
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *in[GF_FUSED_MAX_IN + 4];
        int k = gf__step_inputs(p->steps[i], in);
        for (int j = 0; j < k; j++) in[j]->last_use = i;
    }
    placer pl = { 0 };
    bool reuse = !(p->disabled & GF_PLAN_NO_REUSE);
    /* The bucket is placed before every step, as one block reduced at
     * once; a gradient that only steps up to the bucket read is computed
     * straight into its all-reduce's part of it (in_slot: placed there,
     * never released on its own), which saves copying it in. */
    unsigned char *in_slot = gf__calloc((size_t)p->n_pn + 1, 1);
    if (!in_slot) {
        gf__free(at);
        return gf__plan_fail(c, GF_ERR_NOMEM, "session: out of memory planning a run");
    }
    if (p->n_bucket) {
        size_t total = 0, base;
        for (int b = 0; b < p->n_bucket; b++) total += floats_of(p->steps[p->bucket_first + b]);
        base = p->bucket_at = place(&pl, total);
        p->bucket_floats = total;
        for (int b = 0; b < p->n_bucket; b++) {
            gf_pnode *r = p->steps[p->bucket_first + b], *x = gf__pn_in(r, 0);
            at[r - p->pn] = base;
            if (into_slot(p, x, r, in_slot)) {
                at[x - p->pn] = base;
                in_slot[x - p->pn] = 1;
            }
            base += floats_of(r);
        }
    }
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *q = p->steps[i], *in[GF_FUSED_MAX_IN + 4];
        if (gf__pn_updates(q)) continue; /* writes the variable */
        bool bucket = p->n_bucket && i >= p->bucket_first && i < p->bucket_first + p->n_bucket;
        if (!bucket && !in_slot[q - p->pn]) at[q - p->pn] = place(&pl, floats_of(q));
        for (int s2 = 0; q->kind == GF_STEP_FUSED && s2 < q->fused->prog.n_insn; s2++) {
            gf_pnode *side = q->fused->store[s2]; /* stored on the side */
            if (side) at[side - p->pn] = place(&pl, floats_of(side));
        }
        if (q->last_use < 0 && !q->fetched && !(q->n.op->flags & GF_OPF_ASSIGN) && !in_slot[q - p->pn] && reuse)
            release(&pl, at[q - p->pn], floats_of(q)); /* nobody reads it */
        int k = reuse ? gf__step_inputs(q, in) : 0;
        for (int j = 0; j < k; j++) {
            gf_pnode *x = in[j];
            bool placed = at[x - p->pn] != (size_t)NOT_PLACED;
            bool keep = x->fetched || (x->n.op->flags & GF_OPF_ASSIGN) || in_slot[x - p->pn];
            bool dup = false; /* an input listed twice is released once */
            for (int m = 0; m < j; m++) dup |= in[m] == x;
            if (placed && !keep && !dup && x->last_use == i) release(&pl, at[x - p->pn], floats_of(x));
        }
    }
    gf__free(pl.free);
    gf__free(in_slot);
    /* Never NULL, even when every buffer is empty: a kernel may form
     * data + 0 on an empty tensor, and that must be defined. */
    p->arena_floats = pl.end;
    p->arena = gf__malloc_aligned((pl.end ? pl.end : 1) * sizeof(float));
    if (!p->arena) {
        gf__free(at);
        return gf__plan_fail(c, GF_ERR_NOMEM, "session: out of memory for %zu bytes of buffers",
                             pl.end * sizeof(float));
    }
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *q = p->steps[i];
        q->val.dtype = q->n.dtype;
        q->val.shape = q->n.shape;
        q->val.capacity = 0;
        if (gf__pn_updates(q)) q->view = true; /* the variable */
        else q->val.data = p->arena + at[q - p->pn];
        for (int k = 0; q->kind == GF_STEP_FUSED && k < q->fused->prog.n_insn; k++) {
            gf_pnode *side = q->fused->store[k];
            if (!side) continue;
            side->val = (gf_tensor){ .dtype = side->n.dtype, .shape = side->n.shape,
                                     .data = p->arena + at[side - p->pn] };
        }
    }
    if (p->n_bucket) p->bucket = p->arena + p->bucket_at;
    gf__free(at);
    return GF_OK;
}
