/*
 * rng.c — PCG32 (O'Neill's permuted congruential generator, XSH-RR 64/32):
 * an explicit, seedable generator that gives the same stream everywhere.
 */
#include "internal.h"

#include <math.h>

#define PCG_MULT 6364136223846793005ULL

void gf_rng_seed(gf_rng *r, uint64_t seed, uint64_t stream)
{
    if (!r) return;
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    gf_rng_u32(r);
    r->state += seed;
    gf_rng_u32(r);
}

/* PCG32's output for the state before a step. */
static inline uint32_t pcg_output(uint64_t old)
{
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

uint32_t gf_rng_u32(gf_rng *r)
{
    if (!r) return 0;
    uint64_t old = r->state;
    r->state = old * PCG_MULT + r->inc;
    return pcg_output(old);
}

void gf__rng_fill_u32(gf_rng *r, uint32_t *out, int64_t n)
{
    /* Four interleaved copies of the stream, each stepping four states
     * at once (s -> M^4 s + (M^3 + M^2 + M + 1) inc): four short chains
     * instead of one long one, the same values in the same order. */
    const uint64_t m = PCG_MULT, inc = r->inc;
    const uint64_t m4 = m * m * m * m, c4 = inc * (m * m * m + m * m + m + 1);
    uint64_t s0 = r->state, s1 = s0 * m + inc, s2 = s1 * m + inc, s3 = s2 * m + inc;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        out[i] = pcg_output(s0);
        out[i + 1] = pcg_output(s1);
        out[i + 2] = pcg_output(s2);
        out[i + 3] = pcg_output(s3);
        s0 = s0 * m4 + c4, s1 = s1 * m4 + c4, s2 = s2 * m4 + c4, s3 = s3 * m4 + c4;
    }
    r->state = s0; /* the state after i draws */
    for (; i < n; i++) out[i] = gf_rng_u32(r);
}

uint32_t gf_rng_below(gf_rng *r, uint32_t bound)
{
    if (!r || bound == 0) return 0;
    /* Reject the low values that would bias the modulo. */
    uint32_t threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t v = gf_rng_u32(r);
        if (v >= threshold) return v % bound;
    }
}

double gf_rng_uniform(gf_rng *r)
{
    if (!r) return 0.0;
    uint64_t hi = gf_rng_u32(r) >> 5, lo = gf_rng_u32(r) >> 6; /* 27 + 26 bits */
    return (double)(hi * 67108864.0 + lo) / 9007199254740992.0;
}

double gf_rng_normal(gf_rng *r)
{
    if (!r) return 0.0;
    /* Marsaglia's polar method; the spare value is dropped so that the
     * stream position depends only on the number of draws. */
    for (;;) {
        double u = 2.0 * gf_rng_uniform(r) - 1.0;
        double v = 2.0 * gf_rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) return u * sqrt(-2.0 * log(s) / s);
    }
}
