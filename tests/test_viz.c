/* test_viz.c — the pictures and the progress line: graph walking, `gradflow
 * graph` DOT/PNG, `train --plot` SVG, `eval --errors` PNG, the progress line. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <zlib.h>

#include "article.h"
#include "errors_png.h"
#include "zoo.h"

/* ---- helpers ---- */

static const char *gradflow_bin(void)
{
    const char *bin = getenv("GRADFLOW");
    return bin && *bin ? bin : NULL;
}

/* Runs `sh -c CMD`, keeps its stdout (NUL-terminated, malloc'ed, in *out),
 * returns the exit status. */
static int run_sh(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    int status = pclose(p);
    assert_true(WIFEXITED(status));
    *out = buf;
    return WEXITSTATUS(status);
}

/* `gradflow ARGS` (ARGS already quoted), stdout only unless ARGS redirects. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int run_cli(char **out, const char *fmt, ...);

static int run_cli(char **out, const char *fmt, ...)
{
    char args[8192], cmd[8800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", gradflow_bin(), args);
    return run_sh(cmd, out);
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    unsigned char *buf = malloc(cap + 1);
    assert_non_null(buf);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Number of entries in dir (. and .. excluded). */
static int dir_entries(const char *dir)
{
    char cmd[4200], *out;
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    assert_int_equal(run_sh(cmd, &out), 0);
    int n = atoi(out);
    free(out);
    return n;
}

static int count_lines_starting(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix))) n++;
    return n;
}

/* ---- the graph-walking API ---- */

static void walk_api(void **state)
{
    (void)state;
    gf_graph *g = gf_graph_new();
    gf_node *x = gf_placeholder(g, "x", GF_F32, gf_dims(1, 3));
    gf_node *c = gf_scalar(g, 2.0f);
    gf_node *y = gf_name(gf_mul(x, c), "y");
    gf_node *z = gf_neg(y);
    assert_int_equal(gf_graph_node_count(g), 4);
    assert_ptr_equal(gf_graph_node(g, 0), x);
    assert_ptr_equal(gf_graph_node(g, 1), c);
    assert_ptr_equal(gf_graph_node(g, 2), y);
    assert_ptr_equal(gf_graph_node(g, 3), z);
    assert_null(gf_graph_node(g, 4));
    assert_null(gf_graph_node(g, -1));
    assert_null(gf_graph_node(NULL, 0));
    assert_int_equal(gf_node_input_count(x), 0);
    assert_int_equal(gf_node_input_count(y), 2);
    assert_ptr_equal(gf_node_input(y, 0), x);
    assert_ptr_equal(gf_node_input(y, 1), c);
    assert_null(gf_node_input(y, 2));
    assert_null(gf_node_input(y, -1));
    assert_int_equal(gf_node_input_count(z), 1);
    assert_ptr_equal(gf_node_input(z, 0), y);
    assert_int_equal(gf_node_input_count(NULL), 0);
    assert_null(gf_node_input(NULL, 0));
    /* A poisoned node has no inputs; the graph keeps its count. */
    gf_node *bad = gf_matmul(x, x);
    assert_true(gf_node_is_poisoned(bad));
    assert_int_equal(gf_node_input_count(bad), 0);
    assert_null(gf_node_input(bad, 0));
    assert_int_equal(gf_graph_node_count(g), 4);
    gf_graph_free(g);
}

/* ---- gradflow graph ---- */

typedef struct stepgraph {
    gf_graph *g;
    int n;
    signed char *need; /* by creation index */
    int n_need, n_edges;
} stepgraph;

static int index_of(const stepgraph *sg, const gf_node *x)
{
    for (int i = 0; i < sg->n; i++)
        if (gf_graph_node(sg->g, i) == x) return i;
    return -1;
}

