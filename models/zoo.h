/*
 * zoo.h — builders for the model-zoo networks, parameterised for the CLI
 * (examples/mnist_softmax.c is the same network written out in full).
 */
#ifndef GF_ZOO_H
#define GF_ZOO_H

#include "gradflow.h"

typedef struct gf_zoo_net {
    gf_graph *g;                     /* owned: free with gf_graph_free */
    gf_node *x, *y;                  /* placeholders: images [?,784], one-hot labels [?,10] */
    gf_node *w_1, *b_1, *w_2, *b_2;  /* variables [784,H], [H], [H,10], [10] */
    gf_node *logits;                 /* [?,10], before the softmax */
    gf_node *probs;                  /* [?,10], softmax(logits) */
    gf_node *loss;                   /* scalar: the batch's mean cross-entropy */
    gf_node *accuracy;               /* scalar: fraction of argmax(logits) == argmax(y) */
    gf_node *correct;                /* scalar: the number of those, as a float */
    gf_node *step;                   /* target: one Adam step on loss */
} gf_zoo_net;

/* The "softmax" model: 784-hidden-10, relu hidden layer, softmax
 * cross-entropy loss averaged over the batch, Adam with learning rate lr
 * (0: TensorFlow's 0.001) and default betas and epsilon. Weights start
 * truncated-normal with stddev 0.1, biases at zero. Returns the graph's
 * status; on error the message is gf_graph_error(net->g) (net->g is NULL
 * only when out of memory). */
gf_status gf_zoo_build_softmax(gf_zoo_net *net, int hidden, float lr);

/* The same model for other data: `inputs` features, `outputs` classes. */
gf_status gf_zoo_build_softmax_sized(gf_zoo_net *net, int inputs, int hidden, int outputs, float lr);
/* The same for data-parallel training and gradient accumulation: Adam
 * minimises with GF_ALL_REDUCE_MEAN (the loss is the batch's mean). */
gf_status gf_zoo_build_softmax_dp(gf_zoo_net *net, int inputs, int hidden, int outputs, float lr);

#endif
