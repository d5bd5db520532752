/*
 * compile.c — compiles a run: prune the graph to what the fetches and
 * targets need, copy it into pnodes, resolve shapes, rewrite (src/opt/),
 * then schedule and place buffers (place.c); the plan cache's key match,
 * liveness, statistics.
 */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gf_status gf__plan_fail(const gf_run_ctx *c, gf_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->err_len, fmt, ap);
    va_end(ap);
    return code;
}

const gf_feed *gf__plan_feed(const gf_feed *feeds, int n_feeds, const gf_node *n)
{
    for (int i = 0; i < n_feeds; i++)
        if (feeds[i].node == n) return &feeds[i];
    return NULL;
}

/* ---- pruning: the nodes the roots need, inputs first ---- */

/* Iterative post-order DFS (deep graphs cannot overflow the C stack); fed
 * placeholders are leaves. Fills order[] and returns its length, or -1
 * with *st and the message set. */
static int prune(const gf_run_ctx *c, const gf_feed *feeds, int n_feeds, gf_node *const *roots,
                 int n_roots, int n_fetches, gf_node **order, gf_status *st)
{
    gf_graph *g = c->graph;
    int nn = g->n_nodes, n = 0;
    unsigned char *state = gf__calloc((size_t)nn + 1, 1);
    int *root_of = gf__malloc(((size_t)nn + 1) * sizeof *root_of), *next_in = gf__calloc((size_t)nn + 1, sizeof *next_in);
    gf_node **stack = gf__malloc(((size_t)nn + 1) * sizeof *stack);
    if (!state || !root_of || !next_in || !stack) {
        n = -1;
        *st = gf__plan_fail(c, GF_ERR_NOMEM, "session: out of memory planning a run");
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
            bool fed = gf__plan_feed(feeds, n_feeds, x) != NULL;
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
                *st = gf__plan_fail(c, GF_ERR_FEED,
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

static void set_view(gf_pnode *q, float *data)
{
    q->view = true;
    q->val.dtype = q->n.dtype;
    q->val.shape = q->n.shape;
    q->val.data = data;
    q->val.capacity = 0;
}

/* Resolves every pnode's shape from the fed shapes (checked against their
 * placeholders by the caller) with the op's rule. */
static gf_status resolve(const gf_run_ctx *c, gf_plan *p, const gf_feed *feeds, int n_feeds)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i];
        gf_node *n = &q->n;
        unsigned fl = n->op->flags;
        if (fl & GF_OPF_PLACEHOLDER) {
            n->shape = gf__plan_feed(feeds, n_feeds, q->orig)->value->shape;
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
            return gf__plan_fail(c, GF_ERR_SHAPE, "%s \"%s\": %s", n->op->name, n->name, detail);
        if (!gf__shape_known(n->shape)) {
            char b[GF_SHAPE_STR];
            return gf__plan_fail(c, GF_ERR_SHAPE, "%s \"%s\": result shape %s is not fully known", n->op->name,
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
        for (int i = 0; i < p->fused->prog.n_in; i++) in[k++] = p->fused->in[i];
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
            if (!(j == p->n.n_inputs - 1 && (p->n.op->flags & GF_OPF_SHAPE_ONLY))) in[k++] = gf__pn_in(p, j);
        if (p->epi_bias) in[k++] = p->epi_bias;
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
    gf__free_aligned(p->arena);
    gf__free(p);
}

gf_status gf__plan_compile(const gf_run_ctx *c, unsigned disabled, const gf_feed *feeds, int n_feeds,
                           gf_node *const *fetches, int n_fetches, gf_node *const *targets, int n_targets,
                           gf_plan **out)
{
    gf_graph *g = c->graph;
    int n_roots = n_fetches + n_targets;
    gf_plan *p = gf__calloc(1, sizeof *p);
    if (p) p->bucket_first = -1;
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
        st = gf__plan_fail(c, GF_ERR_NOMEM, "session: out of memory planning a run");
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

    int n = prune(c, feeds, n_feeds, roots, n_roots, n_fetches, order, &st);
    if (n < 0) goto done;
    p->pn = gf__calloc((size_t)n + 1, sizeof *p->pn);
    if (!p->pn) {
        st = gf__plan_fail(c, GF_ERR_NOMEM, "session: out of memory planning a run");
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
        gf_pnode *a = &p->pn[i], *va[3], *vb[3];
        if (!(a->n.op->flags & GF_OPF_ASSIGN)) continue;
        int ka = gf__pn_assigned(a, va);
        for (int j = i; j < n; j++) {
            gf_pnode *b = &p->pn[j];
            if (!(b->n.op->flags & GF_OPF_ASSIGN)) continue;
            int kb = gf__pn_assigned(b, vb);
            for (int x = 0; x < ka; x++)
                for (int y = b == a ? x + 1 : 0; y < kb; y++)
                    if (va[x]->orig == vb[y]->orig) {
                        st = gf__plan_fail(c, GF_ERR_ARG,
                                           "variable \"%s\" is assigned twice in one run (by \"%s\"%s%s%s)",
                                           va[x]->n.name, a->n.name, a == b ? "" : " and \"",
                                           a == b ? "" : b->n.name, a == b ? "" : "\"");
                        goto done;
                    }
        }
    }
    if ((st = resolve(c, p, feeds, n_feeds)) != GF_OK) goto done;

    if (!(disabled & GF_PLAN_NO_TRANSPOSE)) gf__opt_transpose(p);
    if (!(disabled & GF_PLAN_NO_CSE)) gf__opt_cse(p);
    if (!(disabled & GF_PLAN_NO_FOLD) && (st = gf__opt_fold(p)) != GF_OK) {
        gf__plan_fail(c, st, "session: out of memory folding constants");
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
        gf__opt_pool_mask(p);
        gf__plan_liveness(p, proots, n_roots);
        if ((st = gf__opt_fuse(p)) != GF_OK) {
            gf__plan_fail(c, st, "session: out of memory fusing");
            goto done;
        }
        gf__plan_liveness(p, proots, n_roots);
        gf__opt_conv_epilogue(p);
        gf__plan_liveness(p, proots, n_roots);
    }
    for (int i = 0; i < n_fetches; i++) {
        gf_pnode *f = proots[i];
        while (f->alias) f = f->alias;
        p->fetch[i] = f;
    }
    if ((st = gf__plan_place(c, p)) != GF_OK) goto done;
    for (int i = 0; i < p->n_steps; i++)
        if (p->steps[i]->n.op->flags & GF_OPF_COLLECTIVE) p->n_collective++;
    if (p->n_bucket > 1) /* the same on every rank: the same graph gives the same plan */
        snprintf(p->bucket_name, sizeof p->bucket_name, "%.40s+%d", p->steps[p->bucket_first]->n.name,
                 p->n_bucket - 1);
    else if (p->n_bucket)
        snprintf(p->bucket_name, sizeof p->bucket_name, "%s", p->steps[p->bucket_first]->n.name);
    for (int i = 0; i < n_fetches; i++) {
        gf_pnode *f = p->fetch[i];
        if (f->view && gf__tensor_reshape(&p->fetch_copy[i], f->n.dtype, f->n.shape) != GF_OK) {
            st = gf__plan_fail(c, GF_ERR_NOMEM, "fetch \"%s\": out of memory", f->n.name);
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

/* ---- statistics ---- */

void gf__plan_stats(const gf_plan *p, gf_plan_stats *out)
{
    memset(out, 0, sizeof *out);
    out->nodes = p->n_pn;
    out->steps = p->n_steps;
    out->buffer_bytes = p->arena_floats * sizeof(float);
    for (int i = 0; i < p->n_steps; i++) {
        out->fused += p->steps[i]->kind == GF_STEP_FUSED;
        out->inplace += gf__pn_updates(p->steps[i]);
    }
    for (int i = 0; i < p->n_pn; i++) { /* the graph as written */
        const gf_node *n = &p->pn[i].n;
        if (n->n_inputs == 0) continue;
        if (n->op == GF_OP(MATMUL)) {
            const gf_shape a = PN(n->inputs[0])->n.shape;
            double k = (double)(n->attrs.matmul.transpose_a ? a.dim[0] : a.dim[1]);
            out->dense_flops += 2.0 * (double)n->shape.dim[0] * (double)n->shape.dim[1] * k;
        } else if (n->op == GF_OP(CONV2D) || n->op == GF_OP(CONV2D_BACKPROP_INPUT) ||
                   n->op == GF_OP(CONV2D_BACKPROP_FILTER)) {
            /* One multiply-add per element of the output y [N,OH,OW,O] and
             * position of its kh x kw x in patch: the forward product, and
             * each of its two gradients, computes as many. */
            const gf_shape f = n->op == GF_OP(CONV2D_BACKPROP_FILTER) ? n->shape : PN(n->inputs[1])->n.shape;
            const gf_shape y = n->op == GF_OP(CONV2D) ? n->shape
                             : PN(n->inputs[n->op == GF_OP(CONV2D_BACKPROP_INPUT) ? 0 : 1])->n.shape;
            out->dense_flops += 2.0 * (double)gf_shape_count(y) * (double)f.dim[0] * (double)f.dim[1] * (double)f.dim[2];
        } else if (n->op->ew || n->op->flags & GF_OPF_ASSIGN) {
            out->other_flops += (double)gf_shape_count(n->shape);
        } else {
            out->other_flops += (double)gf_shape_count(PN(n->inputs[0])->n.shape);
        }
    }
}
