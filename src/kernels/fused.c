/*
 * fused.c — the fused elementwise kernel: a chain of block functions run
 * over the output 256 elements at a time, so intermediates stay in cache.
 */
#include "fused.h"
#include "threads.h"

#include <string.h>

#define BLK 256

/* reg [len] = elements base .. base+len-1 of x broadcast to the output,
 * whose rank-4 view is d [d0,d1,d2,d3]; st: x's strides in that view (0
 * along the dimensions x is broadcast over). Row by row of d3 elements:
 * x's part of a row is a contiguous run when st[3] is 1 (e.g. a bias
 * [1,30] under [10,30]), one repeated value when it is 0 (a column
 * [10,1] under [10,30]); gf__broadcast_strides gives no other, but any
 * other stride works too. */
static void gather(float *reg, const float *x, const int64_t d[GF_MAX_RANK], const int64_t st[GF_MAX_RANK],
                   int64_t base, int64_t len)
{
    int64_t row = base / d[3], col = base % d[3];
    int64_t i2 = row % d[2], i1 = row / d[2] % d[1], i0 = row / d[2] / d[1];
    for (int64_t j = 0; j < len;) {
        int64_t run = d[3] - col < len - j ? d[3] - col : len - j;
        const float *p = x + i0 * st[0] + i1 * st[1] + i2 * st[2] + col * st[3];
        if (st[3] == 1) {
            memcpy(reg + j, p, (size_t)run * sizeof *reg);
        } else if (st[3] == 0) {
            float v = *p;
            for (int64_t k = 0; k < run; k++) reg[j + k] = v;
        } else {
            for (int64_t k = 0; k < run; k++) reg[j + k] = p[k * st[3]];
        }
        j += run;
        col = 0;
        if (++i2 == d[2]) { /* next row: carry into i1, i0 */
            i2 = 0;
            if (++i1 == d[1]) {
                i1 = 0;
                i0++;
            }
        }
    }
}

/* Elements lo .. hi-1 (hi - lo a multiple of BLK unless hi is the end) of
 * out [shape] = program(in_0 .. in_n), each input broadcast to out. */
static void fused_range(gf_tensor *out, const gf_fused_prog *f, int64_t lo, int64_t hi)
{
    int64_t total = gf_shape_count(out->shape), first = hi - lo < BLK ? hi - lo : BLK, d[GF_MAX_RANK];
    gf__shape_pad4(out->shape, d);
    float reg[GF_FUSED_MAX_IN + GF_FUSED_MAX_INSN][BLK];
    const float *src[GF_FUSED_MAX_IN + GF_FUSED_MAX_INSN];
    int mode[GF_FUSED_MAX_IN]; /* 0 contiguous, 1 the same every block, 2 gathered */
    for (int i = 0; i < f->n_in; i++) {
        int64_t n = gf_shape_count(f->in[i]->shape);
        const int64_t *st = f->stride[i];
        /* A row broadcast over the rest (a bias [32] under [50,28,28,32])
         * whose rows fit a block exactly: every block (lo is a multiple of
         * BLK) starts at a row's start and holds the same elements. */
        bool rows = st[3] == 1 && d[3] > 0 && BLK % d[3] == 0;
        for (int k = 0; k < 3; k++) rows &= st[k] == 0 || d[k] == 1;
        mode[i] = n == total ? 0 : n == 1 || rows ? 1 : 2;
        if (mode[i] == 1) { /* filled once, as far as the first block reaches */
            gather(reg[i], f->in[i]->data, d, st, lo, first);
            src[i] = reg[i];
        }
    }
    for (int64_t base = lo; base < hi; base += BLK) {
        int64_t len = hi - base < BLK ? hi - base : BLK;
        for (int i = 0; i < f->n_in; i++) {
            if (mode[i] == 0) {
                src[i] = f->in[i]->data + base;
            } else if (mode[i] == 2) {
                gather(reg[i], f->in[i]->data, d, f->stride[i], base, len);
                src[i] = reg[i];
            }
        }
        for (int k = 0; k < f->n_insn; k++) {
            int r = f->n_in + k;
            float *dst = k == f->n_insn - 1 ? out->data + base
                       : f->insn[k].store ? f->insn[k].store->data + base : reg[r];
            f->insn[k].fn(dst, src[f->insn[k].a], src[f->insn[k].b], len);
            src[r] = dst;
        }
    }
}

/* Elements per task when a chain is split over threads (a multiple of
 * BLK), and the least total worth splitting. */
#define PAR_ELEMS (64 * BLK)

typedef struct fused_job {
    gf_tensor *out;
    const gf_fused_prog *f;
    int64_t total;
} fused_job;

static void fused_task(void *arg, int t)
{
    const fused_job *j = arg;
    int64_t lo = (int64_t)t * PAR_ELEMS, hi = lo + PAR_ELEMS < j->total ? lo + PAR_ELEMS : j->total;
    fused_range(j->out, j->f, lo, hi);
}

/* out [shape] = program(in_0 .. in_n) with each input broadcast to out;
 * large outputs are split over up to `threads` threads in whole blocks
 * (every element is computed alone: the same bits for any split). */
void gf__k_fused(gf_tensor *out, const gf_fused_prog *f, int threads)
{
    int64_t total = gf_shape_count(out->shape);
    if (threads <= 1 || total < 2 * PAR_ELEMS) {
        fused_range(out, f, 0, total);
        return;
    }
    fused_job j = { out, f, total };
    gf__parallel_for(threads, (int)((total + PAR_ELEMS - 1) / PAR_ELEMS), fused_task, &j);
}
