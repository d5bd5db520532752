/*
 * plan.c — compiles a run (prune, copy, resolve shapes, rewrite, schedule,
 * place buffers by liveness) and executes it with no allocation.
 */
#include "plan.h"
#include "kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gf_feed *find_feed(const gf_feed *feeds, int n_feeds, const gf_node *n)
{
    for (int i = 0; i < n_feeds; i++)
        if (feeds[i].node == n) return &feeds[i];
    return NULL;
}

/* ---- pruning: the nodes the roots need, inputs first ---- */

/* Iterative post-order DFS (deep graphs cannot overflow the C stack); fed
 * placeholders are leaves. Fills order[] and returns its length, or -1
 * with *st and the session's message set. */
static int prune(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *const *roots,
                 int n_roots, int n_fetches, gf_node **order, gf_status *st)
{
    gf_graph *g = gf__session_graph(s);
    int nn = g->n_nodes, n = 0;
    unsigned char *state = gf__calloc((size_t)nn + 1, 1);
    int *root_of = gf__malloc(((size_t)nn + 1) * sizeof *root_of), *next_in = gf__calloc((size_t)nn + 1, sizeof *next_in);
    gf_node **stack = gf__malloc(((size_t)nn + 1) * sizeof *stack);
    if (!state || !root_of || !next_in || !stack) {
        n = -1;
        *st = gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory planning a run");
        goto done;
    }
    for (int r = 0; r < n_roots && n >= 0; r++) {
        if (state[roots[r]->id]) continue;
        int sp = 0;
        stack[sp++] = roots[r];
        state[roots[r]->id] = 1;
        root_of[roots[r]->id] = r;
        while (sp) {
            gf_node *x = stack[sp - 1];
            bool fed = find_feed(feeds, n_feeds, x) != NULL;
            if (!fed && next_in[x->id] < x->n_inputs) {
                gf_node *in = x->inputs[next_in[x->id]++];
                if (!state[in->id]) {
                    state[in->id] = 1;
                    root_of[in->id] = r;
                    stack[sp++] = in;
                }
                continue;
            }
            sp--;
            if ((x->op->flags & GF_OPF_PLACEHOLDER) && !fed) {
                gf_node *need = roots[root_of[x->id]];
                char b[GF_SHAPE_STR];
                *st = gf__session_fail(s, GF_ERR_FEED,
                                 "placeholder \"%s\" of shape %s must be fed: %s \"%s\" (op %s) needs it",
                                 x->name, gf_shape_format(x->shape, b, sizeof b),
                                 root_of[x->id] < n_fetches ? "fetch" : "target", need->name, need->op->name);
                n = -1;
                break;
            }
            order[n++] = x;
        }
    }
done:
    gf__free(state);
    gf__free(root_of);
    gf__free(next_in);
    gf__free(stack);
    return n;
}

/* ---- shapes ---- */

gf_status gf__check_feed(gf_session *s, const gf_node *ph, const gf_tensor *t)
{
    char want[GF_SHAPE_STR], got[GF_SHAPE_STR];
    if (t->dtype != ph->dtype)
        return gf__session_fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": dtype %s, expected %s", ph->name,
                                gf_dtype_name(t->dtype), gf_dtype_name(ph->dtype));
    bool ok = t->shape.rank == ph->shape.rank;
    for (int i = 0; ok && i < ph->shape.rank; i++)
        ok = ph->shape.dim[i] == GF_ANY || ph->shape.dim[i] == t->shape.dim[i];
    if (!ok)
        return gf__session_fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": shape %s, expected %s", ph->name,
                                gf_shape_format(t->shape, got, sizeof got),
                                gf_shape_format(ph->shape, want, sizeof want));
    return GF_OK;
}

static void set_view(gf_pnode *q, float *data)
{
    q->view = true;
    q->val.dtype = q->n.dtype;
    q->val.shape = q->n.shape;
    q->val.data = data;
    q->val.capacity = 0;
}

