/*
 * article.c — the article's program's graph (docs/article.md), built with the
 * same names and ops as examples/backprop_manual.c, with H and eta as inputs.
 */
#include "article.h"

#include <stdbool.h>
#include <stdio.h>

static gf_node *sigma(gf_graph *g, gf_node *x)
{
    return gf_div(gf_scalar(g, 1.0f), gf_add(gf_scalar(g, 1.0f), gf_exp(gf_neg(x))));
}

static gf_node *sigmaprime(gf_graph *g, gf_node *x)
{
    return gf_mul(sigma(g, x), gf_sub(gf_scalar(g, 1.0f), sigma(g, x)));
}

/* Forward pass shared by every step variant: fills a_0..b_2, a_2, acct_res
 * and returns z_1 and z_2 for the manual backward pass. */
static void forward(gf_article_net *net, int inputs, int hidden, int outputs, gf_node **a_1, gf_node **z_1,
                    gf_node **z_2)
{
    gf_graph *g = net->g;
    net->a_0 = gf_placeholder(g, "a_0", GF_F32, gf_dims(2, GF_ANY, inputs));
    net->y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, outputs));
    net->w_1 = gf_variable(g, "w_1", gf_truncated_normal(g, gf_dims(2, inputs, hidden), 0, 1));
    net->b_1 = gf_variable(g, "b_1", gf_truncated_normal(g, gf_dims(2, 1, hidden), 0, 1));
    net->w_2 = gf_variable(g, "w_2", gf_truncated_normal(g, gf_dims(2, hidden, outputs), 0, 1));
    net->b_2 = gf_variable(g, "b_2", gf_truncated_normal(g, gf_dims(2, 1, outputs), 0, 1));

    *z_1 = gf_name(gf_add(gf_matmul(net->a_0, net->w_1), net->b_1), "z_1");
    *a_1 = gf_name(sigma(g, *z_1), "a_1");
    *z_2 = gf_name(gf_add(gf_matmul(*a_1, net->w_2), net->b_2), "z_2");
    net->a_2 = gf_name(sigma(g, *z_2), "a_2");

    gf_node *acct_mat = gf_equal(gf_argmax(net->a_2, 1), gf_argmax(net->y, 1));
    net->acct_res = gf_name(gf_reduce_sum(gf_cast(acct_mat, GF_F32), NULL, 0, 0), "acct_res");
}

gf_status gf_article_build_manual(gf_article_net *net, int hidden, float eta_value)
{
    return gf_article_build_manual_sized(net, 784, hidden, 10, eta_value);
}

/* gf_all_reduce_sum (sum) or _mean of x, named "all_reduce/VAR" (dp), or x. */
static gf_node *reduced(gf_node *x, gf_node *var, bool sum, bool dp)
{
    if (!dp) return x;
    char name[80];
    snprintf(name, sizeof name, "all_reduce/%s", gf_node_name(var));
    return gf_name(sum ? gf_all_reduce_sum(x) : gf_all_reduce_mean(x), name);
}

