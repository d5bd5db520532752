/*
 * run.c — runs a compiled plan: a flat loop over its steps with resolved
 * pointers and no allocation, then the fetches and the commits.
 */
#include "plan.h"
#include "../kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* var [n] += alpha * x [n] */
static void axpy(float *restrict v, float alpha, const float *restrict x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] += alpha * x[i];
}

/* Fetch f into outs[f]: a step's own buffer, or a copy of a view (a source
 * or an in-place result), so that what the caller holds outlives its
 * feeds and the next run. */
static void copy_fetch(gf_plan *p, int f, const gf_tensor **outs)
{
    gf_pnode *q = p->fetch[f];
    if (!q->view) {
        outs[f] = &q->val;
        return;
    }
    int64_t cnt = gf_shape_count(q->n.shape);
    if (cnt > 0) memcpy(p->fetch_copy[f].data, q->val.data, (size_t)cnt * sizeof(float));
    outs[f] = &p->fetch_copy[f];
}

/* With checking on: the first NaN or infinity in a step's result. */
static gf_status check_step(const gf_run_ctx *c, const gf_pnode *q)
{
    if (q->n.dtype != GF_F32) return GF_OK;
    int64_t bad = gf__first_nonfinite(q->val.data, gf_shape_count(q->val.shape));
    if (bad < 0) return GF_OK;
    char b[GF_SHAPE_STR];
    return gf__plan_fail(c, GF_ERR_NUMERIC, "check numerics: op %s \"%s\" produced %s at element %lld of %s",
                         q->n.op->name, q->n.name, isnan(q->val.data[bad]) ? "NaN" : "infinity",
                         (long long)bad, gf_shape_format(q->val.shape, b, sizeof b));
}

/* The all-reduce bucket (place.c): each step's own part (its micro-
 * batches: kernels/collective.c), then one group call over the block of
 * all their results, then each mean divided. */
static gf_status run_bucket(const gf_run_ctx *c, gf_plan *p, char *kmsg, size_t kmsg_len)
{
    int64_t parts = 1;
    for (int b = 0; b < p->n_bucket; b++) {
        gf_pnode *q = p->steps[p->bucket_first + b];
        int64_t cnt = gf_shape_count(q->val.shape), granule = (cnt + 15) / 16 * 16 + (cnt == 0 ? 16 : 0);
        memset(q->val.data + cnt, 0, (size_t)(granule - cnt) * sizeof(float)); /* the gap is reduced too */
        if (cnt == 0) continue;
        const gf_tensor *in[GF_MAX_INPUTS] = { &gf__pn_in(q, 0)->val };
        gf_kctx ctx = { .threads = c->threads, .msg = kmsg, .msg_len = kmsg_len, .coll_defer = true };
        if (c->acc && q->orig->id < c->n_acc) {
            ctx.coll = c->coll;
            ctx.acc = &c->acc[q->orig->id];
        }
        q->n.op->kernel(&q->val, in, &q->n, &ctx);
        if (ctx.status != GF_OK) return gf__plan_fail(c, ctx.status, "%s", kmsg);
        parts = ctx.coll_parts; /* the same for every node of a step */
    }
    if (c->coll && c->coll->accumulate) return GF_OK; /* a micro-batch: summed, no more */
    const gf_process_group *g = c->coll ? c->coll->group : NULL;
    if (g && g->size > 1) {
        char why[400] = "";
        gf_status st = g->all_reduce(g->ctx, p->bucket, (int64_t)p->bucket_floats, p->bucket_name, why, sizeof why);
        const gf_pnode *first = p->steps[p->bucket_first];
        if (st != GF_OK && p->n_bucket == 1)
            return gf__plan_fail(c, st, "all-reduce \"%s\" (%lld elements) across the group: %s", first->n.name,
                                 (long long)gf_shape_count(first->val.shape), why[0] ? why : gf_status_string(st));
        if (st != GF_OK)
            return gf__plan_fail(c, st, "all-reduce \"%s\" and %d more (%zu floats in all) across the group: %s",
                                 first->n.name, p->n_bucket - 1, p->bucket_floats,
                                 why[0] ? why : gf_status_string(st));
        parts *= g->size;
    }
    for (int b = 0; b < p->n_bucket; b++) {
        gf_pnode *q = p->steps[p->bucket_first + b];
        gf__all_reduce_finish(&q->n, &q->val, parts);
        if (c->check_numerics && check_step(c, q) != GF_OK) return GF_ERR_NUMERIC;
    }
    return GF_OK;
}

