/*
 * table.c — the op table: one row per operation (name, arity, flags, shape
 * rule, kernel). Adding an op is adding a row here and its kernel.
 */
#include "op.h"
#include "../kernels/kernels.h"

#include <assert.h>

const gf_op gf__ops[GF_OP_COUNT] = {
    /* name               arity flags                                  shape rule           kernel */
    [GF_OP_PLACEHOLDER] = { "placeholder", 0, GF_OPF_SOURCE | GF_OPF_PLACEHOLDER | GF_OPF_NO_GRAD, gf__shape_source, NULL },
    [GF_OP_CONSTANT] = { "constant", 0, GF_OPF_SOURCE | GF_OPF_CONSTANT | GF_OPF_NO_GRAD, gf__shape_source, NULL },
    [GF_OP_VARIABLE] = { "variable", 0, GF_OPF_SOURCE | GF_OPF_VARIABLE, gf__shape_source, NULL },
    [GF_OP_TRUNCATED_NORMAL] = { "truncated_normal", 0, GF_OPF_SOURCE | GF_OPF_RANDOM | GF_OPF_NO_GRAD, gf__shape_source, gf__k_truncated_normal },
    [GF_OP_ZEROS] = { "zeros", 0, GF_OPF_SOURCE | GF_OPF_NO_GRAD, gf__shape_source, gf__k_zeros },
    [GF_OP_ADD] = { "add", 2, 0, gf__shape_binary, gf__k_add },
    [GF_OP_SUB] = { "subtract", 2, 0, gf__shape_binary, gf__k_sub },
    [GF_OP_MUL] = { "multiply", 2, 0, gf__shape_binary, gf__k_mul },
    [GF_OP_DIV] = { "divide", 2, 0, gf__shape_binary, gf__k_div },
    [GF_OP_NEG] = { "negative", 1, 0, gf__shape_unary, gf__k_neg },
    [GF_OP_EXP] = { "exp", 1, 0, gf__shape_unary, gf__k_exp },
    [GF_OP_SIGMOID] = { "sigmoid", 1, 0, gf__shape_unary, gf__k_sigmoid },
    [GF_OP_MATMUL] = { "matmul", 2, 0, gf__shape_matmul, gf__k_matmul },
    [GF_OP_TRANSPOSE] = { "transpose", 1, 0, gf__shape_transpose, gf__k_transpose },
    [GF_OP_REDUCE_SUM] = { "reduce_sum", 1, 0, gf__shape_reduce, gf__k_reduce_sum },
    [GF_OP_REDUCE_MEAN] = { "reduce_mean", 1, 0, gf__shape_reduce, gf__k_reduce_mean },
    [GF_OP_ARGMAX] = { "argmax", 1, GF_OPF_NO_GRAD, gf__shape_argmax, gf__k_argmax },
    [GF_OP_EQUAL] = { "equal", 2, GF_OPF_NO_GRAD, gf__shape_compare, gf__k_equal },
    [GF_OP_CAST] = { "cast", 1, GF_OPF_NO_GRAD, gf__shape_cast, gf__k_cast },
    [GF_OP_ASSIGN] = { "assign", 2, GF_OPF_ASSIGN | GF_OPF_NO_GRAD, gf__shape_assign, gf__k_copy_input1 },
};

static_assert(GF_OP_COUNT == 20, "a new op needs a row in gf__ops");