static gf_status build_manual(gf_article_net *net, int inputs, int hidden, int outputs, float eta_value, bool dp)
{
    gf_graph *g = net->g = gf_graph_new();
    if (!g) return GF_ERR_NOMEM;
    gf_node *a_1, *z_1, *z_2;
    forward(net, inputs, hidden, outputs, &a_1, &z_1, &z_2);

    gf_node *diff = gf_name(gf_sub(net->a_2, net->y), "diff");
    gf_node *d_z_2 = gf_name(gf_mul(diff, sigmaprime(g, z_2)), "d_z_2");
    gf_node *d_b_2 = d_z_2;
    gf_node *d_w_2 = gf_name(gf_matmul(gf_transpose(a_1), d_z_2), "d_w_2");
    gf_node *d_a_1 = gf_name(gf_matmul(d_z_2, gf_transpose(net->w_2)), "d_a_1");
    gf_node *d_z_1 = gf_name(gf_mul(d_a_1, sigmaprime(g, z_1)), "d_z_1");
    gf_node *d_b_1 = d_z_1;
    gf_node *d_w_1 = gf_name(gf_matmul(gf_transpose(net->a_0), d_z_1), "d_w_1");

    gf_node *eta = gf_name(gf_scalar(g, eta_value), "eta");
    int axis0[] = { 0 };
    /* Data-parallel: the weight gradients are sums over the batch, the
     * bias gradients means; each is reduced as what it is. */
    gf_node *g_w_1 = reduced(d_w_1, net->w_1, true, dp), *g_w_2 = reduced(d_w_2, net->w_2, true, dp);
    gf_node *g_b_1 = reduced(gf_reduce_mean(d_b_1, axis0, 1, 0), net->b_1, false, dp);
    gf_node *g_b_2 = reduced(gf_reduce_mean(d_b_2, axis0, 1, 0), net->b_2, false, dp);
    net->step[0] = gf_assign(net->w_1, gf_sub(net->w_1, gf_mul(eta, g_w_1)));
    net->step[1] = gf_assign(net->b_1, gf_sub(net->b_1, gf_mul(eta, g_b_1)));
    net->step[2] = gf_assign(net->w_2, gf_sub(net->w_2, gf_mul(eta, g_w_2)));
    net->step[3] = gf_assign(net->b_2, gf_sub(net->b_2, gf_mul(eta, g_b_2)));
    net->n_step = 4;
    return gf_graph_status(g);
}

gf_status gf_article_build_manual_sized(gf_article_net *net, int inputs, int hidden, int outputs, float eta)
{
    return build_manual(net, inputs, hidden, outputs, eta, false);
}

gf_status gf_article_build_manual_dp(gf_article_net *net, int inputs, int hidden, int outputs, float eta)
{
    return build_manual(net, inputs, hidden, outputs, eta, true);
}

gf_status gf_article_build_autodiff(gf_article_net *net, int hidden, float lr)
{
    return gf_article_build_autodiff_sized(net, 784, hidden, 10, lr);
}

static gf_status build_autodiff(gf_article_net *net, int inputs, int hidden, int outputs, float lr, unsigned flags)
{
    gf_graph *g = net->g = gf_graph_new();
    if (!g) return GF_ERR_NOMEM;
    gf_node *a_1, *z_1, *z_2;
    forward(net, inputs, hidden, outputs, &a_1, &z_1, &z_2);
    gf_node *diff = gf_name(gf_sub(net->a_2, net->y), "diff");
    gf_node *cost = gf_name(gf_mul(diff, diff), "cost");
    net->step[0] = gf_minimize_ex(gf_gradient_descent(g, lr), cost, NULL, 0, flags);
    net->n_step = 1;
    return gf_graph_status(g);
}

gf_status gf_article_build_autodiff_sized(gf_article_net *net, int inputs, int hidden, int outputs, float lr)
{
    return build_autodiff(net, inputs, hidden, outputs, lr, 0);
}

gf_status gf_article_build_autodiff_dp(gf_article_net *net, int inputs, int hidden, int outputs, float lr)
{
    return build_autodiff(net, inputs, hidden, outputs, lr, GF_ALL_REDUCE_SUM); /* its cost sums */
}

#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* feeds[0..n) = base then extra (n_extra <= GF_ARTICLE_MAX_FEEDS). */
static int join_feeds(gf_feed *out, gf_node *x, const gf_tensor *xs, gf_node *y, const gf_tensor *ys,
                      const gf_feed *extra, int n_extra)
{
    out[0] = (gf_feed){ x, xs };
    out[1] = (gf_feed){ y, ys };
    for (int k = 0; k < n_extra && k < GF_ARTICLE_MAX_FEEDS; k++) out[2 + k] = extra[k];
    return 2 + (n_extra < GF_ARTICLE_MAX_FEEDS ? n_extra : GF_ARTICLE_MAX_FEEDS);
}

