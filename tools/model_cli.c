/*
 * model_cli.c — the network a command runs, from a model file or an old
 * checkpoint (model_cli.h), its outputs in batches, and train's signature.
 */
#include "model_cli.h"
#include "ckpt_cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

gf_cli_file_kind gf_cli_file_kind_of(const char *file)
{
    unsigned char b[8] = { 0 };
    FILE *f = fopen(file, "rb");
    if (!f) return GF_CLI_UNKNOWN;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n == 8 && !memcmp(b, "GFMODEL", 8)) return GF_CLI_MODEL_FILE;
    if (n >= 6 && !memcmp(b, "GFCKPT", 6)) return GF_CLI_CHECKPOINT;
    return GF_CLI_UNKNOWN;
}

/* A node's shape must be [?, k] with k known: k, else 0 (said on stderr). */
static int64_t width(const char *cmd, const char *file, const char *key, gf_node *n)
{
    gf_shape s = gf_node_shape(n);
    if (s.rank == 2 && s.dim[1] > 0) return s.dim[1];
    char b[64];
    fprintf(stderr, "gradflow %s: %s: the signature's \"%s\" (node \"%s\") has shape %s: expected [?,N], one row "
                    "per example\n", cmd, file, key, gf_node_name(n), gf_shape_format(s, b, sizeof b));
    return 0;
}

static int load_model_file(const char *cmd, const char *file, gf_cli_net *n)
{
    gf_error err;
    n->model = gf_model_load(file, NULL, &err);
    if (!n->model) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
        return 0;
    }
    n->g = gf_model_graph(n->model);
    n->s = gf_model_session(n->model);
    n->x = gf_model_input(n->model, "images");
    n->probs = gf_model_output(n->model, "probs");
    n->classes = gf_model_output(n->model, "classes");
    if (!n->x || !n->probs) {
        const gf_signature *sig = gf_model_signature(n->model);
        fprintf(stderr, "gradflow %s: %s: a model file whose signature has no %s (it has inputs", cmd, file,
                !n->x ? "input \"images\"" : "output \"probs\"");
        for (int i = 0; i < sig->n_inputs; i++) fprintf(stderr, "%s \"%s\"", i ? "," : "", sig->inputs[i].key);
        fprintf(stderr, "%s; outputs", sig->n_inputs ? "" : " none");
        for (int i = 0; i < sig->n_outputs; i++) fprintf(stderr, "%s \"%s\"", i ? "," : "", sig->outputs[i].key);
        fprintf(stderr, "%s); %s runs models with an \"images\" input [?,N] and a \"probs\" output [?,classes], "
                        "as 'gradflow train --save' writes them\n", sig->n_outputs ? "" : " none", cmd);
        return 0;
    }
    if (!(n->features = width(cmd, file, "images", n->x)) || !(n->n_classes = width(cmd, file, "probs", n->probs)))
        return 0;
    n->probabilities = !strcmp(gf_node_op(n->probs), "softmax");
    gf_node *scale = gf_model_output(n->model, "input_scale");
    if (scale) { /* what train divided .npy and CSV features by */
        const gf_tensor *v = NULL;
        if (gf_session_run(n->s, NULL, 0, &scale, 1, NULL, 0, &v) != GF_OK || gf_tensor_count(v) != 1 ||
            !(gf_tensor_data(v)[0] > 0) || !isfinite(gf_tensor_data(v)[0])) {
            fprintf(stderr, "gradflow %s: %s: its \"input_scale\" output is not one positive number%s%s\n", cmd, file,
                    v ? "" : ": ", v ? "" : gf_session_error(n->s));
            return 0;
        }
        n->input_scale = gf_tensor_data(v)[0];
    }
    n->batch = 1000;
    int convs = 0, nodes = gf_graph_node_count(n->g), vars = 0;
    for (int i = 0; i < nodes; i++) {
        const char *op = gf_node_op(gf_graph_node(n->g, i));
        convs += !strcmp(op, "conv2d");
        vars += !strcmp(op, "variable");
    }
    if (convs) n->batch = 100; /* convolutions' activations are large */
    snprintf(n->desc, sizeof n->desc, "a model file: images [?,%lld] -> probs [?,%lld]%s; %d nodes, %d variables",
             (long long)n->features, (long long)n->n_classes, n->probabilities ? " (softmax)" : "", nodes, vars);
    return 1;
}

int gf_cli_net_load(const char *cmd, const char *file, int hidden, gf_cli_net *n)
{
    memset(n, 0, sizeof *n);
    switch (gf_cli_file_kind_of(file)) {
    case GF_CLI_MODEL_FILE:
        if (hidden >= 0) {
            fprintf(stderr, "gradflow %s: %s is a model file, which says its own sizes; leave out --hidden\n", cmd,
                    file);
            return 0;
        }
        return load_model_file(cmd, file, n);
    case GF_CLI_CHECKPOINT:
        return gf_cli_ckpt_net_load(cmd, file, hidden, n);
    default: {
        FILE *f = fopen(file, "rb");
        if (!f) {
            fprintf(stderr, "gradflow %s: %s: cannot open: %s\n", cmd, file, strerror(errno));
            return 0;
        }
        fclose(f);
        /* Let the model reader name what is wrong (empty, bad magic, ...). */
        return load_model_file(cmd, file, n);
    }
    }
}

