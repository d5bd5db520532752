/*
 * backprop_manual.c — the article "Back Propagation with TensorFlow", first
 * half, line by line in C: Nielsen's 784-30-10 sigmoid network with the
 * back-propagation step written by hand as graph operations.
 *
 *   usage: backprop_manual [MNIST_DIR] [SEED]     (default data/mnist, seed 1)
 *
 * Each block below is one block of the Python program in docs/article.md, with
 * the same names. Error checks are gathered where TensorFlow would raise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gradflow.h"

static gf_graph *g;

/* def sigma(x): 1 / (1 + exp(-x)), from primitive ops on purpose */
static gf_node *sigma(gf_node *x)
{
    return gf_div(gf_scalar(g, 1.0f),
                  gf_add(gf_scalar(g, 1.0f), gf_exp(gf_neg(x))));
}

/* def sigmaprime(x): sigma(x) * (1 - sigma(x)) */
static gf_node *sigmaprime(gf_node *x)
{
    return gf_mul(sigma(x), gf_sub(gf_scalar(g, 1.0f), sigma(x)));
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;

    /* mnist = input_data.read_data_sets("MNIST_data/", one_hot=True) */
    gf_error err;
    gf_mnist *mnist;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = seed, .validation_size = -1 }, &mnist, &err)) {
        fprintf(stderr, "backprop_manual: %s\n(run scripts/get-mnist %s to fetch the data)\n",
                err.message, dir);
        return 1;
    }
    if (mnist->is_subset)
        printf("data: the 10,000-digit subset of MNIST (%lld train / %lld test)\n",
               (long long)gf_dataset_count(mnist->train), (long long)gf_dataset_count(mnist->test));

    g = gf_graph_new();
    if (!g) return 1;

    /* Setup: inputs and states */
    gf_node *a_0 = gf_placeholder(g, "a_0", GF_F32, gf_dims(2, GF_ANY, 784));
    gf_node *y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, 10));
    int middle = 30;
    gf_node *w_1 = gf_variable(g, "w_1", gf_truncated_normal(g, gf_dims(2, 784, middle), 0, 1));
    gf_node *b_1 = gf_variable(g, "b_1", gf_truncated_normal(g, gf_dims(2, 1, middle), 0, 1));
    gf_node *w_2 = gf_variable(g, "w_2", gf_truncated_normal(g, gf_dims(2, middle, 10), 0, 1));
    gf_node *b_2 = gf_variable(g, "b_2", gf_truncated_normal(g, gf_dims(2, 1, 10), 0, 1));

    /* Forward propagation */
    gf_node *z_1 = gf_name(gf_add(gf_matmul(a_0, w_1), b_1), "z_1");
    gf_node *a_1 = gf_name(sigma(z_1), "a_1");
    gf_node *z_2 = gf_name(gf_add(gf_matmul(a_1, w_2), b_2), "z_2");
    gf_node *a_2 = gf_name(sigma(z_2), "a_2");

    /* Difference */
    gf_node *diff = gf_name(gf_sub(a_2, y), "diff");

    /* Backward propagation */
    gf_node *d_z_2 = gf_mul(diff, sigmaprime(z_2));
    gf_node *d_b_2 = d_z_2;
    gf_node *d_w_2 = gf_matmul(gf_transpose(a_1), d_z_2);

    gf_node *d_a_1 = gf_matmul(d_z_2, gf_transpose(w_2));
    gf_node *d_z_1 = gf_mul(d_a_1, sigmaprime(z_1));
    gf_node *d_b_1 = d_z_1;
    gf_node *d_w_1 = gf_matmul(gf_transpose(a_0), d_z_1);

    /* Updating the network */
    gf_node *eta = gf_scalar(g, 0.5f);
    int axis0[] = { 0 };
    gf_node *step[] = {
        gf_assign(w_1, gf_sub(w_1, gf_mul(eta, d_w_1))),
        gf_assign(b_1, gf_sub(b_1, gf_mul(eta, gf_reduce_mean(d_b_1, axis0, 1, 0)))),
        gf_assign(w_2, gf_sub(w_2, gf_mul(eta, d_w_2))),
        gf_assign(b_2, gf_sub(b_2, gf_mul(eta, gf_reduce_mean(d_b_2, axis0, 1, 0)))),
    };

    /* Accuracy */
    gf_node *acct_mat = gf_equal(gf_argmax(a_2, 1), gf_argmax(y, 1));
    gf_node *acct_res = gf_reduce_sum(gf_cast(acct_mat, GF_F32), NULL, 0, 0);

    if (gf_graph_status(g)) {
        fprintf(stderr, "backprop_manual: building the graph: %s\n", gf_graph_error(g));
        return 1;
    }

    /* sess.run(tf.global_variables_initializer()) */
    gf_session *sess = gf_session_new(g, &(gf_session_options){ .seed = seed });
    if (!sess || gf_session_status(sess)) {
        fprintf(stderr, "backprop_manual: %s\n", sess ? gf_session_error(sess) : "out of memory");
        return 1;
    }

    /* Running and testing */
    const gf_tensor *test_xs, *test_ys;
    gf_dataset_head(mnist->test, 1000, &test_xs, &test_ys);
    for (int i = 0; i < 10000; i++) {
        const gf_tensor *batch_xs, *batch_ys;
        gf_dataset_next_batch(mnist->train, 10, &batch_xs, &batch_ys);
        gf_feed feed[] = { { a_0, batch_xs }, { y, batch_ys } };
        if (gf_session_run(sess, feed, 2, NULL, 0, step, 4, NULL)) break;
        if (i % 1000 == 0) {
            gf_feed test[] = { { a_0, test_xs }, { y, test_ys } };
            const gf_tensor *res;
            if (gf_session_run(sess, test, 2, &acct_res, 1, NULL, 0, &res)) break;
            printf("step %5d  correct %4.0f/%lld\n", i, gf_tensor_data(res)[0],
                   (long long)gf_tensor_shape(test_xs).dim[0]);
        }
    }
    /* Not in the article: one more count after the last step, so that the
     * last number printed is that of the trained weights. */
    if (!gf_session_error(sess)[0]) {
        gf_feed test[] = { { a_0, test_xs }, { y, test_ys } };
        const gf_tensor *res;
        if (!gf_session_run(sess, test, 2, &acct_res, 1, NULL, 0, &res))
            printf("final (after 10000 steps)  correct %4.0f/%lld\n", gf_tensor_data(res)[0],
                   (long long)gf_tensor_shape(test_xs).dim[0]);
    }
    int status = gf_session_error(sess)[0] ? 1 : 0;
    if (status) fprintf(stderr, "backprop_manual: %s\n", gf_session_error(sess));

    gf_session_free(sess);
    gf_graph_free(g);
    gf_mnist_free(mnist);
    return status;
}
