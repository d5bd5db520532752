/*
 * session.c — sessions: variable storage and initialisation, random
 * streams, the plan cache, and the public run API (checks, then the
 * planner: src/plan/).
 */
#include "session.h"
#include "plan/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gf_session {
    gf_graph *g;
    uint64_t seed;
    gf_status status;       /* sticky: set when the session could not start */
    char error[1024];
    int n_vars;
    gf_tensor **vars;       /* by var_index; each header allocated on its own so
                             * that pointers lent by gf_session_variable survive
                             * the array growing */
    unsigned char *var_flags; /* per variable, bits: GF_VAR_READY (has a
                             * value), GF_VAR_FINITE (plan/plan.h) */
    int n_ready;            /* variables with a value */
    int n_rng;
    gf_rng *rng;            /* by node id, up to the last random node */
    int rng_scanned;        /* graph nodes looked at for random ops */
    gf_plan *plans;         /* most recently used first */
    int threads;
    bool check_numerics;    /* every step's result checked for NaN/inf */
    unsigned disabled;      /* GF_PLAN_NO_* rewrites turned off */
    /* Data parallelism (docs/parallel.md): the group, every all-reduce
     * node's accumulator, and where the open step stands. */
    gf_process_group group;       /* size 1 when alone */
    gf_collective coll;     /* lent to the all-reduce kernels */
    int n_acc;
    gf_accum *acc;          /* by node id, up to the last all-reduce node */
    int acc_scanned;        /* graph nodes looked at for all-reduce ops */
    int n_collective;       /* all-reduce nodes in the graph: random numbers
                             * are drawn per step and shard when not 0 */
    int64_t dp_steps;       /* runs that finished a step (all-reduce nodes) */
    int micro;              /* micro-batches accumulated in the open step */
    gf_node **frontier;     /* gf_session_accumulate's scratch: n_nodes each */
    bool *seen;
    int scratch_nodes;
};

#define MAX_PLANS 32

gf_graph *gf__session_graph(const gf_session *s) { return s->g; }
gf_tensor *gf__session_var(gf_session *s, int var_index) { return s->vars[var_index]; }
void gf__session_set_var_finite(gf_session *s, int var_index, bool finite)
{
    if (finite) s->var_flags[var_index] |= GF_VAR_FINITE;
    else s->var_flags[var_index] &= (unsigned char)~GF_VAR_FINITE;
}

