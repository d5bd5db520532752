/*
 * model_sig.c — the rule every signature keeps, checked by the writer
 * and the reader alike: every placeholder an output depends on is one of
 * the inputs.
 */
#include "model.h"

gf_status gf__model_needs_listed(const gf_graph *g, const gf_signature *sig, int *output, gf_node **placeholder)
{
    int n = g->n_nodes;
    int *tag = gf__malloc(((size_t)n + 1) * sizeof *tag);     /* the output that reached a node first; -1 */
    gf_node **stack = gf__malloc(((size_t)n + 1) * sizeof *stack);
    bool *input = gf__calloc((size_t)n + 1, sizeof *input);
    gf_status st = GF_OK;
    if (!tag || !stack || !input) st = GF_ERR_NOMEM;
    for (int i = 0; st == GF_OK && i < n; i++) tag[i] = -1;
    for (int i = 0; st == GF_OK && i < sig->n_inputs; i++) input[sig->inputs[i].node->id] = true;
    /* One walk: each node is pushed once, by the first output to reach it. */
    for (int o = 0; st == GF_OK && o < sig->n_outputs; o++) {
        gf_node *root = sig->outputs[o].node;
        if (tag[root->id] >= 0) continue;
        int sp = 0;
        tag[root->id] = o;
        stack[sp++] = root;
        while (sp && st == GF_OK) {
            gf_node *x = stack[--sp];
            if ((x->op->flags & GF_OPF_PLACEHOLDER) && !input[x->id]) {
                *output = o;
                *placeholder = x;
                st = GF_ERR_FORMAT;
            }
            for (int j = 0; j < x->n_inputs; j++)
                if (tag[x->inputs[j]->id] < 0) {
                    tag[x->inputs[j]->id] = o;
                    stack[sp++] = x->inputs[j];
                }
        }
    }
    gf__free(tag);
    gf__free(stack);
    gf__free(input);
    return st;
}
