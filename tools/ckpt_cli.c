/*
 * ckpt_cli.c — helpers shared by `gradflow eval` and `gradflow predict`: the
 * network a checkpoint was saved from, recognised and restored; its outputs
 * in batches; test images; JSON strings.
 */
#include "ckpt_cli.h"
#include "article.h"
#include "cli.h"
#include "cnn.h"
#include "zoo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- what a checkpoint holds: its tensors' names and shapes ---- */

typedef struct ckpt_entry {
    char name[64];
    gf_shape shape;
} ckpt_entry;

typedef struct ckpt_list {
    int n;
    ckpt_entry e[64]; /* the first 64 tensors: enough to tell train's networks apart */
} ckpt_list;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Walks the records of a checkpoint (docs/checkpoint-format.md), reading
 * names and shapes and skipping the data. Nothing is verified beyond what
 * the walk needs: gf_session_restore checks the whole file afterwards. 0
 * when the file does not read as a checkpoint (restore then says why). */
static int ckpt_peek(const char *file, ckpt_list *l)
{
    memset(l, 0, sizeof *l);
    FILE *f = fopen(file, "rb");
    if (!f) return 0;
    unsigned char h[24];
    int ok = fread(h, 1, 24, f) == 24 && !memcmp(h, "GFCKPT\0\1", 8) && le32(h + 8) == 1;
    uint32_t count = ok ? le32(h + 16) : 0;
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
        if (l->n < 64) {
            size_t k = len < sizeof l->e[0].name - 1 ? len : sizeof l->e[0].name - 1;
            memcpy(l->e[l->n].name, name, k);
            l->e[l->n].name[k] = '\0';
            l->e[l->n++].shape = sh;
        }
    }
    fclose(f);
    return ok;
}

static const ckpt_entry *ckpt_find(const ckpt_list *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->e[i].name, name)) return &l->e[i];
    return NULL;
}

/* Which of train's networks l's tensors are: 1 with m->kind and m->hidden
 * set, 0 for none. */
static int recognise(const ckpt_list *l, gf_cli_model *m)
{
    if (ckpt_find(l, "W_conv1")) { /* the tutorial's names; restore checks every shape */
        m->kind = GF_CLI_CNN;
        m->hidden = 0;
        return 1;
    }
    const ckpt_entry *w1 = ckpt_find(l, "w_1"), *b1 = ckpt_find(l, "b_1");
    if (w1 && b1 && w1->shape.rank == 2 && w1->shape.dim[0] == 784 && w1->shape.dim[1] >= 1 &&
        w1->shape.dim[1] <= 100000) {
        m->hidden = (int)w1->shape.dim[1];
        /* The softmax model's biases are vectors and Adam keeps slots;
         * the article's biases are [1,H] rows. */
        m->kind = b1->shape.rank == 1 || ckpt_find(l, "w_1/adam_m") ? GF_CLI_SOFTMAX : GF_CLI_ARTICLE;
        return 1;
    }
    return 0;
}

static void no_model(const char *cmd, const char *file, const ckpt_list *l)
{
    fprintf(stderr, "gradflow %s: %s: a checkpoint of no network that 'gradflow train' makes (it holds ", cmd, file);
    for (int i = 0; i < l->n && i < 8; i++) {
        char sh[96];
        fprintf(stderr, "%s\"%s\" %s", i ? ", " : "", l->e[i].name, gf_shape_format(l->e[i].shape, sh, sizeof sh));
    }
    fprintf(stderr, "%s%s); %s reads the checkpoints of train's --model article (w_1 [784,H], b_1 [1,H], ...) "
                    "--model softmax (w_1 [784,H], b_1 [H], Adam's slots) and --model cnn (W_conv1 [5,5,1,32], ...)\n",
            l->n > 8 ? ", ..." : "", l->n ? "" : "no tensors", cmd);
}

