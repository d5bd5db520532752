/*
 * ckpt_cli.c — old checkpoints in eval, predict, inspect and graph
 * (ckpt_cli.h): what they hold, read without a graph, and the network of
 * train's they were saved from, recognised by its tensors, rebuilt and
 * restored.
 */
#include "ckpt_cli.h"
#include "article.h"
#include "cnn.h"
#include "zoo.h"

#include <stdlib.h>
#include <string.h>

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int gf_cli_ckpt_list_read(const char *file, gf_cli_ckpt_list *l)
{
    memset(l, 0, sizeof *l);
    FILE *f = fopen(file, "rb");
    if (!f) return 0;
    unsigned char h[24];
    int ok = fread(h, 1, 24, f) == 24 && !memcmp(h, "GFCKPT\0\1", 8) && le32(h + 8) == 1;
    uint32_t count = ok ? le32(h + 16) : 0;
    int cap = 0;
    for (uint32_t i = 0; ok && i < count; i++) {
        unsigned char b[8];
        uint32_t len;
        char name[4097];
        if (fread(b, 1, 4, f) != 4 || (len = le32(b)) < 1 || len > 4096 || fread(name, 1, len, f) != len ||
            fread(b, 1, 8, f) != 8 || le32(b + 4) > GF_MAX_RANK) {
            ok = 0;
            break;
        }
        name[len] = '\0';
        gf_shape sh = { .rank = (int)le32(b + 4) };
        int64_t elements = 1;
        for (int d = 0; d < sh.rank && ok; d++) {
            ok = fread(b, 1, 8, f) == 8;
            uint64_t v = (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
            if (v > (1ull << 40) || (elements && (uint64_t)elements > (1ull << 40) / (v ? v : 1))) ok = 0;
            sh.dim[d] = (int64_t)v;
            elements *= (int64_t)v;
        }
        if (!ok || fseek(f, (long)(4 * elements + 4), SEEK_CUR) != 0) {
            ok = 0;
            break;
        }
        if (l->n == cap) {
            cap = cap ? 2 * cap : 16;
            gf_cli_ckpt_entry *e = realloc(l->e, (size_t)cap * sizeof *e);
            if (!e) {
                ok = 0;
                break;
            }
            l->e = e;
        }
        size_t k = len < sizeof l->e[0].name - 1 ? len : sizeof l->e[0].name - 1;
        memcpy(l->e[l->n].name, name, k);
        l->e[l->n].name[k] = '\0';
        l->e[l->n++].shape = sh;
    }
    fclose(f);
    if (!ok) gf_cli_ckpt_list_free(l);
    return ok;
}

void gf_cli_ckpt_list_free(gf_cli_ckpt_list *l)
{
    free(l->e);
    memset(l, 0, sizeof *l);
}

const gf_cli_ckpt_entry *gf_cli_ckpt_find(const gf_cli_ckpt_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].name, name)) return &l->e[i];
    return NULL;
}

int gf_cli_ckpt_list_of_graph(gf_graph *g, gf_cli_ckpt_list *l)
{
    memset(l, 0, sizeof *l);
    int nodes = gf_graph_node_count(g), vars = 0;
    for (int i = 0; i < nodes; i++) vars += !strcmp(gf_node_op(gf_graph_node(g, i)), "variable");
    if (!vars) return 1;
    l->e = calloc((size_t)vars, sizeof *l->e);
    if (!l->e) return 0;
    for (int i = 0; i < nodes; i++) {
        gf_node *v = gf_graph_node(g, i);
        if (strcmp(gf_node_op(v), "variable")) continue;
        snprintf(l->e[l->n].name, sizeof l->e[0].name, "%s", gf_node_name(v));
        l->e[l->n++].shape = gf_node_shape(v);
    }
    return 1;
}

const char *gf_cli_train_model_of(const gf_cli_ckpt_list *l, int *hidden)
{
    *hidden = 0;
    if (gf_cli_ckpt_find(l, "W_conv1")) return "cnn"; /* the tutorial's names; restore checks every shape */
    const gf_cli_ckpt_entry *w1 = gf_cli_ckpt_find(l, "w_1"), *b1 = gf_cli_ckpt_find(l, "b_1");
    if (!w1 || !b1 || w1->shape.rank != 2 || w1->shape.dim[1] < 1 || w1->shape.dim[1] > 100000) return NULL;
    *hidden = (int)w1->shape.dim[1];
    /* The softmax model's biases are vectors and Adam keeps slots; the
     * article's biases are [1,H] rows. */
    return b1->shape.rank == 1 || gf_cli_ckpt_find(l, "w_1/adam_m") ? "softmax" : "article";
}

/* Which of train's networks on MNIST l's tensors are: 1 with n->name and
 * n->hidden set, 0 for none. */
static int recognise(const gf_cli_ckpt_list *l, gf_cli_net *n)
{
    int hidden;
    const char *name = gf_cli_train_model_of(l, &hidden);
    if (!name || (strcmp(name, "cnn") && gf_cli_ckpt_find(l, "w_1")->shape.dim[0] != 784)) return 0;
    n->name = name;
    n->hidden = hidden;
    return 1;
}

