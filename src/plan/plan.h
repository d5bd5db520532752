/*
 * plan.h — compiled runs: the planner's private copy of the pruned graph
 * (pnodes), the rewrites that transform it (src/opt/), and the flat step
 * list it runs. compile.c compiles, place.c schedules and places buffers,
 * run.c runs. The session (session.c) calls in with a gf_run_ctx; the
 * planner calls down into the kernels (src/kernels/), never back up.
 */
#ifndef GF_PLAN_H
#define GF_PLAN_H

#include "../kernels/fused.h"
#include "../ops/op.h"

/* Rewrite switches: the public GF_NO_* bits (gradflow.h). */
enum {
    GF_PLAN_NO_CSE = GF_NO_CSE,
    GF_PLAN_NO_FOLD = GF_NO_FOLD,
    GF_PLAN_NO_TRANSPOSE = GF_NO_TRANSPOSE_FOLD,
    GF_PLAN_NO_FUSE = GF_NO_FUSE,
    GF_PLAN_NO_INPLACE = GF_NO_INPLACE,
    GF_PLAN_NO_REUSE = GF_NO_REUSE
};

/* What a step does. */
typedef enum {
    GF_STEP_KERNEL,   /* the op's kernel */
    GF_STEP_FUSED,    /* a fused elementwise chain */
    GF_STEP_AXPY,     /* in place: var += sign * scale * X */
    GF_STEP_GEMM      /* in place: var += sign * scale * op(A) @ op(B) */
} gf_step_kind;

typedef struct gf_pnode gf_pnode;

/* The largest constant the folder computes at compile time (4 MB). */
#define GF_FOLD_MAX_FLOATS ((int64_t)1 << 20)

/* A fused elementwise chain: the program the fused kernel runs
 * (kernels/fused.h), and the pnodes behind its tensors. Instruction k
 * with a store writes store[k]'s buffer, for readers outside the chain
 * (all of which run after it). */
typedef struct gf_fused {
    gf_fused_prog prog;                 /* prog.in[i] is &in[i]->val, and
                                         * prog.insn[k].store &store[k]->val */
    gf_pnode *in[GF_FUSED_MAX_IN];
    gf_pnode *store[GF_FUSED_MAX_INSN]; /* or NULL */
} gf_fused;

/* A pnode: a planner-owned copy of a graph node (op row, attributes, id for
 * its random stream), with inputs pointing at other pnodes. */
struct gf_pnode {
    gf_node n;                      /* first member: PN() casts back */
    const gf_node *orig;
    gf_tensor val;                  /* value while running (arena or view) */
    gf_pnode *alias;                /* after CSE: the pnode standing for it */
    gf_step_kind kind;
    bool live, fetched, view, absorbed;
    int users;                      /* readers among live steps (+1 if fetched) */
    int last_use;                   /* index of the last step reading it */
    /* AXPY / GEMM */
    float sign;
    gf_pnode *scale, *x;            /* scale: a one-element pnode or NULL */
    /* FUSED */
    gf_fused *fused;
    gf_pnode *produced_by;          /* a value a fused step stores on the side */
    /* conv2d: the epilogue opt/conv_epilogue.c gave it (gf_kctx.epi_*) */
    gf_pnode *epi_bias;
    bool epi_bias_first, epi_relu;
    int index;                      /* position in pn */
};

#define PN(node) ((gf_pnode *)(void *)(node))

typedef struct gf_plan {
    struct gf_plan *next;
    int n_key, *key;                /* fetch ids, -1, target ids, -1, fed ids */
    gf_shape *fed_shape;            /* per fed placeholder, in key order */
    int n_pn;
    gf_pnode *pn;                   /* topological order */
    int n_steps;
    gf_pnode **steps;               /* what runs, in order */
    int n_fetch;
    gf_pnode **fetch;
    gf_tensor *fetch_copy;          /* per fetch: used when it is a view */
    int n_commit;
    gf_pnode **commit;              /* assignments copied back at run end */
    float *arena;                   /* all placed buffers */
    size_t arena_floats;
    float **folded;                 /* buffers of folded constants */
    int n_folded;
    int n_collective;               /* all-reduce steps (the run ends a
                                     * data-parallel step when not 0) */
    /* The bucket: n_bucket all-reduce steps from steps[bucket_first] on,
     * their results side by side in bucket [bucket_floats] (64-byte
     * granules: the gaps are zeroed before use), reduced over the group in
     * one call (place.c; 0: each reduces alone). */
    int n_bucket, bucket_first;
    float *bucket;
    size_t bucket_at, bucket_floats;
    char bucket_name[GF_NAME_MAX];  /* what the group is told it reduces */
    unsigned disabled;
} gf_plan;

/* The pnode input j of p refers to, following CSE aliases. */
static inline gf_pnode *gf__pn_in(const gf_pnode *p, int j)
{
    gf_pnode *x = PN(p->n.inputs[j]);
    while (x->alias) x = x->alias;
    return x;
}