gf_status gf_article_count(const gf_article_net *net, gf_session *s, const gf_tensor *xs, const gf_tensor *ys,
                           const gf_article_train_opts *opt, int64_t *correct, double *cost)
{
    int64_t n = gf_tensor_shape(xs).dim[0], chunk = opt->eval_batch > 0 ? opt->eval_batch : n;
    /* Each example's features and label row, whatever the network's sizes. */
    int64_t in = n ? gf_tensor_count(xs) / n : 0, out = n ? gf_tensor_count(ys) / n : 0;
    double sum = 0, cost_sum = 0;
    gf_node *fetch[2] = { net->acct_res, opt->eval_cost };
    int n_fetch = cost && opt->eval_cost ? 2 : 1;
    for (int64_t at = 0; at < n; at += chunk) {
        int64_t k = n - at < chunk ? n - at : chunk;
        /* Views of rows at..at+k-1: headers over the caller's memory. */
        gf_tensor *vx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)k, (int)in), gf_tensor_data(xs) + in * at, NULL);
        gf_tensor *vy = gf_tensor_wrap(GF_F32, gf_dims(2, (int)k, (int)out), gf_tensor_data(ys) + out * at, NULL);
        gf_feed feed[2 + GF_ARTICLE_MAX_FEEDS];
        int n_feed = join_feeds(feed, net->a_0, vx, net->y, vy, opt->eval_feeds, opt->n_eval_feeds);
        const gf_tensor *outs[2];
        gf_status st = vx && vy ? gf_session_run(s, feed, n_feed, fetch, n_fetch, NULL, 0, outs) : GF_ERR_NOMEM;
        gf_tensor_free(vx);
        gf_tensor_free(vy);
        if (st != GF_OK) return st;
        sum += gf_tensor_data(outs[0])[0];
        if (n_fetch == 2) cost_sum += gf_tensor_data(outs[1])[0] * (double)k;
    }
    *correct = (int64_t)sum;
    if (cost && opt->eval_cost) *cost = n ? cost_sum / (double)n : 0;
    return GF_OK;
}

/* One training step on the global batch xs, ys: alone, the step run on
 * it; data-parallel, this rank's shards of it, micro-batch k being shard
 * k * size + rank of the batch cut in size * micro (gf_session_accumulate
 * for all but the last). *loss gets opt->train_loss from the last run. */
static gf_status train_step(const gf_article_net *net, gf_session *s, const gf_article_train_opts *opt,
                            const gf_tensor *xs, const gf_tensor *ys, const gf_tensor **loss, char *msg,
                            size_t msg_len)
{
    int with_loss = opt->train_loss != NULL;
    int micro = opt->micro > 1 ? opt->micro : 1, size = opt->size > 1 ? opt->size : 1;
    gf_feed feed[2 + GF_ARTICLE_MAX_FEEDS];
    if (micro == 1 && size == 1) {
        int n_feed = join_feeds(feed, net->a_0, xs, net->y, ys, opt->train_feeds, opt->n_train_feeds);
        return gf_session_run(s, feed, n_feed, with_loss ? &opt->train_loss : NULL, with_loss, net->step,
                              net->n_step, with_loss ? loss : NULL);
    }
    int64_t n = gf_tensor_shape(xs).dim[0], parts = (int64_t)micro * size, rows = n / parts;
    if (n % parts) {
        snprintf(msg, msg_len, "a batch of %lld examples does not split into %lld equal shards",
                 (long long)n, (long long)parts);
        return GF_ERR_ARG;
    }
    int64_t in = gf_tensor_count(xs) / n, out = gf_tensor_count(ys) / n;
    gf_node *targets[5];
    int n_targets = 0;
    for (int i = 0; i < net->n_step && i < 4; i++) targets[n_targets++] = net->step[i];
    if (with_loss) targets[n_targets++] = opt->train_loss; /* its all-reduce sums the shards' losses */
    gf_status st = GF_OK;
    for (int k = 0; k < micro && st == GF_OK; k++) {
        int64_t shard = (int64_t)k * size + opt->rank;
        gf_tensor *vx = gf_tensor_wrap(GF_F32, gf_dims(2, (int)rows, (int)in), gf_tensor_data(xs) + in * rows * shard,
                                       NULL);
        gf_tensor *vy = gf_tensor_wrap(GF_F32, gf_dims(2, (int)rows, (int)out),
                                       gf_tensor_data(ys) + out * rows * shard, NULL);
        int n_feed = join_feeds(feed, net->a_0, vx, net->y, vy, opt->train_feeds, opt->n_train_feeds);
        if (!vx || !vy) st = GF_ERR_NOMEM;
        else if (k < micro - 1) st = gf_session_accumulate(s, feed, n_feed, targets, n_targets);
        else st = gf_session_run(s, feed, n_feed, with_loss ? &opt->train_loss : NULL, with_loss, net->step,
                                 net->n_step, with_loss ? loss : NULL);
        gf_tensor_free(vx);
        gf_tensor_free(vy);
    }
    if (st == GF_ERR_NOMEM && !gf_session_error(s)[0]) snprintf(msg, msg_len, "out of memory");
    else if (st != GF_OK) snprintf(msg, msg_len, "%s", gf_session_error(s));
    return st;
}