void gf_cli_net_free(gf_cli_net *n)
{
    if (n->model) {
        gf_model_free(n->model);
    } else {
        gf_session_free(n->s);
        gf_graph_free(n->g);
    }
    memset(n, 0, sizeof *n);
}

int gf_cli_argmax(const float *row, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (row[j] > row[best]) best = j;
    return (int)best;
}

int gf_cli_net_outputs(const char *cmd, const gf_cli_net *n, const float *images, int64_t count, float *out)
{
    gf_error err;
    gf_tensor *one = gf_tensor_new(GF_F32, gf_dims(0), &err);
    if (!one) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
        return 0;
    }
    gf_tensor_data(one)[0] = 1.0f;
    int ok = 1;
    for (int64_t at = 0; at < count && ok; at += n->batch) {
        int64_t k = count - at < n->batch ? count - at : n->batch;
        gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_shape_from(2, (const int64_t[]){ k, n->features }),
                                       (float *)(images + n->features * at), &err);
        if (!xs) {
            fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
            ok = 0;
            break;
        }
        gf_feed feed[] = { { n->x, xs }, { n->keep_prob, one } };
        const gf_tensor *res;
        gf_node *fetch = n->probs;
        gf_status st = gf_session_run(n->s, feed, n->keep_prob ? 2 : 1, &fetch, 1, NULL, 0, &res);
        if (st == GF_OK && gf_tensor_count(res) != k * n->n_classes) {
            char b[64];
            fprintf(stderr, "gradflow %s: \"probs\" came out %s for %lld images: expected [%lld,%lld]\n", cmd,
                    gf_shape_format(gf_tensor_shape(res), b, sizeof b), (long long)k, (long long)k,
                    (long long)n->n_classes);
            ok = 0;
        } else if (st == GF_OK) {
            memcpy(out + n->n_classes * at, gf_tensor_data(res), (size_t)(k * n->n_classes) * sizeof *out);
        } else {
            fprintf(stderr, "gradflow %s: %s\n", cmd, gf_session_error(n->s));
            ok = 0;
        }
        gf_tensor_free(xs);
    }
    gf_tensor_free(one);
    return ok;
}

gf_status gf_cli_train_signature(const gf_cli_train_sig *t, gf_signature_entry *e, gf_signature *sig)
{
    gf_graph *g = gf_node_graph(t->images);
    gf_node *step = t->steps[0];
    for (int i = 1; i < t->n_steps; i++) step = gf_group(step, t->steps[i]);
    if (t->n_steps > 1) step = gf_name(step, "train");
    gf_node *classes = gf_name(gf_argmax(t->probs, 1), "classes");
    int n_in = 0;
    e[n_in++] = (gf_signature_entry){ "images", t->images };
    e[n_in++] = (gf_signature_entry){ "labels", t->labels };
    if (t->keep_prob) e[n_in++] = (gf_signature_entry){ "keep_prob", t->keep_prob };
    e[n_in + 0] = (gf_signature_entry){ "probs", t->probs };
    e[n_in + 1] = (gf_signature_entry){ "classes", classes };
    e[n_in + 2] = (gf_signature_entry){ "cost", t->cost };
    e[n_in + 3] = (gf_signature_entry){ "train", step };
    int n_out = 4;
    if (t->input_scale > 0)
        e[n_in + n_out++] = (gf_signature_entry){ "input_scale", gf_name(gf_scalar(g, t->input_scale), "input_scale") };
    *sig = (gf_signature){ e, n_in, e + n_in, n_out };
    return gf_graph_status(g);
}

static int is_variable(gf_node *n) { return n && !strcmp(gf_node_op(n), "variable"); }

/* The --hidden that train's --model NAME takes when not given. */
static int default_hidden(const char *name) { return !strcmp(name, "softmax") ? 100 : 30; }

/* Why FILE's variables (theirs) do not fit this network's (g), when train's
 * --model and --hidden say it. 2: FILE is another --model, the whole
 * message in msg ("F is a --model softmax network (784-100-10), not
 * --model article: resume it with --model softmax"); 1: the same --model
 * with another --hidden, a hint in msg; 0: nothing known (msg ""). */
