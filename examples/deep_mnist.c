/*
 * deep_mnist.c — TensorFlow's tutorial "Deep MNIST for Experts" line by line
 * in C: two convolution and max-pooling blocks, a densely connected layer of
 * 1024 relu units with dropout, a softmax readout, Adam.
 *
 *   usage: deep_mnist [MNIST_DIR] [SEED] [STEPS]
 *          (default data/mnist, seed 1, the tutorial's 20000 steps)
 *
 * Each block below is one block of the Python program in docs/deep-mnist.md,
 * with the same names. Error checks are gathered where TensorFlow would
 * raise. On one core the 20,000 steps take a long while: give fewer STEPS to
 * try it out.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gradflow.h"

static gf_graph *g;

/* def weight_variable(shape): truncated_normal(shape, stddev=0.1) */
static gf_node *weight_variable(const char *name, gf_shape shape)
{
    return gf_variable(g, name, gf_truncated_normal(g, shape, 0, 0.1f));
}

/* def bias_variable(shape): constant(0.1, shape=shape) */
static gf_node *bias_variable(const char *name, int n)
{
    return gf_variable(g, name, gf_add(gf_zeros(g, gf_dims(1, n)), gf_scalar(g, 0.1f)));
}

/* def conv2d(x, W): strides [1, 1, 1, 1], padding 'SAME' */
static gf_node *conv2d(gf_node *x, gf_node *W)
{
    return gf_conv2d(x, W, 1, 1, GF_SAME);
}

/* def max_pool_2x2(x): ksize [1, 2, 2, 1], strides [1, 2, 2, 1], 'SAME' */
static gf_node *max_pool_2x2(gf_node *x)
{
    return gf_max_pool(x, 2, 2, 2, 2, GF_SAME);
}

/* accuracy.eval() on the whole test set, 1000 images per run: all 10,000
 * at once would need over a gigabyte for h_conv1 alone. */