gf_status gf__plan_run(const gf_run_ctx *c, gf_plan *p, const gf_feed *feeds, int n_feeds, const gf_tensor **outs)
{
    int threads = c->threads;
    bool checking = c->check_numerics;
    char kmsg[512];
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *q = &p->pn[i];
        if (!q->live) continue;
        unsigned fl = q->n.op->flags;
        if (fl & GF_OPF_PLACEHOLDER) q->val.data = gf__plan_feed(feeds, n_feeds, q->orig)->value->data;
        else if (fl & GF_OPF_VARIABLE) q->val.data = c->vars[q->n.var_index]->data;
        else if (gf__pn_updates(q))
            q->val.data = c->vars[gf__pn_in(q, 0)->n.var_index]->data;
    }
    /* Fetched variables are copied first: the caller gets their values
     * from before the run, which the in-place updates change. */
    for (int f = 0; f < p->n_fetch; f++)
        if (p->fetch[f]->view && (p->fetch[f]->n.op->flags & GF_OPF_VARIABLE)) copy_fetch(p, f, outs);
    for (int i = 0; i < p->n_steps; i++) {
        gf_pnode *q = p->steps[i];
        if (p->n_bucket && i == p->bucket_first) {
            gf_status st = run_bucket(c, p, kmsg, sizeof kmsg);
            if (st != GF_OK) return st;
            i += p->n_bucket - 1;
            continue;
        }
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
            if (q->epi_bias || q->epi_relu)
                ctx.epi = (gf_conv_epilogue){ q->epi_bias ? q->epi_bias->val.data : NULL, q->epi_bias_first,
                                              q->epi_relu };
            unsigned fl = q->n.op->flags;
            /* Variables known finite are said so; those a kernel checks
             * are remembered (GF_VAR_FINITE). */
            for (int j = 0; j < q->n.n_inputs && j < 32; j++) {
                const gf_pnode *x = gf__pn_in(q, j);
                if ((x->n.op->flags & GF_OPF_VARIABLE) && (c->var_flags[x->n.var_index] & GF_VAR_FINITE))
                    ctx.finite_in |= 1u << j;
            }
            if (q->n.op->flags & GF_OPF_RANDOM) ctx.rng = &c->rng[q->orig->id];
            if ((q->n.op->flags & GF_OPF_COLLECTIVE) && c->acc && q->orig->id < c->n_acc) {
                ctx.coll = c->coll;
                ctx.acc = &c->acc[q->orig->id];
            }
            q->n.op->kernel(&q->val, in, &q->n, &ctx);
            if (ctx.status != GF_OK) return gf__plan_fail(c, ctx.status, "%s", kmsg);
            for (int j = 0; ctx.finite_seen && j < q->n.n_inputs && j < 32; j++) {
                const gf_pnode *x = gf__pn_in(q, j);
                if ((ctx.finite_seen >> j & 1) && (x->n.op->flags & GF_OPF_VARIABLE))
                    c->var_flags[x->n.var_index] |= GF_VAR_FINITE;
            }
            if (fl & GF_OPF_UPDATE) { /* it changed its variables */
                gf_pnode *w[3];
                for (int j = 0, k = gf__pn_assigned(q, w); j < k; j++)
                    c->var_flags[w[j]->n.var_index] &= (unsigned char)~GF_VAR_FINITE;
            }
            if (checking && check_step(c, q) != GF_OK) return GF_ERR_NUMERIC;
            break;
        }
        case GF_STEP_FUSED: /* its side stores have its shape: all empty or none */
            if (gf_shape_count(q->val.shape) == 0) break;
            gf__k_fused(&q->val, &q->fused->prog, threads);
            if (checking && check_step(c, q) != GF_OK) return GF_ERR_NUMERIC;
            break;
        case GF_STEP_AXPY:
        case GF_STEP_GEMM: {
            float alpha = q->sign * (q->scale ? q->scale->val.data[0] : 1.0f);
            gf_tensor *v = &q->val;
            int vi = gf__pn_in(q, 0)->n.var_index;
            if (q->kind == GF_STEP_AXPY) {
                axpy(v->data, alpha, q->x->val.data, gf_shape_count(v->shape));
                c->var_flags[vi] &= (unsigned char)~GF_VAR_FINITE;
            } else {
                /* var [m,n] += alpha * op(A) @ op(B) */
                const gf_tensor *a = &gf__pn_in(q->x, 0)->val, *b = &gf__pn_in(q->x, 1)->val;
                int ta = q->x->n.attrs.matmul.transpose_a, tb = q->x->n.attrs.matmul.transpose_b;
                int64_t k = ta ? a->shape.dim[0] : a->shape.dim[1];
                /* Known finite before, and every value written finite:
                 * still known finite. */
                gf_gemm_hint h = { 0, 0, 0 };
                gf__gemm_hinted(ta, tb, v->shape.dim[0], v->shape.dim[1], k, alpha, a->data, a->shape.dim[1],
                                b->data, b->shape.dim[1], 1.0f, v->data, v->shape.dim[1], threads, &h);
                if (!h.c_finite) c->var_flags[vi] &= (unsigned char)~GF_VAR_FINITE;
            }
            break;
        }
        }
    }
    /* The other fetches, now that every step has run. */
    for (int f = 0; f < p->n_fetch; f++)
        if (!(p->fetch[f]->view && (p->fetch[f]->n.op->flags & GF_OPF_VARIABLE))) copy_fetch(p, f, outs);
    for (int i = 0; i < p->n_commit; i++) {
        gf_pnode *a = p->commit[i];
        int vi = gf__pn_in(a, 0)->n.var_index;
        gf_tensor *var = c->vars[vi];
        memcpy(var->data, a->val.data, (size_t)gf_shape_count(var->shape) * sizeof(float));
        c->var_flags[vi] &= (unsigned char)~GF_VAR_FINITE;
    }
    return GF_OK;
}
