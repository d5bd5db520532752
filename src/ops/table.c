/*
 * table.c — the op table, one row per op, generated from the op list
 * (GF_OPS in op.h): adding an op is adding a row there.
 */
#include "op.h"

#define MAKE_CUSTOM(name)
#define MAKE_UNARY(name) .make1 = gf_##name,
#define MAKE_BINARY(name) .make2 = gf_##name,
#define MAKE_INTERNAL_BINARY(name) .make2 = gf__##name,
#define GF__OP_ROW(ID, NAME, ARITY, FLAGS, SHAPE, KERNEL, GRAD, EW, CTOR)                             \
    [GF_OP_##ID] = { .name = #NAME, .arity = ARITY, .flags = FLAGS, .shape = SHAPE,                     \
                     .kernel = GF__FN(KERNEL), .grad = GF__FN(GRAD), .ew = GF__FN(EW),                  \
                     .ctor = GF_CTOR_##CTOR, MAKE_##CTOR(NAME) },

const gf_op gf__ops[GF_OP_COUNT] = { GF_OPS(GF__OP_ROW) };