/* Resolves every pnode's shape from the fed shapes with the op's rule. */
static gf_status resolve(gf_session *s, gf_plan *p, const gf_feed *feeds, int n_feeds)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i];
        gf_node *n = &q->n;
        unsigned fl = n->op->flags;
        if (fl & GF_OPF_PLACEHOLDER) {
            const gf_tensor *t = find_feed(feeds, n_feeds, q->orig)->value;
            gf_status st = gf__check_feed(s, q->orig, t);
            if (st != GF_OK) return st;
            n->shape = t->shape;
            set_view(q, NULL); /* data set at each run */
            continue;
        }
        if (fl & GF_OPF_VARIABLE) {
            set_view(q, NULL);
            continue;
        }
        if (fl & GF_OPF_CONSTANT) {
            set_view(q, n->value);
            continue;
        }
        if (n->n_inputs == 0) continue; /* random and zeros: shape as built */
        gf_shape in_shape[GF_MAX_INPUTS];
        gf_dtype in_dt[GF_MAX_INPUTS];
        for (int j = 0; j < n->n_inputs; j++) {
            in_shape[j] = n->inputs[j]->shape;
            in_dt[j] = n->inputs[j]->dtype;
        }
        char detail[384];
        if (!n->op->shape(n, in_shape, in_dt, &n->shape, &n->dtype, detail, sizeof detail))
            return gf__session_fail(s, GF_ERR_SHAPE, "%s \"%s\": %s", n->op->name, n->name, detail);
        if (!gf__shape_known(n->shape)) {
            char b[GF_SHAPE_STR];
            return gf__session_fail(s, GF_ERR_SHAPE, "%s \"%s\": result shape %s is not fully known", n->op->name,
                                    n->name, gf_shape_format(n->shape, b, sizeof b));
        }
    }
    return GF_OK;
}

/* ---- liveness ---- */

int gf__step_inputs(const gf_pnode *p, gf_pnode **in)
{
    int k = 0;
    switch (p->kind) {
    case GF_STEP_FUSED:
        for (int i = 0; i < p->fused->n_in; i++) in[k++] = p->fused->in[i];
        return k;
    case GF_STEP_AXPY:
    case GF_STEP_GEMM:
        in[k++] = gf__pn_in(p, 0);
        if (p->scale) in[k++] = p->scale;
        if (p->kind == GF_STEP_AXPY) {
            in[k++] = p->x;
        } else {
            in[k++] = gf__pn_in(p->x, 0);
            in[k++] = gf__pn_in(p->x, 1);
        }
        return k;
    case GF_STEP_KERNEL:
        if (p->view || p->produced_by) return 0; /* a fused step makes it */
        for (int j = 0; j < p->n.n_inputs; j++) /* a shape-only input is not read */
            if (!(j == 1 && (p->n.op->flags & GF_OPF_LIKE))) in[k++] = gf__pn_in(p, j);
        return k;
    }
    return 0;
}

void gf__plan_liveness(gf_plan *p, gf_pnode *const *roots, int n_roots)
{
    for (int i = 0; i < p->n_pn; i++) {
        p->pn[i].live = false;
        p->pn[i].users = p->pn[i].fetched;
    }
    /* pnodes only read earlier pnodes: one backward sweep marks them all */
    for (int r = 0; r < n_roots; r++) {
        gf_pnode *x = roots[r];
        while (x->alias) x = x->alias;
        x->live = true;
    }
    for (int i = p->n_pn - 1; i >= 0; i--) {
        gf_pnode *q = &p->pn[i], *in[GF_FUSED_MAX_IN + 4];
        if (!q->live || q->alias) continue;
        if (q->produced_by) q->produced_by->live = true; /* its step makes it */
        int k = gf__step_inputs(q, in);
        bool reads = !(q->n.op->flags & GF_OPF_CONTROL); /* group only sequences */
        for (int j = 0; j < k; j++) {
            in[j]->live = true;
            in[j]->users += reads;
        }
    }
}

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

