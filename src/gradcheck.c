/*
 * gradcheck.c — gradient checking: gf_gradients against central finite
 * differences (float32 evaluation, double-precision differencing).
 */
#include "ops/op.h"
#include "session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe {
    gf_session *s;
    gf_node *y;
    const gf_feed *feeds;
    int n_feeds;
} probe;

/* f = sum of y's elements, added in double. */
static gf_status eval_sum(const probe *p, double *f)
{
    const gf_tensor *out;
    gf_status st = gf_session_run(p->s, p->feeds, p->n_feeds, &p->y, 1, NULL, 0, &out);
    if (st != GF_OK) return st;
    double sum = 0;
    for (int64_t i = 0; i < gf_tensor_count(out); i++) sum += out->data[i];
    *f = sum;
    return GF_OK;
}

static void record(gf_gradcheck_result *r, int64_t at, double a, double n)
{
    double scale = fmax(1.0, fmax(fabs(a), fabs(n)));
    double err = fabs(a - n) / scale;
    if (!(err <= r->max_error)) { /* NaN counts as worst */
        r->max_error = isnan(err) ? INFINITY : err;
        r->worst = at;
        r->analytic = a;
        r->numeric = n;
    }
    r->checked++;
}

gf_status gf_gradient_check(gf_session *s, gf_node *y, gf_node *x, const gf_feed *feeds, int n_feeds,
                            const gf_gradcheck_options *opt, gf_gradcheck_result *result)
{
    if (!s) return GF_ERR_ARG;
    if (!y || !x || !result || y->graph != x->graph || y->id < 0 || x->id < 0 ||
        (n_feeds > 0 && !feeds) || n_feeds < 0)
        return gf__session_fail(s, GF_ERR_ARG, "gradient_check: y, x and result must be valid nodes of one graph");
    gf_graph *g = y->graph;
    for (int i = 0; i < n_feeds; i++) {
        const gf_tensor *t = feeds[i].value;
        if (!t || (!t->data && gf_shape_count(t->shape) > 0))
            return gf__session_fail(s, GF_ERR_FEED, "gradient_check: feeds[%d] has no tensor", i);
    }
    bool is_var = x->op->flags & GF_OPF_VARIABLE;
    int fed = -1;
    for (int i = 0; i < n_feeds; i++)
        if (feeds[i].node == x) fed = i;
    if (!is_var && fed < 0)
        return gf__session_fail(s, GF_ERR_ARG, "gradient_check: x (\"%s\") must be a variable or a fed placeholder",
                                x->name);
    gf_gradcheck_options o = opt ? *opt : (gf_gradcheck_options){ 0 };
    memset(result, 0, sizeof *result);
    result->worst = -1;

    gf_node *dx;
    if (gf_gradients_ex(g, &y, 1, &x, 1, NULL, GF_GRAD_ZEROS, &dx) != GF_OK)
        return gf__session_fail(s, g->status, "gradient_check: %s", g->error);

    /* x's values: the variable's storage, or a private copy of its feed. */
    gf_feed *fd = NULL;
    gf_tensor *copy = NULL;
    float *xv;
    int64_t n;
    if (is_var) {
        const gf_tensor *t = gf_session_variable(s, x);
        if (!t) return gf_session_status(s) ? gf_session_status(s) : GF_ERR_STATE;
        xv = t->data;
        n = gf_tensor_count(t);
    } else {
        const gf_tensor *t = feeds[fed].value;
        copy = gf_tensor_new(t->dtype, t->shape, NULL);
        fd = gf__malloc((size_t)n_feeds * sizeof *fd);
        if (!copy || !fd) {
            gf_tensor_free(copy);
            gf__free(fd);
            return gf__session_fail(s, GF_ERR_NOMEM, "gradient_check: out of memory");
        }
        memcpy(fd, feeds, (size_t)n_feeds * sizeof *fd);
        n = gf_tensor_count(t);
        if (n > 0) memcpy(copy->data, t->data, (size_t)n * sizeof(float));
        fd[fed].value = copy;
        xv = copy->data;
    }
    probe p = { s, y, fd ? fd : feeds, n_feeds };
    double *analytic = gf__malloc(((size_t)n + 1) * sizeof *analytic);
    float *x0 = gf__malloc(((size_t)n + 1) * sizeof *x0);
    int64_t *pick = gf__malloc(((size_t)n + 1) * sizeof *pick);
    float *u = NULL;
    gf_status st = GF_OK;
    if (!analytic || !x0 || !pick) {
        st = gf__session_fail(s, GF_ERR_NOMEM, "gradient_check: out of memory");
        goto out;
    }
    memcpy(x0, xv, (size_t)n * sizeof *x0);
    const gf_tensor *d;
    if ((st = gf_session_run(s, p.feeds, n_feeds, &dx, 1, NULL, 0, &d)) != GF_OK) goto out;
    for (int64_t i = 0; i < n; i++) analytic[i] = d->data[i];

    gf_rng rng;
    gf_rng_seed(&rng, o.seed, 0x6763);
    int64_t m = o.max_elements > 0 && o.max_elements < n ? o.max_elements : n;
    for (int64_t i = 0; i < n; i++) pick[i] = i;
    for (int64_t i = 0; i < m && m < n; i++) { /* partial Fisher-Yates */
        int64_t j = i + (int64_t)gf_rng_below(&rng, (uint32_t)(n - i));
        int64_t t = pick[i];
        pick[i] = pick[j];
        pick[j] = t;
    }
    for (int64_t i = 0; i < m; i++) {
        int64_t k = pick[i];
        double h = o.step > 0 ? o.step : 1e-2 * fmax(1.0, fabs((double)x0[k])), dd[2];
        /* Central differences at h and h/2, combined by Richardson
         * extrapolation (4 D(h/2) - D(h)) / 3, which cancels the h^2 term. */
        for (int j = 0; j < 2; j++, h /= 2) {
            double fp, fm, up, down;
            xv[k] = (float)(x0[k] + h);
            up = xv[k];
            if ((st = eval_sum(&p, &fp)) != GF_OK) goto out;
            xv[k] = (float)(x0[k] - h);
            down = xv[k];
            if ((st = eval_sum(&p, &fm)) != GF_OK) goto out;
            xv[k] = x0[k];
            dd[j] = (fp - fm) / (up - down);
        }
        record(result, k, analytic[k], (4 * dd[1] - dd[0]) / 3);
    }
    if (o.directions > 0 && !(u = gf__malloc((size_t)n * sizeof *u))) {
        st = gf__session_fail(s, GF_ERR_NOMEM, "gradient_check: out of memory");
        goto out;
    }
    for (int r = 0; r < o.directions; r++) {
        /* A random unit direction u: the analytic u . grad against central
         * differences along u at h and h/2, extrapolated as above. */
        double norm = 0, dot = 0, dd[2];
        double h = o.step > 0 ? o.step : 1e-2 * sqrt((double)n); /* ~1e-2 per element */
        for (int64_t i = 0; i < n; i++) {
            u[i] = (float)gf_rng_normal(&rng);
            norm += (double)u[i] * u[i];
        }
        norm = sqrt(norm);
        for (int64_t i = 0; i < n; i++) {
            u[i] = (float)(u[i] / norm);
            dot += analytic[i] * u[i];
        }
        for (int j = 0; j < 2; j++, h /= 2) {
            double span = 0, fp = 0, fm = 0; /* span: the rounded step along u */
            for (int64_t i = 0; i < n; i++) {
                xv[i] = (float)(x0[i] + h * u[i]);
                span += (double)xv[i] * u[i];
            }
            st = eval_sum(&p, &fp);
            for (int64_t i = 0; i < n; i++) {
                xv[i] = (float)(x0[i] - h * u[i]);
                span -= (double)xv[i] * u[i];
            }
            if (st == GF_OK) st = eval_sum(&p, &fm);
            memcpy(xv, x0, (size_t)n * sizeof *x0);
            if (st != GF_OK) goto out;
            dd[j] = (fp - fm) / span;
        }
        record(result, -1, dot, (4 * dd[1] - dd[0]) / 3);
    }
out:
    if (x0 && st != GF_OK) memcpy(xv, x0, (size_t)n * sizeof *x0);
    gf__free(analytic);
    gf__free(x0);
    gf__free(pick);
    gf__free(u);
    gf__free(fd);
    gf_tensor_free(copy);
    return st;
}