/* The graph the CLI draws, built here the same way, and its pruned step. */
static void build_step(stepgraph *sg, const char *model, const char *step)
{
    gf_node *targets[4];
    int n_targets = 0;
    memset(sg, 0, sizeof *sg);
    if (!strcmp(model, "softmax")) {
        gf_zoo_net z;
        assert_int_equal(gf_zoo_build_softmax(&z, 100, 0), GF_OK);
        sg->g = z.g;
        targets[n_targets++] = z.step;
    } else {
        gf_article_net net = { 0 };
        assert_int_equal(!strcmp(step, "manual") ? gf_article_build_manual(&net, 30, 0.5f)
                                                 : gf_article_build_autodiff(&net, 30, 0.1f),
                         GF_OK);
        sg->g = net.g;
        for (int i = 0; i < net.n_step; i++) targets[n_targets++] = net.step[i];
    }
    sg->n = gf_graph_node_count(sg->g);
    sg->need = calloc((size_t)sg->n, 1);
    int *stack = malloc((size_t)sg->n * sizeof *stack), top = 0;
    for (int t = 0; t < n_targets; t++) {
        int i = index_of(sg, targets[t]);
        assert_true(i >= 0);
        if (!sg->need[i]) sg->need[i] = 1, stack[top++] = i;
    }
    while (top) {
        gf_node *x = gf_graph_node(sg->g, stack[--top]);
        sg->n_edges += gf_node_input_count(x);
        for (int k = 0; k < gf_node_input_count(x); k++) {
            int j = index_of(sg, gf_node_input(x, k));
            assert_true(j >= 0);
            if (!sg->need[j]) sg->need[j] = 1, stack[top++] = j;
        }
    }
    for (int i = 0; i < sg->n; i++) sg->n_need += sg->need[i];
    free(stack);
}

/* Parses the DOT text and checks it against the pruned step: each needed
 * node once (labelled with name, op and shape), no other node, one edge per
 * input, braces balanced. Returns how many nodes sit in cluster_gradients
 * and, in *grad_named, how many of those are named "gradients/...". */
static int check_dot(const stepgraph *sg, const char *dot, int *grad_named, int *named_outside)
{
    assert_true(!strncmp(dot, "digraph ", 8));
    int *seen = calloc((size_t)sg->n, sizeof *seen), *in_edges = calloc((size_t)sg->n, sizeof *in_edges);
    int depth = 0, nodes = 0, edges = 0, in_grad = 0;
    char cluster[64] = "";
    *grad_named = *named_outside = 0;
    for (const char *p = dot; *p;) {
        const char *end = strchr(p, '\n');
        assert_non_null(end);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)(end - p), p);
        p = end + 1;
        const char *s = line + strspn(line, " ");
        int a, b, used = 0;
        if (!strncmp(s, "subgraph cluster_", 17)) {
            sscanf(s + 17, "%63[a-z_]", cluster);
        } else if (sscanf(s, "n%d -> n%d%n", &a, &b, &used) == 2) {
            assert_true(a >= 0 && a < sg->n && b >= 0 && b < sg->n);
            assert_true(sg->need[a] && sg->need[b]);
            gf_node *to = gf_graph_node(sg->g, b), *from = gf_graph_node(sg->g, a);
            int is_input = 0;
            for (int k = 0; k < gf_node_input_count(to); k++) is_input |= gf_node_input(to, k) == from;
            if (!is_input) fail_msg("edge n%d -> n%d: %s is not an input of %s", a, b, gf_node_name(from),
                                    gf_node_name(to));
            in_edges[b]++;
            edges++;
        } else if (sscanf(s, "n%d [%n", &a, &used) == 1 && used > 0) {
            assert_true(a >= 0 && a < sg->n);
            if (!sg->need[a]) fail_msg("node n%d (%s) is not needed by the step", a,
                                       gf_node_name(gf_graph_node(sg->g, a)));
            if (seen[a]++) fail_msg("node n%d appears twice", a);
            nodes++;
            gf_node *x = gf_graph_node(sg->g, a);
            char want[256], shape[64];
            snprintf(want, sizeof want, "<b>%s</b>", gf_node_name(x));
            if (!strstr(s, want)) fail_msg("n%d: no %s in: %s", a, want, s);
            snprintf(want, sizeof want, "%s %s", gf_node_op(x), gf_shape_format(gf_node_shape(x), shape, 64));
            if (!strstr(s, want)) fail_msg("n%d: no '%s' in: %s", a, want, s);
            int named = !strncmp(gf_node_name(x), "gradients/", 10);
            if (!strcmp(cluster, "gradients")) {
                in_grad++;
                *grad_named += named;
            } else if (named) {
                (*named_outside)++;
            }
        }
        for (const char *q = s; *q; q++) {
            if (*q == '"') { /* skip strings */
                for (q++; *q && *q != '"'; q++)
                    if (*q == '\\' && q[1]) q++;
                if (!*q) break;
            } else if (*q == '{') {
                depth++;
            } else if (*q == '}') {
                depth--;
                if (depth == 1) cluster[0] = '\0';
            }
        }
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
    assert_int_equal(nodes, sg->n_need);
    assert_int_equal(edges, sg->n_edges);
    for (int i = 0; i < sg->n; i++) {
        if (sg->need[i] && !seen[i]) fail_msg("node n%d (%s) is missing", i, gf_node_name(gf_graph_node(sg->g, i)));
        if (sg->need[i]) assert_int_equal(in_edges[i], gf_node_input_count(gf_graph_node(sg->g, i)));
    }
    free(seen);
    free(in_edges);
    return in_grad;
}

