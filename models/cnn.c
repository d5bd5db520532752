/*
 * cnn.c — the "Deep MNIST for Experts" network (cnn.h), built with the same
 * names and ops as examples/deep_mnist.c.
 */
#include "cnn.h"

#include <string.h>

static gf_node *weight_variable(gf_graph *g, const char *name, gf_shape shape)
{
    return gf_variable(g, name, gf_truncated_normal(g, shape, 0, 0.1f));
}

static gf_node *bias_variable(gf_graph *g, const char *name, int n)
{
    return gf_variable(g, name, gf_add(gf_zeros(g, gf_dims(1, n)), gf_scalar(g, 0.1f)));
}

gf_status gf_cnn_build(gf_cnn_net *net, float lr)
{
    return gf_cnn_build_sized(net, 28, 28, 10, lr);
}

static gf_status build(gf_cnn_net *net, int height, int width, int classes, float lr, unsigned flags)
{
    /* Two 2x2 SAME poolings of stride 2: each halves a side, rounding up. */
    int ph = (height + 3) / 4, pw = (width + 3) / 4;
    memset(net, 0, sizeof *net);
    gf_graph *g = net->g = gf_graph_new();
    if (!g) return GF_ERR_NOMEM;
    net->x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, height * width));
    net->y_ = gf_placeholder(g, "y_", GF_F32, gf_dims(2, GF_ANY, classes));
    gf_node *x_image = gf_name(gf_reshape(net->x, gf_dims(4, GF_ANY, height, width, 1)), "x_image");

    net->W_conv1 = weight_variable(g, "W_conv1", gf_dims(4, 5, 5, 1, 32));
    net->b_conv1 = bias_variable(g, "b_conv1", 32);
    gf_node *h_conv1 = gf_name(gf_relu(gf_add(gf_conv2d(x_image, net->W_conv1, 1, 1, GF_SAME), net->b_conv1)),
                               "h_conv1");
    gf_node *h_pool1 = gf_name(gf_max_pool(h_conv1, 2, 2, 2, 2, GF_SAME), "h_pool1");

    net->W_conv2 = weight_variable(g, "W_conv2", gf_dims(4, 5, 5, 32, 64));
    net->b_conv2 = bias_variable(g, "b_conv2", 64);
    gf_node *h_conv2 = gf_name(gf_relu(gf_add(gf_conv2d(h_pool1, net->W_conv2, 1, 1, GF_SAME), net->b_conv2)),
                               "h_conv2");
    net->h_pool2 = gf_name(gf_max_pool(h_conv2, 2, 2, 2, 2, GF_SAME), "h_pool2");

    net->W_fc1 = weight_variable(g, "W_fc1", gf_dims(2, ph * pw * 64, 1024));
    net->b_fc1 = bias_variable(g, "b_fc1", 1024);
    gf_node *h_pool2_flat = gf_name(gf_reshape(net->h_pool2, gf_dims(2, GF_ANY, ph * pw * 64)), "h_pool2_flat");
    gf_node *h_fc1 = gf_name(gf_relu(gf_add(gf_matmul(h_pool2_flat, net->W_fc1), net->b_fc1)), "h_fc1");

    net->keep_prob = gf_placeholder(g, "keep_prob", GF_F32, gf_dims(0));
    gf_node *h_fc1_drop = gf_name(gf_dropout_keep(h_fc1, net->keep_prob, 0), "h_fc1_drop");

    net->W_fc2 = weight_variable(g, "W_fc2", gf_dims(2, 1024, classes));
    net->b_fc2 = bias_variable(g, "b_fc2", classes);
    net->y_conv = gf_name(gf_add(gf_matmul(h_fc1_drop, net->W_fc2), net->b_fc2), "y_conv");
    net->probs = gf_name(gf_softmax(net->y_conv), "probs");

    net->cross_entropy = gf_name(
        gf_reduce_mean(gf_softmax_cross_entropy_with_logits(net->y_, net->y_conv), NULL, 0, 0), "cross_entropy");
    net->train_step =
        gf_minimize_ex(gf_adam(g, lr > 0 ? lr : GF_CNN_LR, 0, 0, 0), net->cross_entropy, NULL, 0, flags);

    gf_node *hit = gf_cast(gf_equal(gf_argmax(net->y_conv, 1), gf_argmax(net->y_, 1)), GF_F32);
    net->accuracy = gf_name(gf_reduce_mean(hit, NULL, 0, 0), "accuracy");
    net->correct = gf_name(gf_reduce_sum(hit, NULL, 0, 0), "correct");

    /* Not in the tutorial: the output again without dropout, for inference
     * (a model file's signature), built last so that no node before it
     * moves (random streams follow node positions). Dropout with
     * keep_prob 1 multiplies by ones, so the bits are those of probs. */
    net->infer_probs = gf_name(gf_softmax(gf_add(gf_matmul(h_fc1, net->W_fc2), net->b_fc2)), "infer_probs");
    return gf_graph_status(g);
}

gf_status gf_cnn_build_sized(gf_cnn_net *net, int height, int width, int classes, float lr)
{
    return build(net, height, width, classes, lr, 0);
}

gf_status gf_cnn_build_dp(gf_cnn_net *net, int height, int width, int classes, float lr)
{
    return build(net, height, width, classes, lr, GF_ALL_REDUCE_MEAN); /* the loss is a mean */
}

gf_status gf_cnn_count_correct(const gf_cnn_net *net, gf_session *s, const float *images, const float *labels,
                               int64_t n, int64_t batch, int64_t *correct)
{
    gf_error err;
    gf_tensor *one = gf_tensor_new(GF_F32, gf_dims(0), &err);
    if (!one) return err.code;
    gf_tensor_data(one)[0] = 1.0f;
    double sum = 0;
    gf_status st = GF_OK;
    for (int64_t at = 0; at < n && st == GF_OK; at += batch) {
        int64_t k = n - at < batch ? n - at : batch;
        gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(2, (int)k, 784), (float *)images + 784 * at, &err);
        gf_tensor *ys = xs ? gf_tensor_wrap(GF_F32, gf_dims(2, (int)k, 10), (float *)labels + 10 * at, &err) : NULL;
        if (!ys) {
            gf_tensor_free(xs);
            st = err.code;
            break;
        }
        gf_feed feed[] = { { net->x, xs }, { net->y_, ys }, { net->keep_prob, one } };
        const gf_tensor *res;
        st = gf_session_run(s, feed, 3, &net->correct, 1, NULL, 0, &res);
        if (st == GF_OK) sum += gf_tensor_data(res)[0];
        gf_tensor_free(xs);
        gf_tensor_free(ys);
    }
    gf_tensor_free(one);
    *correct = (int64_t)sum;
    return st;
}
