/*
 * test_empty_shapes.c — every op of the table, run on tensors with no
 * elements: fed at run time, and folded from constants when the plan is
 * compiled, with the other dimension 3 or 2^31-1 (a kernel that looped over
 * the rows of an empty [2^31-1, 0] would take minutes). Under the sanitizer
 * build (make check SANITIZE=1) this also proves that no kernel forms a
 * pointer from NULL storage. Each op is also differentiated, so the ops its
 * gradient rule builds run on empty shapes too. A new op without a case
 * here fails the test.
 */
#include "testutil.h"
#include "ops/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 2147483647

/* The op under test built from x (float32, rank 2, no elements); NULL where
 * the op needs nothing of x. */
typedef gf_node *(*build_fn)(gf_graph *g, gf_node *x);

static gf_node *b_placeholder(gf_graph *g, gf_node *x) { (void)g; return x; }
static gf_node *b_constant(gf_graph *g, gf_node *x) { (void)x; return gf_constant(g, gf_dims(2, 0, 3), NULL); }
static gf_node *b_variable(gf_graph *g, gf_node *x)
{
    (void)x;
    return gf_variable(g, "v", gf_zeros(g, gf_dims(2, BIG, 0)));
}
static gf_node *b_truncated_normal(gf_graph *g, gf_node *x) { (void)x; return gf_truncated_normal(g, gf_dims(2, BIG, 0), 0, 1); }
static gf_node *b_zeros(gf_graph *g, gf_node *x) { (void)x; return gf_zeros(g, gf_dims(2, BIG, 0)); }
static gf_node *b_add(gf_graph *g, gf_node *x) { return gf_add(x, gf_scalar(g, 1)); }
static gf_node *b_mul(gf_graph *g, gf_node *x) { return gf_mul(gf_scalar(g, 2), x); }
/* [r,c] @ [c,r]: [3,0] gives a [3,3] of zeros (k = 0). */
static gf_node *b_matmul(gf_graph *g, gf_node *x) { (void)g; return gf_matmul_t(x, x, 0, 1); }
static gf_node *b_transpose(gf_graph *g, gf_node *x) { (void)g; return gf_transpose(x); }
static gf_node *b_reduce_sum(gf_graph *g, gf_node *x) { (void)g; return gf_reduce_sum(x, NULL, 0, 0); }
static gf_node *b_reduce_mean(gf_graph *g, gf_node *x)
{
    (void)g;
    static const int ax[] = { 0 };
    return gf_reduce_mean(x, ax, 1, 1);
}
static gf_node *b_argmax(gf_graph *g, gf_node *x) { (void)g; return gf_argmax(x, 0); }
static gf_node *b_cast(gf_graph *g, gf_node *x) { (void)g; return gf_cast(x, GF_I32); }
static gf_node *b_assign(gf_graph *g, gf_node *x)
{
    gf_node *v = gf_variable(g, "w", gf_zeros(g, gf_dims(2, 0, 3)));
    return gf_assign(v, gf_add(v, gf_reduce_sum(x, NULL, 0, 0)));
}
static gf_node *b_apply_adam(gf_graph *g, gf_node *x)
{
    gf_node *v[3];
    for (int i = 0; i < 3; i++) v[i] = gf_variable(g, (const char *[]){ "w", "m", "v" }[i], gf_zeros(g, gf_dims(2, 0, 3)));
    return gf__apply_adam(v[0], v[1], v[2], gf_reshape(x, gf_dims(2, 0, 3)), gf_reduce_sum(x, NULL, 0, 0), 0.9f,
                          0.999f, 1e-8f);
}
static gf_node *b_group(gf_graph *g, gf_node *x) { (void)g; return gf_group(gf_exp(x), gf_neg(x)); }
static gf_node *b_sum_to(gf_graph *g, gf_node *x) { return gf__sum_to(x, gf_constant(g, gf_dims(2, 1, 1), (float[]){ 0 })); }
static gf_node *b_broadcast_like(gf_graph *g, gf_node *x) { return gf__broadcast_like(gf_scalar(g, 5), x); }
static gf_node *b_maximum(gf_graph *g, gf_node *x) { return gf_maximum(x, gf_scalar(g, 0)); }
static gf_node *b_xent(gf_graph *g, gf_node *x) { (void)g; return gf_softmax_cross_entropy_with_logits(gf_softmax(x), x); }
static gf_node *b_reshape(gf_graph *g, gf_node *x) { (void)g; return gf_reshape(x, gf_dims(1, GF_ANY)); }
static gf_node *b_concat(gf_graph *g, gf_node *x) { (void)g; return gf_concat(x, x, 1); }
static gf_node *b_slice_rows(gf_graph *g, gf_node *x) { (void)g; return gf_slice_rows(x, 0, 0); }
static gf_node *b_gather_rows(gf_graph *g, gf_node *x)
{
    return gf_gather_rows(x, gf_cast(gf_constant(g, gf_dims(1, 2), (float[]){ 0, 1 }), GF_I32));
}
static gf_node *b_one_hot(gf_graph *g, gf_node *x) { (void)g; return gf_one_hot(gf_cast(x, GF_I32), 4); }
static gf_node *b_greater_mask(gf_graph *g, gf_node *x) { return gf__greater_mask(x, gf_scalar(g, 0)); }
static gf_node *b_reshape_like(gf_graph *g, gf_node *x) { (void)g; return gf__reshape_like(gf_transpose(x), x); }
static gf_node *b_concat_slice(gf_graph *g, gf_node *x) { (void)g; return gf__concat_slice(gf_concat(x, x, 0), x, 0, 1); }
static gf_node *b_concat_pad(gf_graph *g, gf_node *x) { (void)g; return gf__concat_pad(x, gf_concat(x, x, 1), 1, 0); }
static gf_node *b_pad_rows(gf_graph *g, gf_node *x) { (void)g; return gf__pad_rows(gf_slice_rows(x, 0, 0), x, 0, 0); }
static gf_node *b_scatter_add_rows(gf_graph *g, gf_node *x)
{
    (void)g;
    gf_node *idx = gf_cast(gf_reduce_sum(x, (int[]){ 1 }, 1, 0), GF_I32); /* [rows] */
    return gf__scatter_add_rows(x, idx, 4); /* out [4, c] */
}
static gf_node *b_dropout_mask(gf_graph *g, gf_node *x) { (void)g; return gf__dropout_mask(x, 0.5f, 7); }
static gf_node *b_check_numerics(gf_graph *g, gf_node *x) { (void)g; return gf_check_numerics(x, "empty"); }
static gf_node *b_dropout_keep_mask(gf_graph *g, gf_node *x) { return gf__dropout_keep_mask(x, gf_scalar(g, 0.5f), 7); }
/* Images from x's no elements: [2,3,3,0] (no channels: a convolution's
 * sums of nothing) or [0,3,3,2] (no batch). */
