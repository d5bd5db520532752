/*
 * conv_epilogue.c — rewrite: a convolution's bias and relu,
 *   relu(conv2d(x, f) + b)   (a fused step of add and relu over the
 *                             convolution's output, b a row of O),
 * become the convolution's epilogue: the kernel adds the bias and clears
 * the negatives of each vector as it stores it, instead of a separate
 * pass over the whole [N,OH,OW,O] (the CNN: 5 MB and 2.5 MB read and
 * written again, about 0.8 ms a step). The same operations in the same
 * operand order, so the same bits. Only where the convolution takes a
 * kernel that does so (the direct sum or Winograd's).
 */
#include "../plan/plan.h"

void gf__opt_conv_epilogue(gf_plan *p)
{
    for (int i = 0; i < p->n_pn; i++) {
        gf_pnode *r = &p->pn[i];
        if (!r->live || r->alias || r->kind != GF_STEP_FUSED) continue;
        const gf_fused_prog *f = &r->fused->prog;
        if (f->n_in != 2 || f->n_insn != 2 || r->fused->store[0] || r->fused->store[1] ||
            f->insn[0].fn != GF_OP(ADD)->ew || f->insn[1].fn != GF_OP(RELU)->ew || f->insn[1].a != 2 ||
            f->insn[0].a == f->insn[0].b)
            continue;
        int ci = r->fused->in[0]->n.op == GF_OP(CONV2D) ? 0 : 1;
        gf_pnode *conv = r->fused->in[ci], *bias = r->fused->in[1 - ci];
        if (conv->n.op != GF_OP(CONV2D) || conv->kind != GF_STEP_KERNEL || conv->alias || conv->view ||
            conv->fetched || conv->users != 1 || conv->epi_bias || conv->n.dtype != GF_F32 ||
            !gf__shape_equal(conv->n.shape, r->n.shape) || conv->n.shape.rank != 4)
            continue;
        int64_t o = conv->n.shape.dim[3];
        if (bias->n.dtype != GF_F32 || gf_shape_count(bias->n.shape) != o || bias->n.shape.rank < 1 ||
            bias->n.shape.dim[bias->n.shape.rank - 1] != o ||
            !gf__conv2d_stores_epilogue(gf__pn_in(conv, 0)->n.shape, gf__pn_in(conv, 1)->n.shape, &conv->n))
            continue;
        conv->epi_bias = bias;
        conv->epi_bias_first = f->insn[0].a == 1 - ci; /* bias + conv */
        conv->epi_relu = true;
        r->alias = conv; /* the chain's readers (and fetches) now read the convolution */
        if (r->fetched) conv->fetched = true;
    }
}
