/* cmd_graph.c — `gradflow graph [FILE]`: the built-in programs' training
 * steps, or the graph of a model file, as Graphviz DOT (forward, gradient
 * and update parts apart), or as a PNG via dot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "article.h"
#include "ckpt_cli.h"
#include "model_cli.h"
#include "atomic_file.h"
#include "cli.h"
#include "plot_svg.h"
#include "cnn.h"
#include "zoo.h"
#include "opts.h"

static const char graph_intro[] =
    "Builds one of the networks 'gradflow train' trains and writes the graph of\n"
    "its training step in Graphviz's DOT language: every node the step's targets\n"
    "need, found by following inputs back from the targets to the placeholders,\n"
    "variables and constants (a variable's initializer is not an input, so it\n"
    "is not drawn; nor is the evaluation's accuracy count).\n"
    "\n"
    "With FILE, draws the network saved there instead: a model file (any graph\n"
    "saved with gf_model_save, e.g. by 'gradflow train --save'), every node its\n"
    "signature's outputs need, its training step (the output \"train\") a\n"
    "target; or a checkpoint of an older gradflow train, whose network is\n"
    "recognised from its tensors (as 'gradflow eval' does) and drawn as above.\n"
    "\n"
    "Each node is labelled with its name, its op and its inferred shape (? for a\n"
    "dimension known only when the session runs). Nodes are grouped in three\n"
    "clusters: the forward pass (what the cost or the output needs), the\n"
    "gradients (the nodes gf_gradients built, named \"gradients/...\", or the\n"
    "hand-written backward pass of --step manual) and the update (the\n"
    "optimizer's arithmetic and assignments). Placeholders are blue, variables\n"
    "green cylinders, constants grey ellipses, gradient nodes orange, assignments\n"
    "red; the step's targets have a double border; an edge into an assignment\n"
    "from the variable it sets is labelled \"var\".\n";

static const char graph_epilog[] =
    "Examples:\n"
    "  gradflow graph --step autodiff > step.dot && dot -Tsvg step.dot > step.svg\n"
    "  gradflow graph --model softmax --png softmax.png\n"
    "  gradflow graph net.gfm -o net.dot\n"
    "\n"
    "Exit status: 0 success; 1 failure (FILE unreadable or damaged, a file that\n"
    "cannot be written, dot missing or failing); 2 usage error.\n";

enum part { PART_FORWARD, PART_GRADIENTS, PART_UPDATE, PART_N };

/* The pruned step: nodes in creation order, with their part. */
typedef struct walk {
    int n;               /* nodes in the graph */
    gf_node **node;      /* by creation index */
    signed char *in;     /* 1: needed by the step */
    signed char *part;   /* enum part, for needed nodes */
    signed char *fwd;    /* ancestor of a forward root */
    signed char *grad;   /* ancestor of a hand-written gradient */
    signed char *target; /* a step target */
} walk;

/* Creation index of n: nodes are found by pointer through a sorted copy. */
typedef struct slot { const gf_node *p; int i; } slot;

static int slot_cmp(const void *a, const void *b)
{
    const gf_node *x = ((const slot *)a)->p, *y = ((const slot *)b)->p;
    return x < y ? -1 : x > y;
}

static int index_of(const slot *sorted, int n, const gf_node *p)
{
    slot key = { p, 0 };
    const slot *hit = bsearch(&key, sorted, (size_t)n, sizeof *sorted, slot_cmp);
    return hit ? hit->i : -1;
}

/* Marks in mark[] every ancestor of the roots (roots included). */
static void mark_ancestors(const walk *w, const slot *sorted, gf_node *const *roots, int n_roots,
                           signed char *mark, int *stack)
{
    int top = 0;
    for (int r = 0; r < n_roots; r++) {
        int i = roots[r] ? index_of(sorted, w->n, roots[r]) : -1;
        if (i >= 0 && !mark[i]) {
            mark[i] = 1;
            stack[top++] = i;
        }
    }
    while (top > 0) {
        gf_node *x = w->node[stack[--top]];
        for (int k = 0; k < gf_node_input_count(x); k++) {
            int j = index_of(sorted, w->n, gf_node_input(x, k));
            if (j >= 0 && !mark[j]) {
                mark[j] = 1;
                stack[top++] = j;
            }
        }
    }
}