static void graph_case(const char *model, const char *step, const char *args)
{
    if (!gradflow_bin()) skip();
    stepgraph sg;
    build_step(&sg, model, step);
    char *dot;
    assert_int_equal(run_cli(&dot, "graph %s", args), 0);
    int grad_named = 0, outside = 0, in_grad = check_dot(&sg, dot, &grad_named, &outside);
    int named_total = 0;
    for (int i = 0; i < sg.n; i++)
        named_total += sg.need[i] && !strncmp(gf_node_name(gf_graph_node(sg.g, i)), "gradients/", 10);
    print_message("graph %s: %d of %d nodes in the step, %d edges, %d in cluster_gradients (%d gradients/...)\n",
                  args, sg.n_need, sg.n, sg.n_edges, in_grad, grad_named);
    assert_int_equal(outside, 0); /* every gradients/ node is drawn as one */
    assert_int_equal(grad_named, named_total);
    if (!strcmp(step, "manual")) {
        assert_int_equal(named_total, 0);
        assert_true(in_grad > 0); /* the hand-written backward pass */
        assert_non_null(strstr(dot, "<b>d_w_1</b>"));
    } else {
        assert_true(named_total > 10);
    }
    assert_non_null(strstr(dot, "subgraph cluster_forward"));
    assert_non_null(strstr(dot, "subgraph cluster_update"));
    /* Placeholders, variables and constants have shapes of their own. */
    assert_non_null(strstr(dot, "shape=invhouse"));
    assert_non_null(strstr(dot, "shape=cylinder"));
    assert_non_null(strstr(dot, "shape=ellipse"));
    free(dot);
    free(sg.need);
    gf_graph_free(sg.g);
}

static void graph_manual(void **state)
{
    (void)state;
    graph_case("article", "manual", "");
}

static void graph_autodiff(void **state)
{
    (void)state;
    graph_case("article", "autodiff", "--step autodiff");
}

static void graph_softmax(void **state)
{
    (void)state;
    graph_case("softmax", "autodiff", "--model softmax");
}

static int have_dot(void)
{
    return system("command -v dot >/dev/null 2>&1") == 0;
}

static void check_png_header(const unsigned char *b, size_t n, unsigned *w, unsigned *h)
{
    assert_true(n > 33);
    assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(b + 12, "IHDR", 4);
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
}

