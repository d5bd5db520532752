/*
 * article.h — the reference program's network as a reusable builder: the
 * 784-H-10 sigmoid net of the article with its hand-written step.
 */
#ifndef GF_ARTICLE_H
#define GF_ARTICLE_H

#include "gradflow.h"

typedef struct gf_article_net {
    gf_graph *g;                     /* owned: free with gf_graph_free */
    gf_node *a_0, *y;                /* placeholders [?,784], [?,10] */
    gf_node *w_1, *b_1, *w_2, *b_2;  /* variables */
    gf_node *a_2;                    /* network output [?,10] */
    gf_node *acct_res;               /* number of correct predictions, scalar */
    gf_node *step[4];                /* the update, as targets */
    int n_step;
} gf_article_net;

/* Builds the article's graph with `hidden` units and the manual step with
 * learning rate eta (docs/article.md, the hand-written step). Returns the graph's status;
 * on error the message is gf_graph_error(net->g). */
gf_status gf_article_build_manual(gf_article_net *net, int hidden, float eta);

/* The same network with the article's automatic step: cost = diff * diff,
 * GradientDescentOptimizer(lr).minimize(cost) (docs/article.md, the automatic step). */
gf_status gf_article_build_autodiff(gf_article_net *net, int hidden, float lr);

/* The same two networks for other data: `inputs` features per example and
 * `outputs` classes (784 and 10 above). */
gf_status gf_article_build_manual_sized(gf_article_net *net, int inputs, int hidden, int outputs, float eta);
gf_status gf_article_build_autodiff_sized(gf_article_net *net, int inputs, int hidden, int outputs, float lr);

/* The same two networks for data-parallel training and gradient
 * accumulation (docs/parallel.md). The manual step's updates read
 * gf_all_reduce_sum of the weight gradients (sums over the batch) and
 * gf_all_reduce_mean of the bias gradients (means over it), the
 * automatic step minimises with GF_ALL_REDUCE_SUM (its cost sums over
 * the examples): a step of N shards of b examples is then the step the
 * global batch of N*b examples asks for. */
gf_status gf_article_build_manual_dp(gf_article_net *net, int inputs, int hidden, int outputs, float eta);
gf_status gf_article_build_autodiff_dp(gf_article_net *net, int inputs, int hidden, int outputs, float lr);



/* Optional hooks of the training loop (gf_article_train_opts). Both get the
 * ctx given to gf_article_train. on_step: after each training step, with the
 * steps done in this call and opt->steps. on_cost: at each evaluation, just
 * before on_eval, with the value of opt->eval_cost (a scalar node fetched in
 * the same run as acct_res) and on_eval's step. */
typedef void (*gf_article_step_fn)(void *ctx, int64_t done, int64_t steps);
typedef void (*gf_article_cost_fn)(void *ctx, int64_t step, double cost);
/* on_loss: after each training step, with the value of opt->train_loss (a
 * scalar node fetched in the same run as the step). */
typedef void (*gf_article_loss_fn)(void *ctx, double loss);

typedef struct gf_article_train_opts {
    int64_t batch;       /* examples per step (10) */
    int64_t steps;       /* training steps (10000) */
    int64_t eval_every;  /* evaluate after step i when i % eval_every == 0 */
    int64_t eval_size;   /* first eval_size test images (1000) */
    int at_end;          /* 0: after step i when i % eval_every == 0 (the
                            article's loop); 1: after every eval_every-th
                            step, reported as the number of steps done */
    /* Optional (NULL: none; the loop runs exactly as without them). */
    gf_article_step_fn on_step;
    gf_node *eval_cost;  /* fetched with acct_res at each evaluation */
    gf_article_cost_fn on_cost;
    gf_node *train_loss; /* fetched with every training step */
    gf_article_loss_fn on_loss;
    /* Extra feeds (at most GF_ARTICLE_MAX_FEEDS each), e.g. a dropout
     * network's keep probability: train_feeds with every training step,
     * eval_feeds with every evaluation and batch_accuracy run. */
    const gf_feed *train_feeds, *eval_feeds;
    int n_train_feeds, n_eval_feeds;
    int64_t eval_batch;  /* evaluate eval_batch images per run (0: all at once) */
    /* TensorFlow's tutorials' "training accuracy": before the step after
     * step i (i = 0, every, 2 * every, ...), batch_accuracy (a scalar node)
     * is fetched on that step's batch, with eval_feeds, and given to
     * on_batch with the steps done before it (i). i counts from
     * first_step, the steps done before this call (a run in pieces). */
    gf_node *batch_accuracy;
    int64_t batch_every, first_step;
    gf_article_cost_fn on_batch;
    /* Data parallelism and gradient accumulation (docs/parallel.md), for
     * the _dp networks: every global batch of `batch` examples is cut into
     * size * micro equal shards (else the step fails, naming the sizes);
     * this process, rank `rank` of `size`, runs shard k * size + rank as
     * its micro-batch k, with gf_session_accumulate for all but the last
     * (targets: the step and train_loss, which should then be an
     * all-reduce of the loss). 0 and 1 mean none. no_eval: no evaluation
     * and no batch_accuracy (ranks other than 0). */
    int micro, rank, size, no_eval;
} gf_article_train_opts;

#define GF_ARTICLE_MAX_FEEDS 4

/* The number of correct answers (acct_res) on the images xs [n,784] with
 * labels ys [n,10] (or the network's sizes), run opt->eval_batch images at a time (all at once when
 * 0) with opt->eval_feeds; *cost (when not NULL) gets opt->eval_cost's
 * value, averaged over the runs weighted by their images. On error the
 * message is in gf_session_error(s). */
gf_status gf_article_count(const gf_article_net *net, gf_session *s, const gf_tensor *xs, const gf_tensor *ys,
                           const gf_article_train_opts *opt, int64_t *correct, double *cost);

/* Called after each evaluation with the loop index i (as the article's). */
typedef void (*gf_article_eval_fn)(void *ctx, int64_t step, int64_t correct, int64_t total);

/* The article's loop: next_batch, run the step; every eval_every steps count
 * the correct answers on the first eval_size test images. Returns the first
 * error (message in gf_session_error(s), or in msg for data errors);
 * *train_seconds gets the time spent in training steps only. */
gf_status gf_article_train(const gf_article_net *net, gf_session *s, gf_mnist *data,
                           const gf_article_train_opts *opt, gf_article_eval_fn on_eval,
                           void *ctx, double *train_seconds, char *msg, size_t msg_len);

#endif