static int is_source_op(const char *op)
{
    return !strcmp(op, "constant") || !strcmp(op, "zeros") || !strcmp(op, "truncated_normal");
}

static void dot_node(FILE *f, const walk *w, int i)
{
    gf_node *x = w->node[i];
    const char *op = gf_node_op(x);
    char shape[64];
    gf_shape_format(gf_node_shape(x), shape, sizeof shape);
    const char *fill = "#ffffff", *form = "box", *style = "rounded,filled";
    if (!strcmp(op, "placeholder")) {
        fill = "#cfe2ff";
        form = "invhouse";
        style = "filled";
    } else if (!strcmp(op, "variable")) {
        fill = "#d4f0d4";
        form = "cylinder";
        style = "filled";
    } else if (is_source_op(op)) {
        fill = "#eeeeee";
        form = "ellipse";
        style = "filled";
    } else if (!strcmp(op, "assign")) {
        fill = "#f8c8c8";
    } else if (!strcmp(op, "group")) {
        fill = "#f8c8c8";
        form = "octagon";
        style = "filled";
    } else if (w->part[i] == PART_GRADIENTS) {
        fill = "#ffd8a8";
    }
    fprintf(f, "    n%d [id=\"n%d\", shape=%s, style=\"%s\", fillcolor=\"%s\"%s, label=<<b>", i, i, form, style,
            fill, w->target[i] ? ", peripheries=2" : "");
    gf_xml_text(f, gf_node_name(x));
    fprintf(f, "</b><br/><font point-size=\"9\">");
    gf_xml_text(f, op);
    fprintf(f, " %s", shape);
    if (gf_node_dtype(x) != GF_F32) fprintf(f, " %s", gf_dtype_name(gf_node_dtype(x)));
    fprintf(f, "</font>>];\n");
}

/* Writes the DOT text of the walk. */
static void write_dot(FILE *f, const walk *w, const char *title, const char *grad_label, const char *update_label)
{
    int count[PART_N] = { 0 }, nodes = 0, edges = 0;
    for (int i = 0; i < w->n; i++)
        if (w->in[i]) {
            count[w->part[i]]++;
            nodes++;
            edges += gf_node_input_count(w->node[i]);
        }
    fprintf(f, "digraph gradflow {\n");
    fprintf(f, "  // %s: %d nodes, %d edges (forward %d, gradients %d, update %d)\n", title, nodes, edges,
            count[PART_FORWARD], count[PART_GRADIENTS], count[PART_UPDATE]);
    fprintf(f, "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, nodesep=0.25, ranksep=0.35,\n"
               "         labelloc=t, label=<<table border=\"0\" cellspacing=\"4\"><tr><td colspan=\"6\"><b>");
    gf_xml_text(f, title);
    fprintf(f, "</b></td></tr><tr><td colspan=\"6\">%d nodes of the training step, named and shaped;"
               " a double border marks a target</td></tr><tr>"
               "<td bgcolor=\"#cfe2ff\">placeholder</td><td bgcolor=\"#d4f0d4\">variable</td>"
               "<td bgcolor=\"#eeeeee\">constant</td><td border=\"1\">op</td>"
               "<td bgcolor=\"#ffd8a8\">gradient op</td><td bgcolor=\"#f8c8c8\">assign / group</td>"
               "</tr></table>>];\n",
            nodes);
    fprintf(f, "  node [fontname=\"Helvetica\", fontsize=11, margin=\"0.08,0.03\", height=0.3];\n");
    fprintf(f, "  edge [color=\"#555555\", arrowsize=0.6];\n");
    static const char *cluster[PART_N] = { "forward", "gradients", "update" };
    const char *label[PART_N] = { "forward pass", grad_label, update_label };
    static const char *bg[PART_N] = { "#f4f8ff", "#fff6ea", "#fbf0f0" };
    for (int p = 0; p < PART_N; p++) {
        if (!count[p]) continue;
        fprintf(f, "  subgraph cluster_%s {\n", cluster[p]);
        fprintf(f, "    label=\"%s (%d nodes)\"; style=\"rounded,filled\"; color=\"#999999\"; fillcolor=\"%s\";\n",
                label[p], count[p], bg[p]);
        for (int i = 0; i < w->n; i++)
            if (w->in[i] && w->part[i] == p) dot_node(f, w, i);
        fprintf(f, "  }\n");
    }
    for (int i = 0; i < w->n; i++) {
        if (!w->in[i]) continue;
        gf_node *x = w->node[i];
        int is_assign = !strcmp(gf_node_op(x), "assign");
        for (int k = 0; k < gf_node_input_count(x); k++) {
            int j = -1;
            gf_node *in = gf_node_input(x, k);
            for (int t = i - 1; t >= 0 && j < 0; t--) /* inputs come before */
                if (w->node[t] == in) j = t;
            if (j < 0) continue;
            const char *attr = "";
            if (is_assign && k == 0) attr = " [label=\"var\", style=dashed, color=\"#c03030\", fontsize=9]";
            else if (w->part[i] == PART_GRADIENTS) attr = " [color=\"#d07000\"]";
            fprintf(f, "  n%d -> n%d%s;\n", j, i, attr);
        }
    }
    fprintf(f, "}\n");
}