static gf_status build(gf_cli_model *m)
{
    gf_status st;
    m->batch = 1000;
    if (m->kind == GF_CLI_CNN) {
        gf_cnn_net c;
        st = gf_cnn_build(&c, 0);
        m->g = c.g;
        m->x = c.x;
        m->out = c.probs;
        m->keep_prob = c.keep_prob;
        m->batch = GF_CNN_EVAL_BATCH;
        m->name = "cnn";
        m->probabilities = 1;
        snprintf(m->desc, sizeof m->desc, "--model cnn: conv 5x5x32, conv 5x5x64, 1024 relu, softmax");
    } else if (m->kind == GF_CLI_SOFTMAX) {
        gf_zoo_net z;
        st = gf_zoo_build_softmax(&z, m->hidden, 0);
        m->g = z.g;
        m->x = z.x;
        m->out = z.probs;
        m->name = "softmax";
        m->probabilities = 1;
        snprintf(m->desc, sizeof m->desc, "--model softmax: 784-%d-10, relu, softmax", m->hidden);
    } else {
        gf_article_net a;
        st = gf_article_build_manual(&a, m->hidden, 0.5f);
        m->g = a.g;
        m->x = a.a_0;
        m->out = a.a_2;
        m->name = "article";
        snprintf(m->desc, sizeof m->desc, "--model article: 784-%d-10, sigmoid", m->hidden);
    }
    return st;
}

int gf_cli_load_model(const char *cmd, const char *file, int hidden, gf_cli_model *m, gf_session **s)
{
    memset(m, 0, sizeof *m);
    *s = NULL;
    ckpt_list l;
    m->kind = GF_CLI_ARTICLE;
    m->hidden = 30;
    /* A file that does not read as a checkpoint: restore says why. */
    if (ckpt_peek(file, &l) && !recognise(&l, m)) {
        no_model(cmd, file, &l);
        return 0;
    }
    if (hidden >= 0 && m->kind == GF_CLI_CNN) {
        fprintf(stderr, "gradflow %s: %s holds --model cnn, which has no --hidden; leave it out\n", cmd, file);
        return 0;
    }
    if (hidden >= 0) m->hidden = hidden;
    if (build(m) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, m->g ? gf_graph_error(m->g) : "out of memory");
        return 0;
    }
    *s = gf_session_new(m->g, NULL);
    if (!*s || gf_session_status(*s) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, *s ? gf_session_error(*s) : "out of memory");
        return 0;
    }
    gf_status st = gf_session_restore(*s, file);
    if (st != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, gf_session_error(*s));
        if (st == GF_ERR_SHAPE)
            fprintf(stderr, "gradflow %s: the network here is %s: was %s saved with another --hidden, or by "
                            "another program?\n", cmd, m->desc, file);
        return 0;
    }
    return 1;
}

void gf_cli_model_free(gf_cli_model *m)
{
    gf_graph_free(m->g);
    memset(m, 0, sizeof *m);
}

int gf_cli_model_outputs(const char *cmd, const gf_cli_model *m, gf_session *s, const float *images, int64_t n,
                         float *out)
{
    gf_error err;
    gf_tensor *one = gf_tensor_new(GF_F32, gf_dims(0), &err);
    if (!one) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
        return 0;
    }
    gf_tensor_data(one)[0] = 1.0f;
    int ok = 1;
    for (int64_t at = 0; at < n && ok; at += m->batch) {
        int64_t k = n - at < m->batch ? n - at : m->batch;
        gf_tensor *xs = gf_tensor_wrap(GF_F32, gf_dims(2, (int)k, 784), (float *)(images + 784 * at), &err);
        if (!xs) {
            fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
            ok = 0;
            break;
        }
        gf_feed feed[] = { { m->x, xs }, { m->keep_prob, one } };
        const gf_tensor *res;
        gf_status st = gf_session_run(s, feed, m->keep_prob ? 2 : 1, &m->out, 1, NULL, 0, &res);
        if (st == GF_OK) memcpy(out + 10 * at, gf_tensor_data(res), (size_t)k * 10 * sizeof *out);
        gf_tensor_free(xs);
        if (st != GF_OK) {
            fprintf(stderr, "gradflow %s: %s\n", cmd, gf_session_error(s));
            ok = 0;
        }
    }
    gf_tensor_free(one);
    return ok;
}

