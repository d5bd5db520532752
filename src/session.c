/*
 * session.c — sessions: variable storage, cached plans (prune, order, place
 * buffers) and runs (check feeds, resolve shapes, run kernels, commit).
 */
#include "ops/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A compiled run: the nodes a set of (fetches, targets, fed placeholders)
 * needs, in an order where inputs come first, with one tensor per step that
 * is reused from run to run (it only grows when a fed shape grows). */
typedef struct plan {
    struct plan *next;
    int n_key, *key;        /* fetch ids, -1, target ids, -1, fed ids */
    int n_steps;
    gf_node **order;
    gf_tensor *val;         /* per step: owned buffer, or a view for sources */
    int n_slot, *slot;      /* node id -> step, or -1 */
    int n_fetch;
    gf_tensor *fetch_copy;  /* fetches of sources are copied out */
} plan;

struct gf_session {
    gf_graph *g;
    uint64_t seed;
    gf_status status;       /* sticky: set when the session could not start */
    char error[1024];
    int n_vars;
    gf_tensor *vars;        /* by var_index */
    bool *var_ready;
    int n_rng;
    gf_rng *rng;            /* by node id, for random ops */
    bool *rng_ready;
    plan *plans;
};

gf_status gf__session_fail(gf_session *s, gf_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return code;
}

#define fail gf__session_fail

/* ---- plans ---- */

static void plan_free(plan *p)
{
    if (!p) return;
    /* val is NULL when plan_build failed before placing buffers */
    for (int i = 0; p->val && i < p->n_steps; i++) gf__tensor_release(&p->val[i]);
    for (int i = 0; p->fetch_copy && i < p->n_fetch; i++) gf__tensor_release(&p->fetch_copy[i]);
    free(p->key);
    free(p->order);
    free(p->val);
    free(p->slot);
    free(p->fetch_copy);
    free(p);
}

static const gf_feed *find_feed(const gf_feed *feeds, int n_feeds, const gf_node *n)
{
    for (int i = 0; i < n_feeds; i++)
        if (feeds[i].node == n) return &feeds[i];
    return NULL;
}

/* Prunes to what the roots need and orders it (iterative post-order DFS, so
 * deep graphs cannot overflow the C stack). Fed placeholders are leaves. */
