/* graph_walk.c — read-only access to a graph's structure for tools outside
 * the library: a node's inputs, and the nodes of a graph in creation order. */
#include "internal.h"

int gf_node_input_count(const gf_node *n)
{
    if (!n || n->id < 0) return 0;
    return n->n_inputs;
}

gf_node *gf_node_input(const gf_node *n, int i)
{
    if (!n || n->id < 0 || i < 0 || i >= n->n_inputs) return NULL;
    return n->inputs[i];
}

gf_node *gf_graph_node(const gf_graph *g, int i)
{
    if (!g || i < 0 || i >= g->n_nodes) return NULL;
    return g->nodes[i];
}