gf_status gf__session_fail(gf_session *s, gf_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- random streams, the run context, variables ---- */

/* Gives every random node of the graph its stream, seeded from the session
 * seed and the node id (one stream per node: results do not depend on run
 * order); the streams of nodes added since the last call are made here. */
static gf_status make_streams(gf_session *s)
{
    gf_graph *g = s->g;
    int need = s->n_rng;
    for (int i = s->rng_scanned; i < g->n_nodes; i++)
        if (g->nodes[i]->op->flags & GF_OPF_RANDOM) need = i + 1;
    if (need > s->n_rng) {
        gf_rng *r = gf__realloc(s->rng, (size_t)need * sizeof *r);
        if (!r) return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for random streams");
        for (int i = s->n_rng; i < need; i++) gf_rng_seed(&r[i], s->seed, (uint64_t)i);
        s->rng = r;
        s->n_rng = need;
    }
    s->rng_scanned = g->n_nodes;
    return GF_OK;
}

/* Gives every all-reduce node of the graph its (empty) accumulator. */
static gf_status make_accums(gf_session *s)
{
    gf_graph *g = s->g;
    int need = s->n_acc;
    for (int i = s->acc_scanned; i < g->n_nodes; i++)
        if (g->nodes[i]->op->flags & GF_OPF_COLLECTIVE) {
            need = i + 1;
            s->n_collective++;
        }
    s->acc_scanned = g->n_nodes;
    if (need > s->n_acc) {
        gf_accum *a = gf__realloc(s->acc, (size_t)need * sizeof *a);
        if (!a) return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for all-reduce accumulators");
        memset(a + s->n_acc, 0, (size_t)(need - s->n_acc) * sizeof *a);
        s->acc = a;
        s->n_acc = need;
    }
    return GF_OK;
}

/* In a graph with all-reduce nodes, each run draws its random numbers
 * from streams keyed by the steps finished and the run's shard (micro-
 * batch k of rank r: k * size + r), so that micro-batch k of one process
 * and rank k of a group draw alike; else each stream goes on from the
 * previous run. Shard 0 of step 0 is the plain seeding. */
static void key_streams(gf_session *s)
{
    uint64_t shard = (uint64_t)s->micro * (uint64_t)s->group.size + (uint64_t)s->group.rank;
    uint64_t seed = s->seed;
    if (s->dp_steps || shard) { /* splitmix64 of the pair, folded into the seed */
        uint64_t z = (uint64_t)s->dp_steps * 0x9E3779B97F4A7C15ULL + (shard + 1) * 0xD1B54A32D192ED03ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        seed ^= z ^ (z >> 31);
    }
    for (int i = 0; i < s->n_rng; i++)
        if (s->g->nodes[i]->op->flags & GF_OPF_RANDOM) gf_rng_seed(&s->rng[i], seed, (uint64_t)i);
}

/* The open step's micro-batches are dropped (a failed run). */
static void discard_step(gf_session *s)
{
    for (int i = 0; i < s->n_acc; i++) s->acc[i].count = 0;
    s->micro = 0;
}

/* What a plan needs of s to compile and run (plan/plan.h): made for each call,
 * after the variables and the streams are allocated. */
static gf_status run_ctx(gf_session *s, gf_run_ctx *c)
{
    gf_status st = make_streams(s);
    if (st == GF_OK) st = make_accums(s);
    if (st != GF_OK) return st;
    if (s->n_collective) key_streams(s);
    *c = (gf_run_ctx){ .graph = s->g, .vars = s->vars, .var_flags = s->var_flags, .rng = s->rng,
                       .threads = s->threads, .check_numerics = s->check_numerics,
                       .coll = &s->coll, .acc = s->acc, .n_acc = s->n_acc,
                       .err = s->error, .err_len = sizeof s->error };
    return GF_OK;
}

/* Copies rank 0's value of vars[0..n) to every rank (a group of 2 or more). */
static gf_status broadcast_vars(gf_session *s, gf_node *const *vars, int n)
{
    for (int i = 0; i < n && s->group.size > 1; i++) {
        gf_tensor *t = s->vars[vars[i]->var_index];
        char why[400] = "";
        gf_status st = s->group.broadcast(s->group.ctx, t->data, gf_shape_count(t->shape), vars[i]->name, why,
                                          sizeof why);
        if (st != GF_OK)
            return gf__session_fail(s, st, "broadcasting variable \"%s\" from rank 0 to rank %d of %d: %s",
                                    vars[i]->name, s->group.rank, s->group.size,
                                    why[0] ? why : gf_status_string(st));
        gf__session_set_var_finite(s, vars[i]->var_index, false);
    }
    return GF_OK;
}

/* Whether the subgraph of x reads a variable that has no value yet. */
static bool reads_pending(gf_session *s, gf_node *x, gf_node **stack, bool *seen)
{
    int nn = s->g->n_nodes, sp = 0;
    memset(seen, 0, (size_t)nn * sizeof *seen);
    stack[sp++] = x;
    seen[x->id] = true;
    while (sp) {
        gf_node *n = stack[--sp];
        if (n->var_index >= 0 && !(s->var_flags[n->var_index] & GF_VAR_READY)) return true;
        for (int j = 0; j < n->n_inputs; j++)
            if (!seen[n->inputs[j]->id]) {
                seen[n->inputs[j]->id] = true;
                stack[sp++] = n->inputs[j];
            }
    }
    return false;
}

/* Runs inits[0..n) in one plan and stores the values into vars. */
static gf_status init_run(gf_session *s, gf_node **vars, gf_node **inits, int n)
{
    gf_plan *p;
    /* The variables' storage first: once the initializers have drawn from
     * their random streams nothing may fail, or a retry would draw other
     * numbers than a run that never failed. */
    for (int i = 0; i < n; i++)
        if (gf__tensor_reshape(s->vars[vars[i]->var_index], GF_F32, vars[i]->shape) != GF_OK)
            return gf__session_fail(s, GF_ERR_NOMEM, "variable \"%s\": out of memory", vars[i]->name);
    gf_run_ctx c;
    gf_status st = run_ctx(s, &c);
    if (st != GF_OK) return st;
    const gf_tensor **vals = gf__malloc(((size_t)n + 1) * sizeof *vals);
    if (!vals) return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
    st = gf__plan_compile(&c, s->disabled, NULL, 0, inits, n, NULL, 0, &p);
    if (st == GF_OK) {
        st = gf__plan_run(&c, p, NULL, 0, vals);
        for (int i = 0; st == GF_OK && i < n; i++) {
            gf_tensor *t = s->vars[vars[i]->var_index];
            memcpy(t->data, vals[i]->data, (size_t)gf_shape_count(vars[i]->shape) * sizeof(float));
            s->var_flags[vars[i]->var_index] = GF_VAR_READY;
            s->n_ready++;
        }
        gf__plan_free(p);
    }
    gf__free(vals);
    return st;
}

static gf_status add_variables(gf_session *s);

/* Gives storage and a first value to every variable that has none yet
 * (all of them at session start; those added to the graph later on first
 * use), in graph order so the result does not depend on what is run. */
static gf_status init_variables(gf_session *s)
{
    gf_graph *g = s->g;
    gf_status grown = add_variables(s);
    if (grown != GF_OK) return grown;
    if (s->n_ready == g->n_variables) return GF_OK;
    /* The variables still without a value, in graph order, initialised by
     * one run so that an initializer they share runs once (as TensorFlow's
     * global_variables_initializer). On failure, one by one, to name the
     * variable at fault. */
    int n = 0;
    gf_node **vars = gf__malloc((size_t)g->n_variables * sizeof *vars);
    gf_node **inits = gf__malloc((size_t)g->n_variables * sizeof *inits);
    gf_node **stack = gf__malloc(((size_t)g->n_nodes + 1) * sizeof *stack);
    bool *seen = gf__malloc(((size_t)g->n_nodes + 1) * sizeof *seen);
    if (!vars || !inits || !stack || !seen) {
        gf__free(vars);
        gf__free(inits);
        gf__free(stack);
        gf__free(seen);
        return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
    }
    /* In waves: a variable whose initializer reads another variable still
     * without a value waits for a later wave. */
    gf_status st = GF_OK;
    for (bool progress = true; progress && st == GF_OK && s->n_ready < g->n_variables;) {
        n = 0;
        for (int i = 0; i < g->n_nodes; i++) {
            gf_node *var = g->nodes[i];
            if (var->var_index < 0 || (s->var_flags[var->var_index] & GF_VAR_READY)) continue;
            if (reads_pending(s, var->init, stack, seen)) continue;
            vars[n] = var;
            inits[n++] = var->init;
        }
        progress = n > 0;
        if (n) st = init_run(s, vars, inits, n);
        if (n && st == GF_OK) st = broadcast_vars(s, vars, n); /* rank 0's values */
    }
    if (st == GF_OK && s->n_ready < g->n_variables) { /* a cycle: v's init reads v */
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[i]->var_index >= 0 && !(s->var_flags[g->nodes[i]->var_index] & GF_VAR_READY)) {
                st = gf__session_fail(s, GF_ERR_ARG, "initialising variable \"%s\": its initializer reads a variable that cannot be initialised before it",
                                      g->nodes[i]->name);
                break;
            }
    }
    gf__free(stack);
    gf__free(seen);
    for (int i = 0; st != GF_OK && st != GF_ERR_GROUP && i < n; i++) {
        if (s->var_flags[vars[i]->var_index] & GF_VAR_READY) continue;
        gf_status one = init_run(s, &vars[i], &inits[i], 1);
        if (one != GF_OK) {
            char msg[sizeof s->error];
            snprintf(msg, sizeof msg, "%s", s->error);
            st = gf__session_fail(s, one, "initialising variable \"%s\": %s", vars[i]->name, msg);
            break;
        }
    }
    gf__free(vars);
    gf__free(inits);
    return st;
}

