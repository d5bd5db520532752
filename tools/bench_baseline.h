/*
 * bench_baseline.h — the in-run baseline of `gradflow bench`: the article's
 * 784-H-10 sigmoid network trained and evaluated by plain C loops, no graph.
 */
#ifndef GF_BENCH_BASELINE_H
#define GF_BENCH_BASELINE_H

#include <stdint.h>

#define GF_BL_INPUTS 784
#define GF_BL_OUTPUTS 10

/* The network and its scratch. Row-major like the graph's variables:
 * w1 [784,h], b1 [h], w2 [h,10], b2 [10]. All buffers owned. */
typedef struct gf_bl_net {
    int h;
    int64_t cap;                  /* rows the scratch holds */
    int avx2;                     /* run the AVX2+FMA build of the loops */
    float *w1, *b1, *w2, *b2;
    float *z1, *a1, *z2, *a2;     /* [cap,h], [cap,h], [cap,10], [cap,10] */
    float *dz2, *da1, *dz1;       /* [cap,10], [cap,h], [cap,h] */
} gf_bl_net;

/* 1 when this CPU runs the AVX2+FMA build of the loops (the same C source
 * compiled for that target), 0 for the build's baseline ISA. */
int gf_bl_uses_avx2(void);

/* Allocates a net with h hidden units and scratch for `cap` rows (a training
 * batch or an evaluation block, whichever is larger); weights are zero: copy
 * the graph's initial values into w1..b2. Returns 0, or -1 when out of
 * memory (then *net is freed). Sets avx2 to gf_bl_uses_avx2(); clear it to
 * time the portable build. */
int gf_bl_init(gf_bl_net *net, int h, int64_t cap);
void gf_bl_free(gf_bl_net *net);

/* One gradient-descent step on the batch x [b,784], y [b,10] (b <= cap):
 *   d_z_2 = dz_scale*(a_2 - y)*s'(z_2),  d_a_1 = d_z_2 w_2^T,
 *   d_z_1 = d_a_1*s'(z_1),
 *   w_2 -= w_rate * a_1^T d_z_2,  w_1 -= w_rate * a_0^T d_z_1,
 *   b_k -= b_rate * sum over the batch of d_z_k,
 * every read seeing the weights from before the step. The article's manual
 * step is dz_scale 1, w_rate eta, b_rate eta/b (the batch mean); its
 * autodiff step (gradient descent on sum((a_2-y)^2)) is dz_scale 2,
 * w_rate = b_rate = lr. */
void gf_bl_step(gf_bl_net *net, const float *x, const float *y, int64_t b, float dz_scale,
                float w_rate, float b_rate);

/* Forward pass over n images (in blocks of cap rows) and the number whose
 * argmax matches the label's argmax (the article's acct_res). */
int64_t gf_bl_eval(gf_bl_net *net, const float *x, const float *y, int64_t n);

#endif