static gf_status schedule_and_place(gf_session *s, gf_plan *p)
{
    p->steps = gf__malloc(((size_t)p->n_pn + 1) * sizeof *p->steps);
    p->commit = gf__malloc(((size_t)p->n_pn + 1) * sizeof *p->commit);
    size_t *at = gf__malloc(((size_t)p->n_pn + 1) * sizeof *at);
    if (!p->steps || !p->commit || !at) {
        gf__free(at);
        return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory planning a run");
    }
    /* at[i]: pn[i]'s offset in the arena; NOT_PLACED until placed (a value
     * absorbed into a fused chain may still be listed as a control input,
     * e.g. of a group that runs before the chain: never release it). */
    enum { NOT_PLACED = -1 };
    for (int i = 0; i <= p->n_pn; i++) at[i] = (size_t)NOT_PLACED;
    /* Ordinary steps in topological order, then the in-place updates, so
     * that every other read of a variable comes before it changes. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n_pn; i++) {
            gf_pnode *q = &p->pn[i];
            if (!q->live || q->alias || q->view || q->produced_by || q->absorbed) continue;
            bool upd = q->kind == GF_STEP_AXPY || q->kind == GF_STEP_GEMM;
            if (upd != (pass == 1)) continue;
            p->steps[p->n_steps++] = q;
            if (!upd && (q->n.op->flags & GF_OPF_ASSIGN)) p->commit[p->n_commit++] = q;
        }
    for (int i = 0; i < p->n_pn; i++) p->pn[i].last_use = -1;
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *in[GF_FUSED_MAX_IN + 4];
        int k = gf__step_inputs(p->steps[i], in);
        for (int j = 0; j < k; j++) in[j]->last_use = i;
    }
    placer pl = { 0 };
    bool reuse = !(p->disabled & GF_PLAN_NO_REUSE);
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *q = p->steps[i], *in[GF_FUSED_MAX_IN + 4];
        if (q->kind == GF_STEP_AXPY || q->kind == GF_STEP_GEMM) continue; /* writes the variable */
        at[q - p->pn] = place(&pl, floats_of(q));
        for (int s2 = 0; q->kind == GF_STEP_FUSED && s2 < q->fused->n_insn; s2++) {
            gf_pnode *side = q->fused->insn[s2].store; /* stored on the side */
            if (side) at[side - p->pn] = place(&pl, floats_of(side));
        }
        if (q->last_use < 0 && !q->fetched && !(q->n.op->flags & GF_OPF_ASSIGN) && reuse)
            release(&pl, at[q - p->pn], floats_of(q)); /* nobody reads it */
        int k = reuse ? gf__step_inputs(q, in) : 0;
        for (int j = 0; j < k; j++) {
            gf_pnode *x = in[j];
            bool placed = at[x - p->pn] != (size_t)NOT_PLACED;
            bool keep = x->fetched || (x->n.op->flags & GF_OPF_ASSIGN);
            bool dup = false; /* an input listed twice is released once */
            for (int m = 0; m < j; m++) dup |= in[m] == x;
            if (placed && !keep && !dup && x->last_use == i) release(&pl, at[x - p->pn], floats_of(x));
        }
    }
    gf__free(pl.free);
    /* Never NULL, even when every buffer is empty: a kernel may form
     * data + 0 on an empty tensor, and that must be defined. */
    p->arena_floats = pl.end;
    p->arena = gf__malloc((pl.end ? pl.end : 1) * sizeof(float));
    if (!p->arena) {
        gf__free(at);
        return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for %zu bytes of buffers",
                                pl.end * sizeof(float));
    }
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *q = p->steps[i];
        q->val.dtype = q->n.dtype;
        q->val.shape = q->n.shape;
        q->val.capacity = 0;
        if (q->kind == GF_STEP_AXPY || q->kind == GF_STEP_GEMM) q->view = true; /* the variable */
        else q->val.data = p->arena + at[q - p->pn];
        for (int k = 0; q->kind == GF_STEP_FUSED && k < q->fused->n_insn; k++) {
            gf_pnode *side = q->fused->insn[k].store;
            if (!side) continue;
            side->val = (gf_tensor){ .dtype = side->n.dtype, .shape = side->n.shape,
                                     .data = p->arena + at[side - p->pn] };
        }
    }
    gf__free(at);
    return GF_OK;
}