gf_status gf__session_init_variables(gf_session *s) { return init_variables(s); }


/* ---- a group's ranks run one graph with one seed ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

/* What must be the same on every rank: each node's op, name, dtype,
 * shape, inputs and constant values (learning rates and the like are
 * constants), and the seed, which also keys the random numbers drawn
 * during steps. (Attributes are left out: their padding bytes are not
 * defined.) */
static uint64_t fingerprint(const gf_session *s)
{
    uint64_t h = fnv(0xcbf29ce484222325ULL, &s->seed, sizeof s->seed);
    for (int i = 0; i < s->g->n_nodes; i++) {
        const gf_node *n = s->g->nodes[i];
        h = fnv(h, n->op->name, strlen(n->op->name) + 1);
        h = fnv(h, n->name, strlen(n->name) + 1);
        h = fnv(h, &n->dtype, sizeof n->dtype);
        h = fnv(h, &n->shape, sizeof n->shape);
        for (int j = 0; j < n->n_inputs; j++) h = fnv(h, &n->inputs[j]->id, sizeof(int));
        if (n->value) h = fnv(h, n->value, (size_t)gf_shape_count(n->shape) * sizeof(float));
    }
    return h;
}

/* Before anything else, a group's ranks check that they run the same
 * graph with the same seed: the sum over the ranks of each 16-bit piece
 * of the fingerprint is size times this rank's on every rank only when
 * all are equal (the sums are exact in float32). */