static gf_node *no_channels(gf_graph *g, gf_node *x) { return gf__reshape_like(x, gf_zeros(g, gf_dims(4, 2, 3, 3, 0))); }
static gf_node *no_batch(gf_graph *g, gf_node *x) { return gf__reshape_like(x, gf_zeros(g, gf_dims(4, 0, 3, 3, 2))); }
static gf_node *b_conv2d(gf_graph *g, gf_node *x)
{
    return gf_conv2d(no_channels(g, x), gf_zeros(g, gf_dims(4, 2, 2, 0, 4)), 1, 1, GF_SAME);
}
static gf_node *b_conv2d_backprop_input(gf_graph *g, gf_node *x)
{
    gf_node *in = no_channels(g, x), *f = gf_zeros(g, gf_dims(4, 2, 2, 0, 4));
    return gf__conv2d_backprop_input(gf_conv2d(in, f, 2, 1, GF_VALID), f, in, 2, 1, GF_VALID);
}
static gf_node *b_conv2d_backprop_filter(gf_graph *g, gf_node *x)
{
    gf_node *in = no_batch(g, x), *f = gf_zeros(g, gf_dims(4, 2, 2, 2, 4)); /* out [2,2,2,4] from no rows */
    return gf__conv2d_backprop_filter(in, gf_conv2d(in, f, 1, 2, GF_SAME), f, 1, 2, GF_SAME);
}
static gf_node *b_max_pool(gf_graph *g, gf_node *x) { return gf_max_pool(no_batch(g, x), 2, 2, 2, 2, GF_SAME); }
static gf_node *b_avg_pool(gf_graph *g, gf_node *x) { return gf_avg_pool(no_channels(g, x), 5, 5, 1, 1, GF_SAME); }
static const gf_attrs pool_w = { .window = { .ksize_h = 2, .ksize_w = 2, .stride_h = 1, .stride_w = 1 } };
static gf_node *b_max_pool_grad(gf_graph *g, gf_node *x)
{
    gf_node *in = no_batch(g, x);
    return gf__max_pool_grad(in, gf_max_pool(in, 2, 2, 1, 1, GF_SAME), &pool_w);
}
static gf_node *b_max_pool_grad_grad(gf_graph *g, gf_node *x)
{
    gf_node *in = no_channels(g, x);
    return gf__max_pool_grad_grad(in, in, &pool_w);
}
static gf_node *b_avg_pool_grad(gf_graph *g, gf_node *x)
{
    gf_node *in = no_batch(g, x);
    return gf__avg_pool_grad(gf_avg_pool(in, 2, 2, 1, 1, GF_SAME), in, &pool_w);
}

