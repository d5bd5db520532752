/*
 * mnist_softmax.c — the network people train after the article's: 784-100-10
 * with a relu hidden layer, softmax cross-entropy loss and Adam.
 *
 *   usage: mnist_softmax [DIR] [SEED]   (default data/mnist, seed 1)
 *
 * DIR holds MNIST-style IDX files (MNIST, its 10,000-digit subset, or
 * Fashion-MNIST). Trains 10 epochs of batches of 16 and prints the test
 * accuracy after each. The TensorFlow 1.x program it mirrors:
 *
 *   x  = tf.placeholder(tf.float32, [None, 784])
 *   y_ = tf.placeholder(tf.float32, [None, 10])
 *   w1 = tf.Variable(tf.truncated_normal([784, 100], stddev=0.1))
 *   b1 = tf.Variable(tf.zeros([100]))
 *   h  = tf.nn.relu(tf.matmul(x, w1) + b1)
 *   w2 = tf.Variable(tf.truncated_normal([100, 10], stddev=0.1))
 *   b2 = tf.Variable(tf.zeros([10]))
 *   logits = tf.matmul(h, w2) + b2
 *   cost = tf.reduce_mean(
 *       tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
 *   step = tf.train.AdamOptimizer().minimize(cost)
 *   correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
 *   accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
 */
#include <stdio.h>
#include <stdlib.h>

#include "gradflow.h"

#define HIDDEN 100
#define BATCH 16
#define EPOCHS 10

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;

    gf_error err;
    gf_mnist *data;
    /* validation_size 0: every training image trains (nothing is tuned here) */
    if (gf_mnist_load(dir, &(gf_mnist_options){ .seed = seed, .validation_size = 0 }, &data, &err)) {
        fprintf(stderr, "mnist_softmax: %s\n(run scripts/get-mnist %s to fetch MNIST)\n", err.message, dir);
        return 1;
    }
    int64_t n_train = gf_dataset_count(data->train), n_test = gf_dataset_count(data->test);
    printf("data: %s, %lld train / %lld test images\n", dir, (long long)n_train, (long long)n_test);

    gf_graph *g = gf_graph_new();
    if (!g) return 1;

    /* The network */
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(2, GF_ANY, 784));
    gf_node *y_ = gf_placeholder(g, "y_", GF_F32, gf_dims(2, GF_ANY, 10));
    gf_node *w1 = gf_variable(g, "w1", gf_truncated_normal(g, gf_dims(2, 784, HIDDEN), 0, 0.1f));
    gf_node *b1 = gf_variable(g, "b1", gf_zeros(g, gf_dims(1, HIDDEN)));
    gf_node *h = gf_name(gf_relu(gf_add(gf_matmul(x, w1), b1)), "h");
    gf_node *w2 = gf_variable(g, "w2", gf_truncated_normal(g, gf_dims(2, HIDDEN, 10), 0, 0.1f));
    gf_node *b2 = gf_variable(g, "b2", gf_zeros(g, gf_dims(1, 10)));
    gf_node *logits = gf_name(gf_add(gf_matmul(h, w2), b2), "logits");

    /* Loss: the batch's mean cross-entropy; Adam with TensorFlow's defaults */
    gf_node *cost = gf_name(gf_reduce_mean(gf_softmax_cross_entropy_with_logits(y_, logits), NULL, 0, 0),
                            "cost");
    gf_node *step = gf_minimize(gf_adam(g, 0, 0, 0, 0), cost, NULL, 0);

    /* Accuracy: the fraction of images whose largest logit is the label */
    gf_node *correct = gf_equal(gf_argmax(logits, 1), gf_argmax(y_, 1));
    gf_node *accuracy = gf_name(gf_reduce_mean(gf_cast(correct, GF_F32), NULL, 0, 0), "accuracy");

    if (gf_graph_status(g)) {
        fprintf(stderr, "mnist_softmax: building the graph: %s\n", gf_graph_error(g));
        return 1;
    }
    gf_session *sess = gf_session_new(g, &(gf_session_options){ .seed = seed });
    if (!sess || gf_session_status(sess)) {
        fprintf(stderr, "mnist_softmax: %s\n", sess ? gf_session_error(sess) : "out of memory");
        return 1;
    }

    gf_feed test[] = { { x, gf_dataset_images(data->test) }, { y_, gf_dataset_labels(data->test) } };
    int64_t steps_per_epoch = n_train / BATCH;
    int status = 0;
    float acc = 0;
    for (int epoch = 1; epoch <= EPOCHS && !status; epoch++) {
        double cost_sum = 0;
        for (int64_t i = 0; i < steps_per_epoch && !status; i++) {
            const gf_tensor *xs, *ys, *c;
            gf_dataset_next_batch(data->train, BATCH, &xs, &ys);
            gf_feed batch[] = { { x, xs }, { y_, ys } };
            status = gf_session_run(sess, batch, 2, &cost, 1, &step, 1, &c) != GF_OK;
            if (!status) cost_sum += gf_tensor_data(c)[0];
        }
        const gf_tensor *a;
        if (status || gf_session_run(sess, test, 2, &accuracy, 1, NULL, 0, &a) != GF_OK) {
            status = 1;
            break;
        }
        acc = gf_tensor_data(a)[0];
        printf("epoch %2d  mean training cost %.4f  test accuracy %.2f%%\n", epoch,
               cost_sum / (double)steps_per_epoch, 100.0 * acc);
    }
    if (status) fprintf(stderr, "mnist_softmax: %s\n", gf_session_error(sess));
    else printf("test accuracy after %d epochs: %.2f%%\n", EPOCHS, 100.0 * acc);

    gf_session_free(sess);
    gf_graph_free(g);
    gf_mnist_free(data);
    return status;
}