/* ---- compile ---- */

void gf__plan_free(gf_plan *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_pn; i++) gf__free(p->pn[i].fused);
    for (int i = 0; i < p->n_fetch; i++) gf__tensor_release(&p->fetch_copy[i]);
    for (int i = 0; i < p->n_folded; i++) gf__free(p->folded[i]);
    gf__free(p->folded);
    gf__free(p->key);
    gf__free(p->fed_shape);
    gf__free(p->pn);
    gf__free(p->steps);
    gf__free(p->fetch);
    gf__free(p->fetch_copy);
    gf__free(p->commit);
    gf__free(p->arena);
    gf__free(p);
}

gf_status gf__plan_compile(gf_session *s, unsigned disabled, const gf_feed *feeds, int n_feeds,
                           gf_node *const *fetches, int n_fetches, gf_node *const *targets, int n_targets,
                           gf_plan **out)
{
    gf_graph *g = gf__session_graph(s);
    int n_roots = n_fetches + n_targets;
    gf_plan *p = gf__calloc(1, sizeof *p);
    gf_node **order = gf__malloc(((size_t)g->n_nodes + 1) * sizeof *order);
    gf_node **roots = gf__malloc(((size_t)n_roots + 1) * sizeof *roots);
    int *index = gf__malloc(((size_t)g->n_nodes + 1) * sizeof *index);
    gf_pnode **proots = gf__malloc(((size_t)n_roots + 1) * sizeof *proots);
    gf_status st = GF_OK;
    *out = NULL;
    if (p) {
        p->disabled = disabled;
        p->n_key = n_roots + n_feeds + 2;
        p->key = gf__malloc((size_t)p->n_key * sizeof *p->key);
        p->fed_shape = gf__malloc(((size_t)n_feeds + 1) * sizeof *p->fed_shape);
        p->fetch = gf__calloc((size_t)n_fetches + 1, sizeof *p->fetch);
        p->fetch_copy = gf__calloc((size_t)n_fetches + 1, sizeof *p->fetch_copy);
    }
    if (!p || !order || !roots || !index || !proots || !p->key || !p->fed_shape || !p->fetch || !p->fetch_copy) {
        st = gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory planning a run");
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n_fetches; i++) p->key[k++] = fetches[i]->id;
    p->key[k++] = -1;
    for (int i = 0; i < n_targets; i++) p->key[k++] = targets[i]->id;
    p->key[k++] = -1;
    for (int i = 0; i < n_feeds; i++) {
        p->key[k++] = feeds[i].node->id;
        p->fed_shape[i] = feeds[i].value->shape;
    }
    p->n_fetch = n_fetches;
    for (int i = 0; i < n_roots; i++) roots[i] = i < n_fetches ? fetches[i] : targets[i - n_fetches];

    int n = prune(s, feeds, n_feeds, roots, n_roots, n_fetches, order, &st);
    if (n < 0) goto done;
    p->pn = gf__calloc((size_t)n + 1, sizeof *p->pn);
    if (!p->pn) {
        st = gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory planning a run");
        goto done;
    }
    p->n_pn = n;
    for (int i = 0; i < n; i++) {
        gf_pnode *q = &p->pn[i];
        index[order[i]->id] = i;
        q->n = *order[i];
        q->orig = order[i];
        q->kind = GF_STEP_KERNEL;
        q->index = i;
        for (int j = 0; j < q->n.n_inputs; j++) q->n.inputs[j] = &p->pn[index[order[i]->inputs[j]->id]].n;
    }
    for (int i = 0; i < n_roots; i++) proots[i] = &p->pn[index[roots[i]->id]];
    for (int i = 0; i < n_fetches; i++) proots[i]->fetched = true;

    /* Two assignments to one variable in one run would race: refuse. */
    for (int i = 0; i < n; i++) {
        gf_node *a = &p->pn[i].n;
        if (!(a->op->flags & GF_OPF_ASSIGN)) continue;
        for (int j = i + 1; j < n; j++) {
            gf_node *b = &p->pn[j].n;
            if ((b->op->flags & GF_OPF_ASSIGN) && PN(b->inputs[0])->orig == PN(a->inputs[0])->orig) {
                st = gf__session_fail(s, GF_ERR_ARG,
                                      "variable \"%s\" is assigned twice in one run (by \"%s\" and \"%s\")",
                                      a->inputs[0]->name, a->name, b->name);
                goto done;
            }
        }
    }
    if ((st = resolve(s, p, feeds, n_feeds)) != GF_OK) goto done;

    if (!(disabled & GF_PLAN_NO_TRANSPOSE)) gf__opt_transpose(p);
    if (!(disabled & GF_PLAN_NO_CSE)) gf__opt_cse(p);
    if (!(disabled & GF_PLAN_NO_FOLD) && (st = gf__opt_fold(p)) != GF_OK) {
        gf__session_fail(s, st, "session: out of memory folding constants");
        goto done;
    }
    gf__plan_liveness(p, proots, n_roots);
    if (!(disabled & GF_PLAN_NO_INPLACE)) {
        gf__opt_inplace(p);
        gf__plan_liveness(p, proots, n_roots);
        gf__opt_inplace_gemm(p);
        gf__plan_liveness(p, proots, n_roots);
    }
    if (!(disabled & GF_PLAN_NO_FUSE)) {
        if ((st = gf__opt_fuse(p)) != GF_OK) {
            gf__session_fail(s, st, "session: out of memory fusing");
            goto done;
        }
        gf__plan_liveness(p, proots, n_roots);
    }
    for (int i = 0; i < n_fetches; i++) {
        gf_pnode *f = proots[i];
        while (f->alias) f = f->alias;
        p->fetch[i] = f;
    }
    if ((st = schedule_and_place(s, p)) != GF_OK) goto done;
    for (int i = 0; i < n_fetches; i++) {
        gf_pnode *f = p->fetch[i];
        if (f->view && gf__tensor_reshape(&p->fetch_copy[i], f->n.dtype, f->n.shape) != GF_OK) {
            st = gf__session_fail(s, GF_ERR_NOMEM, "fetch \"%s\": out of memory", f->n.name);
            goto done;
        }
    }
done:
    gf__free(order);
    gf__free(roots);
    gf__free(index);
    gf__free(proots);
    if (st != GF_OK) gf__plan_free(p);
    else *out = p;
    return st;
}