static void graph_files(void **state)
{
    (void)state;
    if (!gradflow_bin()) skip();
    char *dir = gf_test_tmpdir(), *out, *dot;
    /* -o writes what stdout would show. */
    assert_int_equal(run_cli(&dot, "graph --step autodiff"), 0);
    assert_int_equal(run_cli(&out, "graph --step autodiff -o '%s/g.dot'", dir), 0);
    assert_string_equal(out, "");
    free(out);
    char path[4200];
    snprintf(path, sizeof path, "%s/g.dot", dir);
    size_t len;
    unsigned char *file = read_all(path, &len);
    assert_non_null(file);
    assert_string_equal((char *)file, dot);
    free(file);
    free(dot);
    /* Without dot on PATH: a clear message naming the package. */
    char cmd[8800];
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent '%s' graph --png '%s/nodot.png' 2>&1", gradflow_bin(), dir);
    assert_int_equal(run_sh(cmd, &out), 1);
    assert_non_null(strstr(out, "graphviz"));
    free(out);
    snprintf(path, sizeof path, "%s/nodot.png", dir);
    assert_int_equal(access(path, F_OK), -1);
    if (have_dot()) {
        assert_int_equal(run_cli(&out, "graph --model softmax --png '%s/g.png'", dir), 0);
        assert_string_equal(out, ""); /* --png alone: no DOT on stdout */
        free(out);
        snprintf(path, sizeof path, "%s/g.png", dir);
        file = read_all(path, &len);
        assert_non_null(file);
        unsigned w, h;
        check_png_header(file, len, &w, &h);
        print_message("graph --png: %ux%u, %zu bytes\n", w, h, len);
        assert_true(w > 100 && h > 100);
        free(file);
        assert_int_equal(dir_entries(dir), 2); /* g.dot, g.png: no temporary files left */
    } else {
        print_message("dot is not installed: --png not rendered\n");
    }
    /* Usage errors. */
    assert_int_equal(run_cli(&out, "graph --model softmax --step manual 2>/dev/null"), 2);
    free(out);
    assert_int_equal(run_cli(&out, "graph --model lenet 2>/dev/null"), 2);
    free(out);
    assert_int_equal(run_cli(&out, "graph --bogus 2>/dev/null"), 2);
    free(out);
    gf_test_rmdir(dir);
}

/* ---- train --plot ---- */

/* Checks that tags nest: every <name ...> is closed by </name> or is
 * self-closing; returns the number of elements. */
static int check_xml(const char *s)
{
    char stack[64][32];
    int depth = 0, elements = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p, '<')) {
        const char *end = strchr(p, '>');
        assert_non_null(end);
        if (p[1] == '/') {
            char name[32];
            assert_int_equal(sscanf(p + 2, "%31[a-zA-Z0-9_:-]", name), 1);
            assert_true(depth > 0);
            if (strcmp(stack[depth - 1], name)) fail_msg("</%s> closes <%s>", name, stack[depth - 1]);
            depth--;
        } else if (p[1] != '?' && p[1] != '!') {
            assert_int_equal(sscanf(p + 1, "%31[a-zA-Z0-9_:-]", stack[depth]), 1);
            elements++;
            if (end[-1] != '/') {
                depth++;
                assert_true(depth < 64);
            }
        }
        /* No raw '<' or '&' that is not an entity inside the tag or text. */
        for (const char *q = p + 1; q < end; q++) assert_true(*q != '<');
        p = end + 1;
        for (const char *q = p; *q && *q != '<'; q++)
            if (*q == '&') assert_true(!strncmp(q, "&amp;", 5) || !strncmp(q, "&lt;", 4) || !strncmp(q, "&gt;", 4) ||
                                       !strncmp(q, "&quot;", 6));
    }
    assert_int_equal(depth, 0);
    return elements;
}

/* The points of <polyline id="ID" ... points="...">: count, and x, y. */
static int polyline_points(const char *svg, const char *id, double *x, double *y, int cap)
{
    char key[64];
    snprintf(key, sizeof key, "<polyline id=\"%s\"", id);
    const char *p = strstr(svg, key);
    if (!p) return -1;
    p = strstr(p, "points=\"");
    assert_non_null(p);
    p += 8;
    int n = 0;
    while (*p != '"') {
        double a, b;
        int used = 0;
        assert_int_equal(sscanf(p, "%lf,%lf%n", &a, &b, &used), 2);
        if (n < cap) x[n] = a, y[n] = b;
        n++;
        p += used;
        while (*p == ' ') p++;
    }
    return n;
}