static gf_status same_graph(gf_session *s)
{
    if (s->group.size < 2) return GF_OK;
    uint64_t h = fingerprint(s);
    float piece[4];
    for (int i = 0; i < 4; i++) piece[i] = (float)(h >> (16 * i) & 0xffff);
    char why[400] = "";
    gf_status st = s->group.all_reduce(s->group.ctx, piece, 4, "graph and seed", why, sizeof why);
    if (st != GF_OK)
        return gf__session_fail(s, st, "session: checking that the group's %d ranks run one graph: %s",
                                s->group.size, why[0] ? why : gf_status_string(st));
    for (int i = 0; i < 4; i++)
        if (piece[i] != (float)s->group.size * (float)(h >> (16 * i) & 0xffff))
            return gf__session_fail(s, GF_ERR_GROUP, "session: the group's ranks do not all run the same graph "
                                    "with the same seed (rank %d's fingerprint %016llx is not everyone's): "
                                    "every rank must build the same nodes, constants included, and use the "
                                    "same seed", s->group.rank, (unsigned long long)h);
    return GF_OK;
}

/* ---- the public API ---- */

/* GRADFLOW_DISABLE="cse,fold,transpose,fuse,inplace,reuse" or "all". */
static unsigned disabled_by_env(void)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "cse", GF_NO_CSE }, { "fold", GF_NO_FOLD }, { "transpose", GF_NO_TRANSPOSE_FOLD },
        { "fuse", GF_NO_FUSE }, { "inplace", GF_NO_INPLACE }, { "reuse", GF_NO_REUSE },
        { "all", GF_NO_REWRITES },
    };
    const char *env = getenv("GRADFLOW_DISABLE");
    unsigned bits = 0;
    for (size_t i = 0; env && i < sizeof names / sizeof names[0]; i++)
        if (strstr(env, names[i].name)) bits |= names[i].bit;
    return bits;
}

uint64_t gf__session_seed(const gf_session *s) { return s->seed; }

gf_rng *gf__session_streams(gf_session *s, int *n)
{
    *n = 0;
    if (make_streams(s) != GF_OK) return NULL;
    *n = s->n_rng;
    return s->rng;
}