/* The directories of PATH searched for prog, as `command -v` does. */
static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path || !*path) return 0;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char full[4200];
        snprintf(full, sizeof full, "%.*s/%s", len ? (int)len : 1, len ? path : ".", prog);
        struct stat sb;
        if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && access(full, X_OK) == 0) return 1;
        if (!colon) break;
        path = colon + 1;
    }
    return 0;
}

/* Runs dot -Tpng on the DOT file into png (atomically). */
static int render_png(const char *dotfile, const char *png)
{
    char err[4400];
    gf_atomic_file af;
    if (!gf_atomic_open(&af, png, err, sizeof err)) {
        fprintf(stderr, "gradflow graph: --png %s\n", err);
        return 0;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "gradflow graph: cannot run dot: %s\n", strerror(errno));
        gf_atomic_abort(&af);
        return 0;
    }
    if (pid == 0) {
        char *args[] = { "dot", "-Tpng", "-o", af.tmp, (char *)dotfile, NULL };
        execvp("dot", args);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "gradflow graph: dot -Tpng failed (%s %d); %s is left as it was\n",
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), png);
        gf_atomic_abort(&af);
        return 0;
    }
    if (!gf_atomic_commit(&af, err, sizeof err)) { /* dot wrote the file by name: af.f is empty */
        fprintf(stderr, "gradflow graph: --png %s\n", err);
        return 0;
    }
    return 1;
}