bool gf__plan_matches(const gf_plan *p, const gf_feed *feeds, int n_feeds, gf_node *const *fetches,
                      int n_fetches, gf_node *const *targets, int n_targets)
{
    if (p->n_key != n_fetches + n_targets + n_feeds + 2) return false;
    const int *k = p->key;
    for (int i = 0; i < n_fetches; i++)
        if (*k++ != fetches[i]->id) return false;
    if (*k++ != -1) return false;
    for (int i = 0; i < n_targets; i++)
        if (*k++ != targets[i]->id) return false;
    if (*k++ != -1) return false;
    for (int i = 0; i < n_feeds; i++) {
        if (*k++ != feeds[i].node->id) return false;
        if (!gf__shape_equal(p->fed_shape[i], feeds[i].value->shape)) return false;
        if (feeds[i].value->dtype != feeds[i].node->dtype) return false;
    }
    return true;
}

/* ---- run ---- */

/* var [n] += alpha * x [n] */
static void axpy(float *restrict v, float alpha, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] += alpha * x[i];
}

/* With checking on: the first NaN or infinity in a step's result. */
static gf_status check_step(gf_session *s, const gf_pnode *q)
{
    if (q->n.dtype != GF_F32) return GF_OK;
    int64_t bad = gf__first_nonfinite(q->val.data, gf_shape_count(q->val.shape));
    if (bad < 0) return GF_OK;
    char b[GF_SHAPE_STR];
    return gf__session_fail(s, GF_ERR_NUMERIC, "check numerics: op %s \"%s\" produced %s at element %lld of %s",
                            q->n.op->name, q->n.name, isnan(q->val.data[bad]) ? "NaN" : "infinity",
                            (long long)bad, gf_shape_format(q->val.shape, b, sizeof b));
}

