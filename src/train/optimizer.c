/*
 * optimizer.c — optimizers as graph: minimize differentiates the cost and
 * builds one assign per variable (and slot), joined into one target node.
 */
#include "../ops/op.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef enum { OPT_SGD, OPT_MOMENTUM, OPT_ADAM } opt_kind;

struct gf_optimizer {
    gf_graph *g;
    opt_kind kind;
    float lr, momentum, beta1, beta2, epsilon;
};

static gf_optimizer *make(gf_graph *g, opt_kind kind, float lr)
{
    if (!g) return NULL;
    gf_optimizer *o = gf__graph_alloc(g, sizeof *o);
    if (!o) {
        gf__graph_fail(g, GF_ERR_NOMEM, "optimizer: out of memory");
        return NULL;
    }
    o->g = g;
    o->kind = kind;
    o->lr = lr;
    if (!isfinite(lr) || lr < 0)
        gf__graph_fail(g, GF_ERR_ARG, "optimizer: learning rate %g: expected a finite value >= 0", (double)lr);
    return o;
}

gf_optimizer *gf_gradient_descent(gf_graph *g, float learning_rate)
{
    return make(g, OPT_SGD, learning_rate);
}

gf_optimizer *gf_momentum(gf_graph *g, float learning_rate, float momentum)
{
    gf_optimizer *o = make(g, OPT_MOMENTUM, learning_rate);
    if (o) o->momentum = momentum;
    return o;
}

gf_optimizer *gf_adam(gf_graph *g, float learning_rate, float beta1, float beta2, float epsilon)
{
    gf_optimizer *o = make(g, OPT_ADAM, learning_rate > 0 ? learning_rate : 0.001f);
    if (!o) return NULL;
    o->beta1 = beta1 > 0 ? beta1 : 0.9f;
    o->beta2 = beta2 > 0 ? beta2 : 0.999f;
    o->epsilon = epsilon > 0 ? epsilon : 1e-8f;
    if (o->beta1 >= 1 || o->beta2 >= 1)
        gf__graph_fail(g, GF_ERR_ARG, "adam: beta1 %g and beta2 %g: expected values in (0,1)",
                       (double)o->beta1, (double)o->beta2);
    return o;
}

/* A zero-initialised, non-trainable variable shaped like var. */
static gf_node *slot(gf_graph *g, gf_node *var, const char *what)
{
    char name[GF_NAME_MAX];
    snprintf(name, sizeof name, "%.40s/%s", var->name, what);
    return gf_set_trainable(gf_variable(g, name, gf_zeros(g, var->shape)), 0);
}

static gf_node *scalar_var(gf_graph *g, const char *name, float value)
{
    return gf_set_trainable(gf_variable(g, name, gf_scalar(g, value)), 0);
}

static gf_node *join(gf_node *all, gf_node *update) { return all ? gf_group(all, update) : update; }

gf_node *gf_minimize(gf_optimizer *opt, gf_node *cost, gf_node *const *var_list, int n_vars)
{
    return gf_minimize_ex(opt, cost, var_list, n_vars, 0);
}