static void plot_case(const char *mnist, const char *model_args, int expect_evals)
{
    char *dir = gf_test_tmpdir(), *out, *plain;
    assert_int_equal(run_cli(&out, "train --data '%s' %s --plot '%s/curves.svg' 2>&1", mnist, model_args, dir), 0);
    assert_int_equal(run_cli(&plain, "train --data '%s' %s 2>&1", mnist, model_args), 0);
    /* The periodic evaluations, then the one after the last step. */
    assert_int_equal(count_lines_starting(out, "final step "), 1);
    int evals = count_lines_starting(out, "step ") + 1;
    assert_int_equal(evals, expect_evals);
    /* The same evaluations with and without --plot (the plot changes
     * nothing that is run). */
    for (const char *p = out, *q = plain; p && q;) {
        p = strstr(p, "\nstep ");
        q = strstr(q, "\nstep ");
        assert_true((p == NULL) == (q == NULL));
        if (!p) break;
        size_t lp = strcspn(p + 1, "\n"), lq = strcspn(q + 1, "\n");
        assert_int_equal(lp, lq);
        assert_memory_equal(p, q, lp);
        p++, q++;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/curves.svg", dir);
    size_t len;
    char *svg = (char *)read_all(path, &len);
    assert_non_null(svg);
    assert_true(!strncmp(svg, "<svg", 4));
    assert_true(len > 7 && !strcmp(svg + len - 7, "</svg>\n"));
    int elements = check_xml(svg);
    double x[64], y[64], cx[64], cy[64];
    int n = polyline_points(svg, "accuracy", x, y, 64), nc = polyline_points(svg, "loss", cx, cy, 64);
    print_message("train %s --plot: %zu bytes, %d elements, %d accuracy points, %d loss points\n", model_args,
                  len, elements, n, nc);
    assert_int_equal(n, evals);
    assert_int_equal(nc, evals);
    for (int i = 1; i < n && i < 64; i++) {
        assert_true(x[i] > x[i - 1]);
        assert_true(cx[i] == x[i]);
    }
    /* Each evaluation's accuracy is in a tooltip, as the text output says. */
    for (const char *p = strstr(out, "step "); p; p = strstr(p + 1, "step ")) {
        long long step, c, t;
        if (p > out && p[-1] != '\n' && strncmp(p - 6, "final ", 6)) continue;
        assert_int_equal(sscanf(p, "step %lld correct %lld/%lld", &step, &c, &t), 3);
        char want[128];
        snprintf(want, sizeof want, "<title>step %lld: %.2f%%</title>", step, 100.0 * (double)c / (double)t);
        if (!strstr(svg, want)) fail_msg("no %s in the SVG", want);
    }
    assert_non_null(strstr(svg, "id=\"legend\""));
    assert_non_null(strstr(svg, "training step"));
    assert_non_null(strstr(out, "plot: "));
    assert_int_equal(dir_entries(dir), 1); /* no temporary file left */
    free(svg);
    free(out);
    free(plain);
    gf_test_rmdir(dir);
}

static void train_plot_article(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gradflow_bin() || !mnist) skip();
    plot_case(mnist, "--steps 300 --eval-every 100", 4); /* after steps 1, 101, 201 and 300 */
}

static void train_plot_softmax(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gradflow_bin() || !mnist) skip();
    plot_case(mnist, "--model softmax --steps 200 --eval-every 50 --eval-size 500", 4); /* 50, 100, 150, 200 */
}

static void train_plot_bad_dir(void **state)
{
    (void)state;
    if (!gradflow_bin()) skip();
    char *out;
    /* Refused before any data is read. */
    assert_int_equal(run_cli(&out, "train --data /nonexistent --plot /nonexistent/dir/p.svg 2>&1"), 1);
    assert_non_null(strstr(out, "--plot"));
    free(out);
}

/* ---- eval --errors ---- */

