/*
 * article.c — the article's program's graph (docs/article.md), built with the
 * same names and ops as examples/backprop_manual.c, with H and eta as inputs.
 */
#include "article.h"

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
static void forward(gf_article_net *net, int hidden, gf_node **a_1, gf_node **z_1, gf_node **z_2)
{
    gf_graph *g = net->g;
    net->a_0 = gf_placeholder(g, "a_0", GF_F32, gf_dims(2, GF_ANY, 784));
    net->y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, 10));
    net->w_1 = gf_variable(g, "w_1", gf_truncated_normal(g, gf_dims(2, 784, hidden), 0, 1));
    net->b_1 = gf_variable(g, "b_1", gf_truncated_normal(g, gf_dims(2, 1, hidden), 0, 1));
    net->w_2 = gf_variable(g, "w_2", gf_truncated_normal(g, gf_dims(2, hidden, 10), 0, 1));
    net->b_2 = gf_variable(g, "b_2", gf_truncated_normal(g, gf_dims(2, 1, 10), 0, 1));

    *z_1 = gf_name(gf_add(gf_matmul(net->a_0, net->w_1), net->b_1), "z_1");
    *a_1 = gf_name(sigma(g, *z_1), "a_1");
    *z_2 = gf_name(gf_add(gf_matmul(*a_1, net->w_2), net->b_2), "z_2");
    net->a_2 = gf_name(sigma(g, *z_2), "a_2");

    gf_node *acct_mat = gf_equal(gf_argmax(net->a_2, 1), gf_argmax(net->y, 1));
    net->acct_res = gf_name(gf_reduce_sum(gf_cast(acct_mat, GF_F32), NULL, 0, 0), "acct_res");
}

gf_status gf_article_build_manual(gf_article_net *net, int hidden, float eta_value)
{
    gf_graph *g = net->g = gf_graph_new();
    if (!g) return GF_ERR_NOMEM;
    gf_node *a_1, *z_1, *z_2;
    forward(net, hidden, &a_1, &z_1, &z_2);

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
    net->step[0] = gf_assign(net->w_1, gf_sub(net->w_1, gf_mul(eta, d_w_1)));
    net->step[1] = gf_assign(net->b_1, gf_sub(net->b_1, gf_mul(eta, gf_reduce_mean(d_b_1, axis0, 1, 0))));
    net->step[2] = gf_assign(net->w_2, gf_sub(net->w_2, gf_mul(eta, d_w_2)));
    net->step[3] = gf_assign(net->b_2, gf_sub(net->b_2, gf_mul(eta, gf_reduce_mean(d_b_2, axis0, 1, 0))));
    net->n_step = 4;
    return gf_graph_status(g);
}

gf_status gf_article_build_autodiff(gf_article_net *net, int hidden, float lr)
{
    gf_graph *g = net->g = gf_graph_new();
    if (!g) return GF_ERR_NOMEM;
    gf_node *a_1, *z_1, *z_2;
    forward(net, hidden, &a_1, &z_1, &z_2);
    gf_node *diff = gf_name(gf_sub(net->a_2, net->y), "diff");
    gf_node *cost = gf_name(gf_mul(diff, diff), "cost");
    net->step[0] = gf_minimize(gf_gradient_descent(g, lr), cost, NULL, 0);
    net->n_step = 1;
    return gf_graph_status(g);
}

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
        gf_feed feed[] = { { net->a_0, xs }, { net->y, ys } };
        double t0 = now_seconds();
        const gf_tensor *loss = NULL;
        int with_loss = opt->train_loss != NULL;
        st = gf_session_run(s, feed, 2, with_loss ? &opt->train_loss : NULL, with_loss, net->step, net->n_step,
                            with_loss ? &loss : NULL);
        spent += now_seconds() - t0;
        if (st != GF_OK) {
            snprintf(msg, msg_len, "%s", gf_session_error(s));
            return st;
        }
        if (with_loss && opt->on_loss) opt->on_loss(ctx, gf_tensor_data(loss)[0]);
        if (opt->on_step) opt->on_step(ctx, i + 1, opt->steps);
        bool due = opt->eval_every > 0 &&
                   (opt->at_end ? (i + 1) % opt->eval_every == 0 : i % opt->eval_every == 0);
        if (due) {
            gf_feed test[] = { { net->a_0, test_xs }, { net->y, test_ys } };
            const gf_tensor *res, *outs[2];
            gf_node *fetch[2] = { net->acct_res, opt->eval_cost };
            st = gf_session_run(s, test, 2, fetch, opt->eval_cost ? 2 : 1, NULL, 0, outs);
            if (st != GF_OK) {
                snprintf(msg, msg_len, "%s", gf_session_error(s));
                return st;
            }
            res = outs[0];
            if (opt->eval_cost && opt->on_cost)
                opt->on_cost(ctx, opt->at_end ? i + 1 : i, gf_tensor_data(outs[1])[0]);
            if (on_eval)
                on_eval(ctx, opt->at_end ? i + 1 : i, (int64_t)gf_tensor_data(res)[0], gf_tensor_shape(test_xs).dim[0]);
        }
    }
    if (train_seconds) *train_seconds = spent;
    return GF_OK;
}