int gf_cli_graph(int argc, char **argv)
{
    const char *model = "article", *step = NULL, *png = NULL, *out = NULL;
    int64_t hidden = -1;
    gf_opt opts[] = {
        GF_OPT_C("--model", "article|softmax|cnn",
                 "article: the article's 784-H-10 sigmoid network (default)\n"
                 "softmax: 784-H-10, relu, softmax cross-entropy, Adam (its\n"
                 "step is always derived by gf_gradients)\n"
                 "cnn: the Deep MNIST network (docs/deep-mnist.md): two\n"
                 "convolutions with max pooling, 1024 relu units, dropout,\n"
                 "softmax cross-entropy, Adam",
                 &model),
        GF_OPT_C("--step", "manual|autodiff",
                 "manual: the article's back-propagation written by hand\n"
                 "(default)\n"
                 "autodiff: the article's step derived by gf_gradients",
                 &step),
        GF_OPT_I("--hidden", "N", 1, 100000, "hidden units (default 30, or 100 for --model softmax)", &hidden),
        GF_OPT_S("-o", "FILE", "write the DOT text to FILE (atomically) instead of stdout", &out),
        GF_OPT_S("--png", "FILE.png",
                 "render it with Graphviz's dot into FILE (atomically; FILE\n"
                 "must end in .png); needs dot on PATH (Debian: apt-get\n"
                 "install graphviz). Without -o, the DOT text is then not\n"
                 "printed",
                 &png),
    };
    gf_cmd_spec spec = { "graph", "gradflow graph [FILE] [--model article|softmax|cnn] [--step manual|autodiff]\n"
                                  "                      [--hidden N] [--png FILE.png] [-o FILE]",
                         graph_intro, graph_epilog, opts, GF_OPTS_N(opts) };
    const char *file;
    int parsed = gf_opts_parse_file(&spec, argc, argv, &file);
    if (parsed != GF_OPTS_CONTINUE) return parsed;
    if (file && (gf_opts_given(&spec, "--model") || gf_opts_given(&spec, "--step") || gf_opts_given(&spec, "--hidden")))
        return gf_opts_usage_error(&spec, "FILE says which network it holds; leave out --model, --step and --hidden");
    if (png && !gf_opts_has_ext(png, ".png"))
        return gf_opts_usage_error(&spec, "--png %s: dot writes a PNG picture there; give a FILE ending in .png "
                                          "(for SVG: -o FILE.dot, then dot -Tsvg)", png);
    int softmax = !strcmp(model, "softmax"), cnn = !strcmp(model, "cnn"); /* the parser took only the listed choices */
    if ((softmax || cnn) && step && !strcmp(step, "manual")) {
        fprintf(stderr, "gradflow graph: --model %s has no hand-written step (its step is derived by "
                        "gf_gradients); leave out --step or give --step autodiff\n", model);
        return GF_EXIT_USAGE;
    }
    if (cnn && hidden >= 0)
        return gf_opts_usage_error(&spec, "--model cnn has fixed layers; --hidden sizes the article's and the "
                                          "softmax model's hidden layer");
    int autodiff = softmax || cnn || (step && !strcmp(step, "autodiff"));
    if (hidden < 0) hidden = softmax ? 100 : 30;
    char err[4400];
    if (png && !on_path("dot")) {
        fprintf(stderr, "gradflow graph: --png needs Graphviz's 'dot' program, which is not on PATH: install "
                        "the Debian package graphviz (apt-get install graphviz), or write the DOT text and "
                        "render it elsewhere\n");
        return GF_EXIT_FAIL;
    }
    if ((png && !gf_atomic_dir_ok(png, err, sizeof err)) || (out && !gf_atomic_dir_ok(out, err, sizeof err))) {
        fprintf(stderr, "gradflow graph: %s\n", err);
        return GF_EXIT_FAIL;
    }

    /* Build the network (or read it); name the forward roots and, for the
     * manual step, the hand-written gradients. */
    gf_graph *g = NULL;
    gf_model *m = NULL;
    gf_node *targets_buf[4] = { 0 }, *fwd_buf[2] = { 0 }, *grad_roots[4] = { 0 };
    gf_node **targets = targets_buf, **fwd_roots = fwd_buf, **roots_mem = NULL;
    int n_targets = 0, n_fwd = 0, n_grad = 0, n_bordered = -1; /* -1: every target has a border */
    gf_status built = GF_OK;
    char title[256];
    const char *grad_label, *update_label;
    if (file && gf_cli_file_kind_of(file) == GF_CLI_CHECKPOINT) { /* train's network, recognised */
        gf_cli_net n;
        int ok = gf_cli_ckpt_net_load("graph", file, -1, &n);
        const char *name = n.name;
        hidden = n.hidden;
        gf_cli_net_free(&n);
        if (!ok) return GF_EXIT_FAIL;
        softmax = !strcmp(name, "softmax");
        cnn = !strcmp(name, "cnn");
        autodiff = softmax || cnn;
        if (!hidden) hidden = 30;
        file = NULL;
    }
    if (file) { /* a model file: its signature's outputs, "train" the target */
        gf_error e;
        if (!(m = gf_model_load(file, NULL, &e))) {
            fprintf(stderr, "gradflow graph: %s\n", e.message);
            return GF_EXIT_FAIL;
        }
        g = gf_model_graph(m);
        const gf_signature *sig = gf_model_signature(m);
        roots_mem = calloc(2 * (size_t)sig->n_outputs + 2, sizeof *roots_mem);
        if (!roots_mem) {
            fprintf(stderr, "gradflow graph: out of memory\n");
            gf_model_free(m);
            return GF_EXIT_FAIL;
        }
        targets = roots_mem;
        fwd_roots = roots_mem + sig->n_outputs + 1;
        gf_node *train = gf_model_output(m, "train");
        if (train) targets[n_targets++] = train;
        n_bordered = n_targets;
        for (int i = 0; i < sig->n_outputs; i++)
            if (sig->outputs[i].node != train) {
                targets[n_targets++] = sig->outputs[i].node;
                fwd_roots[n_fwd++] = sig->outputs[i].node;
            }
        snprintf(title, sizeof title, "%s: %d nodes, %d inputs, %d outputs", file, gf_graph_node_count(g),
                 sig->n_inputs, sig->n_outputs);
        grad_label = "gradients: built by gf_gradients";
        update_label = "update";
    } else if (cnn) {
        gf_cnn_net c;
        built = gf_cnn_build(&c, 0);
        g = c.g;
        targets[n_targets++] = c.train_step;
        fwd_roots[n_fwd++] = c.cross_entropy;
        fwd_roots[n_fwd++] = c.probs;
        snprintf(title, sizeof title, "the Deep MNIST network: conv 5x5x32, pool, conv 5x5x64, pool, 1024 relu, "
                 "dropout, softmax cross-entropy, Adam");
        grad_label = "gradients: built by gf_gradients";
        update_label = "update: Adam";
    } else if (softmax) {
        gf_zoo_net z;
        built = gf_zoo_build_softmax(&z, (int)hidden, 0);
        g = z.g;
        targets[n_targets++] = z.step;
        fwd_roots[n_fwd++] = z.loss;
        fwd_roots[n_fwd++] = z.probs;
        snprintf(title, sizeof title, "softmax model 784-%lld-10: relu, softmax cross-entropy, Adam",
                 (long long)hidden);
        grad_label = "gradients: built by gf_gradients";
        update_label = "update: Adam";
    } else {
        gf_article_net net = { 0 };
        built = autodiff ? gf_article_build_autodiff(&net, (int)hidden, 0.1f)
                         : gf_article_build_manual(&net, (int)hidden, 0.5f);
        g = net.g;
        for (int i = 0; i < net.n_step; i++) targets[n_targets++] = net.step[i];
        fwd_roots[n_fwd++] = net.a_2;
        if (autodiff) {
            fwd_roots[n_fwd++] = gf_graph_find(g, "cost");
        } else {
            static const char *names[] = { "d_w_1", "d_z_1", "d_w_2", "d_z_2" };
            for (int i = 0; i < 4; i++) grad_roots[n_grad++] = gf_graph_find(g, names[i]);
        }
        snprintf(title, sizeof title, "the article's network 784-%lld-10, %s step", (long long)hidden,
                 autodiff ? "autodiff" : "manual");
        grad_label = autodiff ? "gradients: built by gf_gradients" : "gradients: back-propagation written by hand";
        update_label = "update: gradient descent";
    }
    if (built != GF_OK) {
        fprintf(stderr, "gradflow graph: %s\n", g ? gf_graph_error(g) : "out of memory");
        gf_graph_free(g);
        return GF_EXIT_FAIL;
    }
    if (n_bordered < 0) n_bordered = n_targets;

    int rc = GF_EXIT_FAIL;
    walk w = { .n = gf_graph_node_count(g) };
    slot *sorted = malloc((size_t)w.n * sizeof *sorted + 1);
    int *stack = malloc((size_t)w.n * sizeof *stack + 1);
    w.node = malloc((size_t)w.n * sizeof *w.node + 1);
    signed char *flags = calloc((size_t)w.n * 5 + 1, 1);
    char dotfile[4200] = "";
    if (!sorted || !stack || !w.node || !flags) {
        fprintf(stderr, "gradflow graph: out of memory\n");
        goto done;
    }
    w.in = flags;
    w.part = flags + w.n;
    w.fwd = flags + 2 * w.n;
    w.grad = flags + 3 * w.n;
    w.target = flags + 4 * w.n;
    for (int i = 0; i < w.n; i++) {
        w.node[i] = gf_graph_node(g, i);
        sorted[i] = (slot){ w.node[i], i };
    }
    qsort(sorted, (size_t)w.n, sizeof *sorted, slot_cmp);
    mark_ancestors(&w, sorted, targets, n_targets, w.in, stack);
    mark_ancestors(&w, sorted, fwd_roots, n_fwd, w.fwd, stack);
    mark_ancestors(&w, sorted, grad_roots, n_grad, w.grad, stack);
    for (int t = 0; t < n_bordered; t++) {
        int i = index_of(sorted, w.n, targets[t]);
        if (i >= 0) w.target[i] = 1;
    }
    for (int i = 0; i < w.n; i++) {
        if (!strcmp(gf_node_op(w.node[i]), "placeholder"))
            w.part[i] = PART_FORWARD; /* inputs of the network */
        else if (!strncmp(gf_node_name(w.node[i]), "gradients/", 10) || (w.grad[i] && !w.fwd[i]))
            w.part[i] = PART_GRADIENTS;
        else if (w.fwd[i])
            w.part[i] = PART_FORWARD;
        else
            w.part[i] = PART_UPDATE;
    }

    if (out || !png) {
        if (out) {
            gf_atomic_file af;
            if (!gf_atomic_open(&af, out, err, sizeof err)) {
                fprintf(stderr, "gradflow graph: -o %s\n", err);
                goto done;
            }
            write_dot(af.f, &w, title, grad_label, update_label);
            if (!gf_atomic_commit(&af, err, sizeof err)) {
                fprintf(stderr, "gradflow graph: -o %s\n", err);
                goto done;
            }
        } else {
            write_dot(stdout, &w, title, grad_label, update_label);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "gradflow graph: cannot write to stdout: %s\n", strerror(errno));
                goto done;
            }
        }
    }
    if (png) {
        gf_atomic_file af; /* the DOT text for dot to read, removed afterwards */
        if (!gf_atomic_open(&af, png, err, sizeof err)) {
            fprintf(stderr, "gradflow graph: --png %s\n", err);
            goto done;
        }
        snprintf(dotfile, sizeof dotfile, "%s", af.tmp);
        write_dot(af.f, &w, title, grad_label, update_label);
        int written = fflush(af.f) == 0 && !ferror(af.f);
        fclose(af.f);
        if (!written) {
            fprintf(stderr, "gradflow graph: %s: cannot write: %s\n", dotfile, strerror(errno));
            goto done;
        }
        if (!render_png(dotfile, png)) goto done;
    }
    rc = GF_EXIT_OK;
done:
    if (dotfile[0]) unlink(dotfile);
    free(flags);
    free(w.node);
    free(stack);
    free(sorted);
    free(roots_mem);
    if (m) gf_model_free(m);
    else gf_graph_free(g);
    return rc;
}