static gf_status plan_build(gf_session *s, const gf_feed *feeds, int n_feeds,
                            gf_node *const *fetches, int n_fetches, gf_node *const *targets,
                            int n_targets, plan **out)
{
    gf_graph *g = s->g;
    int nn = g->n_nodes, n_roots = n_fetches + n_targets;
    plan *p = calloc(1, sizeof *p);
    int *state = calloc((size_t)nn + 1, sizeof *state);     /* 0 new, 1 open, 2 done */
    int *root_of = malloc(((size_t)nn + 1) * sizeof *root_of);
    gf_node **stack = malloc(((size_t)nn + 1) * sizeof *stack);
    int *next_in = calloc((size_t)nn + 1, sizeof *next_in);
    if (p) {
        p->n_key = n_fetches + n_targets + n_feeds + 2;
        p->key = malloc((size_t)p->n_key * sizeof *p->key);
        p->order = malloc(((size_t)nn + 1) * sizeof *p->order);
        p->slot = malloc(((size_t)nn + 1) * sizeof *p->slot);
        p->fetch_copy = calloc((size_t)n_fetches + 1, sizeof *p->fetch_copy);
    }
    gf_status st = GF_OK;
    if (!p || !state || !root_of || !stack || !next_in || !p->key || !p->order || !p->slot ||
        !p->fetch_copy) {
        st = fail(s, GF_ERR_NOMEM, "session: out of memory planning a run");
        goto done;
    }
    int k = 0;
    for (int i = 0; i < n_fetches; i++) p->key[k++] = fetches[i]->id;
    p->key[k++] = -1;
    for (int i = 0; i < n_targets; i++) p->key[k++] = targets[i]->id;
    p->key[k++] = -1;
    for (int i = 0; i < n_feeds; i++) p->key[k++] = feeds[i].node->id;
    p->n_fetch = n_fetches;
    p->n_slot = nn;
    for (int i = 0; i < nn; i++) p->slot[i] = -1;

    for (int r = 0; r < n_roots; r++) {
        gf_node *root = r < n_fetches ? fetches[r] : targets[r - n_fetches];
        if (state[root->id]) continue;
        int sp = 0;
        stack[sp++] = root;
        state[root->id] = 1;
        root_of[root->id] = r;
        while (sp) {
            gf_node *n = stack[sp - 1];
            bool fed = find_feed(feeds, n_feeds, n) != NULL;
            if (!fed && next_in[n->id] < n->n_inputs) {
                gf_node *in = n->inputs[next_in[n->id]++];
                if (!state[in->id]) {
                    state[in->id] = 1;
                    root_of[in->id] = r;
                    stack[sp++] = in;
                }
                continue;
            }
            sp--;
            state[n->id] = 2;
            if ((n->op->flags & GF_OPF_PLACEHOLDER) && !fed) {
                int ri = root_of[n->id];
                gf_node *need = ri < n_fetches ? fetches[ri] : targets[ri - n_fetches];
                char b[GF_SHAPE_STR];
                st = fail(s, GF_ERR_FEED,
                          "placeholder \"%s\" of shape %s must be fed: \"%s\" (op %s) needs it",
                          n->name, gf_shape_format(n->shape, b, sizeof b), need->name, need->op->name);
                goto done;
            }
            p->slot[n->id] = p->n_steps;
            p->order[p->n_steps++] = n;
        }
    }

    /* Two assignments to one variable in one run would race: refuse. */
    for (int i = 0; i < p->n_steps; i++) {
        gf_node *a = p->order[i];
        if (!(a->op->flags & GF_OPF_ASSIGN)) continue;
        for (int j = i + 1; j < p->n_steps; j++) {
            gf_node *b = p->order[j];
            if ((b->op->flags & GF_OPF_ASSIGN) && b->inputs[0] == a->inputs[0]) {
                st = fail(s, GF_ERR_ARG, "variable \"%s\" is assigned twice in one run (by \"%s\" and \"%s\")",
                          a->inputs[0]->name, a->name, b->name);
                goto done;
            }
        }
    }
    p->val = calloc((size_t)p->n_steps + 1, sizeof *p->val);
    if (!p->val) st = fail(s, GF_ERR_NOMEM, "session: out of memory planning a run");

done:
    free(state);
    free(root_of);
    free(stack);
    free(next_in);
    if (st != GF_OK) {
        plan_free(p);
        p = NULL;
    }
    *out = p;
    return st;
}


static plan *plan_find(gf_session *s, const gf_feed *feeds, int n_feeds, gf_node *const *fetches,
                       int n_fetches, gf_node *const *targets, int n_targets)
{
    for (plan *p = s->plans; p; p = p->next) {
        if (p->n_key != n_fetches + n_targets + n_feeds + 2) continue;
        const int *k = p->key;
        bool same = true;
        for (int i = 0; same && i < n_fetches; i++) same = *k++ == fetches[i]->id;
        same = same && *k++ == -1;
        for (int i = 0; same && i < n_targets; i++) same = *k++ == targets[i]->id;
        same = same && *k++ == -1;
        for (int i = 0; same && i < n_feeds; i++) same = *k++ == feeds[i].node->id;
        if (same) return p;
    }
    return NULL;
}

/* ---- random streams and variables ---- */

static gf_rng *node_rng(gf_session *s, const gf_node *n)
{
    if (n->id >= s->n_rng) {
        int cap = s->g->n_nodes + 16;
        gf_rng *r = realloc(s->rng, (size_t)cap * sizeof *r);
        if (!r) return NULL;
        s->rng = r;
        bool *ready = realloc(s->rng_ready, (size_t)cap * sizeof *ready);
        if (!ready) return NULL;
        s->rng_ready = ready;
        for (int i = s->n_rng; i < cap; i++) ready[i] = false;
        s->n_rng = cap;
    }
    if (!s->rng_ready[n->id]) {
        /* One stream per node: results do not depend on run order. */
        gf_rng_seed(&s->rng[n->id], s->seed, (uint64_t)n->id);
        s->rng_ready[n->id] = true;
    }
    return &s->rng[n->id];
}

