/*
 * random.c — random initializer kernels, drawing from the node's own
 * stream (seeded by the session from its seed and the node's id).
 */
#include "kernels.h"

/* out [shape] ~ Normal(mean, stddev), draws beyond 2 stddev redrawn. */
GF_KERNEL(gf__k_truncated_normal)
{
    (void)in;
    int64_t cnt = gf_shape_count(out->shape);
    double mean = n->attrs.init.mean, sd = n->attrs.init.stddev;
    for (int64_t i = 0; i < cnt; i++) {
        double z;
        do z = gf_rng_normal(ctx->rng);
        while (z < -2.0 || z > 2.0);
        out->data[i] = (float)(mean + sd * z);
    }
}