gf_status gf__plan_run(gf_session *s, gf_plan *p, const gf_feed *feeds, int n_feeds, const gf_tensor **outs)
{
    int threads = gf__session_threads(s);
    bool checking = gf__session_checks(s);
    char kmsg[512];
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i];
        if (!q->live) continue;
        unsigned fl = q->n.op->flags;
        if (fl & GF_OPF_PLACEHOLDER) q->val.data = find_feed(feeds, n_feeds, q->orig)->value->data;
        else if (fl & GF_OPF_VARIABLE) q->val.data = gf__session_var(s, q->n.var_index)->data;
        else if (q->kind == GF_STEP_AXPY || q->kind == GF_STEP_GEMM)
            q->val.data = gf__session_var(s, gf__pn_in(q, 0)->n.var_index)->data;
    }
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *q = p->steps[i];
        switch (q->kind) {
        case GF_STEP_KERNEL: {
            /* A result with no elements needs no kernel (only a random op
             * still draws, to keep its stream's position): kernels never see
             * an empty output, so none can loop over the other dimensions
             * of a shape such as [2^31, 14, 0]. Inputs may still be empty. */
            if (gf_shape_count(q->val.shape) == 0 && !(q->n.op->flags & GF_OPF_RANDOM)) break;
            const gf_tensor *in[GF_MAX_INPUTS] = { NULL };
            for (int j = 0; j < q->n.n_inputs; j++) in[j] = &gf__pn_in(q, j)->val;
            gf_kctx ctx = { .threads = threads, .msg = kmsg, .msg_len = sizeof kmsg };
            /* Variables known finite are said so; those a kernel checks
             * are remembered (see gf__session_var_finite). */
            for (int j = 0; j < q->n.n_inputs && j < 32; j++) {
                const gf_pnode *x = gf__pn_in(q, j);
                if ((x->n.op->flags & GF_OPF_VARIABLE) && gf__session_var_finite(s, x->n.var_index))
                    ctx.finite_in |= 1u << j;
            }
            if (q->n.op->flags & GF_OPF_RANDOM) {
                ctx.rng = gf__session_rng(s, q->orig);
                if (!ctx.rng)
                    return gf__session_fail(s, GF_ERR_NOMEM, "%s \"%s\": out of memory", q->n.op->name, q->n.name);
            }
            q->n.op->kernel(&q->val, in, &q->n, &ctx);
            if (ctx.status != GF_OK) return gf__session_fail(s, ctx.status, "%s", kmsg);
            for (int j = 0; ctx.finite_seen && j < q->n.n_inputs && j < 32; j++) {
                const gf_pnode *x = gf__pn_in(q, j);
                if ((ctx.finite_seen >> j & 1) && (x->n.op->flags & GF_OPF_VARIABLE))
                    gf__session_set_var_finite(s, x->n.var_index, true);
            }
            if (checking && check_step(s, q) != GF_OK) return GF_ERR_NUMERIC;
            break;
        }
        case GF_STEP_FUSED: /* its side stores have its shape: all empty or none */
            if (gf_shape_count(q->val.shape) == 0) break;
            gf__k_fused(&q->val, q->fused, threads);
            if (checking && check_step(s, q) != GF_OK) return GF_ERR_NUMERIC;
            break;
        case GF_STEP_AXPY:
        case GF_STEP_GEMM: {
            float alpha = q->sign * (q->scale ? q->scale->val.data[0] : 1.0f);
            gf_tensor *v = &q->val;
            int vi = gf__pn_in(q, 0)->n.var_index;
            if (q->kind == GF_STEP_AXPY) {
                axpy(v->data, alpha, q->x->val.data, gf_shape_count(v->shape));
                gf__session_set_var_finite(s, vi, false);
            } else {
                /* var [m,n] += alpha * op(A) @ op(B) */
                const gf_tensor *a = &gf__pn_in(q->x, 0)->val, *b = &gf__pn_in(q->x, 1)->val;
                int ta = q->x->n.attrs.transpose_a, tb = q->x->n.attrs.transpose_b;
                int64_t k = ta ? a->shape.dim[0] : a->shape.dim[1];
                /* Known finite before, and every value written finite:
                 * still known finite. */
                gf_gemm_hint h = { 0, 0, 0 };
                gf__gemm_hinted(ta, tb, v->shape.dim[0], v->shape.dim[1], k, alpha, a->data, a->shape.dim[1],
                                b->data, b->shape.dim[1], 1.0f, v->data, v->shape.dim[1], threads, &h);
                if (!h.c_finite) gf__session_set_var_finite(s, vi, false);
            }
            break;
        }
        }
    }
    /* Fetches: views (sources, in-place results) are copied, so that what
     * the caller holds outlives its feeds and the next run. */
    for (int f = 0; f < p->n_fetch; f++) {
        gf_pnode *q = p->fetch[f];
        if (!q->view) {
            outs[f] = &q->val;
            continue;
        }
        int64_t cnt = gf_shape_count(q->n.shape);
        if (cnt > 0) memcpy(p->fetch_copy[f].data, q->val.data, (size_t)cnt * sizeof(float));
        outs[f] = &p->fetch_copy[f];
    }
    for (int i = 0; i < p->n_commit; i++) {
        gf_pnode *a = p->commit[i];
        gf_tensor *var = gf__session_var(s, gf__pn_in(a, 0)->n.var_index);
        memcpy(var->data, a->val.data, (size_t)gf_shape_count(var->shape) * sizeof(float));
        gf__session_set_var_finite(s, gf__pn_in(a, 0)->n.var_index, false);
    }
    return GF_OK;
}