/* Storage for every variable of the graph not yet in s (no value yet). */
static gf_status add_variables(gf_session *s)
{
    gf_graph *g = s->g;
    if (g->n_variables <= s->n_vars) return GF_OK;
    gf_tensor **v = gf__realloc(s->vars, (size_t)g->n_variables * sizeof *v);
    if (!v) return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
    s->vars = v;
    unsigned char *flags = gf__realloc(s->var_flags, (size_t)g->n_variables * sizeof *flags);
    if (!flags) return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
    s->var_flags = flags;
    for (int i = s->n_vars; i < g->n_variables; i++) {
        s->vars[i] = gf__calloc(1, sizeof *s->vars[i]);
        if (!s->vars[i]) return gf__session_fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
        s->var_flags[i] = 0;
        s->n_vars = i + 1;
    }
    return GF_OK;
}

static gf_session *session_start(gf_graph *g, const gf_session_options *opt, const float *const *values);

gf_session *gf_session_new(gf_graph *g, const gf_session_options *opt) { return session_start(g, opt, NULL); }

gf_session *gf__session_new_restored(gf_graph *g, const gf_session_options *opt, const float *const *values)
{
    return session_start(g, opt, values);
}

static gf_session *session_start(gf_graph *g, const gf_session_options *opt, const float *const *values)
{
    gf_session *s = gf__calloc(1, sizeof *s);
    if (!s) return NULL;
    s->g = g;
    s->seed = opt ? opt->seed : 0;
    s->threads = opt && opt->threads > 0 ? opt->threads : 1;
    s->disabled = (opt ? opt->disable : 0) | disabled_by_env();
    s->check_numerics = opt && opt->check_numerics;
    if (s->check_numerics) /* one op per step, and commits only after every check */
        s->disabled |= GF_NO_FUSE | GF_NO_INPLACE;
    s->group = (gf_process_group){ .rank = 0, .size = 1 };
    if (opt && opt->group) {
        const gf_process_group *gr = opt->group;
        if (gr->size < 1 || gr->rank < 0 || gr->rank >= gr->size ||
            (gr->size > 1 && (!gr->all_reduce || !gr->broadcast))) {
            s->status = gf__session_fail(s, GF_ERR_ARG, "session: group of size %d with rank %d%s: expected "
                                         "size >= 1, 0 <= rank < size, and both collective functions",
                                         gr->size, gr->rank,
                                         gr->size > 1 && (!gr->all_reduce || !gr->broadcast)
                                             ? " and a NULL collective function" : "");
            return s;
        }
        s->group = *gr;
        s->coll.group = &s->group;
    }
    if (!g) {
        s->status = gf__session_fail(s, GF_ERR_ARG, "session: graph is NULL");
        return s;
    }
    if (g->status != GF_OK) {
        s->status = gf__session_fail(s, GF_ERR_STATE, "session: the graph is in error: %s", g->error);
        return s;
    }
    gf_status st = same_graph(s);
    if (st == GF_OK && values) { /* the given values, before init_variables would run the initializers */
        st = add_variables(s);
        for (int i = 0; st == GF_OK && i < g->n_nodes; i++) {
            gf_node *n = g->nodes[i];
            if (n->var_index < 0) continue;
            gf_tensor *t = s->vars[n->var_index];
            if (gf__tensor_reshape(t, GF_F32, n->shape) != GF_OK) {
                st = gf__session_fail(s, GF_ERR_NOMEM, "variable \"%s\": out of memory", n->name);
                break;
            }
            int64_t k = gf_shape_count(n->shape);
            if (k > 0) memcpy(t->data, values[n->var_index], (size_t)k * sizeof(float));
            s->var_flags[n->var_index] = GF_VAR_READY;
            s->n_ready++;
        }
    }
    if (st == GF_OK) st = init_variables(s);
    if (st != GF_OK) s->status = st;
    return s;
}

