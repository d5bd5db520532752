/*
 * zoo.c — the model-zoo networks as reusable graph builders: the "softmax"
 * model of examples/mnist_softmax.c with its hidden size and rate as inputs.
 */
#include "zoo.h"

#include <string.h>

gf_status gf_zoo_build_softmax(gf_zoo_net *net, int hidden, float lr)
{
    return gf_zoo_build_softmax_sized(net, 784, hidden, 10, lr);
}

static gf_status build_softmax(gf_zoo_net *net, int inputs, int hidden, int outputs, float lr, unsigned flags)
{
    memset(net, 0, sizeof *net);
    gf_graph *g = net->g = gf_graph_new();
    if (!g) return GF_ERR_NOMEM;
    net->x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, inputs));
    net->y = gf_placeholder(g, "y", GF_F32, gf_dims(2, GF_ANY, outputs));
    net->w_1 = gf_variable(g, "w_1", gf_truncated_normal(g, gf_dims(2, inputs, hidden), 0, 0.1f));
    net->b_1 = gf_variable(g, "b_1", gf_zeros(g, gf_dims(1, hidden)));
    net->w_2 = gf_variable(g, "w_2", gf_truncated_normal(g, gf_dims(2, hidden, outputs), 0, 0.1f));
    net->b_2 = gf_variable(g, "b_2", gf_zeros(g, gf_dims(1, outputs)));

    gf_node *h = gf_name(gf_relu(gf_add(gf_matmul(net->x, net->w_1), net->b_1)), "h");
    net->logits = gf_name(gf_add(gf_matmul(h, net->w_2), net->b_2), "logits");
    net->probs = gf_name(gf_softmax(net->logits), "probs");
    gf_node *xent = gf_softmax_cross_entropy_with_logits(net->y, net->logits);
    net->loss = gf_name(gf_reduce_mean(xent, NULL, 0, 0), "loss");
    net->step = gf_minimize_ex(gf_adam(g, lr, 0, 0, 0), net->loss, NULL, 0, flags);

    gf_node *hit = gf_cast(gf_equal(gf_argmax(net->logits, 1), gf_argmax(net->y, 1)), GF_F32);
    net->accuracy = gf_name(gf_reduce_mean(hit, NULL, 0, 0), "accuracy");
    net->correct = gf_name(gf_reduce_sum(hit, NULL, 0, 0), "correct");
    return gf_graph_status(g);
}

gf_status gf_zoo_build_softmax_sized(gf_zoo_net *net, int inputs, int hidden, int outputs, float lr)
{
    return build_softmax(net, inputs, hidden, outputs, lr, 0);
}

gf_status gf_zoo_build_softmax_dp(gf_zoo_net *net, int inputs, int hidden, int outputs, float lr)
{
    return build_softmax(net, inputs, hidden, outputs, lr, GF_ALL_REDUCE_MEAN); /* the loss is a mean */
}
