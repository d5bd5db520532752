/*
 * table.c — the op table: one row per operation (name, arity, flags, shape
 * rule, kernel, gradient rule). Adding an op is adding a row here.
 */
#include "op.h"
#include "../kernels/kernels.h"

#include <assert.h>

#define SRC GF_OPF_SOURCE

const gf_op gf__ops[GF_OP_COUNT] = {
    /* name, arity, flags, shape rule, kernel, gradient rule, elementwise block (fusable) */
    [GF_OP_PLACEHOLDER]  = { "placeholder", 0, SRC | GF_OPF_PLACEHOLDER, gf__shape_source, NULL, NULL, NULL },
    [GF_OP_CONSTANT]     = { "constant",    0, SRC | GF_OPF_CONSTANT,    gf__shape_source, NULL, NULL, NULL },
    [GF_OP_VARIABLE]     = { "variable",    0, SRC | GF_OPF_VARIABLE,    gf__shape_source, NULL, NULL, NULL },
    [GF_OP_TRUNCATED_NORMAL] = { "truncated_normal", 0, SRC | GF_OPF_RANDOM, gf__shape_source, gf__k_truncated_normal, NULL, NULL },
    [GF_OP_ZEROS]        = { "zeros",       0, SRC,                      gf__shape_source,         gf__k_zeros,          NULL, NULL },
    [GF_OP_ADD]          = { "add",         2, 0, gf__shape_binary,         gf__k_add,            gf__grad_add, gf__ew_add },
    [GF_OP_SUB]          = { "sub",         2, 0, gf__shape_binary,         gf__k_sub,            gf__grad_sub, gf__ew_sub },
    [GF_OP_MUL]          = { "mul",         2, 0, gf__shape_binary,         gf__k_mul,            gf__grad_mul, gf__ew_mul },
    [GF_OP_DIV]          = { "div",         2, 0, gf__shape_binary,         gf__k_div,            gf__grad_div, gf__ew_div },
    [GF_OP_NEG]          = { "neg",         1, 0, gf__shape_unary,          gf__k_neg,            gf__grad_neg, gf__ew_neg },
    [GF_OP_EXP]          = { "exp",         1, 0, gf__shape_unary,          gf__k_exp,            gf__grad_exp, gf__ew_exp },
    [GF_OP_SIGMOID]      = { "sigmoid",     1, 0, gf__shape_unary,          gf__k_sigmoid,        gf__grad_sigmoid, gf__ew_sigmoid },
    [GF_OP_MATMUL]       = { "matmul",      2, 0, gf__shape_matmul,         gf__k_matmul,         gf__grad_matmul, NULL },
    [GF_OP_TRANSPOSE]    = { "transpose",   1, 0, gf__shape_transpose,      gf__k_transpose,      gf__grad_transpose, NULL },
    [GF_OP_REDUCE_SUM]   = { "reduce_sum",  1, 0, gf__shape_reduce,         gf__k_reduce_sum,     gf__grad_reduce_sum, NULL },
    [GF_OP_REDUCE_MEAN]  = { "reduce_mean", 1, 0, gf__shape_reduce,         gf__k_reduce_mean,    gf__grad_reduce_mean, NULL },
    [GF_OP_ARGMAX]       = { "argmax",      1, 0, gf__shape_argmax,         gf__k_argmax,         NULL, NULL },
    [GF_OP_EQUAL]        = { "equal",       2, 0, gf__shape_compare,        gf__k_equal,          NULL, NULL },
    [GF_OP_CAST]         = { "cast",        1, 0, gf__shape_cast,           gf__k_cast,           NULL, NULL },
    [GF_OP_ASSIGN]       = { "assign",      2, GF_OPF_ASSIGN, gf__shape_assign, gf__k_copy_input1, NULL, NULL },
    [GF_OP_SQRT]         = { "sqrt",        1, 0, gf__shape_unary,          gf__k_sqrt,           gf__grad_sqrt, gf__ew_sqrt },
    [GF_OP_GROUP]        = { "group",       2, GF_OPF_CONTROL, gf__shape_group,          gf__k_zeros,          NULL, NULL },
    [GF_OP_SUM_TO]       = { "sum_to",      2, GF_OPF_LIKE, gf__shape_sum_to,         gf__k_sum_to,         gf__grad_sum_to, NULL },
    [GF_OP_BROADCAST_LIKE] = { "broadcast_like", 2, GF_OPF_LIKE, gf__shape_broadcast_like, gf__k_broadcast_like, gf__grad_broadcast_like, NULL },
    /* The model zoo: activations, softmax family, layout. */
    [GF_OP_RELU]         = { "relu",        1, 0, gf__shape_unary,          gf__k_relu,           gf__grad_relu, gf__ew_relu },
    [GF_OP_TANH]         = { "tanh",        1, 0, gf__shape_unary,          gf__k_tanh,           gf__grad_tanh, gf__ew_tanh },
    [GF_OP_LOG]          = { "log",         1, 0, gf__shape_unary,          gf__k_log,            gf__grad_log, gf__ew_log },
    [GF_OP_SQUARE]       = { "square",      1, 0, gf__shape_unary,          gf__k_square,         gf__grad_square, gf__ew_square },
    [GF_OP_MAXIMUM]      = { "maximum",     2, 0, gf__shape_binary,         gf__k_maximum,        gf__grad_maximum, gf__ew_maximum },
    [GF_OP_SOFTMAX]      = { "softmax",     1, 0, gf__shape_last_axis,      gf__k_softmax,        gf__grad_softmax, NULL },
    [GF_OP_LOG_SOFTMAX]  = { "log_softmax", 1, 0, gf__shape_last_axis,      gf__k_log_softmax,    gf__grad_log_softmax, NULL },
    [GF_OP_SOFTMAX_XENT] = { "softmax_cross_entropy_with_logits", 2, 0, gf__shape_xent, gf__k_softmax_xent, gf__grad_xent, NULL },
    [GF_OP_RESHAPE]      = { "reshape",     1, 0, gf__shape_reshape,        gf__k_reshape,        gf__grad_reshape, NULL },
    [GF_OP_CONCAT]       = { "concat",      2, 0, gf__shape_concat,         gf__k_concat,         gf__grad_concat, NULL },
    [GF_OP_SLICE_ROWS]   = { "slice_rows",  1, 0, gf__shape_slice_rows,     gf__k_slice_rows,     gf__grad_slice_rows, NULL },
    [GF_OP_GATHER_ROWS]  = { "gather_rows", 2, 0, gf__shape_gather_rows,    gf__k_gather_rows,    gf__grad_gather_rows, NULL },
    [GF_OP_ONE_HOT]      = { "one_hot",     1, 0, gf__shape_one_hot,        gf__k_one_hot,        NULL, NULL },
    /* Internal ops of the zoo's gradient rules and of dropout. */
    [GF_OP_GREATER_MASK] = { "greater_mask", 2, 0, gf__shape_binary,        gf__k_greater_mask,   gf__grad_none, gf__ew_greater_mask },
    [GF_OP_RESHAPE_LIKE] = { "reshape_like", 2, GF_OPF_LIKE, gf__shape_reshape_like, gf__k_reshape, gf__grad_reshape_like, NULL },
    [GF_OP_CONCAT_SLICE] = { "concat_slice", 2, GF_OPF_LIKE, gf__shape_concat_slice, gf__k_concat_slice, gf__grad_concat_slice, NULL },
    [GF_OP_CONCAT_PAD]   = { "concat_pad",  2, GF_OPF_LIKE, gf__shape_concat_pad,   gf__k_concat_pad,   gf__grad_concat_pad, NULL },
    [GF_OP_PAD_ROWS]     = { "pad_rows",    2, GF_OPF_LIKE, gf__shape_pad_rows,     gf__k_pad_rows,     gf__grad_pad_rows, NULL },
    [GF_OP_SCATTER_ADD_ROWS] = { "scatter_add_rows", 2, 0, gf__shape_scatter_add_rows, gf__k_scatter_add_rows, gf__grad_scatter_add_rows, NULL },
    [GF_OP_DROPOUT_MASK] = { "dropout_mask", 1, GF_OPF_RANDOM, gf__shape_unary, gf__k_dropout_mask, gf__grad_none, NULL },
    [GF_OP_CHECK_NUMERICS] = { "check_numerics", 1, 0, gf__shape_unary, gf__k_check_numerics, gf__grad_check_numerics, NULL },
};

static_assert(GF_OP_COUNT == 45, "a new op needs a row in gf__ops");