gf_node *gf_minimize_ex(gf_optimizer *opt, gf_node *cost, gf_node *const *var_list, int n_vars, unsigned flags)
{
    if (!opt) return gf__graph_fail(cost ? cost->graph : NULL, GF_ERR_ARG, "minimize: optimizer is NULL");
    gf_graph *g = opt->g;
    if (g->status != GF_OK) return &g->poison;
    if (flags != 0 && flags != GF_ALL_REDUCE_SUM && flags != GF_ALL_REDUCE_MEAN)
        return gf__graph_fail(g, GF_ERR_ARG, "minimize: flags 0x%x: expected 0, GF_ALL_REDUCE_SUM or "
                              "GF_ALL_REDUCE_MEAN", flags);
    if (!cost || cost->graph != g || cost->id < 0)
        return gf__graph_fail(g, GF_ERR_ARG, "minimize: cost is %s",
                              !cost ? "NULL" : cost->graph != g ? "from another graph" : "a poisoned node");

    if (n_vars < 0 || (!var_list && n_vars > 0))
        return gf__graph_fail(g, GF_ERR_ARG, "minimize: %d variables in var_list%s", n_vars,
                              var_list ? "" : ", which is NULL (NULL and 0 mean every trainable variable)");

    /* The variables: those given, or every trainable one. */
    int n = n_vars;
    gf_node **vars = NULL;
    if (var_list && n_vars > 0) {
        vars = gf__malloc((size_t)n * sizeof *vars);
        if (vars)
            for (int i = 0; i < n; i++) vars[i] = var_list[i];
    } else {
        n = 0;
        vars = gf__malloc(((size_t)g->n_nodes + 1) * sizeof *vars);
        if (vars)
            for (int i = 0; i < g->n_nodes; i++)
                if (g->nodes[i]->var_index >= 0 && g->nodes[i]->trainable) vars[n++] = g->nodes[i];
    }
    gf_node **grads = gf__malloc(((size_t)n + 1) * sizeof *grads), *all = NULL;
    if (!vars || !grads) {
        gf__free(vars);
        gf__free(grads);
        return gf__graph_fail(g, GF_ERR_NOMEM, "minimize: out of memory");
    }
    for (int i = 0; i < n; i++)
        if (vars[i] && vars[i]->graph == g && vars[i]->id >= 0 && vars[i]->var_index < 0) {
            gf__graph_fail(g, GF_ERR_ARG, "minimize: var_list[%d] (\"%s\", op %s) is not a variable", i,
                           vars[i]->name, vars[i]->op->name);
            goto out;
        }
    if (gf_gradients(g, &cost, 1, vars, n, NULL, grads) != GF_OK) goto out;
    /* Data parallelism: each gradient summed over micro-batches and ranks. */
    for (int i = 0; flags && i < n; i++) {
        if (!grads[i]) continue;
        char name[GF_NAME_MAX];
        snprintf(name, sizeof name, "all_reduce/%.40s", vars[i]->name);
        grads[i] = gf_name(flags == GF_ALL_REDUCE_SUM ? gf_all_reduce_sum(grads[i]) : gf_all_reduce_mean(grads[i]),
                           name);
    }

    gf_node *lr = gf_scalar(g, opt->lr), *lr_t = lr;
    gf_node *b1p = NULL, *b2p = NULL;
    if (opt->kind == OPT_ADAM) {
        b1p = scalar_var(g, "beta1_power", opt->beta1);
        b2p = scalar_var(g, "beta2_power", opt->beta2);
        gf_node *one = gf_scalar(g, 1.0f);
        lr_t = gf_div(gf_mul(lr, gf_sqrt(gf_sub(one, b2p))), gf_sub(one, b1p));
    }
    for (int i = 0; i < n; i++) {
        gf_node *v = vars[i], *gr = grads[i];
        if (!gr) continue;
        gf_node *update = NULL;
        switch (opt->kind) {
        case OPT_SGD:
            update = gf_assign(v, gf_sub(v, gf_mul(lr, gr)));
            break;
        case OPT_MOMENTUM: {
            gf_node *acc = slot(g, v, "momentum");
            gf_node *acc_new = gf_add(gf_mul(gf_scalar(g, opt->momentum), acc), gr);
            update = gf_group(gf_assign(acc, acc_new), gf_assign(v, gf_sub(v, gf_mul(lr, acc_new))));
            break;
        }
        case OPT_ADAM: {
            /* One op, as TensorFlow's ApplyAdam: m, s and v change in place
             * in one pass (kernels/optimizer.c). */
            gf_node *m = slot(g, v, "adam_m"), *s = slot(g, v, "adam_v");
            update = gf__apply_adam(v, m, s, gr, lr_t, opt->beta1, opt->beta2, opt->epsilon);
            break;
        }
        }
        all = join(all, update);
    }
    if (!all && g->status == GF_OK) {
        gf__graph_fail(g, GF_ERR_ARG, "minimize: no gradients for any variable: cost \"%s\" depends on none of the %d variables",
                       cost->name, n);
        goto out;
    }
    if (opt->kind == OPT_ADAM)
        all = gf_group(all, gf_group(gf_assign(b1p, gf_mul(b1p, gf_scalar(g, opt->beta1))),
                                     gf_assign(b2p, gf_mul(b2p, gf_scalar(g, opt->beta2)))));
out:
    gf__free(vars);
    gf__free(grads);
    if (g->status != GF_OK) return &g->poison;
    return all;
}