gf_status gf_article_train(const gf_article_net *net, gf_session *s, gf_mnist *data,
                           const gf_article_train_opts *opt, gf_article_eval_fn on_eval,
                           void *ctx, double *train_seconds, char *msg, size_t msg_len)
{
    const gf_tensor *test_xs, *test_ys;
    gf_status st = gf_dataset_head(data->test, opt->eval_size, &test_xs, &test_ys);
    if (st == GF_OK && !test_xs) st = GF_ERR_ARG;
    if (st != GF_OK) {
        snprintf(msg, msg_len, "the test set is empty");
        return st;
    }
    double spent = 0;
    for (int64_t i = 0; i < opt->steps; i++) {
        const gf_tensor *xs, *ys;
        st = gf_dataset_next_batch(data->train, opt->batch, &xs, &ys);
        if (st != GF_OK) {
            snprintf(msg, msg_len, "next_batch(%lld) on %lld training examples failed",
                     (long long)opt->batch, (long long)gf_dataset_count(data->train));
            return st;
        }
        gf_feed feed[2 + GF_ARTICLE_MAX_FEEDS];
        if (opt->batch_accuracy && opt->batch_every > 0 && (opt->first_step + i) % opt->batch_every == 0 &&
            !opt->no_eval) {
            int n_feed = join_feeds(feed, net->a_0, xs, net->y, ys, opt->eval_feeds, opt->n_eval_feeds);
            const gf_tensor *acc;
            st = gf_session_run(s, feed, n_feed, &opt->batch_accuracy, 1, NULL, 0, &acc);
            if (st != GF_OK) {
                snprintf(msg, msg_len, "%s", gf_session_error(s));
                return st;
            }
            if (opt->on_batch) opt->on_batch(ctx, opt->first_step + i, gf_tensor_data(acc)[0]);
        }
        double t0 = now_seconds();
        const gf_tensor *loss = NULL;
        st = train_step(net, s, opt, xs, ys, &loss, msg, msg_len);
        spent += now_seconds() - t0;
        if (st != GF_OK) return st;
        if (loss && opt->on_loss) opt->on_loss(ctx, gf_tensor_data(loss)[0]);
        if (opt->on_step) opt->on_step(ctx, i + 1, opt->steps);
        bool due = !opt->no_eval && opt->eval_every > 0 &&
                   (opt->at_end ? (i + 1) % opt->eval_every == 0 : i % opt->eval_every == 0);
        if (due) {
            int64_t correct;
            double cost = 0;
            st = gf_article_count(net, s, test_xs, test_ys, opt, &correct, &cost);
            if (st != GF_OK) {
                snprintf(msg, msg_len, "%s", gf_session_error(s));
                return st;
            }
            if (opt->eval_cost && opt->on_cost) opt->on_cost(ctx, opt->at_end ? i + 1 : i, cost);
            if (on_eval) on_eval(ctx, opt->at_end ? i + 1 : i, correct, gf_tensor_shape(test_xs).dim[0]);
        }
    }
    if (train_seconds) *train_seconds = spent;
    return GF_OK;
}
