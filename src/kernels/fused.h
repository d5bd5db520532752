/*
 * fused.h — the fused elementwise kernel (fused.c) and the program it runs,
 * said in tensors and block functions: the planner builds one per fused
 * step (opt/fuse.c), the kernel knows nothing of the planner.
 */
#ifndef GF_KERNELS_FUSED_H
#define GF_KERNELS_FUSED_H

#include "kernels.h"

#define GF_FUSED_MAX_IN 8
#define GF_FUSED_MAX_INSN 24

/* A register program run over blocks of the output. Register r < n_in is
 * input r, read with broadcast strides; instruction i writes register
 * n_in + i; the last one is the output. An instruction with a store also
 * writes that tensor (of the output's shape), for readers outside the
 * chain. The tensors are read through their pointers at each call: their
 * data may change from call to call, their shapes may not. */
typedef struct gf_fused_prog {
    int n_in, n_insn;
    const gf_tensor *in[GF_FUSED_MAX_IN];
    int64_t stride[GF_FUSED_MAX_IN][GF_MAX_RANK]; /* in the output's rank-4 view */
    struct { gf_ew_fn fn; int a, b; gf_tensor *store; } insn[GF_FUSED_MAX_INSN];
} gf_fused_prog;

/* out = the program over its inputs, large outputs split over up to
 * `threads` threads (the same bits). */
void gf__k_fused(gf_tensor *out, const gf_fused_prog *f, int threads);

#endif
