/*
 * internal.h — structures shared inside the library: tensors, nodes, graphs,
 * the op table's row type, and the error helpers. Not installed.
 */
#ifndef GF_INTERNAL_H
#define GF_INTERNAL_H

#include "gradflow.h"

#include <stdarg.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define GF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define GF_PRINTF(f, a)
#endif

/* ---- memory (alloc.c): every allocation goes through these ---- */

void *gf__malloc(size_t n);
void *gf__calloc(size_t count, size_t size);
void *gf__realloc(void *p, size_t n);
void gf__free(void *p);
/* n bytes at a 64-byte boundary (a cache line, one AVX-512 vector), from
 * the same allocator; free with gf__free_aligned. Tensor data and plan
 * buffers use these: malloc's large blocks start 16 bytes past a page, so
 * every row a kernel loads in vectors would straddle two cache lines. */
void *gf__malloc_aligned(size_t n);
void gf__free_aligned(void *p);

/* out [n] = the next n draws of gf_rng_u32(r), r advanced past them
 * (rng.c; faster than n calls: four interleaved chains). */
void gf__rng_fill_u32(gf_rng *r, uint32_t *out, int64_t n);

/* ---- tensors (tensor.c) ---- */

struct gf_tensor {
    gf_dtype dtype;
    gf_shape shape;
    float *data;
    int64_t capacity; /* floats owned at data; 0 when borrowed */
    bool aligned;     /* owned data is from gf__malloc_aligned, not gf__malloc */
};

/* Every tensor a kernel sees has storage, even one with no elements (so
 * that data + 0 and memcpy(data, ..., 0) are defined): an empty tensor
 * borrowed from the caller without storage points here instead of NULL.
 * Nothing is ever written through it (there are no elements to write). */
extern float gf__no_elements[1];

/* Fills err (may be NULL) with code and a printf-style message; returns code. */
gf_status gf__error_set(gf_error *err, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);

/* Element count with overflow check: -1 for an open or negative dimension,
 * -2 when the count would exceed 2^40. */
int64_t gf__shape_count_checked(gf_shape s);
bool gf__shape_equal(gf_shape a, gf_shape b);
bool gf__shape_known(gf_shape s);

/* Resizes an owned tensor to shape (reallocating only when it grows).
 * GF_ERR_NOMEM on failure, tensor unchanged. */
gf_status gf__tensor_reshape(gf_tensor *t, gf_dtype dt, gf_shape shape);
/* Frees what an embedded tensor owns, leaving it empty. */
void gf__tensor_release(gf_tensor *t);

/* Tests only (io/checkpoint.c): when set, gf_session_save calls it at each
 * point where a crash could leave a file behind ("create", "write" after
 * each chunk, "flush", "fsync", "close", "rename", "sync directory"), so a
 * test can kill a saving process at chosen points rather than at chosen
 * times. NULL (the default) in every program. */
extern void (*gf__checkpoint_probe)(const char *point);

/* ---- broadcasting (shape.c): the one place NumPy's rule lives ---- */

/* Broadcast shape of a and b into *out. Open dimensions (GF_ANY) broadcast
 * with 1 and with themselves to open, and with n to n. false when the
 * shapes do not broadcast. */
bool gf__broadcast_shape(gf_shape a, gf_shape b, gf_shape *out);

/* Strides (in elements) for reading x as if it had shape out: broadcast
 * dimensions get stride 0. x is right-aligned in out (rank 4 view). */
void gf__broadcast_strides(gf_shape x, gf_shape out, int64_t strides[GF_MAX_RANK]);

/* out as a rank-4 shape padded with leading 1s. */
void gf__shape_pad4(gf_shape s, int64_t dim[GF_MAX_RANK]);

/* ---- graphs and nodes (graph.c) ---- */

typedef struct gf_op gf_op;

#define GF_MAX_INPUTS 5
#define GF_NAME_MAX 64

/* The attributes of a reduction: reduce_sum, reduce_mean, and the one a
 * broadcast_like in reduced mode undoes. */
typedef struct gf_reduce_attrs {
    int axes[GF_MAX_RANK];  /* normalised (0..rank-1), distinct; none: all */
    int n_axes;
    int keepdims;
    int mean_scale;         /* broadcast_like: divide by the group size (a mean's gradient) */
} gf_reduce_attrs;

