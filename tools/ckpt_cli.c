/*
 * ckpt_cli.c — helpers shared by `gradflow eval` and `gradflow predict`: the
 * article's network restored from a checkpoint, test images, JSON strings.
 */
#include "ckpt_cli.h"
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int gf_cli_load_article(const char *cmd, const char *file, int hidden, gf_article_net *net, gf_session **s)
{
    *s = NULL;
    if (gf_article_build_manual(net, hidden, 0.5f) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, net->g ? gf_graph_error(net->g) : "out of memory");
        return 0;
    }
    *s = gf_session_new(net->g, NULL);
    if (!*s || gf_session_status(*s) != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, *s ? gf_session_error(*s) : "out of memory");
        return 0;
    }
    gf_status st = gf_session_restore(*s, file);
    if (st != GF_OK) {
        fprintf(stderr, "gradflow %s: %s\n", cmd, gf_session_error(*s));
        if (st == GF_ERR_SHAPE)
            fprintf(stderr, "gradflow %s: the network here is the article's 784-%d-10 one: was %s saved "
                            "with another --hidden, or by another program?\n", cmd, hidden, file);
        return 0;
    }
    return 1;
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