/* The picture's RGB pixels, decoded here with zlib (chunk CRCs checked). */
static unsigned char *png_decode(const unsigned char *b, size_t n, unsigned *w, unsigned *h)
{
    check_png_header(b, n, w, h);
    assert_int_equal(b[24], 8); /* bit depth */
    assert_int_equal(b[25], 2); /* RGB */
    assert_int_equal(b[28], 0); /* not interlaced */
    unsigned char *idat = malloc(n);
    size_t n_idat = 0, at = 8;
    int ended = 0;
    while (at + 12 <= n && !ended) {
        size_t len = (size_t)b[at] << 24 | (size_t)b[at + 1] << 16 | (size_t)b[at + 2] << 8 | b[at + 3];
        assert_true(at + 12 + len <= n);
        const unsigned char *type = b + at + 4, *data = b + at + 8;
        uLong crc = crc32(crc32(0, Z_NULL, 0), type, (uInt)(len + 4));
        uLong stored = (uLong)data[len] << 24 | (uLong)data[len + 1] << 16 | (uLong)data[len + 2] << 8 | data[len + 3];
        assert_int_equal(crc, stored);
        if (!memcmp(type, "IDAT", 4)) memcpy(idat + n_idat, data, len), n_idat += len;
        if (!memcmp(type, "IEND", 4)) ended = 1;
        at += 12 + len;
    }
    assert_true(ended);
    size_t stride = (size_t)*w * 3, raw_len = (stride + 1) * *h;
    unsigned char *raw = malloc(raw_len), *rgb = malloc(stride * *h);
    uLongf got = raw_len;
    assert_int_equal(uncompress(raw, &got, idat, n_idat), Z_OK);
    assert_int_equal(got, raw_len);
    for (unsigned y = 0; y < *h; y++) {
        const unsigned char *in = raw + y * (stride + 1) + 1;
        unsigned char *row = rgb + y * stride, *up = y ? row - stride : NULL;
        int filter = in[-1];
        for (size_t i = 0; i < stride; i++) {
            int a = i >= 3 ? row[i - 3] : 0, u = up ? up[i] : 0, c = i >= 3 && up ? up[i - 3] : 0, pred = 0;
            switch (filter) {
            case 0: pred = 0; break;
            case 1: pred = a; break;
            case 2: pred = u; break;
            case 3: pred = (a + u) / 2; break;
            case 4: {
                int p = a + u - c, pa = abs(p - a), pb = abs(p - u), pc = abs(p - c);
                pred = pa <= pb && pa <= pc ? a : pb <= pc ? u : c;
                break;
            }
            default: fail_msg("row %u: filter %d", y, filter);
            }
            row[i] = (unsigned char)(in[i] + pred);
        }
    }
    free(raw);
    free(idat);
    return rgb;
}

