/*
 * optimizer.c — the optimizers' update kernels: one pass over a variable
 * and its slots, in place, instead of a chain of elementwise steps and
 * copies (for a [3136,1024] weight, Adam's update as separate steps read
 * and wrote about 200 MB per run; this pass moves 90 MB).
 */
#include "kernels.h"
#include "simd.h"
#include "threads.h"

#include <math.h>


/* The scalars of one Adam update. */
typedef struct adam_args {
    float *var, *m, *v;
    const float *g;
    float lr_t, b1, c1, b2, c2, eps; /* c1 = 1 - b1, c2 = 1 - b2 */
    int64_t n, chunk;
} adam_args;

/* Elements [i, end) of var, m, v [n] given g [n]; every operation is one
 * IEEE operation in the order the graph would do them (no FMA), so the
 * vector and scalar loops and any split give the same bits. */
static inline __attribute__((always_inline)) void adam_loop(const adam_args *a, int64_t i, int64_t end)
{
    for (; i < end; i++) {
        float g = a->g[i];
        float m = a->b1 * a->m[i] + a->c1 * g;
        float v = a->b2 * a->v[i] + a->c2 * (g * g);
        float d = sqrtf(v) + a->eps;
        a->m[i] = m;
        a->v[i] = v;
        a->var[i] = a->var[i] - (a->lr_t * m) / d;
    }
}

static void adam_scalar(const adam_args *a, int64_t i, int64_t end) { adam_loop(a, i, end); }

#if GF_HAVE_AVX2_KERNELS
/* The same loop built for AVX2 and AVX-512: the compiler's 8- and 16-lane
 * vectors of the same operations (no FMA: -ffp-contract=off), so the same
 * bits. */
__attribute__((target("avx2"))) static void adam_avx2(const adam_args *a, int64_t i, int64_t end)
{
    adam_loop(a, i, end);
}
__attribute__((target("avx512f"))) static void adam_avx512(const adam_args *a, int64_t i, int64_t end)
{
    adam_loop(a, i, end);
}
#endif


static void adam_task(void *arg, int task)
{
    const adam_args *a = arg;
    int64_t i = (int64_t)task * a->chunk, end = i + a->chunk < a->n ? i + a->chunk : a->n;
#if GF_HAVE_AVX2_KERNELS
    if (gf__avx512_enabled()) adam_avx512(a, i, end);
    else if (gf__simd_enabled()) adam_avx2(a, i, end);
    else
#endif
        adam_scalar(a, i, end);
}

/* apply_adam(var, m, v, grad, lr_t): out is var's storage (the planner
 * runs this step in place, after every other step); m = in[1] and v =
 * in[2] are the slot variables' storage, written here too:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) (g g);  var -= (lr_t m) / (sqrt(v) + eps)
 * all [count of var]. The bits are those of the same formulas built as
 * separate graph ops. */
GF_KERNEL(gf__k_apply_adam)
{
    adam_args a = {
        .var = out->data, .m = in[1]->data, .v = in[2]->data, .g = in[3]->data,
        .lr_t = in[4]->data[0], .b1 = n->attrs.adam.beta1, .c1 = 1 - n->attrs.adam.beta1,
        .b2 = n->attrs.adam.beta2, .c2 = 1 - n->attrs.adam.beta2, .eps = n->attrs.adam.epsilon,
        .n = gf_shape_count(out->shape),
    };
    /* Chunks of 64 K elements (a multiple of 8): enough work per task. */
    a.chunk = 65536;
    int64_t tasks = (a.n + a.chunk - 1) / a.chunk;
    gf__parallel_for(ctx->threads, (int)tasks, adam_task, &a);
}