static gf_status run_plan(gf_session *s, plan *p, const gf_feed *feeds, int n_feeds,
                          gf_node *const *fetches, int n_fetches, const gf_tensor **outs);

/* Gives storage and a first value to every variable that has none yet
 * (all of them at session start; those added to the graph later on first
 * use), in graph order so the result does not depend on what is run. */
static gf_status init_variables(gf_session *s)
{
    gf_graph *g = s->g;
    if (g->n_variables > s->n_vars) {
        gf_tensor *v = realloc(s->vars, (size_t)g->n_variables * sizeof *v);
        if (!v) return fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
        s->vars = v;
        bool *ready = realloc(s->var_ready, (size_t)g->n_variables * sizeof *ready);
        if (!ready) return fail(s, GF_ERR_NOMEM, "session: out of memory for variables");
        s->var_ready = ready;
        for (int i = s->n_vars; i < g->n_variables; i++) {
            memset(&s->vars[i], 0, sizeof s->vars[i]);
            s->var_ready[i] = false;
        }
        s->n_vars = g->n_variables;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        gf_node *var = g->nodes[i];
        if (var->var_index < 0 || s->var_ready[var->var_index]) continue;
        gf_node *init = var->init;
        plan *p;
        gf_status st = plan_build(s, NULL, 0, &init, 1, NULL, 0, &p);
        const gf_tensor *val = NULL;
        if (st == GF_OK) {
            st = run_plan(s, p, NULL, 0, &init, 1, &val);
            if (st == GF_OK) {
                gf_tensor *t = &s->vars[var->var_index];
                if (gf__tensor_reshape(t, GF_F32, var->shape) != GF_OK)
                    st = fail(s, GF_ERR_NOMEM, "variable \"%s\": out of memory", var->name);
                else
                    memcpy(t->data, val->data, (size_t)gf_shape_count(var->shape) * sizeof(float));
            }
            plan_free(p);
        }
        if (st != GF_OK) {
            char msg[sizeof s->error];
            snprintf(msg, sizeof msg, "%s", s->error);
            return fail(s, st, "initialising variable \"%s\": %s", var->name, msg);
        }
        s->var_ready[var->var_index] = true;
    }
    return GF_OK;
}

/* ---- running a plan ---- */

/* Checks a fed tensor against its placeholder's dtype and declared shape. */
static gf_status check_feed(gf_session *s, const gf_node *ph, const gf_tensor *t)
{
    char want[GF_SHAPE_STR], got[GF_SHAPE_STR];
    if (!t || (!t->data && gf_shape_count(t->shape) > 0))
        return fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": tensor is NULL", ph->name);
    if (t->dtype != ph->dtype)
        return fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": dtype %s, expected %s", ph->name,
                    gf_dtype_name(t->dtype), gf_dtype_name(ph->dtype));
    bool ok = t->shape.rank == ph->shape.rank;
    for (int i = 0; ok && i < ph->shape.rank; i++)
        ok = ph->shape.dim[i] == GF_ANY || ph->shape.dim[i] == t->shape.dim[i];
    if (!ok)
        return fail(s, GF_ERR_FEED, "feed for placeholder \"%s\": shape %s, expected %s", ph->name,
                    gf_shape_format(t->shape, got, sizeof got), gf_shape_format(ph->shape, want, sizeof want));
    return GF_OK;
}

/* A tensor header that borrows data (a view: capacity 0, never freed). */
static void view(gf_tensor *t, gf_dtype dt, gf_shape shape, float *data)
{
    if (t->capacity) gf__tensor_release(t);
    t->dtype = dt;
    t->shape = shape;
    t->data = data;
}