void gf_session_free(gf_session *s)
{
    if (!s) return;
    for (gf_plan *p = s->plans, *next; p; p = next) {
        next = p->next;
        gf__plan_free(p);
    }
    for (int i = 0; i < s->n_vars; i++) gf_tensor_free(s->vars[i]);
    gf__free(s->vars);
    gf__free(s->var_flags);
    gf__free(s->rng);
    for (int i = 0; i < s->n_acc; i++) gf__free(s->acc[i].data);
    gf__free(s->acc);
    gf__free(s->frontier);
    gf__free(s->seen);
    gf__free(s);
}

gf_status gf_session_status(const gf_session *s) { return s ? s->status : GF_ERR_ARG; }

const char *gf_session_error(const gf_session *s) { return s ? s->error : "session is NULL"; }

/* Checks that a node list is usable in this session's graph. */
static gf_status check_nodes(gf_session *s, const char *what, gf_node *const *nodes, int n)
{
    if (n < 0) return gf__session_fail(s, GF_ERR_ARG, "run: negative number of %s", what);
    if (n > 0 && !nodes) return gf__session_fail(s, GF_ERR_ARG, "run: %d %s but the array is NULL", n, what);
    for (int i = 0; i < n; i++) {
        gf_node *x = nodes[i];
        if (!x) return gf__session_fail(s, GF_ERR_ARG, "run: %s[%d] is NULL", what, i);
        if (x->graph != s->g)
            return gf__session_fail(s, GF_ERR_ARG, "run: %s[%d] (\"%s\") belongs to another graph", what, i, x->name);
        if (x->id < 0) return gf__session_fail(s, GF_ERR_ARG, "run: %s[%d] is a poisoned node", what, i);
    }
    return GF_OK;
}

/* A fed tensor against its placeholder's dtype and declared shape. */
static gf_status check_feed(gf_session *s, const gf_node *ph, const gf_tensor *t)
{
    char want[GF_SHAPE_STR], got[GF_SHAPE_STR];
    if (t->dtype != ph->dtype)
        return gf__session_fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": dtype %s, expected %s", ph->name,
                                gf_dtype_name(t->dtype), gf_dtype_name(ph->dtype));
    bool ok = t->shape.rank == ph->shape.rank;
    for (int i = 0; ok && i < ph->shape.rank; i++)
        ok = ph->shape.dim[i] == GF_ANY || ph->shape.dim[i] == t->shape.dim[i];
    if (!ok)
        return gf__session_fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": shape %s, expected %s", ph->name,
                                gf_shape_format(t->shape, got, sizeof got),
                                gf_shape_format(ph->shape, want, sizeof want));
    return GF_OK;
}

/* Checks a run's arguments and finds or compiles its plan, and the context
 * to run it in. */