static void eval_errors_png(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gradflow_bin() || !mnist) skip();
    char *dir = gf_test_tmpdir(), *out;
    assert_int_equal(run_cli(&out, "train --data '%s' --steps 300 --eval-every 1000 --save '%s/ck.gf'", mnist, dir), 0);
    free(out);
    int rc = run_cli(&out, "eval '%s/ck.gf' --data '%s' --json --errors '%s/errors.png' 2>&1", dir, mnist, dir);
    if (rc == 1 && strstr(out, "built without libpng")) {
        print_message("gradflow was built without libpng: %s", out);
        free(out);
        gf_test_rmdir(dir);
        skip();
    }
    assert_int_equal(rc, 0);
    long long correct = strtoll(strstr(out, "\"correct\":") + 10, NULL, 10);
    long long total = strtoll(strstr(out, "\"total\":") + 8, NULL, 10);
    long long shown = strtoll(strstr(out, "\"errors_shown\":") + 15, NULL, 10);
    free(out);
    long long want = total - correct < 100 ? total - correct : 100;
    assert_int_equal(shown, want);

    /* Which digits are wrong, computed here from the model file. */
    char path[4200];
    snprintf(path, sizeof path, "%s/ck.gf", dir);
    gf_error lerr;
    gf_model *model = gf_model_load(path, NULL, &lerr);
    if (!model) fail_msg("%s", lerr.message);
    gf_session *s = gf_model_session(model);
    struct { gf_node *a_0, *a_2; } net = { gf_model_input(model, "images"), gf_model_output(model, "probs") };
    gf_mnist *m;
    gf_error err;
    assert_int_equal(gf_mnist_load(mnist, NULL, &m, &err), GF_OK);
    const gf_tensor *xs, *ys;
    assert_int_equal(gf_dataset_head(m->test, total, &xs, &ys), GF_OK);
    gf_feed feed = { net.a_0, xs };
    const float *a2 = gf_tensor_data(gf_test_run1(s, &feed, 1, net.a_2));
    const float *img = gf_tensor_data(xs), *lab = gf_tensor_data(ys);

    snprintf(path, sizeof path, "%s/errors.png", dir);
    size_t len;
    unsigned char *file = read_all(path, &len);
    assert_non_null(file);
    unsigned w, h;
    unsigned char *rgb = png_decode(file, len, &w, &h);
    print_message("eval --errors: %ux%u, %lld of %lld misclassified shown\n", w, h, shown, total - correct);
    assert_int_equal(w, GF_ERRORS_PNG_WIDTH);
    assert_int_equal(h, GF_ERRORS_PNG_HEIGHT(shown));
    int cell = 0;
    for (long long i = 0; i < total && cell < shown; i++) {
        int best = 0, truth = 0;
        for (int j = 1; j < 10; j++) {
            if (a2[10 * i + j] > a2[10 * i + best]) best = j;
            if (lab[10 * i + j] > lab[10 * i + truth]) truth = j;
        }
        if (best == truth) continue;
        /* The cell shows this digit, 2x, as 255 - value. */
        int cx = GF_ERRORS_MARGIN + (cell % GF_ERRORS_COLUMNS) * GF_ERRORS_CELL_W + GF_ERRORS_DIGIT_X;
        int cy = GF_ERRORS_HEADER + (cell / GF_ERRORS_COLUMNS) * GF_ERRORS_CELL_H + GF_ERRORS_DIGIT_Y;
        for (int r = 0; r < 28 * GF_ERRORS_SCALE; r++)
            for (int c = 0; c < 28 * GF_ERRORS_SCALE; c++) {
                const unsigned char *px = rgb + ((size_t)(cy + r) * w + (size_t)(cx + c)) * 3;
                int v = 255 - (int)(img[784 * i + (r / GF_ERRORS_SCALE) * 28 + c / GF_ERRORS_SCALE] * 255.0f + 0.5f);
                if (abs(px[0] - v) > 1 || px[0] != px[1] || px[1] != px[2])
                    fail_msg("cell %d (test image %lld), pixel (%d,%d): %d,%d,%d, want %d", cell, i, c, r, px[0],
                             px[1], px[2], v);
            }
        /* Under it, green ink (the true label) left of red ink (the answer). */
        int green_x = -1, red_x = -1;
        for (int r = 28 * GF_ERRORS_SCALE; r < GF_ERRORS_CELL_H - GF_ERRORS_DIGIT_Y; r++)
            for (int c = -GF_ERRORS_DIGIT_X; c < GF_ERRORS_CELL_W - GF_ERRORS_DIGIT_X; c++) {
                const unsigned char *px = rgb + ((size_t)(cy + r) * w + (size_t)(cx + c)) * 3;
                if (px[1] > 100 && px[0] < 60 && px[2] < 100 && green_x < 0) green_x = c;
                if (px[0] > 150 && px[1] < 60 && px[2] < 60 && red_x < 0) red_x = c;
            }
        assert_true(green_x >= 0 && red_x > green_x);
        cell++;
    }
    assert_int_equal(cell, shown);
    free(rgb);
    free(file);
    gf_mnist_free(m);
    gf_model_free(model);

    /* --errors-max, and text output. */
    assert_int_equal(run_cli(&out, "eval '%s/ck.gf' --data '%s' --errors '%s/few.png' --errors-max 3", dir, mnist,
                             dir),
                     0);
    assert_non_null(strstr(out, "shows 3 of the"));
    free(out);
    snprintf(path, sizeof path, "%s/few.png", dir);
    file = read_all(path, &len);
    assert_non_null(file);
    check_png_header(file, len, &w, &h);
    assert_int_equal(h, GF_ERRORS_PNG_HEIGHT(3));
    free(file);
    assert_int_equal(dir_entries(dir), 3); /* ck.gf, errors.png, few.png: no temporary files */
    /* An unwritable place fails before the work, leaving nothing. */
    assert_int_equal(run_cli(&out, "eval '%s/ck.gf' --data '%s' --errors /nonexistent/e.png 2>&1", dir, mnist), 1);
    assert_non_null(strstr(out, "--errors"));
    free(out);
    gf_test_rmdir(dir);
}

/* ---- the progress line ---- */

static void progress_not_on_a_pipe(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gradflow_bin() || !mnist) skip();
    char *out;
    assert_int_equal(run_cli(&out, "train --data '%s' --steps 3000 --eval-every 1000 2>&1", mnist), 0);
    assert_null(strchr(out, '\r'));
    assert_null(strstr(out, "ETA"));
    assert_int_equal(count_lines_starting(out, "step "), 3);
    free(out);
}

/* Runs `gradflow ARGS` with stdout and stderr on a pseudo-terminal (no
 * output processing, so bytes arrive as written); returns the transcript. */
