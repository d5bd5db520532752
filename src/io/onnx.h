/*
 * onnx.h — what the ONNX exporter's core (io/onnx.c: walking the graph,
 * naming values, initializers, the model's bytes) and its op table
 * (io/onnx_ops.c: one row per gradflow op that maps) say to each other.
 */
#ifndef GF_ONNX_H
#define GF_ONNX_H

#include "ops/op.h"

#include <stdbool.h>

/* The ONNX version written: IR version 7, the default domain's opset 13. */
#define GF_ONNX_IR_VERSION 7
#define GF_ONNX_OPSET 13

/* TensorProto.DataType values. */
enum { GF_ONNX_FLOAT = 1, GF_ONNX_INT32 = 6, GF_ONNX_INT64 = 7, GF_ONNX_BOOL = 9 };

/* An export in progress (io/onnx.c). After the first failure every call
 * below does nothing and returns NULL or false. */
typedef struct gf_ox gf_ox;

/* An attribute of an ONNX node: an int, a list of ints, or a string. */
typedef enum gf_ox_attr_kind { GF_OX_INT, GF_OX_INTS, GF_OX_STRING } gf_ox_attr_kind;
typedef struct gf_ox_attr {
    const char *name;
    gf_ox_attr_kind kind;
    int64_t i;              /* GF_OX_INT */
    const int64_t *ints;    /* GF_OX_INTS: n_ints of them */
    int n_ints;
    const char *s;          /* GF_OX_STRING */
} gf_ox_attr;

typedef struct gf_ox_row gf_ox_row;
/* Writes the ONNX nodes computing gradflow node n into the value named
 * out; false after a failure (recorded on x). */
typedef bool (*gf_ox_emit_fn)(gf_ox *x, const gf_node *n, const gf_ox_row *row, const char *out);

/* A row of the op table: the gradflow op, the ONNX op(s) it becomes (the
 * op_type for rows that use it, a description for docs and tests
 * otherwise), and its writer. */
struct gf_ox_row {
    int op;                 /* GF_OP_<ID> */
    const char *onnx;
    gf_ox_emit_fn emit;
};

/* ---- the op table (io/onnx_ops.c) ---- */

/* The table's rows (*count of them), in the op list's order. */
const gf_ox_row *gf__onnx_rows(int *count);
/* The row of op, or NULL when op has no mapping. */
const gf_ox_row *gf__onnx_row(const gf_op *op);
/* When n is dropout's product x * mask (gf_dropout, gf_dropout_keep), x:
 * the export drops the dropout, so only x is read. NULL for any other node,
 * and NULL with a failure recorded on x when the dropout cannot be dropped
 * (its keep probability is fixed below 1, computed, or an export input). */
const gf_node *gf__ox_dropout_data(gf_ox *x, const gf_node *n);
/* The ONNX element type of a gradflow dtype. */
int gf__ox_elem_type(gf_dtype dt);

/* ---- what the core lends the table's writers (io/onnx.c) ---- */

/* Records a failure (the message gets the export's prefix); returns false. */
bool gf__ox_fail(gf_ox *x, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);
/* Whether node is one of the export's inputs. */
bool gf__ox_is_input(const gf_ox *x, const gf_node *node);
/* The value name of n's input i (a variable or constant becomes an
 * initializer on first use); NULL after a failure. */
const char *gf__ox_input(gf_ox *x, const gf_node *n, int i);
/* A new value name for an intermediate result of n: "NAME/suffix", made
 * unique. Owned by x. */
const char *gf__ox_temp(gf_ox *x, const gf_node *n, const char *suffix);
/* Appends a node op_type(in...) -> out with the given attributes. */
void gf__ox_node(gf_ox *x, const char *op_type, const char *const *in, int n_in, const char *out,
                 const gf_ox_attr *attrs, int n_attrs);
/* A new initializer "NAME/suffix" for n: a rank-1 int64 tensor of count
 * values, or a float32 tensor of the given shape. Returns its name. */
const char *gf__ox_const_i64(gf_ox *x, const gf_node *n, const char *suffix, const int64_t *v, int count);
const char *gf__ox_const_f32(gf_ox *x, const gf_node *n, const char *suffix, gf_shape shape, const float *v);
/* The values of a variable (from the session) or a constant; NULL for
 * any other node. */
const float *gf__ox_values(gf_ox *x, const gf_node *n);
/* n's result is its input i's value, unchanged: n's value takes that name
 * (through an Identity node when n is one of the outputs). */
void gf__ox_alias(gf_ox *x, const gf_node *n, int i);

#endif