/* Whether step p changes variables in place (so runs after every other
 * step, and commits nothing): the AXPY and GEMM updates and the update ops
 * (GF_OPF_UPDATE: apply_adam). */
static inline bool gf__pn_updates(const gf_pnode *p)
{
    return p->kind == GF_STEP_AXPY || p->kind == GF_STEP_GEMM || (p->n.op->flags & GF_OPF_UPDATE);
}

/* The variables an assignment writes into vars (at most 3): inputs[0],
 * and an update op's slots inputs[1..2]; returns how many. */
static inline int gf__pn_assigned(const gf_pnode *p, gf_pnode **vars)
{
    int k = 0;
    vars[k++] = gf__pn_in(p, 0);
    if (p->n.op->flags & GF_OPF_UPDATE) {
        vars[k++] = gf__pn_in(p, 1);
        vars[k++] = gf__pn_in(p, 2);
    }
    return k;
}

/* The pnodes a step reads, by kind; returns how many (at most 8). */
int gf__step_inputs(const gf_pnode *p, gf_pnode **in);

/* Recomputes live, users and absorbed-aware reachability from the fetches
 * and targets. */
void gf__plan_liveness(gf_plan *p, gf_pnode *const *roots, int n_roots);

/* The feed of placeholder n, or NULL. */
const gf_feed *gf__plan_feed(const gf_feed *feeds, int n_feeds, const gf_node *n);

/* Rewrites (src/opt/), each a pass over pn in order. */
void gf__opt_transpose(gf_plan *p);
void gf__opt_cse(gf_plan *p);
gf_status gf__opt_fold(gf_plan *p);  /* GF_ERR_NOMEM when out of memory */
void gf__opt_inplace(gf_plan *p);
void gf__opt_inplace_gemm(gf_plan *p);
gf_status gf__opt_fuse(gf_plan *p);
void gf__opt_pool_mask(gf_plan *p); /* before fusing (under GF_NO_FUSE) */
void gf__opt_conv_epilogue(gf_plan *p); /* after fusing (under GF_NO_FUSE) */

/* Bits of gf_run_ctx.var_flags, one byte per variable. */
enum {
    GF_VAR_READY = 1,  /* has a value (the session's: a plan never reads it) */
    GF_VAR_FINITE = 2  /* known to hold only finite numbers, so the zero-
                        * skipping GEMM need not check it: set when a kernel
                        * checked it, kept by writes known to be finite,
                        * cleared by every other write (restore, commits,
                        * in-place adds, gf_session_variable) */
};

/* What a plan is compiled against and run in, lent by its session for one
 * call (session.c builds it): the plan reads and writes the session's
 * state through it and never calls back up. */
typedef struct gf_run_ctx {
    gf_graph *graph;
    gf_tensor *const *vars;   /* by var_index: the variables' storage */
    unsigned char *var_flags; /* by var_index: GF_VAR_* bits */
    gf_rng *rng;              /* by node id: every random node's stream */
    int threads;              /* threads a step may use (>= 1) */
    bool check_numerics;      /* every step's result checked for NaN/inf */
    const gf_collective *coll; /* the all-reduce kernels' group and mode */
    gf_accum *acc;            /* by node id, n_acc of them: every all-reduce
                               * node's accumulator (NULL: none yet) */
    int n_acc;
    char *err;                /* where a failure's message goes: err_len bytes */
    size_t err_len;
} gf_run_ctx;

/* Writes a message into c->err; returns code. */
gf_status gf__plan_fail(const gf_run_ctx *c, gf_status code, const char *fmt, ...) GF_PRINTF(3, 4);

/* place.c: the steps in the order they run (topological, in-place updates
 * last), the commits, and every step's buffer in one arena (reused after
 * a value's last reader unless GF_PLAN_NO_REUSE). */
gf_status gf__plan_place(const gf_run_ctx *c, gf_plan *p);

/* Compile for one (feeds with their shapes, fetches, targets), run with
 * no allocation (run.c), free. Compiling reads only c->graph and c->err.
 * The feeds are distinct placeholders, each tensor already checked against
 * its placeholder's dtype and declared shape (session.c does). Errors:
 * the status, with its message in c->err. */
gf_status gf__plan_compile(const gf_run_ctx *c, unsigned disabled, const gf_feed *feeds, int n_feeds,
                           gf_node *const *fetches, int n_fetches, gf_node *const *targets, int n_targets,
                           gf_plan **out);
bool gf__plan_matches(const gf_plan *p, const gf_feed *feeds, int n_feeds, gf_node *const *fetches,
                      int n_fetches, gf_node *const *targets, int n_targets);
gf_status gf__plan_run(const gf_run_ctx *c, gf_plan *p, const gf_feed *feeds, int n_feeds,
                       const gf_tensor **outs);
void gf__plan_free(gf_plan *p);
void gf__plan_stats(const gf_plan *p, gf_plan_stats *out);

#endif