static int test_accuracy(gf_session *sess, gf_dataset *test, gf_node *x, gf_node *y_, gf_node *keep_prob,
                         gf_node *correct, double *accuracy)
{
    int64_t n = gf_dataset_count(test), right = 0;
    float *images = gf_tensor_data(gf_dataset_images(test)), *labels = gf_tensor_data(gf_dataset_labels(test));
    gf_tensor *one = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    if (!one) return 1;
    gf_tensor_data(one)[0] = 1.0f;
    int status = 0;
    for (int64_t at = 0; at < n && !status; at += 1000) {
        int k = (int)(n - at < 1000 ? n - at : 1000);
        gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(2, k, 784), images + 784 * at, NULL);
        gf_tensor *ys = gf_tensor_wrap(GF_F32, gf_dims(2, k, 10), labels + 10 * at, NULL);
        gf_feed feed[] = { { x, xs }, { y_, ys }, { keep_prob, one } };
        const gf_tensor *c;
        status = !xs || !ys || gf_session_run(sess, feed, 3, &correct, 1, NULL, 0, &c);
        if (!status) right += (int64_t)gf_tensor_data(c)[0];
        gf_tensor_free(xs);
        gf_tensor_free(ys);
    }
    gf_tensor_free(one);
    *accuracy = n ? (double)right / (double)n : 0;
    return status;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    int steps = argc > 3 ? atoi(argv[3]) : 20000;

    /* mnist = input_data.read_data_sets('MNIST_data', one_hot=True) */
    gf_error err;
    gf_mnist *mnist;
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = seed, .validation_size = -1 }, &mnist, &err)) {
        fprintf(stderr, "deep_mnist: %s\n(run scripts/get-mnist %s to fetch the data)\n", err.message, dir);
        return 1;
    }
    g = gf_graph_new();
    if (!g) return 1;

    /* x = tf.placeholder(tf.float32, shape=[None, 784]), y_ likewise [None, 10] */
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 784));
    gf_node *y_ = gf_placeholder(g, "y_", GF_F32, gf_dims(2, GF_ANY, 10));

    /* First convolutional layer */
    gf_node *W_conv1 = weight_variable("W_conv1", gf_dims(4, 5, 5, 1, 32));
    gf_node *b_conv1 = bias_variable("b_conv1", 32);
    gf_node *x_image = gf_reshape(x, gf_dims(4, GF_ANY, 28, 28, 1));
    gf_node *h_conv1 = gf_relu(gf_add(conv2d(x_image, W_conv1), b_conv1));
    gf_node *h_pool1 = max_pool_2x2(h_conv1);

    /* Second convolutional layer */
    gf_node *W_conv2 = weight_variable("W_conv2", gf_dims(4, 5, 5, 32, 64));
    gf_node *b_conv2 = bias_variable("b_conv2", 64);
    gf_node *h_conv2 = gf_relu(gf_add(conv2d(h_pool1, W_conv2), b_conv2));
    gf_node *h_pool2 = max_pool_2x2(h_conv2);

    /* Densely connected layer */
    gf_node *W_fc1 = weight_variable("W_fc1", gf_dims(2, 7 * 7 * 64, 1024));
    gf_node *b_fc1 = bias_variable("b_fc1", 1024);
    gf_node *h_pool2_flat = gf_reshape(h_pool2, gf_dims(2, GF_ANY, 7 * 7 * 64));
    gf_node *h_fc1 = gf_relu(gf_add(gf_matmul(h_pool2_flat, W_fc1), b_fc1));

    /* Dropout */
    gf_node *keep_prob = gf_placeholder(g, "keep_prob", GF_F32, gf_dims(0));
    gf_node *h_fc1_drop = gf_dropout_keep(h_fc1, keep_prob, 0);

    /* Readout layer */
    gf_node *W_fc2 = weight_variable("W_fc2", gf_dims(2, 1024, 10));
    gf_node *b_fc2 = bias_variable("b_fc2", 10);
    gf_node *y_conv = gf_add(gf_matmul(h_fc1_drop, W_fc2), b_fc2);

    /* Train and evaluate the model */
    gf_node *cross_entropy = gf_reduce_mean(gf_softmax_cross_entropy_with_logits(y_, y_conv), NULL, 0, 0);
    gf_node *train_step = gf_minimize(gf_adam(g, 1e-4f, 0, 0, 0), cross_entropy, NULL, 0);
    gf_node *correct_prediction = gf_equal(gf_argmax(y_conv, 1), gf_argmax(y_, 1));
    gf_node *accuracy = gf_reduce_mean(gf_cast(correct_prediction, GF_F32), NULL, 0, 0);
    gf_node *correct = gf_reduce_sum(gf_cast(correct_prediction, GF_F32), NULL, 0, 0);

    if (gf_graph_status(g)) {
        fprintf(stderr, "deep_mnist: building the graph: %s\n", gf_graph_error(g));
        return 1;
    }

    /* sess.run(tf.global_variables_initializer()) */
    gf_session *sess = gf_session_new(g, &(gf_session_options){ .seed = seed });
    if (!sess || gf_session_status(sess)) {
        fprintf(stderr, "deep_mnist: %s\n", sess ? gf_session_error(sess) : "out of memory");
        return 1;
    }

    /* keep_prob's two values: 1.0 to measure, 0.5 to train */
    gf_tensor *keep_1 = gf_tensor_new(GF_F32, gf_dims(0), NULL), *keep_half = gf_tensor_new(GF_F32, gf_dims(0), NULL);
    if (!keep_1 || !keep_half) return 1;
    gf_tensor_data(keep_1)[0] = 1.0f;
    gf_tensor_data(keep_half)[0] = 0.5f;

    int status = 0;
    for (int i = 0; i < steps && !status; i++) {
        const gf_tensor *batch_xs, *batch_ys;
        gf_dataset_next_batch(mnist->train, 50, &batch_xs, &batch_ys);
        if (i % 100 == 0) {
            gf_feed feed[] = { { x, batch_xs }, { y_, batch_ys }, { keep_prob, keep_1 } };
            const gf_tensor *train_accuracy;
            if ((status = gf_session_run(sess, feed, 3, &accuracy, 1, NULL, 0, &train_accuracy) != GF_OK)) break;
            printf("step %d, training accuracy %g\n", i, gf_tensor_data(train_accuracy)[0]);
            fflush(stdout);
        }
        gf_feed feed[] = { { x, batch_xs }, { y_, batch_ys }, { keep_prob, keep_half } };
        status = gf_session_run(sess, feed, 3, NULL, 0, &train_step, 1, NULL) != GF_OK;
    }
    double test;
    if (!status) status = test_accuracy(sess, mnist->test, x, y_, keep_prob, correct, &test);
    if (!status) printf("test accuracy %g\n", test);
    else fprintf(stderr, "deep_mnist: %s\n", gf_session_error(sess));

    gf_tensor_free(keep_1);
    gf_tensor_free(keep_half);
    gf_session_free(sess);
    gf_graph_free(g);
    gf_mnist_free(mnist);
    return status;
}