static int resume_mismatch(const char *file, const gf_cli_ckpt_list *theirs, gf_graph *g, char *msg, size_t cap)
{
    msg[0] = '\0';
    gf_cli_ckpt_list ours;
    if (!gf_cli_ckpt_list_of_graph(g, &ours)) return 0;
    int h_file, h_net, said = 0;
    const char *m_file = gf_cli_train_model_of(theirs, &h_file), *m_net = gf_cli_train_model_of(&ours, &h_net);
    gf_cli_ckpt_list_free(&ours);
    if (!m_file || !m_net) return 0;
    char hidden[48] = "";
    if (h_file && h_file != default_hidden(m_file)) snprintf(hidden, sizeof hidden, " --hidden %d", h_file);
    if (strcmp(m_file, m_net)) {
        char sizes[96] = "";
        const gf_cli_ckpt_entry *w1 = gf_cli_ckpt_find(theirs, "w_1"), *w2 = gf_cli_ckpt_find(theirs, "w_2");
        if (h_file && w1 && w2 && w2->shape.rank == 2)
            snprintf(sizes, sizeof sizes, " (%lld-%d-%lld)", (long long)w1->shape.dim[0], h_file,
                     (long long)w2->shape.dim[1]);
        snprintf(msg, cap, "%s is a --model %s network%s, not --model %s: resume it with --model %s%s", file, m_file,
                 sizes, m_net, m_file, hidden);
        said = 2;
    } else if (h_file != h_net) {
        snprintf(msg, cap, "saved with --hidden %d: resume it with --hidden %d", h_file, h_file);
        said = 1;
    }
    return said;
}

int gf_cli_resume(const char *cmd, gf_session *s, gf_graph *g, const char *file)
{
    char why[512];
    gf_cli_ckpt_list theirs;
    if (gf_cli_file_kind_of(file) == GF_CLI_CHECKPOINT) {
        if (gf_session_restore(s, file) == GF_OK) return 1;
        int known = gf_cli_ckpt_list_read(file, &theirs) ? resume_mismatch(file, &theirs, g, why, sizeof why) : 0;
        gf_cli_ckpt_list_free(&theirs);
        if (known == 2) fprintf(stderr, "gradflow %s: %s\n", cmd, why);
        else fprintf(stderr, "gradflow %s: %s%s%s\n", cmd, gf_session_error(s), known ? "; " : "", why);
        return 0;
    }
    gf_error err;
    gf_model *m = gf_model_load(file, NULL, &err);
    if (!m) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
        return 0;
    }
    gf_graph *mg = gf_model_graph(m);
    /* When the file is another --model, or has another --hidden, say so
     * rather than name the first variable that differs. */
    int known = 0;
    if (gf_cli_ckpt_list_of_graph(mg, &theirs)) known = resume_mismatch(file, &theirs, g, why, sizeof why);
    gf_cli_ckpt_list_free(&theirs);
    if (known == 2) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, why);
        gf_model_free(m);
        return 0;
    }
    int ok = 1;
    char a[64], b[64];
    /* Every pair checked first, so that a mismatch changes nothing. */
    for (int pass = 0; pass < 2 && ok; pass++) {
        for (int i = 0; ok && i < gf_graph_node_count(g); i++) {
            gf_node *v = gf_graph_node(g, i);
            if (!is_variable(v)) continue;
            gf_node *w = gf_graph_find(mg, gf_node_name(v));
            if (!is_variable(w)) {
                fprintf(stderr, "gradflow %s: %s: the network's variable \"%s\" is not in the model file (saved "
                                "with another --model or --hidden?)\n", cmd, file, gf_node_name(v));
                ok = 0;
            } else if (strcmp(gf_shape_format(gf_node_shape(v), a, sizeof a),
                              gf_shape_format(gf_node_shape(w), b, sizeof b))) {
                fprintf(stderr, "gradflow %s: %s: variable \"%s\" is %s in the model file, %s in this network "
                                "(%s)\n", cmd, file, gf_node_name(v), b, a,
                        known ? why : "saved with another --model, --hidden or data?");
                ok = 0;
            } else if (pass == 1) {
                const gf_tensor *from = gf_session_variable(gf_model_session(m), w);
                const gf_tensor *to = gf_session_variable(s, v);
                if (!from || !to) {
                    fprintf(stderr, "gradflow %s: %s\n", cmd, gf_session_error(from ? s : gf_model_session(m)));
                    ok = 0;
                } else {
                    memcpy(gf_tensor_data(to), gf_tensor_data(from), (size_t)gf_tensor_count(from) * sizeof(float));
                }
            }
        }
        for (int i = 0; ok && pass == 0 && i < gf_graph_node_count(mg); i++) {
            gf_node *w = gf_graph_node(mg, i);
            if (is_variable(w) && !is_variable(gf_graph_find(g, gf_node_name(w)))) {
                fprintf(stderr, "gradflow %s: %s: the model file's variable \"%s\" is not in this network "
                                "(saved with another --model?)\n", cmd, file, gf_node_name(w));
                ok = 0;
            }
        }
    }
    gf_model_free(m);
    return ok;
}

void gf_cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}