void gf__plan_stats(const gf_plan *p, gf_plan_stats *out)
{
    memset(out, 0, sizeof *out);
    out->nodes = p->n_pn;
    out->steps = p->n_steps;
    out->buffer_bytes = p->arena_floats * sizeof(float);
    for (int i = 0; i < p->n_steps; i++) {
        out->fused += p->steps[i]->kind == GF_STEP_FUSED;
        out->inplace += p->steps[i]->kind == GF_STEP_AXPY || p->steps[i]->kind == GF_STEP_GEMM;
    }
    for (int i = 0; i < p->n_pn; i++) { /* the graph as written */
        const gf_node *n = &p->pn[i].n;
        if (n->n_inputs == 0) continue;
        if (n->op == GF_OP(MATMUL)) {
            const gf_shape a = PN(n->inputs[0])->n.shape;
            double k = (double)(n->attrs.transpose_a ? a.dim[0] : a.dim[1]);
            out->dense_flops += 2.0 * (double)n->shape.dim[0] * (double)n->shape.dim[1] * k;
        } else if (n->op->ew || n->op->flags & GF_OPF_ASSIGN) {
            out->other_flops += (double)gf_shape_count(n->shape);
        } else {
            out->other_flops += (double)gf_shape_count(PN(n->inputs[0])->n.shape);
        }
    }
}
