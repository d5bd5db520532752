/*
 * table.c — the op table, one row per op, generated from the op list
 * (GF_OPS in op.h): adding an op is adding a row there.
 */
#include "op.h"

#define GF__OP_ROW(ID, name, arity, flags, shape, kernel, grad, ew, ctor) \
    [GF_OP_##ID] = { #name, arity, flags, shape, GF__FN(kernel), GF__FN(grad), GF__FN(ew) },

const gf_op gf__ops[GF_OP_COUNT] = { GF_OPS(GF__OP_ROW) };