static gf_status prepare(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *const *fetches,
                         int n_fetches, gf_node *const *targets, int n_targets, const gf_tensor **outs,
                         gf_plan **out, gf_run_ctx *c)
{
    if (!s) return GF_ERR_ARG;
    if (s->status != GF_OK) return s->status; /* the message stays */
    if (s->g->status != GF_OK)
        return gf__session_fail(s, GF_ERR_STATE, "run: the graph is in error: %s", s->g->error);
    gf_status st;
    if ((st = check_nodes(s, "fetches", fetches, n_fetches)) != GF_OK) return st;
    if ((st = check_nodes(s, "targets", targets, n_targets)) != GF_OK) return st;
    if (n_fetches > 0 && !outs) return gf__session_fail(s, GF_ERR_ARG, "run: %d fetches but outs is NULL", n_fetches);
    if (n_feeds < 0 || (n_feeds > 0 && !feeds))
        return gf__session_fail(s, GF_ERR_ARG, "run: %d feeds but the array is NULL", n_feeds);
    for (int i = 0; i < n_feeds; i++) {
        gf_node *n = feeds[i].node;
        if (!n) return gf__session_fail(s, GF_ERR_ARG, "run: feeds[%d].node is NULL", i);
        if (n->graph != s->g)
            return gf__session_fail(s, GF_ERR_ARG, "run: feeds[%d] (\"%s\") belongs to another graph", i, n->name);
        if (n->id < 0) return gf__session_fail(s, GF_ERR_ARG, "run: feeds[%d] is a poisoned node", i);
        const gf_tensor *t = feeds[i].value;
        if (!t || (!t->data && gf_shape_count(t->shape) > 0))
            return gf__session_fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": tensor is NULL", n->name);
        if (!(n->op->flags & GF_OPF_PLACEHOLDER))
            return gf__session_fail(s, GF_ERR_FEED, "run: feed %d is for \"%s\" (op %s), which is not a placeholder",
                                    i, n->name, n->op->name);
        for (int j = 0; j < i; j++)
            if (feeds[j].node == n)
                return gf__session_fail(s, GF_ERR_FEED, "run: placeholder \"%s\" is fed twice", n->name);
        if ((st = check_feed(s, n, t)) != GF_OK) return st; /* needed or not */
    }
    for (int i = 0; i < n_fetches; i++) outs[i] = NULL;
    if ((st = init_variables(s)) != GF_OK) return st;
    if ((st = run_ctx(s, c)) != GF_OK) return st;

    /* The plan for this (fetches, targets, feeds and their shapes): moved to
     * the front of the cache when found; compiled, and the least recently
     * used dropped past MAX_PLANS, when not. */
    gf_plan *p = s->plans, **link = &s->plans;
    int depth = 0;
    while (p && !gf__plan_matches(p, feeds, n_feeds, fetches, n_fetches, targets, n_targets)) {
        link = &p->next;
        p = p->next;
        depth++;
    }
    if (p) {
        *link = p->next;
    } else {
        if ((st = gf__plan_compile(c, s->disabled, feeds, n_feeds, fetches, n_fetches, targets, n_targets, &p)) != GF_OK)
            return st;
        if (depth >= MAX_PLANS) { /* drop the last */
            gf_plan **last = &s->plans;
            while ((*last)->next) last = &(*last)->next;
            gf__plan_free(*last);
            *last = NULL;
        }
    }
    p->next = s->plans;
    s->plans = p;
    *out = p;
    return GF_OK;
}

gf_status gf_session_run(gf_session *s, const gf_feed *feeds, int n_feeds,
                         gf_node *const *fetches, int n_fetches, gf_node *const *targets,
                         int n_targets, const gf_tensor **outs)
{
    gf_plan *p;
    gf_run_ctx c;
    gf_status st = prepare(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets, outs, &p, &c);
    if (st != GF_OK) return st;
    st = gf__plan_run(&c, p, feeds, n_feeds, outs);
    if (st != GF_OK) {
        for (int i = 0; i < n_fetches; i++) outs[i] = NULL;
        if (p->n_collective || s->micro) discard_step(s);
    } else {
        s->error[0] = '\0';
        if (p->n_collective) { /* a step finished */
            s->dp_steps++;
            s->micro = 0;
        }
    }
    return st;
}

/* The all-reduce nodes that targets need and no other all-reduce node
 * stands between: into s->frontier; returns how many, or -1 (message on
 * s) when out of memory. */
static int frontier(gf_session *s, gf_node *const *targets, int n_targets)
{
    int nn = s->g->n_nodes;
    if (s->scratch_nodes < nn) {
        gf_node **f = gf__realloc(s->frontier, 2 * (size_t)nn * sizeof *f);
        if (f) s->frontier = f;
        bool *seen = f ? gf__realloc(s->seen, (size_t)nn * sizeof *seen) : NULL;
        if (seen) s->seen = seen;
        if (!f || !seen) {
            gf__session_fail(s, GF_ERR_NOMEM, "accumulate: out of memory");
            return -1;
        }
        s->scratch_nodes = nn;
    }
    gf_node **stack = s->frontier + nn; /* the upper half */
    int n = 0, sp = 0;
    memset(s->seen, 0, (size_t)nn * sizeof *s->seen);
    for (int i = 0; i < n_targets; i++)
        if (!s->seen[targets[i]->id]) {
            s->seen[targets[i]->id] = true;
            stack[sp++] = targets[i];
        }
    while (sp) {
        gf_node *x = stack[--sp];
        if (x->op->flags & GF_OPF_COLLECTIVE) {
            s->frontier[n++] = x;
            continue;
        }
        for (int j = 0; j < x->n_inputs; j++)
            if (!s->seen[x->inputs[j]->id]) {
                s->seen[x->inputs[j]->id] = true;
                stack[sp++] = x->inputs[j];
            }
    }
    return n;
}