static char *run_on_pty(const char *args)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    struct termios tio;
    assert_int_equal(tcgetattr(slave, &tio), 0);
    tio.c_oflag &= ~(tcflag_t)OPOST;
    assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
    char cmd[8800];
    snprintf(cmd, sizeof cmd, "exec '%s' %s", gradflow_bin(), args);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        dup2(slave, 1);
        dup2(slave, 2);
        close(master);
        close(slave);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(slave);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - n < 4096) buf = realloc(buf, cap *= 2);
        ssize_t got = read(master, buf + n, cap - n - 1);
        if (got > 0) n += (size_t)got;
        else if (got < 0 && errno == EINTR) continue;
        else break; /* EIO: the child closed the terminal */
    }
    buf[n] = '\0';
    close(master);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return buf;
}

/* What a terminal shows after the transcript: \r returns to the start of
 * the line and later text overwrites; trailing blanks trimmed. Lines are
 * '\n'-separated in the result; the last one is what the cursor sits on. */
static char *render(const char *t)
{
    size_t len = strlen(t);
    char *screen = calloc(len + 2, 1), line[1024];
    int col = 0, width = 0;
    memset(line, ' ', sizeof line);
    for (const char *p = t;; p++) {
        if (*p == '\n' || !*p) {
            while (width > 0 && line[width - 1] == ' ') width--;
            strncat(screen, line, (size_t)width);
            if (!*p) break;
            strcat(screen, "\n");
            memset(line, ' ', sizeof line);
            col = width = 0;
        } else if (*p == '\r') {
            col = 0;
        } else if (col < (int)sizeof line) {
            line[col++] = *p;
            if (col > width) width = col;
        }
    }
    return screen;
}

static void progress_on_a_terminal(void **state)
{
    (void)state;
    const char *mnist = gf_test_mnist_dir();
    if (!gradflow_bin() || !mnist) skip();
    char args[4400], *plain;
    snprintf(args, sizeof args, "train --data '%s' --steps 3000 --eval-every 1000", mnist);
    assert_int_equal(run_cli(&plain, "%s", args), 0);
    char *t = run_on_pty(args);
    /* The line was drawn (at least at the first step)... */
    assert_non_null(strchr(t, '\r'));
    assert_non_null(strstr(t, "\rstep 1/3000"));
    assert_non_null(strstr(t, "ex/s"));
    assert_non_null(strstr(t, "ETA"));
    /* ...and erased before every line of output and at the end: the screen
     * holds exactly the lines of the plain run (timings aside). */
    char *screen = render(t);
    const char *p = screen, *q = plain;
    int lines = 0;
    while (*q) {
        size_t lp = strcspn(p, "\n"), lq = strcspn(q, "\n");
        if (strncmp(q, "trained ", 8)) {
            if (lp != lq || memcmp(p, q, lp)) fail_msg("screen line %d: '%.*s', want '%.*s'", lines, (int)lp, p,
                                                       (int)lq, q);
        } else {
            assert_true(!strncmp(p, "trained ", 8));
        }
        lines++;
        p += lp + (p[lp] == '\n');
        q += lq + (q[lq] == '\n');
    }
    assert_string_equal(p, ""); /* the cursor's line is blank */
    print_message("pty: %zu bytes of transcript, %d lines on screen\n", strlen(t), lines);
    free(screen);
    free(t);
    /* --quiet: nothing but the lines. */
    snprintf(args, sizeof args, "train --data '%s' --steps 3000 --eval-every 1000 --quiet", mnist);
    t = run_on_pty(args);
    assert_null(strchr(t, '\r'));
    assert_null(strstr(t, "ETA"));
    free(t);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_api),
        cmocka_unit_test(graph_manual),
        cmocka_unit_test(graph_autodiff),
        cmocka_unit_test(graph_softmax),
        cmocka_unit_test(graph_files),
        cmocka_unit_test(train_plot_article),
        cmocka_unit_test(train_plot_softmax),
        cmocka_unit_test(train_plot_bad_dir),
        cmocka_unit_test(eval_errors_png),
        cmocka_unit_test(progress_not_on_a_pipe),
        cmocka_unit_test(progress_on_a_terminal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