/* The ops whose constructor the op list generates need no case: they are
 * built by that constructor on x (both operands x for a binary op). */
static const struct { const char *op; build_fn build; } cases[] = {
    { "placeholder", b_placeholder }, { "constant", b_constant }, { "variable", b_variable },
    { "truncated_normal", b_truncated_normal }, { "zeros", b_zeros }, { "add", b_add }, { "mul", b_mul },
    { "matmul", b_matmul }, { "transpose", b_transpose }, { "reduce_sum", b_reduce_sum },
    { "reduce_mean", b_reduce_mean }, { "argmax", b_argmax }, { "cast", b_cast }, { "assign", b_assign },
    { "group", b_group }, { "sum_to", b_sum_to }, { "broadcast_like", b_broadcast_like },
    { "maximum", b_maximum }, { "softmax_cross_entropy_with_logits", b_xent }, { "reshape", b_reshape },
    { "concat", b_concat }, { "slice_rows", b_slice_rows }, { "gather_rows", b_gather_rows },
    { "one_hot", b_one_hot }, { "greater_mask", b_greater_mask }, { "reshape_like", b_reshape_like },
    { "concat_slice", b_concat_slice }, { "concat_pad", b_concat_pad }, { "pad_rows", b_pad_rows },
    { "scatter_add_rows", b_scatter_add_rows }, { "dropout_mask", b_dropout_mask },
    { "check_numerics", b_check_numerics }, { "dropout_keep_mask", b_dropout_keep_mask },
    { "conv2d", b_conv2d }, { "conv2d_backprop_input", b_conv2d_backprop_input },
    { "conv2d_backprop_filter", b_conv2d_backprop_filter }, { "max_pool", b_max_pool }, { "avg_pool", b_avg_pool },
    { "max_pool_grad", b_max_pool_grad }, { "max_pool_grad_grad", b_max_pool_grad_grad },
    { "avg_pool_grad", b_avg_pool_grad }, { "apply_adam", b_apply_adam },
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static build_fn find_case(const char *op)
{
    for (int i = 0; i < N_CASES; i++)
        if (!strcmp(cases[i].op, op)) return cases[i].build;
    return NULL;
}

/* Op op built from x: its case, else its generated constructor; NULL when
 * it has neither. */
static gf_node *build_op(const gf_op *op, gf_graph *g, gf_node *x)
{
    build_fn b = find_case(op->name);
    if (b) return b(g, x);
    if (op->make1) return op->make1(x);
    if (op->make2) return op->make2(x, x);
    return NULL;
}

static void every_op_has_a_case(void **state)
{
    (void)state;
    for (int i = 0; i < GF_OP_COUNT; i++)
        if (!find_case(gf__ops[i].name) && !gf__ops[i].make1 && !gf__ops[i].make2)
            fail_msg("op %s has no case in test_empty_shapes.c: add one", gf__ops[i].name);
}

/* The empty shapes x takes: rows x 0 and 0 x columns. */
static const int64_t variants[][2] = { { 0, 3 }, { 3, 0 }, { 0, 0 }, { BIG, 0 }, { 0, BIG } };
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

/* Builds op `name` on x (fed, or a constant when folded), adds the gradient
 * of its sum with respect to x when asked and the op has a rule, and runs
 * it all.
 * Runs whose buffers would pass 64 MB (a [3,0] @ [0,3]-like product of
 * 2^31 rows) are compiled but not run: compiling is what folds. */
static void run_case(const gf_op *op, int v, bool folded, bool grad)
{
    const int64_t r = variants[v][0], c = variants[v][1];
    gf_graph *g = gf_graph_new();
    gf_node *x = folded ? gf_constant(g, gf_dims(2, r, c), NULL)
                        : gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, GF_ANY));
    gf_node *y = build_op(op, g, x), *fetch[2] = { y, NULL };
    int n_fetch = 1;
    if (grad && op->grad && gf_node_dtype(y) == GF_F32 && strcmp(op->name, "assign")) {
        gf_node *sum = gf_reduce_sum(y, NULL, 0, 0), *dx = NULL;
        if (gf_gradients_ex(g, &sum, 1, &x, 1, NULL, GF_GRAD_ZEROS, &dx) == GF_OK && dx) fetch[n_fetch++] = dx;
    }
    if (gf_graph_status(g) != GF_OK) { /* a shape the op refuses: a message, nothing else */
        assert_true(gf_graph_error(g)[0] != '\0');
        gf_graph_free(g);
        return;
    }
    gf_session *s = gf_session_new(g, &(gf_session_options){ .seed = 1 });
    gf_tensor *t = gf_tensor_new(GF_F32, gf_dims(2, r, c), NULL);
    assert_non_null(t);
    gf_feed feed = { x, t };
    gf_plan_stats ps;
    const gf_tensor *outs[2];
    int n_feeds = folded ? 0 : 1;
    bool run = gf_session_status(s) == GF_OK &&
               gf_session_plan_stats(s, &feed, n_feeds, fetch, n_fetch, NULL, 0, &ps) == GF_OK &&
               ps.buffer_bytes <= ((size_t)64 << 20);
    if (run) {
        gf_status st = gf_session_run(s, &feed, n_feeds, fetch, n_fetch, NULL, 0, outs);
        if (st == GF_OK) {
            for (int i = 0; i < n_fetch; i++) { /* what the shape rule promised */
                gf_shape want = gf_node_shape(fetch[i]);
                gf_shape got = gf_tensor_shape(outs[i]);
                assert_int_equal(got.rank, want.rank);
                for (int d = 0; d < want.rank; d++)
                    if (want.dim[d] != GF_ANY) assert_int_equal(got.dim[d], want.dim[d]);
            }
        } else {
            assert_true(gf_session_error(s)[0] != '\0');
        }
    }
    if (gf_session_status(s) != GF_OK) assert_true(gf_session_error(s)[0] != '\0');
    gf_tensor_free(t);
    gf_session_free(s);
    gf_graph_free(g);
}

