/*
 * fused.c — the fused elementwise kernel: a chain of block functions run
 * over the output 256 elements at a time, so intermediates stay in cache.
 */
#include "../plan.h"

#include <string.h>

#define BLK 256

/* out [shape] = program(in_0 .. in_n) with each input broadcast to out. */
void gf__k_fused(gf_tensor *out, const gf_fused *f)
{
    int64_t total = gf_shape_count(out->shape), d[GF_MAX_RANK];
    gf__shape_pad4(out->shape, d);
    float reg[GF_FUSED_MAX_IN + GF_FUSED_MAX_INSN][BLK];
    const float *src[GF_FUSED_MAX_IN + GF_FUSED_MAX_INSN];
    int mode[GF_FUSED_MAX_IN]; /* 0 contiguous, 1 scalar, 2 gathered */
    for (int i = 0; i < f->n_in; i++) {
        int64_t n = gf_shape_count(f->in[i]->val.shape);
        mode[i] = n == total ? 0 : n == 1 ? 1 : 2;
        if (mode[i] == 1) {
            float v = f->in[i]->val.data[0];
            for (int j = 0; j < BLK; j++) reg[i][j] = v;
            src[i] = reg[i];
        }
    }
    for (int64_t base = 0; base < total; base += BLK) {
        int64_t len = total - base < BLK ? total - base : BLK;
        for (int i = 0; i < f->n_in; i++) {
            if (mode[i] == 0) {
                src[i] = f->in[i]->val.data + base;
            } else if (mode[i] == 2) {
                /* walk the output's 4-D index from base, reading x with
                 * its broadcast strides (0 along broadcast dims) */
                const int64_t *st = f->stride[i];
                int64_t idx[GF_MAX_RANK], rem = base;
                for (int k = GF_MAX_RANK - 1; k >= 0; k--) {
                    idx[k] = rem % d[k];
                    rem /= d[k];
                }
                const float *x = f->in[i]->val.data;
                for (int64_t j = 0; j < len; j++) {
                    reg[i][j] = x[idx[0] * st[0] + idx[1] * st[1] + idx[2] * st[2] + idx[3] * st[3]];
                    for (int k = GF_MAX_RANK - 1; k >= 0 && ++idx[k] == d[k]; k--) idx[k] = 0;
                }
                src[i] = reg[i];
            }
        }
        for (int k = 0; k < f->n_insn; k++) {
            int r = f->n_in + k;
            float *dst = k == f->n_insn - 1 ? out->data + base
                       : f->insn[k].store ? f->insn[k].store->val.data + base : reg[r];
            f->insn[k].fn(dst, src[f->insn[k].a], src[f->insn[k].b], len);
            src[r] = dst;
        }
    }
}
