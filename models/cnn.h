/*
 * cnn.h — the convolutional network of TensorFlow's "Deep MNIST for Experts"
 * tutorial as a reusable builder (examples/deep_mnist.c writes it out in
 * full; docs/deep-mnist.md sets the two side by side).
 */
#ifndef GF_CNN_H
#define GF_CNN_H

#include "gradflow.h"

typedef struct gf_cnn_net {
    gf_graph *g;                   /* owned: free with gf_graph_free */
    gf_node *x, *y_;               /* placeholders: images [?,784], one-hot labels [?,10] */
    gf_node *keep_prob;            /* placeholder: float32 scalar, dropout's keep probability */
    gf_node *W_conv1, *b_conv1;    /* [5,5,1,32], [32] */
    gf_node *W_conv2, *b_conv2;    /* [5,5,32,64], [64] */
    gf_node *W_fc1, *b_fc1;        /* [3136,1024], [1024] */
    gf_node *W_fc2, *b_fc2;        /* [1024,10], [10] */
    gf_node *h_pool2;              /* [?,7,7,64], the second block's output */
    gf_node *y_conv;               /* logits [?,10] */
    gf_node *probs;                /* softmax(y_conv) */
    gf_node *infer_probs;          /* "infer_probs": the same softmax with dropout left out, from x
                                    * alone (bitwise probs with keep_prob 1): what a saved model
                                    * answers with */
    gf_node *cross_entropy;        /* scalar: the batch's mean softmax cross-entropy */
    gf_node *accuracy;             /* scalar: fraction of argmax(y_conv) == argmax(y_) */
    gf_node *correct;              /* scalar: the number of those, as a float */
    gf_node *train_step;           /* target: one Adam step on cross_entropy */
} gf_cnn_net;

/* The tutorial's numbers. */
#define GF_CNN_LR 1e-4f    /* Adam's learning rate */
#define GF_CNN_BATCH 50
#define GF_CNN_STEPS 20000
#define GF_CNN_KEEP 0.5f   /* dropout's keep probability while training */
#define GF_CNN_EVAL_BATCH 100 /* images per evaluation run (the CLI's, the bench's): keeps
                               * train --model cnn under 400 MB with the data */

/* Builds the network: conv 5x5x32 (stride 1, SAME) + relu, max pool 2x2
 * (stride 2, SAME), conv 5x5x64 + relu, max pool 2x2, dense 3136-1024 +
 * relu, dropout (keep_prob fed), dense 1024-10; the mean softmax
 * cross-entropy minimised by Adam with learning rate lr (0: GF_CNN_LR).
 * Weights start truncated-normal with stddev 0.1, biases at 0.1. Returns
 * the graph's status; on error the message is gf_graph_error(net->g)
 * (net->g is NULL only when out of memory). */
gf_status gf_cnn_build(gf_cnn_net *net, float lr);

/* The same network for single-channel height x width images and `classes`
 * classes (28, 28 and 10 above): the dense layer takes the second pooling's
 * ceil(height/4) x ceil(width/4) x 64 outputs. */
gf_status gf_cnn_build_sized(gf_cnn_net *net, int height, int width, int classes, float lr);
/* The same for data-parallel training and gradient accumulation: Adam
 * minimises with GF_ALL_REDUCE_MEAN (the loss is the batch's mean). */
gf_status gf_cnn_build_dp(gf_cnn_net *net, int height, int width, int classes, float lr);

/* How many of the n images (784 floats each, labels one-hot 10 floats
 * each) the network answers right, run `batch` images at a time with
 * keep_prob 1 (the test set at once would need gigabytes). On error the
 * message is in gf_session_error(s). */
gf_status gf_cnn_count_correct(const gf_cnn_net *net, gf_session *s, const float *images, const float *labels,
                               int64_t n, int64_t batch, int64_t *correct);

#endif
