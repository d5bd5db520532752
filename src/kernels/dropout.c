/*
 * dropout.c — dropout's random mask: each element kept with probability
 * keep_prob (as 1/keep_prob) or dropped (as 0), a fresh draw every run.
 */
#include "kernels.h"

#include <stdio.h>

/* out [cnt]: scale where the next draw of r is below threshold (at most
 * 2^32: every draw), else 0, in order (the draws made 256 at a time; the
 * comparison in 32 bits, so that it is a vector compare, not a branch
 * taken at random). */
static void keep_mask(gf_rng *r, uint64_t threshold, float scale, float *out, int64_t cnt)
{
    uint32_t u[256];
    const bool all = threshold > UINT32_MAX;
    const uint32_t t = all ? 0 : (uint32_t)threshold;
    for (int64_t i = 0; i < cnt; i += 256) {
        int64_t len = cnt - i < 256 ? cnt - i : 256;
        gf__rng_fill_u32(r, u, len);
        float *o = out + i;
        for (int64_t k = 0; k < len; k++) o[k] = all || u[k] < t ? scale : 0.0f;
    }
}

/* out [shape of the input] = 1/keep_prob with probability keep_prob, else
 * 0. The node's stream (seeded from the session seed and the node's id)
 * advances by two draws per run; those pick the run's generator, whose
 * stream is the op's seed, so the same session seed, graph and op seed
 * give the same masks run after run. The input's values are not read. */
GF_KERNEL(gf__k_dropout_mask)
{
    (void)in;
    uint64_t seed = n->attrs.dropout.seed;
    uint64_t state = gf_rng_u32(ctx->rng); /* two statements: a fixed order */
    state = state << 32 | gf_rng_u32(ctx->rng);
    gf_rng r;
    gf_rng_seed(&r, state, seed);
    double keep = n->attrs.dropout.keep_prob;
    /* kept when a 32-bit draw is below keep * 2^32 (keep = 1: always) */
    uint64_t threshold = (uint64_t)(keep * 4294967296.0);
    float scale = (float)(1.0 / keep);
    keep_mask(&r, threshold, scale, out->data, gf_shape_count(out->shape));
}

/* out [shape of x] = the mask above with keep_prob read from in[1] (a
 * float32 scalar) at this run; the run fails naming the node unless
 * 0 < keep_prob <= 1. The node's stream advances as gf__k_dropout_mask's. */
GF_KERNEL(gf__k_dropout_keep_mask)
{
    float kp = in[1]->data[0];
    if (!(kp > 0.0f && kp <= 1.0f)) {
        ctx->status = GF_ERR_ARG;
        snprintf(ctx->msg, ctx->msg_len, "dropout_keep_mask \"%s\": keep_prob is %g: expected 0 < keep_prob <= 1",
                 n->name, (double)kp);
        return;
    }
    uint64_t state = gf_rng_u32(ctx->rng); /* two statements: a fixed order */
    state = state << 32 | gf_rng_u32(ctx->rng);
    gf_rng r;
    gf_rng_seed(&r, state, n->attrs.dropout.seed);
    double keep = kp;
    uint64_t threshold = (uint64_t)(keep * 4294967296.0);
    float scale = (float)(1.0 / keep);
    keep_mask(&r, threshold, scale, out->data, gf_shape_count(out->shape));
}