/* Per-op attributes: one member per op family, named for what it holds;
 * an op reads only its family's member and the rest stay zero (every
 * constructor starts from a zero-initialised gf_attrs). Two nodes have
 * equal attributes when gf__attrs_equal says so (graph.c), which compares
 * every member: a new member needs a line there. */
typedef struct gf_attrs {
    gf_reduce_attrs reduce;                  /* reduce_sum, reduce_mean */
    struct { int axis; } argmax;             /* normalised */
    struct { int perm[GF_MAX_RANK]; int rank; } transpose; /* out.dim[i] = in.dim[perm[i]] */
    struct { int transpose_a, transpose_b; } matmul;
    struct { gf_dtype to; } cast;
    struct { float mean, stddev; } init;     /* truncated_normal */
    struct {
        int mode;                            /* GF_BCAST_NUMPY or GF_BCAST_REDUCED */
        gf_reduce_attrs reduce;              /* GF_BCAST_REDUCED: the reduction undone */
    } broadcast_like;
    struct { int dims[GF_MAX_RANK]; int rank; } reshape; /* target; one dim may be -1 (inferred) */
    struct { int axis; int back; } concat;   /* concat: axis; concat_slice/pad: axis, which part */
    struct { int start, count; int64_t rows; } rows; /* slice_rows, pad_rows: start, count;
                                                        scatter_add_rows: rows */
    struct { int depth; } one_hot;
    struct { float keep_prob; uint64_t seed; } dropout; /* dropout_mask (keep_prob), its keep_prob-node
                                                           variant (seed only) */
    struct { const char *text; } check_numerics; /* the message (graph arena) */
    struct {
        int ksize_h, ksize_w;                /* pools (conv2d: the filter's, not kept here) */
        int stride_h, stride_w;              /* >= 1 */
        int padding;                         /* gf_padding */
        int relu_grad;                       /* max_pool_grad in plans only (opt/pool_mask.c):
                                                the result times (x > 0 ? 1 : 0) */
    } window;                                /* conv2d and its backprops, the pools and their gradients */
    struct { float beta1, beta2, epsilon; } adam; /* apply_adam */
} gf_attrs;

/* True when a and b hold the same attributes (floats compared bit for
 * bit, texts by content): what CSE needs to merge two nodes. */
bool gf__attrs_equal(const gf_attrs *a, const gf_attrs *b);

struct gf_node {
    gf_graph *graph;
    const gf_op *op;
    int id;                      /* position in graph->nodes; -1 poisoned */
    char name[GF_NAME_MAX];
    gf_dtype dtype;
    gf_shape shape;              /* inferred; GF_ANY where open */
    int n_inputs;
    gf_node *inputs[GF_MAX_INPUTS];
    gf_attrs attrs;
    float *value;                /* constants: gf_shape_count floats, arena */
    gf_node *init;               /* variables: the initializer (not an input) */
    int var_index;               /* variables: slot in the session; else -1 */
    int next_suffix;             /* naming hint: next k to try for name_k */
    bool trainable;              /* variables: updated by minimize by default */
};

struct gf_graph {
    gf_node **nodes;
    int n_nodes, cap_nodes;
    int n_variables;
    gf_status status;
    char error[512];
    gf_node **names;             /* hash table by name (graph.c) */
    size_t n_names, cap_names;
    gf_node poison;              /* returned by constructors after an error */
    struct gf_arena *arena;      /* constant data */
    const char *scope;           /* prefix of automatic names ("gradients") */
};

/* Records the first error on g (later ones are dropped). Returns the poison
 * node so callers can `return gf__graph_fail(...)`. */
gf_node *gf__graph_fail(gf_graph *g, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);

/* Adds a node for op with the given inputs after checking them (non-NULL,
 * same graph, not poisoned) and running op's shape rule. Returns the node,
 * or the poison node with the error recorded. */
gf_node *gf__node_build(gf_graph *g, const gf_op *op, gf_node *const *inputs,
                        int n_inputs, const gf_attrs *attrs);

/* Arena allocation owned by the graph, zeroed; NULL when out of memory. */
void *gf__graph_alloc(gf_graph *g, size_t bytes);

/* The graph of the first input that has one, or NULL. */
gf_graph *gf__graph_of(gf_node *const *inputs, int n);

/* "[?,784]" into a caller buffer of at least GF_SHAPE_STR bytes. */
#define GF_SHAPE_STR 64

#endif /* GF_INTERNAL_H */