static gf_status run_plan(gf_session *s, plan *p, const gf_feed *feeds, int n_feeds,
                          gf_node *const *fetches, int n_fetches, const gf_tensor **outs)
{
    /* 1. Resolve every step's shape with the fed shapes; place buffers. */
    for (int i = 0; i < p->n_steps; i++) {
        gf_node *n = p->order[i];
        gf_tensor *v = &p->val[i];
        unsigned fl = n->op->flags;
        if (fl & GF_OPF_PLACEHOLDER) {
            const gf_feed *f = find_feed(feeds, n_feeds, n);
            gf_status st = check_feed(s, n, f->value);
            if (st != GF_OK) return st;
            view(v, n->dtype, f->value->shape, f->value->data);
            continue;
        }
        if (fl & GF_OPF_VARIABLE) {
            view(v, GF_F32, n->shape, s->vars[n->var_index].data);
            continue;
        }
        if (fl & GF_OPF_CONSTANT) {
            view(v, GF_F32, n->shape, n->value);
            continue;
        }
        gf_shape in_shape[GF_MAX_INPUTS], shape;
        gf_dtype in_dt[GF_MAX_INPUTS], dt;
        for (int j = 0; j < n->n_inputs; j++) {
            const gf_tensor *x = &p->val[p->slot[n->inputs[j]->id]];
            in_shape[j] = x->shape;
            in_dt[j] = x->dtype;
        }
        char detail[384];
        if (!n->op->shape(n, in_shape, in_dt, &shape, &dt, detail, sizeof detail))
            return fail(s, GF_ERR_SHAPE, "%s \"%s\": %s", n->op->name, n->name, detail);
        if (!gf__shape_known(shape)) {
            char b[GF_SHAPE_STR];
            return fail(s, GF_ERR_SHAPE, "%s \"%s\": result shape %s is not fully known",
                        n->op->name, n->name, gf_shape_format(shape, b, sizeof b));
        }
        if (gf__tensor_reshape(v, dt, shape) != GF_OK)
            return fail(s, GF_ERR_NOMEM, "%s \"%s\": out of memory for its result", n->op->name, n->name);
    }

    /* 2. Compute. Kernels cannot fail: every shape is checked above. */
    for (int i = 0; i < p->n_steps; i++) {
        gf_node *n = p->order[i];
        if (!n->op->kernel) continue;
        const gf_tensor *in[GF_MAX_INPUTS] = { NULL };
        for (int j = 0; j < n->n_inputs; j++) in[j] = &p->val[p->slot[n->inputs[j]->id]];
        gf_kctx ctx = { NULL };
        if (n->op->flags & GF_OPF_RANDOM) {
            ctx.rng = node_rng(s, n);
            if (!ctx.rng) return fail(s, GF_ERR_NOMEM, "%s \"%s\": out of memory", n->op->name, n->name);
        }
        n->op->kernel(&p->val[i], in, n, &ctx);
    }

    /* 3. Hand out fetches. Views of sources are copied, so that what the
     *    caller holds is the value from before this run's assignments and
     *    outlives the caller's feed buffers. */
    for (int f = 0; f < n_fetches; f++) {
        gf_tensor *v = &p->val[p->slot[fetches[f]->id]];
        if (v->capacity) {
            outs[f] = v;
            continue;
        }
        gf_tensor *c = &p->fetch_copy[f];
        if (gf__tensor_reshape(c, v->dtype, v->shape) != GF_OK)
            return fail(s, GF_ERR_NOMEM, "fetch \"%s\": out of memory", fetches[f]->name);
        memcpy(c->data, v->data, (size_t)gf_shape_count(v->shape) * sizeof(float));
        outs[f] = c;
    }

    /* 4. Commit the assignments together. */
    for (int i = 0; i < p->n_steps; i++) {
        gf_node *n = p->order[i];
        if (!(n->op->flags & GF_OPF_ASSIGN)) continue;
        gf_tensor *var = &s->vars[n->inputs[0]->var_index];
        memcpy(var->data, p->val[i].data, (size_t)gf_shape_count(var->shape) * sizeof(float));
    }
    return GF_OK;
}

/* ---- the public API ---- */

gf_session *gf_session_new(gf_graph *g, const gf_session_options *opt)
{
    gf_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->g = g;
    s->seed = opt ? opt->seed : 0;
    if (!g) {
        s->status = fail(s, GF_ERR_ARG, "session: graph is NULL");
        return s;
    }
    if (g->status != GF_OK) {
        s->status = fail(s, GF_ERR_STATE, "session: the graph is in error: %s", g->error);
        return s;
    }
    gf_status st = init_variables(s);
    if (st != GF_OK) s->status = st;
    return s;
}

