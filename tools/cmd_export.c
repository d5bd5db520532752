/*
 * cmd_export.c — `gradflow export FILE --onnx OUT.onnx`: the network saved
 * in FILE, from its input images to its outputs, as an ONNX model
 * (gf_onnx_export; docs/onnx.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_cli.h"
#include "cli.h"
#include "opts.h"

static const char export_intro[] =
    "Writes the network saved in FILE as an ONNX model (IR version 7, opset\n"
    "13) that ONNX Runtime and other ONNX tools run: its inference part only\n"
    "(no training ops; dropout is left out, as when evaluating), with the\n"
    "saved weights as initializers. The model has one input and two outputs:\n"
    "\n"
    "  images   float32 [batch,784]  28x28 pixels per row, 0..1 as MNIST's\n"
    "  probs    float32 [batch,10]   the softmax (--model softmax, cnn), or\n"
    "  scores   float32 [batch,10]   the article's ten sigmoids\n"
    "  classes  int32   [batch]      the answer: the largest output's index\n"
    "\n"
    "batch is a symbolic dimension: any number of images per run.\n"
    "\n"
    "FILE is a model file (written by 'gradflow train --save FILE', or by\n"
    "gf_model_save with a signature naming an \"images\" input and a \"probs\"\n"
    "output; the sizes are the model's), or a checkpoint of an older gradflow\n"
    "train, whose network is recognised from its tensors as 'gradflow eval'\n"
    "recognises it (--model article, softmax or cnn). OUT.onnx is written\n"
    "atomically: a failure leaves a previous file there untouched.\n"
    "\n"
    "docs/onnx.md lists what each op becomes and shows how to run the file\n"
    "from Python and JavaScript.\n";

static const char export_epilog[] =
    "Exit status: 0 success; 1 failure (unreadable, damaged or unknown FILE,\n"
    "the file cannot be written); 2 usage error.\n";

/* What is exported: a graph and session holding the values, and its
 * signature (named inputs and outputs). */
typedef struct export_model {
    gf_cli_net net;
    gf_session *s;
    char desc[160];
    int n_in, n_out;
    gf_node *in[1], *out[2];
    const char *in_names[1], *out_names[2];
} export_model;

/* Loads FILE's network and its signature: a model file, or a checkpoint of
 * one of train's networks (model_cli.c). Prints the failure and returns 0. */
static int load_signature(const char *file, export_model *em)
{
    memset(em, 0, sizeof *em);
    if (!gf_cli_net_load("export", file, -1, &em->net)) return 0;
    em->s = em->net.s;
    em->n_in = 1;
    em->in[0] = em->net.x;
    em->in_names[0] = "images";
    em->n_out = 2;
    em->out[0] = em->net.probs;
    em->out_names[0] = em->net.probabilities ? "probs" : "scores";
    em->out[1] = em->net.classes ? em->net.classes : gf_argmax(em->net.probs, 1);
    em->out_names[1] = "classes";
    snprintf(em->desc, sizeof em->desc, "%s", em->net.desc);
    if (gf_graph_status(em->net.g) != GF_OK) {
        fprintf(stderr, "gradflow export: %s\n", gf_graph_error(em->net.g));
        return 0;
    }
    return 1;
}

static void free_model(export_model *em) { gf_cli_net_free(&em->net); }

/* "images float32 [batch,784]" for node n named name. */
static void describe(const char *name, gf_node *n)
{
    gf_shape s = gf_node_shape(n);
    printf("%s %s [", name, gf_dtype_name(gf_node_dtype(n)));
    for (int i = 0; i < s.rank; i++) {
        if (s.dim[i] >= 0) printf("%s%lld", i ? "," : "", (long long)s.dim[i]);
        else printf("%s%s", i ? "," : "", i ? "?" : "batch");
    }
    printf("]");
}

int gf_cli_export(int argc, char **argv)
{
    const char *onnx = NULL;
    gf_opt opts[] = {
        GF_OPT_S("--onnx", "OUT.onnx", "write the ONNX model to OUT.onnx (required)", &onnx),
    };
    gf_cmd_spec spec = { "export", "gradflow export FILE --onnx OUT.onnx", export_intro, export_epilog, opts,
                         GF_OPTS_N(opts) };
    const char *file;
    int parsed = gf_opts_parse_file(&spec, argc, argv, &file);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (!file) return gf_opts_usage_error(&spec, "missing the FILE to export (usage: gradflow export FILE --onnx OUT.onnx)");
    if (!onnx || !*onnx)
        return gf_opts_usage_error(&spec, "say where to write the model: --onnx OUT.onnx (ONNX is the one format "
                                          "export writes)");

    export_model em;
    int rc = GF_EXIT_FAIL;
    if (load_signature(file, &em)) {
        if (gf_onnx_export(em.s, em.in, em.in_names, em.n_in, em.out, em.out_names, em.n_out, onnx) != GF_OK) {
            fprintf(stderr, "gradflow export: %s\n", gf_session_error(em.s));
        } else {
            printf("exported %s (%s) to %s, ONNX IR version 7, opset 13\n  input:   ", file, em.desc, onnx);
            describe(em.in_names[0], em.in[0]);
            for (int i = 0; i < em.n_out; i++) {
                printf("\n  %s ", i ? "        " : "outputs:");
                describe(em.out_names[i], em.out[i]);
            }
            printf("\n");
            rc = GF_EXIT_OK;
        }
    }
    free_model(&em);
    return rc;
}
