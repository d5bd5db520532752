/*
 * collective.c — the all-reduce kernels: x summed (or averaged) over the
 * micro-batches a session accumulated and over its data-parallel group.
 *
 * The order of the float additions is the contract that makes N processes
 * give the bits of one process accumulating N micro-batches: micro-batch
 * sums are ((x_0 + x_1) + x_2) + ..., the group's are the same over ranks
 * in rank order (the group's all_reduce promises it), and a mean divides
 * the sum once, by the number of contributions.
 */
#include "kernels.h"

#include <stdio.h>
#include <string.h>

/* Room for n floats in a (kept across steps: no allocation once warm). */
static bool reserve(gf_accum *a, int64_t n)
{
    if (a->cap >= n) return true;
    float *d = gf__realloc(a->data, (size_t)(n ? n : 1) * sizeof(float));
    if (!d) return false;
    a->data = d;
    a->cap = n;
    return true;
}

/* A mean: the sum divided once by the number of contributions. */
static void divide(gf_tensor *out, int64_t parts)
{
    if (parts <= 1) return;
    float d = (float)parts, *o = out->data;
    int64_t cnt = gf_shape_count(out->shape);
    for (int64_t i = 0; i < cnt; i++) o[i] = o[i] / d;
}

static void all_reduce(gf_tensor *out, const gf_tensor *x, const gf_node *n, gf_kctx *ctx, bool mean)
{
    int64_t cnt = gf_shape_count(out->shape);
    if (out->data != x->data) /* the plan may compute x in out's place */
        memcpy(out->data, x->data, (size_t)cnt * sizeof(float));
    gf_accum *a = ctx->acc;
    const gf_collective *c = ctx->coll;
    ctx->coll_parts = 1;
    if (!c || !a) return; /* alone, nothing accumulated: the identity */
    if (a->count > 0 && a->n != cnt) {
        ctx->status = GF_ERR_SHAPE;
        snprintf(ctx->msg, ctx->msg_len,
                 "all-reduce \"%s\": this micro-batch gives %lld elements, the %d accumulated before it %lld",
                 n->name, (long long)cnt, a->count, (long long)a->n);
        return;
    }
    if (c->accumulate) { /* a micro-batch: into the sum, nothing further */
        if (a->count == 0) {
            if (!reserve(a, cnt)) {
                ctx->status = GF_ERR_NOMEM;
                snprintf(ctx->msg, ctx->msg_len, "all-reduce \"%s\": out of memory for the accumulator", n->name);
                return;
            }
            memcpy(a->data, x->data, (size_t)cnt * sizeof(float));
            a->n = cnt;
        } else {
            float *s = a->data;
            const float *v = x->data;
            for (int64_t i = 0; i < cnt; i++) s[i] = s[i] + v[i];
        }
        a->count++;
        return;
    }
    /* The last micro-batch: the local sum, then the group's. */
    int64_t parts = (int64_t)a->count + 1;
    if (a->count > 0) {
        const float *s = a->data;
        float *o = out->data;
        for (int64_t i = 0; i < cnt; i++) o[i] = s[i] + o[i];
    }
    a->count = 0;
    if (ctx->coll_defer) { /* the caller reduces a bucket of these at once */
        ctx->coll_parts = parts;
        return;
    }
    const gf_process_group *g = c->group;
    if (g && g->size > 1) {
        char why[400] = "";
        gf_status st = g->all_reduce(g->ctx, out->data, cnt, n->name, why, sizeof why);
        if (st != GF_OK) {
            ctx->status = st;
            snprintf(ctx->msg, ctx->msg_len, "all-reduce \"%s\" (%lld elements) across the group: %s", n->name,
                     (long long)cnt, why[0] ? why : gf_status_string(st));
            return;
        }
        parts *= g->size;
    }
    if (mean) divide(out, parts);
}

void gf__all_reduce_finish(const gf_node *n, gf_tensor *out, int64_t contributions)
{
    if (n->op == GF_OP(ALL_REDUCE_MEAN)) divide(out, contributions);
}

GF_KERNEL(gf__k_all_reduce_sum) { all_reduce(out, in[0], n, ctx, false); }
GF_KERNEL(gf__k_all_reduce_mean) { all_reduce(out, in[0], n, ctx, true); }