void gf_session_free(gf_session *s)
{
    if (!s) return;
    for (plan *p = s->plans, *next; p; p = next) {
        next = p->next;
        plan_free(p);
    }
    for (int i = 0; i < s->n_vars; i++) gf__tensor_release(&s->vars[i]);
    free(s->vars);
    free(s->var_ready);
    free(s->rng);
    free(s->rng_ready);
    free(s);
}

gf_status gf_session_status(const gf_session *s) { return s ? s->status : GF_ERR_ARG; }

const char *gf_session_error(const gf_session *s) { return s ? s->error : "session is NULL"; }

/* Checks that a node list is usable in this session's graph. */
static gf_status check_nodes(gf_session *s, const char *what, gf_node *const *nodes, int n)
{
    if (n < 0) return fail(s, GF_ERR_ARG, "run: negative number of %s", what);
    if (n > 0 && !nodes) return fail(s, GF_ERR_ARG, "run: %d %s but the array is NULL", n, what);
    for (int i = 0; i < n; i++) {
        gf_node *x = nodes[i];
        if (!x) return fail(s, GF_ERR_ARG, "run: %s[%d] is NULL", what, i);
        if (x->graph != s->g)
            return fail(s, GF_ERR_ARG, "run: %s[%d] (\"%s\") belongs to another graph", what, i, x->name);
        if (x->id < 0) return fail(s, GF_ERR_ARG, "run: %s[%d] is a poisoned node", what, i);
    }
    return GF_OK;
}

gf_status gf_session_run(gf_session *s, const gf_feed *feeds, int n_feeds,
                         gf_node *const *fetches, int n_fetches, gf_node *const *targets,
                         int n_targets, const gf_tensor **outs)
{
    if (!s) return GF_ERR_ARG;
    if (s->status != GF_OK) return s->status; /* the message stays */
    if (s->g->status != GF_OK)
        return fail(s, GF_ERR_STATE, "run: the graph is in error: %s", s->g->error);
    gf_status st;
    if ((st = check_nodes(s, "fetches", fetches, n_fetches)) != GF_OK) return st;
    if ((st = check_nodes(s, "targets", targets, n_targets)) != GF_OK) return st;
    if (n_fetches > 0 && !outs) return fail(s, GF_ERR_ARG, "run: %d fetches but outs is NULL", n_fetches);
    if (n_feeds < 0 || (n_feeds > 0 && !feeds))
        return fail(s, GF_ERR_ARG, "run: %d feeds but the array is NULL", n_feeds);
    for (int i = 0; i < n_feeds; i++) {
        gf_node *n = feeds[i].node;
        if ((st = check_nodes(s, "feeds", &n, 1)) != GF_OK) return st;
        if (!(n->op->flags & GF_OPF_PLACEHOLDER))
            return fail(s, GF_ERR_FEED, "run: feed %d is for \"%s\" (op %s), which is not a placeholder",
                        i, n->name, n->op->name);
        for (int j = 0; j < i; j++)
            if (feeds[j].node == n)
                return fail(s, GF_ERR_FEED, "run: placeholder \"%s\" is fed twice", n->name);
    }
    for (int i = 0; i < n_fetches; i++) outs[i] = NULL;
    if ((st = init_variables(s)) != GF_OK) return st;

    plan *p = plan_find(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets);
    if (!p) {
        if ((st = plan_build(s, feeds, n_feeds, fetches, n_fetches, targets, n_targets, &p)) != GF_OK)
            return st;
        p->next = s->plans;
        s->plans = p;
    }
    st = run_plan(s, p, feeds, n_feeds, fetches, n_fetches, outs);
    if (st != GF_OK)
        for (int i = 0; i < n_fetches; i++) outs[i] = NULL;
    else
        s->error[0] = '\0';
    return st;
}

const gf_tensor *gf_session_variable(gf_session *s, gf_node *var)
{
    if (!s) return NULL;
    if (s->status != GF_OK) return NULL;
    if (check_nodes(s, "variable", &var, 1) != GF_OK) return NULL;
    if (!(var->op->flags & GF_OPF_VARIABLE)) {
        fail(s, GF_ERR_ARG, "variable: \"%s\" (op %s) is not a variable", var->name, var->op->name);
        return NULL;
    }
    if (init_variables(s) != GF_OK) return NULL;
    return &s->vars[var->var_index];
}