gf_status gf_session_accumulate(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *const *targets,
                                int n_targets)
{
    if (!s) return GF_ERR_ARG;
    if (s->status != GF_OK) return s->status;
    gf_status st = check_nodes(s, "targets", targets, n_targets);
    if (st == GF_OK && n_targets == 0)
        st = gf__session_fail(s, GF_ERR_ARG, "accumulate: no targets: give the training step");
    int n = st == GF_OK ? frontier(s, targets, n_targets) : -1;
    if (n == 0)
        st = gf__session_fail(s, GF_ERR_ARG, "accumulate: target \"%s\" needs no all-reduce node, so there is "
                              "nothing to accumulate: build the step with gf_minimize_ex(..., GF_ALL_REDUCE_SUM "
                              "or GF_ALL_REDUCE_MEAN), or place gf_all_reduce_sum/mean", targets[0]->name);
    else if (n < 0 && st == GF_OK)
        st = GF_ERR_NOMEM;
    gf_plan *p = NULL;
    gf_run_ctx c;
    if (st == GF_OK) st = prepare(s, feeds, n_feeds, NULL, 0, s->frontier, n, NULL, &p, &c);
    if (st == GF_OK) {
        s->coll.accumulate = true;
        st = gf__plan_run(&c, p, feeds, n_feeds, NULL);
        s->coll.accumulate = false;
    }
    if (st != GF_OK) {
        discard_step(s);
        return st;
    }
    s->micro++;
    s->error[0] = '\0';
    return GF_OK;
}

gf_status gf_session_broadcast(gf_session *s)
{
    if (!s) return GF_ERR_ARG;
    if (s->status != GF_OK) return s->status;
    if (s->g->status != GF_OK)
        return gf__session_fail(s, GF_ERR_STATE, "broadcast: the graph is in error: %s", s->g->error);
    gf_status st = init_variables(s);
    gf_graph *g = s->g;
    for (int i = 0; st == GF_OK && i < g->n_nodes; i++)
        if (g->nodes[i]->var_index >= 0) st = broadcast_vars(s, &g->nodes[i], 1);
    if (st == GF_OK) s->error[0] = '\0';
    return st;
}

gf_status gf_session_plan_stats(gf_session *s, const gf_feed *feeds, int n_feeds,
                                gf_node *const *fetches, int n_fetches,
                                gf_node *const *targets, int n_targets, gf_plan_stats *out)
{
    const gf_tensor *outs[64];
    if (!s) return GF_ERR_ARG;
    if (s->status != GF_OK) return s->status;
    if (!out) return gf__session_fail(s, GF_ERR_ARG, "plan_stats: out is NULL");
    if (n_fetches > 64) return gf__session_fail(s, GF_ERR_ARG, "plan_stats: %d fetches, at most 64", n_fetches);
    gf_plan *p;
    gf_run_ctx c;
    gf_status st = prepare(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets, outs, &p, &c);
    if (st != GF_OK) return st;
    gf__plan_stats(p, out);
    return GF_OK;
}

const gf_tensor *gf_session_variable(gf_session *s, gf_node *var)
{
    if (!s) return NULL;
    if (s->status != GF_OK) return NULL;
    if (check_nodes(s, "variable", &var, 1) != GF_OK) return NULL;
    if (!(var->op->flags & GF_OPF_VARIABLE)) {
        gf__session_fail(s, GF_ERR_ARG, "variable: \"%s\" (op %s) is not a variable", var->name, var->op->name);
        return NULL;
    }
    if (init_variables(s) != GF_OK) return NULL;
    gf__session_set_var_finite(s, var->var_index, false); /* the caller may write it */
    return s->vars[var->var_index];
}