/* DIR/NAME.gz, else DIR/NAME (the dataset loader's order); returns 0 when
 * neither exists, saying so on stderr when cmd is not NULL. */
static int pick(const char *cmd, char *out, size_t cap, const char *dir, const char *name)
{
    struct stat sb;
    snprintf(out, cap, "%s/%s.gz", dir, name);
    if (stat(out, &sb) == 0) return 1;
    snprintf(out, cap, "%s/%s", dir, name);
    if (stat(out, &sb) == 0) return 1;
    if (cmd) {
        char hint[4200];
        gf_cli_fetch_hint(dir, hint, sizeof hint);
        fprintf(stderr, "gradflow %s: %s: missing %s (or %s.gz); %s\n", cmd, dir, name, name, hint);
    }
    return 0;
}

int gf_cli_load_test(const char *cmd, const char *where, int labels, gf_cli_test *out)
{
    memset(out, 0, sizeof *out);
    char ipath[4200], lpath[4200];
    struct stat sb;
    int is_file = stat(where, &sb) == 0 && S_ISREG(sb.st_mode);
    if (is_file) {
        snprintf(ipath, sizeof ipath, "%s", where);
        labels = 0;
    } else {
        if (!pick(cmd, ipath, sizeof ipath, where, "t10k-images-idx3-ubyte")) return 0;
        if (labels && !pick(labels == 1 ? cmd : NULL, lpath, sizeof lpath, where, "t10k-labels-idx1-ubyte")) {
            if (labels == 1) return 0;
            labels = 0; /* optional and absent */
        }
    }
    gf_idx img, lab = { 0 };
    gf_error err;
    if (gf_idx_read(ipath, 0, &img, &err) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
        return 0;
    }
    int ok = 0;
    if (img.rank != 3 || img.dim[1] != 28 || img.dim[2] != 28) {
        fprintf(stderr, "gradflow %s: %s: expected images of 28x28 pixels (an IDX file of rank 3, [n,28,28])\n",
                cmd, ipath);
        goto out;
    }
    if (labels) {
        if (gf_idx_read(lpath, 0, &lab, &err) != GF_OK) {
            fprintf(stderr, "gradflow %s: %s\n", cmd, err.message);
            goto out;
        }
        if (lab.rank != 1 || lab.dim[0] != img.dim[0]) {
            fprintf(stderr, "gradflow %s: %s: expected %lld labels (rank 1)\n", cmd, lpath, (long long)img.dim[0]);
            goto out;
        }
        for (int64_t i = 0; i < lab.count; i++)
            if (lab.data[i] > 9) {
                fprintf(stderr, "gradflow %s: %s: label %lld is %d, expected 0 to 9\n", cmd, lpath, (long long)i,
                        lab.data[i]);
                goto out;
            }
    }
    out->n = img.dim[0];
    out->images = malloc((size_t)img.count * sizeof(float) + 1);
    if (!out->images) {
        fprintf(stderr, "gradflow %s: out of memory\n", cmd);
        goto out;
    }
    for (int64_t i = 0; i < img.count; i++) out->images[i] = (float)img.data[i] / 255.0f;
    if (labels) {
        out->labels = lab.data;
        lab.data = NULL;
    }
    ok = 1;
out:
    gf_idx_free(&img);
    if (lab.data) gf_idx_free(&lab);
    if (!ok) gf_cli_test_free(out);
    return ok;
}

void gf_cli_test_free(gf_cli_test *t)
{
    free(t->images);
    if (t->labels) {
        gf_idx tmp = { .data = t->labels };
        gf_idx_free(&tmp);
    }
    memset(t, 0, sizeof *t);
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