static void no_model(const char *cmd, const char *file, const gf_cli_ckpt_list *l)
{
    fprintf(stderr, "gradflow %s: %s: a checkpoint of no network that 'gradflow train' makes (it holds ", cmd, file);
    for (int i = 0; i < l->n && i < 8; i++) {
        char sh[96];
        fprintf(stderr, "%s\"%s\" %s", i ? ", " : "", l->e[i].name, gf_shape_format(l->e[i].shape, sh, sizeof sh));
    }
    fprintf(stderr, "%s%s); %s reads model files, and the checkpoints of train's --model article (w_1 [784,H], "
                    "b_1 [1,H], ...) --model softmax (w_1 [784,H], b_1 [H], Adam's slots) and --model cnn (W_conv1 "
                    "[5,5,1,32], ...)\n",
            l->n > 8 ? ", ..." : "", l->n ? "" : "no tensors", cmd);
}

static gf_status build(gf_cli_net *n)
{
    gf_status st;
    n->batch = 1000;
    n->features = 784;
    n->n_classes = 10;
    if (!strcmp(n->name, "cnn")) {
        gf_cnn_net c;
        st = gf_cnn_build(&c, 0);
        *n = (gf_cli_net){ .g = c.g, .x = c.x, .probs = c.probs, .keep_prob = c.keep_prob, .features = 784,
                           .n_classes = 10, .batch = 100, .probabilities = 1, .name = "cnn" };
        snprintf(n->desc, sizeof n->desc, "--model cnn: conv 5x5x32, conv 5x5x64, 1024 relu, softmax");
    } else if (!strcmp(n->name, "softmax")) {
        gf_zoo_net z;
        st = gf_zoo_build_softmax(&z, n->hidden, 0);
        n->g = z.g;
        n->x = z.x;
        n->probs = z.probs;
        n->probabilities = 1;
        snprintf(n->desc, sizeof n->desc, "--model softmax: 784-%d-10, relu, softmax", n->hidden);
    } else {
        gf_article_net a;
        st = gf_article_build_manual(&a, n->hidden, 0.5f);
        n->g = a.g;
        n->x = a.a_0;
        n->probs = a.a_2;
        snprintf(n->desc, sizeof n->desc, "--model article: 784-%d-10, sigmoid", n->hidden);
    }
    return st;
}

int gf_cli_ckpt_net_load(const char *cmd, const char *file, int hidden, gf_cli_net *n)
{
    memset(n, 0, sizeof *n);
    gf_cli_ckpt_list l;
    n->name = "article";
    n->hidden = 30;
    /* A file that does not read as a checkpoint: restore says why. */
    if (gf_cli_ckpt_list_read(file, &l) && !recognise(&l, n)) {
        no_model(cmd, file, &l);
        gf_cli_ckpt_list_free(&l);
        return 0;
    }
    gf_cli_ckpt_list_free(&l);
    if (hidden >= 0 && !strcmp(n->name, "cnn")) {
        fprintf(stderr, "gradflow %s: %s holds --model cnn, which has no --hidden; leave it out\n", cmd, file);
        return 0;
    }
    if (hidden >= 0) n->hidden = hidden;
    if (build(n) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, n->g ? gf_graph_error(n->g) : "out of memory");
        return 0;
    }
    n->s = gf_session_new(n->g, NULL);
    if (!n->s || gf_session_status(n->s) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, n->s ? gf_session_error(n->s) : "out of memory");
        return 0;
    }
    gf_status st = gf_session_restore(n->s, file);
    if (st != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, gf_session_error(n->s));
        if (st == GF_ERR_SHAPE)
            fprintf(stderr, "gradflow %s: the network here is %s: was %s saved with another --hidden, or by "
                            "another program?\n", cmd, n->desc, file);
        return 0;
    }
    return 1;
}

int gf_cli_ckpt_open_plain(const char *cmd, const char *file, gf_graph **g, gf_session **s)
{
    *g = NULL;
    *s = NULL;
    gf_cli_ckpt_list l;
    int listed = gf_cli_ckpt_list_read(file, &l);
    *g = gf_graph_new();
    if (!*g) {
        fprintf(stderr, "gradflow %s: out of memory\n", cmd);
        gf_cli_ckpt_list_free(&l);
        return 0;
    }
    for (int i = 0; listed && i < l.n; i++) gf_variable(*g, l.e[i].name, gf_zeros(*g, l.e[i].shape));
    gf_cli_ckpt_list_free(&l);
    if (gf_graph_status(*g) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s: %s\n", cmd, file, gf_graph_error(*g));
        return 0;
    }
    *s = gf_session_new(*g, NULL);
    if (!*s || gf_session_status(*s) != GF_OK || gf_session_restore(*s, file) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, *s ? gf_session_error(*s) : "out of memory");
        return 0;
    }
    return 1;
}