/* An allocator that refuses more than 1 GiB at once: with [2^31-1, 0] some
 * ops rightly ask for gigabytes (softmax's gradient sums each of the 2^31
 * rows, cross-entropy has one value per row), which must then be a clean
 * out-of-memory error; and AddressSanitizer, which aborts on such requests
 * instead of returning NULL, never sees them. */
static void *small_malloc(void *ctx, size_t n) { (void)ctx; return n > ((size_t)1 << 30) ? NULL : malloc(n); }
static void *small_realloc(void *ctx, void *p, size_t n) { (void)ctx; return n > ((size_t)1 << 30) ? NULL : realloc(p, n); }
static void small_free(void *ctx, void *p) { (void)ctx; free(p); }

static void every_op_runs_on_empty_shapes(void **state)
{
    (void)state;
    gf_set_allocator(&(gf_allocator){ small_malloc, small_realloc, small_free, NULL });
    for (int i = 0; i < GF_OP_COUNT; i++)
        for (int v = 0; v < N_VARIANTS; v++) {
            for (int k = 0; k < 4; k++) run_case(&gf__ops[i], v, k & 1, k & 2);
        }
    gf_set_allocator(NULL);
}

/* The fuzzer's finding: broadcast_like of a scalar to [2^31-1, 14, 0],
 * folded when compiled, used to walk 2^31 * 14 empty rows (minutes). */
static void folding_an_empty_broadcast_is_instant(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *like = gf_zeros(g, gf_dims(3, BIG, 14, 0));
    gf_node *b = gf__broadcast_like(gf_scalar(g, 1), gf_constant(g, gf_dims(3, BIG, 14, 0), NULL));
    gf_node *sum = gf_reduce_sum(gf_add(b, like), NULL, 0, 0);
    gf_session *s = gf_session_new(g, NULL);
    const gf_tensor *t = gf_test_run1(s, NULL, 0, sum);
    assert_int_equal(gf_tensor_count(t), 1);
    assert_true(gf_tensor_data(t)[0] == 0.0f);
    gf_session_free(s);
    gf_graph_free(g);
}

/* A tensor wrapped around no storage still has some (never NULL), so a
 * kernel may form data + 0. */
static void wrapped_empty_tensors_have_storage(void **state)
{
    (void)state;
    gf_tensor *t = gf_tensor_wrap(GF_F32, gf_dims(2, 0, 5), NULL, NULL);
    assert_non_null(t);
    assert_non_null(gf_tensor_data(t));
    gf_tensor_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_op_has_a_case),
        cmocka_unit_test(every_op_runs_on_empty_shapes),
        cmocka_unit_test(folding_an_empty_broadcast_is_instant),
        cmocka_unit_test(wrapped_empty_tensors_have_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
